"""nginx's own behaviours with the banner module (issue 15, acceptance).

For each of nginx's features the banner meets (Range and If-Range,
proxy_cache with Vary: Accept-Encoding, SSI, sub_filter, the addition
filter, slice, gzip, gunzip, proxy_store, mp4, HTTP/2 with and without
Range, keepalive), three runs of the same requests:

- module absent: a location with "outage_banner off";
- module idle: the same location with "outage_banner on", no incident:
  byte for byte the same as absent, headers too (but Date);
- incident: the idle response with the banner inserted right after the
  <body> tag of the page as assembled (SSI, addition: the DOM html5lib
  builds is the idle one with the banner first in <body>) (and nothing else of the body changed), and only the
  documented header changes (docs/directives.md, "What changes in the
  response"): Content-Length, Accept-Ranges, Last-Modified, Expires and
  Cache-Control dropped, "Cache-Control: no-store" and X-Outage-Banner
  added, the ETag weak and naming the incident, Content-Encoding dropped
  where the filter inflated a gzip body.
"""

import gzip
import http.client
import os
import re
import shutil
import subprocess
import sys

import pytest

from harness import free_port, wait_for

MARK = b'class="outage-banner '
PAGE_LOAD = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"

FILLER = b"".join(b"<p>paragraph %d of the page, some words</p>\n" % i
                  for i in range(400))
PAGE = (b"<!doctype html><html><head><title>compat</title>"
        b"<meta charset=utf-8></head><body class=\"p\"><p>main</p>\n"
        + FILLER + b"</body></html>\n")
REF_HEAD = b"<html><head></head><body>"
REF_TAIL = b"R</body></html>"
SSI = (b"<html><head><title>ssi</title></head><body><p>main</p>"
       b"<!--# include virtual=\"/parts/full.html\" --><p>end</p>"
       b"</body></html>\n")
PARTS = {
    # a whole document of its own: a filter that bannered subrequests
    # would put a second banner here
    "full.html": b"<html><head><title>part</title></head><body><p>part</p>"
                 b"</body></html>\n",
    "before.html": b"<!-- added before the body -->\n",
    "after.html": b"<p>added after the body</p>\n",
    # a site layout's top half: the page's <body> comes from the part
    "top.html": b"<!doctype html><html><head><title>top</title></head>"
                b"<body class=\"site\"><nav>menu</nav>\n",
    "bottom.html": b"<footer>foot</footer></body></html>\n",
}
# the assembled page's <body> is in an included part (review of issue 15,
# finding 4): the banner belongs at its start, not at the main response's
# first tag or at its end
ASSEMBLED = {
    # an include at the very top that brings <head> and <body>
    "ssitop.html": b'<!--# include virtual="/parts/top.html" --><p>main</p>'
                   b'<!--# include virtual="/parts/bottom.html" -->',
    # a layout page that is one include and nothing else
    "layout.html": b'<!--# include virtual="/parts/full.html" -->\n',
    # a fragment that add_before_body/add_after_body make a page of
    "frag.html": b"<p>main</p>\n",
}

# a page for the slice module: slices end inside a <meta> tag of <head>,
# so the scanner holds bytes at the end of the first slice
SL_HEAD = (b"<!doctype html><html><head><title>sliced</title>"
           + b'<meta name="x" content="y">' * 40)
SL_PAGE = SL_HEAD + b'</head><body class="s"><p>content</p></body></html>\n'
SL_SIZE = SL_PAGE.find(b"<meta", 300) + 2

# an "ftyp" box, then bytes that look like a page: served as video/mp4
MP4 = (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
       + b"<html><body><p>not a page</p></body></html>" + bytes(range(256)))

FEATURES = {
    "plain": "",
    "ssi": "ssi on;",
    # the second one matches the banner's text only: sub_filter runs
    # before the banner filter and never sees the banner's bytes
    "sub": "sub_filter '<p>main</p>' '<p>MAIN</p>'; "
           "sub_filter 'are slow' 'are SLOW';",
    "add": "add_before_body /parts/before.html; "
           "add_after_body /parts/after.html;",
    "gz": "gzip on; gzip_types text/html; gzip_min_length 0;",
    "layout": "add_before_body /parts/top.html; "
              "add_after_body /parts/bottom.html;",
    "ssigz": "ssi on; gzip on; gzip_types text/html; gzip_min_length 0;",
    # SSI, the addition filter and gzip together on one page
    "ssiaddgz": "ssi on; add_before_body /parts/before.html; "
                "add_after_body /parts/after.html; gzip on; "
                "gzip_types text/html; gzip_min_length 0;",
    # a precompressed file; gunzip inflates it for clients without gzip
    "gunzip": "gzip_static always; gunzip on;",
    # the file proxy_store keeps is the upstream's, never the bannered copy
    "store": "rewrite ^/store(off)?/(.*)$ /origin/$2 break; "
             "proxy_pass http://127.0.0.1:$server_port; "
             "proxy_store {dir}/store$request_uri;",
    # not HTML whatever outage_banner_types says: byte for byte untouched
    "mp4": "mp4; types { video/mp4 mp4; } outage_banner_types *;",
    "slice": "rewrite ^/slice(off)?/(.*)$ /origin/$2 break; "
             "slice %d; proxy_set_header Range $slice_range; "
             "proxy_pass http://127.0.0.1:$server_port; "
             "proxy_http_version 1.1;" % SL_SIZE,
    "cache": "rewrite ^/cache(off)?/(.*)$ /up/$2 break; "
             "proxy_pass http://127.0.0.1:$server_port; "
             "proxy_http_version 1.1; proxy_cache compat; "
             "proxy_cache_valid 200 1h; proxy_cache_key $request_uri; "
             "add_header X-Cache $upstream_cache_status always;",
}


def conf(redis, www, h2):
    locs = []
    for name, extra in FEATURES.items():
        for suffix, banner in (("", "on"), ("off", "off")):
            root = ("" if name in ("cache", "slice", "store")
                    else "alias %s/;" % www)
            locs.append("location /%s%s/ { %s outage_banner %s; %s }"
                        % (name, suffix, root, banner, extra))
    return """
    outage_redis 127.0.0.1:%d interval=200ms;
    proxy_cache_path {dir}/cache keys_zone=compat:1m;
    server {
        listen 127.0.0.1:{port};
        listen 127.0.0.1:%d http2;
        outage_banner on;
        %s
        location /parts/ { alias %s/parts/; }
        location /up/ {
            alias %s/;
            outage_banner off;
            gzip on; gzip_vary on; gzip_types text/html;
            gzip_min_length 0;
        }
        location /origin/ { alias %s/; outage_banner off; }
        location = /outage/status { outage_status; }
    }
""" % (redis, h2, "\n        ".join(locs), www, www, www)


@pytest.fixture
def site(nginx_factory, redis, tmp_path):
    www = tmp_path / "www"
    (www / "parts").mkdir(parents=True)
    (www / "page.html").write_bytes(PAGE)
    (www / "ref.html").write_bytes(REF_HEAD + REF_TAIL)
    (www / "ssi.html").write_bytes(SSI)
    (www / "sliced.html").write_bytes(SL_PAGE)
    (www / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (www / "page.html.gz").write_bytes(gzip.compress(PAGE))
    (www / "clip.mp4").write_bytes(MP4)
    for name, data in PARTS.items():
        (www / "parts" / name).write_bytes(data)
    for name, data in ASSEMBLED.items():
        (www / name).write_bytes(data)
    h2 = free_port()
    n = nginx_factory(conf(redis.port, www, h2), workers=1)
    n.h2 = h2
    n.www = www
    n.redis = redis
    return n


def incident(n, on):
    if on:
        n.redis.cli("SET", "outage:site", "Payments are slow")
    else:
        n.redis.cli("DEL", "outage:site")
    wait_for(lambda: (MARK in n.get("/plain/ref.html")[2]) == on,
             what="incident %s" % on)


def banner_bytes(n):
    body = n.get("/plain/ref.html")[2]
    assert body.startswith(REF_HEAD) and body.endswith(REF_TAIL)
    b = body[len(REF_HEAD):-len(REF_TAIL)]
    assert b.startswith(b"<style>") and b.endswith(b"</div></div>")
    return b


def same_but_banner(idle, inc, banner):
    """inc is idle with the banner right after its first <body> tag."""
    k = idle.index(b">", idle.index(b"<body")) + 1
    assert inc[:k] == idle[:k]
    assert inc[k:k + len(banner)] == banner
    assert inc[k + len(banner):] == idle[k:]


DROPPED = {"content-length", "accept-ranges", "last-modified", "expires",
           "cache-control", "etag", "content-encoding"}
VOLATILE = {"date", "transfer-encoding", "connection", "keep-alive"}


def same_headers(a, b):
    strip = lambda h: {k: v for k, v in h.items() if k not in VOLATILE}
    assert strip(a) == strip(b)


def documented_headers(idle, inc):
    keep = lambda h: {k: v for k, v in h.items()
                      if k not in DROPPED | VOLATILE | {"x-outage-banner",
                                                        "vary"}}
    assert keep(idle) == keep(inc)
    # a Vary of the page's own stays (a header of its own: the dict here
    # keeps the last one), and a page load's banner depends on it
    assert "Sec-Fetch-Dest" in inc["vary"]
    assert inc["x-outage-banner"] == "site; state=degraded"
    assert inc["cache-control"] == "no-store"
    # Content-Length: kept, exact (bannered() checks it), or dropped
    for h in ("accept-ranges", "last-modified", "expires",
              "content-encoding"):
        assert h not in inc, h
    if "etag" in idle:
        strong = idle["etag"][2:] if idle["etag"].startswith("W/") \
            else idle["etag"]
        assert inc["etag"].startswith("W/" + strong[:-1] + "-outage-")


def bannered(answer, idle_h, banner, idle_body=PAGE):
    """answer (status, headers, body) is the idle page, 200, with the
    banner and the documented header changes."""
    st, h, body = answer
    assert st == 200
    same_but_banner(idle_body, body, banner)
    documented_headers(idle_h, h)
    assert h.get("content-length", str(len(body))) == str(len(body))
    return body


def get(n, path, headers=None, method="GET"):
    return n.request(method, path, headers=headers)


# -- Range, If-Range -------------------------------------------------------

def multipart(h, body):
    """The boundary is a per-response counter: name it B."""
    m = re.search(r"boundary=(\S+)", h["content-type"])
    return body.replace(m.group(1).encode(), b"B"), \
        h["content-type"].replace(m.group(1), "B")


def test_ranges(site):
    n = site
    full_h = get(n, "/plain/page.html")[1]
    etag = full_h["etag"]
    asks = {
        "single": {"Range": "bytes=100-199"},
        "suffix": {"Range": "bytes=-50"},
        "multi": {"Range": "bytes=0-9,1000-1009"},
        "if-range ok": {"Range": "bytes=5-14", "If-Range": etag},
        "if-range stale": {"Range": "bytes=5-14", "If-Range": '"x"'},
    }
    idle = {}
    for what, hdrs in asks.items():
        st, h, body = get(n, "/plain/page.html", hdrs)
        st2, h2, body2 = get(n, "/plainoff/page.html", hdrs)
        if what == "multi":
            body, h["content-type"] = multipart(h, body)
            body2, h2["content-type"] = multipart(h2, body2)
        assert (st, body) == (st2, body2), what
        same_headers(h, h2)
        idle[what] = (st, h, body)
    assert idle["single"][0] == 206 and idle["single"][2] == PAGE[100:200]
    assert idle["suffix"][2] == PAGE[-50:]
    assert idle["multi"][2].count(b"--B") == 3
    assert idle["if-range ok"][0] == 206
    assert idle["if-range stale"][0] == 200 and idle["if-range stale"][2] \
        == PAGE

    incident(n, True)
    banner = banner_bytes(n)
    for what, hdrs in asks.items():
        st, h, body = get(n, "/plain/page.html", hdrs)
        # documented: the whole page with the banner, 200
        assert st == 200, what
        same_but_banner(PAGE, body, banner)
        documented_headers(full_h, h)
        # the module-absent location still answers the range
        st2, h2, body2 = get(n, "/plainoff/page.html", hdrs)
        if what == "multi":
            body2 = multipart(h2, body2)[0]
        assert (st2, body2) == (idle[what][0], idle[what][2]), what


# -- proxy_cache with Vary: Accept-Encoding ---------------------------------

GZ = {"Accept-Encoding": "gzip"}
ID = {"Accept-Encoding": "identity"}


def cache_round(n, loc, phase):
    """gzip and identity requests MISS once, then HIT their variant."""
    out = []
    for ae in (GZ, ID, GZ, ID):
        st, h, body = get(n, "/%s/page.html?phase=%s" % (loc, phase), ae)
        assert st == 200
        out.append((h.get("x-cache"), h, body))
    return out


def test_proxy_cache_vary_variants(site):
    n = site
    for loc in ("cache", "cacheoff"):
        r = cache_round(n, loc, "idle")
        assert [x[0] for x in r] == ["MISS", "MISS", "HIT", "HIT"], loc
        for i in (0, 2):
            assert r[i][1]["content-encoding"] == "gzip"
            assert r[i][1]["vary"] == "Accept-Encoding"
            assert gzip.decompress(r[i][2]) == PAGE
        for i in (1, 3):
            assert "content-encoding" not in r[i][1] and r[i][2] == PAGE
        if loc == "cache":
            idle = r
    absent = r
    for a, b in zip(idle, absent):
        assert a[2] == b[2]
        same_headers(a[1], b[1])

    incident(n, True)
    banner = banner_bytes(n)
    r = cache_round(n, "cache", "incident")
    assert [x[0] for x in r] == ["MISS", "MISS", "HIT", "HIT"]
    for (xc, h, body), (_, ih, _) in zip(r, idle):
        # the gzip variant is inflated, both get the banner
        same_but_banner(PAGE, body, banner)
        documented_headers(ih, h)
    # the upstream's Vary stays, the banner's is a header of its own
    conn = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
    conn.request("GET", "/cache/page.html?phase=incident", headers=GZ)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.msg.get_all("Vary") == ["Accept-Encoding", "Sec-Fetch-Dest"]
    # the entries cached before the incident get it too
    r = cache_round(n, "cache", "idle")
    assert [x[0] for x in r] == ["HIT"] * 4
    for xc, h, body in r:
        same_but_banner(PAGE, body, banner)
    # the module-absent location's variants are untouched
    r = cache_round(n, "cacheoff", "idle")
    for a, b in zip(r, absent):
        assert a[0] == "HIT" and a[2] == b[2]

    # the cache stored the upstream's pages, not the bannered copies
    incident(n, False)
    r = cache_round(n, "cache", "incident")
    assert [x[0] for x in r] == ["HIT"] * 4
    for (xc, h, body), (_, ih, ibody) in zip(r, idle):
        assert body == ibody
        assert h.get("content-encoding") == ih.get("content-encoding")
        assert MARK not in body


# -- SSI, sub_filter, addition, gzip ----------------------------------------

def compare(n, loc, path, headers=None, decode=lambda h, b: b):
    st, h, body = get(n, "/%s/%s" % (loc, path), headers)
    st2, h2, body2 = get(n, "/%soff/%s" % (loc, path), headers)
    assert st == st2 == 200
    assert body == body2
    same_headers(h, h2)
    return h, decode(h, body)


def gunzip(h, b):
    assert h.get("content-encoding") == "gzip"
    return gzip.decompress(b)


FILTER_CASES = [
    ("ssi", "ssi.html", None, None),
    ("sub", "page.html", None, None),
    ("add", "page.html", None, None),
    ("gz", "page.html", GZ, gunzip),
    ("gz", "page.html", ID, None),
    ("ssiaddgz", "ssi.html", GZ, gunzip),
    ("ssiaddgz", "ssi.html", ID, None),
    # the banner filter inflates the .gz file (gunzip, after it, has
    # nothing left to do); idle, gunzip inflates it for identity clients
    ("gunzip", "page.html", ID, None),
]


def test_filters(site):
    n = site
    idle = {}
    for loc, path, hdrs, dec in FILTER_CASES:
        idle[loc, path, str(hdrs)] = compare(n, loc, path, hdrs,
                                             dec or (lambda h, b: b))
    ssi = idle["ssi", "ssi.html", "None"][1]
    assert ssi.count(b"<p>part</p>") == 1 and b"<!--#" not in ssi
    assert b"<p>MAIN</p>" in idle["sub", "page.html", "None"][1]
    add = idle["add", "page.html", "None"][1]
    assert add.startswith(PARTS["before.html"]) \
        and add.endswith(PARTS["after.html"])
    for hdrs in (GZ, ID):
        both = idle["ssiaddgz", "ssi.html", str(hdrs)][1]
        assert both == PARTS["before.html"] + ssi + PARTS["after.html"]
    assert idle["gunzip", "page.html", str(ID)][1] == PAGE
    # a gzip client gets the precompressed file as it is
    gz_idle = compare(n, "gunzip", "page.html", GZ)
    assert gz_idle[1] == (n.www / "page.html.gz").read_bytes()
    assert gz_idle[0]["content-encoding"] == "gzip"

    incident(n, True)
    banner = banner_bytes(n)
    for loc, path, hdrs, dec in FILTER_CASES:
        st, h, body = get(n, "/%s/%s" % (loc, path), hdrs)
        assert st == 200
        if dec:
            body = dec(h, body)       # nginx's gzip compressed it again
            h = dict(h)
            h.pop("content-encoding")
        ih, ibody = idle[loc, path, str(hdrs)]
        ih = dict(ih)
        ih.pop("content-encoding", None)
        assert body.count(MARK) == 1, loc
        same_but_banner(ibody, body, banner)
        documented_headers(ih, h)
        # module absent: untouched during the incident
        st2, h2, body2 = get(n, "/%soff/%s" % (loc, path), hdrs)
        assert st2 == 200 and (dec(h2, body2) if dec else body2) == ibody

    # gzip_static + gunzip, gzip client: the banner filter inflates the
    # file and nothing compresses it again (no "gzip on"): the page with the
    # banner, without Content-Encoding (documented)
    ih = dict(gz_idle[0])
    ih.pop("content-encoding")
    bannered(get(n, "/gunzip/page.html", GZ), ih, banner)
    assert get(n, "/gunzipoff/page.html", GZ)[2] == gz_idle[1]


# -- HTTP/2 -----------------------------------------------------------------

def h2_get(n, path, headers=()):
    out = subprocess.run(
        ["curl", "-s", "--http2-prior-knowledge", "-D", "-",
         "--max-time", "10", "http://127.0.0.1:%d%s" % (n.h2, path)]
        + [a for h in headers for a in ("-H", h)],
        capture_output=True, timeout=20)
    assert out.returncode == 0, out.stderr
    head, _, body = out.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0].startswith("HTTP/2 "), lines[0]
    h = dict((k.lower(), v.strip()) for k, v in
             (x.split(":", 1) for x in lines[1:]))
    return int(lines[0].split()[1]), h, body


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_http2(site):
    n = site
    st, h, body = h2_get(n, "/plain/page.html")
    st2, h2, body2 = h2_get(n, "/plainoff/page.html")
    assert st == st2 == 200 and body == body2 == PAGE
    same_headers(h, h2)
    ssi = h2_get(n, "/ssi/ssi.html")[2]
    assert ssi == get(n, "/ssi/ssi.html")[2]

    incident(n, True)
    banner = banner_bytes(n)
    ibody = bannered(h2_get(n, "/plain/page.html"), h, banner)
    assert ibody == get(n, "/plain/page.html")[2]
    assert h2_get(n, "/plainoff/page.html")[2] == PAGE
    st, hh, hbody = h2_get(n, "/ssi/ssi.html")
    assert hbody.count(MARK) == 1 and hbody == get(n, "/ssi/ssi.html")[2]


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_http2_ranges(site):
    """HTTP/2 Range requests: idle as without the module (206, the bytes
    asked for); during an incident the whole page with the banner (200),
    as over HTTP/1.1 (documented), and still 206 without the module."""
    n = site
    full_h = h2_get(n, "/plain/page.html")[1]
    asks = [["Range: bytes=100-199"], ["Range: bytes=-50"],
            ["Range: bytes=5-14", "If-Range: " + full_h["etag"]]]
    idle = []
    for hdrs in asks:
        st, h, body = h2_get(n, "/plain/page.html", hdrs)
        st2, h2, body2 = h2_get(n, "/plainoff/page.html", hdrs)
        assert st == st2 == 206 and body == body2, hdrs
        same_headers(h, h2)
        idle.append((st, body))
    assert idle[0][1] == PAGE[100:200] and idle[1][1] == PAGE[-50:]
    assert idle[2][1] == PAGE[5:15]

    incident(n, True)
    banner = banner_bytes(n)
    for hdrs, (ist, ibody) in zip(asks, idle):
        bannered(h2_get(n, "/plain/page.html", hdrs), full_h, banner)
        assert h2_get(n, "/plainoff/page.html", hdrs)[::2] == (ist, ibody)


# -- proxy_store, mp4 --------------------------------------------------------

def stored(path):
    """The file proxy_store renames into place once the upstream is done
    (maybe after the client had the last byte)."""
    wait_for(lambda: os.path.exists(path), what="%s stored" % path)
    with open(path, "rb") as f:
        return f.read()


def test_proxy_store_keeps_the_upstreams_bytes(site):
    n = site
    store = os.path.join(n.dir, "store", "store")
    st, h, body = get(n, "/storeoff/page.html")
    assert st == 200 and body == PAGE
    st, ih, ibody = get(n, "/store/page.html?idle")
    assert st == 200 and ibody == PAGE
    assert stored(os.path.join(store, "page.html?idle")) == PAGE

    incident(n, True)
    banner = banner_bytes(n)
    bannered(get(n, "/store/page.html?incident"), ih, banner)
    # stored from the upstream's response, before any filter: no banner
    assert stored(os.path.join(store, "page.html?incident")) == PAGE


def test_mp4_is_untouched(site):
    """video/mp4 starting like a page, in a location whose
    outage_banner_types is "*": served by nginx's mp4 module, whole or a
    range, the same bytes with or without an incident; only the documented
    Vary: Sec-Fetch-Dest is added while a banner is due."""
    n = site
    asks = [{}, {"Range": "bytes=10-40"}]
    idle = []
    for hdrs in asks:
        st, h, body = get(n, "/mp4/clip.mp4", hdrs)
        st2, h2, body2 = get(n, "/mp4off/clip.mp4", hdrs)
        assert (st, body) == (st2, body2)
        same_headers(h, h2)
        idle.append((st, h, body))
    assert idle[0][0] == 200 and idle[0][2] == MP4
    assert idle[1][0] == 206 and idle[1][2] == MP4[10:41]
    assert idle[0][1]["content-type"] == "video/mp4"

    incident(n, True)
    skips = n.status_json()["counters"]["banner_skips"]
    for hdrs, (ist, ih, ibody) in zip(asks, idle):
        st, h, body = get(n, "/mp4/clip.mp4", hdrs)
        assert (st, body) == (ist, ibody), hdrs
        assert h.pop("vary") == "Sec-Fetch-Dest"
        same_headers(h, ih)
    # each counts as a skip: the range filter cuts the 206 out of the
    # whole file after the banner filter has seen (and refused) its type
    assert n.status_json()["counters"]["banner_skips"] == skips + 2


# -- keepalive --------------------------------------------------------------

def keepalive_run(n, loc):
    """60 requests of mixed kinds on one connection; the connection must
    stay the same one and every body be whole."""
    conn = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
    conn.connect()
    sock = conn.sock
    out = []
    kinds = [
        ("GET", "page.html", {}),
        ("HEAD", "page.html", {}),
        ("GET", "img.png", {}),
        ("GET", "ref.html", {"Accept": PAGE_LOAD}),
        ("GET", "page.html", {"Range": "bytes=0-99"}),
        ("GET", "missing.html", {}),
    ]
    for i in range(60):
        method, path, hdrs = kinds[i % len(kinds)]
        conn.request(method, "/%s/%s" % (loc, path), headers=hdrs)
        resp = conn.getresponse()
        body = resp.read()
        assert conn.sock is sock, (i, method, path)
        out.append((resp.status, body))
    conn.close()
    return out


def test_keepalive(site):
    n = site
    idle = keepalive_run(n, "plain")
    assert idle == keepalive_run(n, "plainoff")
    assert idle[0] == (200, PAGE) and idle[1] == (200, b"")
    assert idle[4] == (206, PAGE[:100]) and idle[5][0] == 404

    incident(n, True)
    banner = banner_bytes(n)
    inc = keepalive_run(n, "plain")
    for i, ((st, body), (ist, ibody)) in enumerate(zip(inc, idle)):
        kind = i % 6
        if kind in (0, 3, 4):
            # the page (the range too: documented, the whole page, 200)
            assert st == 200
            same_but_banner(PAGE if kind != 3 else REF_HEAD + REF_TAIL,
                            body, banner)
        else:
            assert (st, body) == (ist, ibody), i
    assert keepalive_run(n, "plainoff") == idle


# -- pages assembled by SSI and the addition filter -------------------------

ASSEMBLED_CASES = [
    ("ssi", "ssitop.html", None, None),
    ("ssi", "layout.html", None, None),
    ("layout", "frag.html", None, None),
    # nginx's gzip compresses the assembled page after the banner
    ("ssigz", "ssitop.html", GZ, gunzip),
]


def test_assembled_pages(site):
    """The banner is the first child of the <body> of the page the visitor
    gets, wherever in the parts that <body> comes from; the DOM is
    otherwise the page's (html5lib)."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..",
                                    "oracle"))
    oracle = pytest.importorskip("oracle")
    n = site
    idle = {}
    for loc, path, hdrs, dec in ASSEMBLED_CASES:
        idle[loc, path] = compare(n, loc, path, hdrs,
                                  dec or (lambda h, b: b))
        assert b"<!--#" not in idle[loc, path][1]
        assert idle[loc, path][1].count(b"<body") == 1
    assert idle["layout", "frag.html"][1] == \
        PARTS["top.html"] + ASSEMBLED["frag.html"] + PARTS["bottom.html"]

    incident(n, True)
    banner = banner_bytes(n)
    nodes = oracle.body_of(oracle.dom(b"<body>" + banner))[3]
    for loc, path, hdrs, dec in ASSEMBLED_CASES:
        st, h, body = get(n, "/%s/%s" % (loc, path), hdrs)
        assert st == 200
        if dec:
            body = dec(h, body)
        ih, ibody = idle[loc, path]
        assert body.count(MARK) == 1, (loc, path, body)
        # right after the assembled page's <body ...> tag, bytes unchanged
        same_but_banner(ibody, body, banner)
        assert oracle.dom(body) == oracle.with_banner(oracle.dom(ibody),
                                                      nodes), (loc, path)
        st2, h2, body2 = get(n, "/%soff/%s" % (loc, path), hdrs)
        assert st2 == 200 and (dec(h2, body2) if dec else body2) == ibody


# -- slice -------------------------------------------------------------------

def test_slice(site):
    """Every slice reaches the filter in order (it runs below postpone):
    the page gets the banner and no byte moves; a Range request is answered
    as without the module (review of issue 15, finding 10)."""
    n = site
    assert len(SL_PAGE) > 3 * SL_SIZE
    asks = {
        "whole": {},
        "first slice": {"Range": "bytes=10-99"},
        "later slice": {"Range": "bytes=%d-%d" % (SL_SIZE + 5,
                                                 2 * SL_SIZE + 20)},
        "suffix": {"Range": "bytes=-30"},
    }
    idle = {}
    for what, hdrs in asks.items():
        st, h, body = get(n, "/slice/sliced.html", hdrs)
        st2, h2, body2 = get(n, "/sliceoff/sliced.html", hdrs)
        assert (st, body) == (st2, body2), what
        same_headers(h, h2)
        idle[what] = (st, h, body)
    assert idle["whole"][0] == 200 and idle["whole"][2] == SL_PAGE
    assert idle["later slice"][0] == 206

    incident(n, True)
    banner = banner_bytes(n)
    st, h, body = get(n, "/slice/sliced.html")
    assert st == 200 and body.count(MARK) == 1
    same_but_banner(SL_PAGE, body, banner)
    documented_headers(idle["whole"][1], h)
    # every slice subrequest answers the client's Range itself: a range
    # request passes as without the module (documented)
    for what in ("first slice", "later slice", "suffix"):
        st, h, body = get(n, "/slice/sliced.html", asks[what])
        assert (st, body) == idle[what][:1] + idle[what][2:], what
        same_headers(h, idle[what][1])


# -- xslt, image_filter (dynamic modules of Debian's nginx) ------------------

XSLT_SO = "/usr/lib/nginx/modules/ngx_http_xslt_filter_module.so"
IMAGE_SO = "/usr/lib/nginx/modules/ngx_http_image_filter_module.so"

XML = b'<?xml version="1.0"?><doc><p>hello &amp; welcome</p></doc>\n'
XSL = b"""<?xml version="1.0"?>
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
<xsl:output method="html"/>
<xsl:template match="/"><html><head><title>x</title></head><body
class="xslt"><p><xsl:value-of select="doc/p"/></p></body></html>
</xsl:template>
</xsl:stylesheet>
"""


def png_1x1():
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


@pytest.mark.skipif(not (os.path.exists(XSLT_SO) and os.path.exists(IMAGE_SO)),
                    reason="needs Debian's xslt and image_filter modules")
def test_xslt_and_image_filter(nginx_factory, redis, tmp_path):
    """xslt makes an HTML page of an XML document: the banner goes into the
    page the transformation outputs (text/html), first in its <body>;
    image_filter's images and its JSON "size" answer (in a location with
    outage_banner_types *) stay untouched."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "doc.xml").write_bytes(XML)
    (www / "t.xsl").write_bytes(XSL)
    (www / "dot.png").write_bytes(png_1x1())
    locs = []
    for suffix, banner in (("", "on"), ("off", "off")):
        locs.append("location /x%s/ { alias %s/; outage_banner %s; "
                    "types { text/xml xml; } xslt_stylesheet %s/t.xsl; }"
                    % (suffix, www, banner, www))
        for name, mode in (("is", "size"), ("it", "test"),
                           ("ir", "rotate 90")):
            locs.append("location /%s%s/ { alias %s/; outage_banner %s; "
                        "outage_banner_types *; types { image/png png; } "
                        "image_filter %s; }"
                        % (name, suffix, www, banner, mode))
    n = nginx_factory("""
    outage_redis 127.0.0.1:%d interval=200ms;
    server {
        listen 127.0.0.1:{port};
        %s
        location = /outage/status { outage_status; }
    }""" % (redis.port, "\n        ".join(locs)), workers=1,
        main_conf="load_module %s;\nload_module %s;\n" % (XSLT_SO, IMAGE_SO))
    paths = ["x/doc.xml", "is/dot.png", "it/dot.png", "ir/dot.png"]
    idle = {}
    for p in paths:
        st, h, body = get(n, "/" + p)
        off = p.replace("/", "off/", 1)
        st2, h2, body2 = get(n, "/" + off)
        assert st == st2 == 200 and body == body2, p
        same_headers(h, h2)
        idle[p] = (h, body)
    assert idle["x/doc.xml"][0]["content-type"] == "text/html"
    assert b"<p>hello &amp; welcome</p>" in idle["x/doc.xml"][1]
    assert idle["is/dot.png"][0]["content-type"] == "application/json"
    assert b'"width": 1' in idle["is/dot.png"][1]
    assert idle["ir/dot.png"][1].startswith(b"\x89PNG")

    redis.cli("SET", "outage:site", "Payments are slow")
    wait_for(lambda: MARK in get(n, "/x/doc.xml")[2], what="incident")
    for p in paths:
        st, h, body = get(n, "/" + p)
        ih, ibody = idle[p]
        assert st == 200
        if p == "x/doc.xml":
            assert body.count(MARK) == 1
            k = ibody.index(b">", ibody.index(b"<body")) + 1
            assert body[:k] == ibody[:k]
            end = body.index(b"</div></div>", k) + len(b"</div></div>")
            assert body[k:].startswith(b"<style>")
            assert body[end:] == ibody[k:]
            documented_headers(ih, h)
        else:
            assert body == ibody, p
            assert "x-outage-banner" not in h, p
        assert get(n, "/" + p.replace("/", "off/", 1))[2] == ibody
