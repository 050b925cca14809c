"""The outage banner in live HTML responses (header + body filter).

Real nginx, redis-server and backend: the banner goes right after the body
tag exactly once, whatever the packet boundaries; responses that must not
change (JSON, images, HEAD, 304, 206, compressed, other scopes) pass byte for
byte; headers make caches forget the banner; sendfile'd pages stay fast.
"""

import gzip
import http.client
import os
import re
import socket
import statistics
import subprocess
import time

import pytest

from harness import free_port, wait_for

INTERVAL = 0.2
MARK = b'class="outage-banner '

SHOP = (b'<!doctype html><html><head><title>Shop</title></head>'
        b'<body class="shop"><h1>Shop</h1><p>Welcome</p></body></html>')
SPLIT = (b'<html><head><title>s</title></head>'
         b'<body class="x"><p>after</p></body></html>')

STATIC = (b'<!doctype html><html><head><title>t</title>'
          b'<meta charset="utf-8"></head>\n<body class="s">\n<p>static</p>'
          b'</body></html>\n')

CONF = """
    outage_redis 127.0.0.1:{redis} interval=200ms timeout=200ms
                 connect_timeout=200ms;
    outage_scopes checkout;
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        outage_banner on;
        add_header X-Pid $pid always;

        location /static/ {{
            alias {www}/;
            types {{ text/html html; application/json json; }}
        }}
        location /stream/ {{
            proxy_pass http://127.0.0.1:{backend}/;
            proxy_buffering off;
        }}
        location /gz/ {{
            proxy_pass http://127.0.0.1:{backend}/;
            gzip on;
            gzip_min_length 1;
        }}
        location /gz-off/ {{ proxy_pass http://127.0.0.1:{backend}/; }}
        location /forced-gzip/ {{
            proxy_pass http://127.0.0.1:{backend}/;
            proxy_set_header Accept-Encoding gzip;
        }}
        location /checkout/ {{
            outage_banner_scopes checkout;
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location /st404/ {{
            outage_banner_status 200 404;
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location /exp/ {{
            expires 1h;
            add_header Cache-Control "public" always;
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location /keep/ {{
            outage_banner_nocache off;
            outage_banner_last_modified on;
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location /off/ {{
            outage_banner off;
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location = /text {{ default_type text/html; return 200 "no tags"; }}
        location = /empty {{ default_type text/html; return 200 ""; }}
        location / {{ proxy_pass http://127.0.0.1:{backend}; }}
        location = /outage/status {{ outage_status; }}
    }}
"""


# -- helpers ---------------------------------------------------------------

def state_of(n, scope="site"):
    for s in n.status_json()["scopes"]:
        if s["name"] == scope:
            return s["state"]
    raise KeyError(scope)


def declare(redis, n, *cmd, scope="site", want=None):
    """Run a redis-cli command and wait until nginx shows the new state."""
    redis.cli(*cmd)
    if want:
        wait_for(lambda: state_of(n, scope) == want, timeout=5,
                 what="%s -> %s" % (scope, want))


def split_banner(body, original, marker, mark=MARK):
    """body must be original with one banner right after marker."""
    assert body.count(mark) == 1, body
    k = original.index(marker) + len(marker)
    assert body.startswith(original[:k]), body[:200]
    assert body.endswith(original[k:]), body[-200:]
    banner = body[k:len(body) - len(original) + k]
    assert len(body) == len(original) + len(banner)
    assert mark in banner
    return banner


def start(nginx_factory, redis, backend, www, **kw):
    return nginx_factory(CONF.format(redis=redis.port, backend=backend.port,
                                     www=www), **kw)


@pytest.fixture
def www(tmp_path):
    d = tmp_path / "www"
    d.mkdir()
    (d / "index.html").write_bytes(STATIC)
    (d / "data.json").write_bytes(b'{"ok":true}')
    return str(d)


def raw_get(port, path, headers=None, rcvbuf=None, pause=0.0, pauses=0,
            timeout=20):
    """HTTP/1.1 GET on a new socket; optional tiny receive buffer and slow
    reads so that nginx has to wait for the client (NGX_AGAIN).  Returns
    (status, raw header block, body with chunked coding removed)."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    req = "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" % path
    for k, v in (headers or {}).items():
        req += "%s: %s\r\n" % (k, v)
    s.sendall(req.encode() + b"\r\n")
    chunks = []
    i = 0
    while True:
        d = s.recv(4096)
        if not d:
            break
        chunks.append(d)
        i += 1
        if i <= pauses:
            time.sleep(pause)
    s.close()
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        out = []
        while True:
            line, _, body = body.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                break
            out.append(body[:size])
            body = body[size + 2:]
        body = b"".join(out)
    return status, head.decode("latin-1"), body


def header_values(head, name):
    return [m.group(1).strip() for m in
            re.finditer(r"(?im)^%s:(.*)$" % re.escape(name), head)]


# -- the basics --------------------------------------------------------------

def test_static_and_proxied_pages(nginx_factory, redis, backend, www):
    n = start(nginx_factory, redis, backend, www)
    wait_for(lambda: n.status_json()["redis"]["up"], what="redis polled")

    # no incident: both pass byte for byte, with their validators
    st, h, body = n.get("/static/index.html")
    assert st == 200 and body == STATIC
    assert h["content-length"] == str(len(STATIC))
    assert h["etag"].startswith('"') and "last-modified" in h
    assert h["accept-ranges"] == "bytes" and "cache-control" not in h
    plain_etag = h["etag"]

    st, h, body = n.get("/page")
    assert st == 200 and body == SHOP and h["content-length"] == str(len(SHOP))

    declare(redis, n, "HSET", "outage:site", "state", "down", "message",
            "Payments failing", want="down")

    st, h, body = n.get("/static/index.html")
    assert st == 200
    banner = split_banner(body, STATIC, b'<body class="s">')
    assert banner.startswith(b"<style>") and b"</style><div " in banner
    assert b'<div class="outage-banner outage-banner--down" role="status" ' \
        b'aria-live="polite">' in banner
    assert b"Payments failing" in banner
    # the length the bannered body has (test_banner_length.py)
    assert h["content-length"] == str(len(body)) and "accept-ranges" not in h
    # weak, and naming the incident: never matches the page after it
    assert h["etag"].startswith("W/" + plain_etag[:-1] + "-outage-")
    # the incident's start in hex, "-", its state in decimal, the quote
    assert re.fullmatch(r'W/"[^"]+-outage-[0-9a-f]+-[0-9]+"', h["etag"])
    assert h["cache-control"] == "no-store"
    assert "last-modified" not in h and "expires" not in h
    assert h["x-outage-banner"] == "site; state=down"

    st, h, body = n.get("/page")
    assert st == 200
    # the same banner for the same incident, whatever the source
    assert split_banner(body, SHOP, b'<body class="shop">') == banner
    assert h["etag"].startswith('W/"shop-')
    assert h["content-length"] == str(len(body))
    assert h["cache-control"] == "no-store"

    # every worker injects, and counts what it injected
    before = n.status_json()["counters"]["banners"]
    pids = set()
    for _ in range(20):
        st, h, body = n.get("/page")
        assert body.count(MARK) == 1
        pids.add(h["x-pid"])
    assert n.status_json()["counters"]["banners"] == before + 20
    assert len(pids) == 2, pids

    # outage_banner off: untouched
    st, h, body = n.get("/off/page")
    assert body == SHOP and h["content-length"] == str(len(SHOP))


def test_banner_follows_redis_within_one_interval(nginx_factory, redis,
                                                  backend, www):
    n = start(nginx_factory, redis, backend, www)
    wait_for(lambda: n.status_json()["redis"]["up"], what="redis polled")
    assert n.get("/page")[2] == SHOP

    t0 = time.monotonic()
    redis.cli("SET", "outage:site", "Checkout is slow")
    wait_for(lambda: MARK in n.get("/page")[2], timeout=5, interval=0.01,
             what="banner appears")
    assert time.monotonic() - t0 <= INTERVAL + 0.5
    body = n.get("/page")[2]
    assert b"outage-banner--degraded" in body and b"Checkout is slow" in body

    t0 = time.monotonic()
    redis.cli("DEL", "outage:site")
    wait_for(lambda: n.get("/page")[2] == SHOP, timeout=5, interval=0.01,
             what="banner disappears")
    assert time.monotonic() - t0 <= INTERVAL + 0.5
    st, h, body = n.get("/page")
    assert h["content-length"] == str(len(SHOP)) and "cache-control" not in h


# -- byte-exact insertion over odd packet boundaries -------------------------

def test_split_and_drip_are_byte_exact(nginx_factory, redis, backend, www):
    n = start(nginx_factory, redis, backend, www)
    declare(redis, n, "SET", "outage:site", "Slow", want="degraded")
    banner = split_banner(n.get("/page")[2], SHOP, b'<body class="shop">')

    # the default split: "<bo" and 'dy class="x">...' in separate chunks
    st, h, body = n.get("/stream/split")
    assert st == 200 and h.get("transfer-encoding") == "chunked"
    assert split_banner(body, SPLIT, b'<body class="x">') == banner

    # every other split point, including inside the attribute and at the end
    for at in range(0, len(SPLIT) + 1, 3):
        st, _, body = n.get("/stream/split?at=%d&delay_ms=1" % at)
        assert st == 200
        assert split_banner(body, SPLIT, b'<body class="x">') == banner, at

    # one byte per packet
    _, drip = backend.get("/drip")
    st, h, body = n.get("/stream/drip?delay_ms=1")
    assert st == 200 and "content-length" not in h
    assert split_banner(body, drip, b'<body class="drip">') == banner


def test_text_without_tags_gets_body_and_banner_first(nginx_factory, redis,
                                                      backend, www):
    n = start(nginx_factory, redis, backend, www)
    declare(redis, n, "SET", "outage:site", "Slow", want="degraded")

    # text implies <body>: the banner goes before it, after a "<body>"
    st, h, body = n.get("/text")
    assert st == 200 and body.startswith(b"<body><style")
    assert body.count(MARK) == 1 and body.endswith(b"</div></div>no tags")

    # an empty body has nothing to decorate
    st, h, body = n.get("/empty")
    assert st == 200 and body == b"" and h.get("content-length") == "0"


# -- what must not change ----------------------------------------------------

def test_untouched_responses(nginx_factory, redis, backend, www):
    n = start(nginx_factory, redis, backend, www)
    declare(redis, n, "HSET", "outage:site", "state", "down", want="down")

    for path in ("/json", "/image.png", "/static/data.json"):
        st, h, body = n.get(path)
        direct = backend.get(path)[1] if not path.startswith("/static") \
            else open(os.path.join(www, "data.json"), "rb").read()
        assert st == 200 and body == direct, path
        assert h["content-length"] == str(len(direct)), path
        assert "cache-control" not in h, path

    # HEAD: the headers GET gets
    st, h, body = n.request("HEAD", "/page")
    assert st == 200 and body == b""
    st, hg, _ = n.get("/page")
    # HEAD has no body to tell the bannered length: RFC 9110 9.3.2 lets
    # it omit Content-Length, GET has it
    for k in ("date", "x-pid", "transfer-encoding", "content-length"):
        h.pop(k, None) if k != "content-length" else None
        hg.pop(k, None)
    assert h == hg
    assert "content-length" not in h and "accept-ranges" not in h
    assert h["etag"].startswith('W/"shop-') and h["cache-control"] == "no-store"

    # 304 from the backend and from nginx itself
    etag = backend.stats()  # noqa: F841 - keep the backend warm
    st, h, _ = n.get("/page", headers={"If-None-Match": '"shop-x"'})
    assert st == 200
    shop_etag = n.get("/off/page")[1]["etag"]
    st, h, body = n.get("/page", headers={"If-None-Match": shop_etag})
    assert st == 304 and body == b"" and h["etag"] == shop_etag
    assert "cache-control" not in h

    st, h, _ = n.get("/off/page")
    st, h, _ = n.get("/static/index.html")
    stat = os.stat(os.path.join(www, "index.html"))
    static_etag = '"%x-%x"' % (int(stat.st_mtime), stat.st_size)
    st, h, body = n.get("/static/index.html",
                        headers={"If-None-Match": static_etag})
    assert st == 304 and body == b"" and MARK not in body

    # other statuses than outage_banner_status
    st, h, body = n.get("/status/404")
    assert st == 404 and MARK not in body
    st, h, body = n.get("/st404/status/404")
    assert st == 404 and body.count(MARK) == 1

    # a body the upstream compressed anyway gets the banner too
    st, h, body = n.get("/forced-gzip/gzip",
                        headers={"Accept-Encoding": "gzip"})
    assert st == 200 and "content-encoding" not in h
    assert h["x-backend-gzipped"] == "1"
    split_banner(body, SHOP, b'<body class="shop">')


def test_ranges(nginx_factory, redis, backend, www):
    n = start(nginx_factory, redis, backend, www)
    wait_for(lambda: n.status_json()["redis"]["up"], what="redis polled")
    rng = {"Range": "bytes=0-9"}

    st, h, body = n.get("/static/index.html", headers=rng)
    assert st == 206 and body == STATIC[:10]

    declare(redis, n, "SET", "outage:site", "Slow", want="degraded")

    # nginx's own ranges: the banner makes the page a new entity, sent whole
    st, h, body = n.get("/static/index.html", headers=rng)
    assert st == 200 and "content-range" not in h
    split_banner(body, STATIC, b'<body class="s">')

    # a 206 from the upstream is a part of a page: never modified
    st, h, body = n.get("/page", headers=rng)
    assert st == 206 and body == SHOP[:10]
    assert h["content-range"] == "bytes 0-9/%d" % len(SHOP)


# -- compressed upstreams ----------------------------------------------------

def test_gzip_upstream(nginx_factory, redis, backend, www):
    n = start(nginx_factory, redis, backend, www)
    wait_for(lambda: n.status_json()["redis"]["up"], what="redis polled")
    ae = {"Accept-Encoding": "gzip"}

    # no incident: the backend compresses, nginx passes it on
    st, h, body = n.get("/gz/gzip", headers=ae)
    assert h["x-backend-gzipped"] == "1" and h["content-encoding"] == "gzip"
    assert gzip.decompress(body) == SHOP

    declare(redis, n, "HSET", "outage:site", "state", "down", want="down")

    # the backend is asked as the client asked; the filter inflates its
    # gzip, nginx's gzip compresses again
    st, h, body = n.get("/gz/gzip", headers=ae)
    assert st == 200 and h["x-backend-gzipped"] == "1"
    assert h["content-encoding"] == "gzip"
    assert backend.stats()["last_headers"]["/gzip"]["accept-encoding"] \
        == "gzip"
    split_banner(gzip.decompress(body), SHOP, b'<body class="shop">')

    # a client without gzip gets it plain
    st, h, body = n.get("/gz/gzip")
    assert "content-encoding" not in h
    split_banner(body, SHOP, b'<body class="shop">')

    # nginx's gzip off: the inflated page, plain, with the banner
    st, h, body = n.get("/gz-off/gzip", headers=ae)
    assert h["x-backend-gzipped"] == "1" and "content-encoding" not in h
    split_banner(body, SHOP, b'<body class="shop">')

    # an upstream that compresses whatever the client says
    st, h, body = n.get("/forced-gzip/gzip")
    assert "content-encoding" not in h
    split_banner(body, SHOP, b'<body class="shop">')

    # a location where no banner is due passes the gzip body untouched
    st, h, body = n.get("/checkout/gzip", headers=ae)
    assert h["x-backend-gzipped"] == "1" and h["content-encoding"] == "gzip"
    assert gzip.decompress(body) == SHOP


# -- headers -----------------------------------------------------------------

def test_cache_headers(nginx_factory, redis, backend, www):
    n = start(nginx_factory, redis, backend, www)
    wait_for(lambda: n.status_json()["redis"]["up"], what="redis polled")

    st, head, body = raw_get(n.port, "/exp/page")
    assert body == SHOP
    assert "no-store" not in " ".join(header_values(head, "cache-control"))

    declare(redis, n, "SET", "outage:site", "Slow", want="degraded")

    # "expires" and add_header run before the filter: what they set goes
    st, head, body = raw_get(n.port, "/exp/page")
    cc = header_values(head, "cache-control")
    assert cc == ["no-store"], head
    assert not header_values(head, "expires"), head
    assert body.count(MARK) == 1

    # both options off: validators kept as the upstream sent them (weak)
    st, h, body = n.get("/keep/page")
    assert body.count(MARK) == 1
    assert "cache-control" not in h and "last-modified" in h
    assert h["etag"].startswith('W/"')


def test_message_is_escaped(nginx_factory, redis, backend, www):
    n = start(nginx_factory, redis, backend, www)
    evil = "<script>alert(1)</script>\"'&"
    declare(redis, n, "HSET", "outage:site", "state", "down", "message", evil,
            "link", "https://status.example.com/?a=1&b=2", want="down")

    body = n.get("/page")[2]
    banner = split_banner(body, SHOP, b'<body class="shop">')
    assert b"<script" not in banner
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;" in banner
    assert b'href="https://status.example.com/?a=1&amp;b=2" rel="noopener"' \
        in banner


def test_scopes(nginx_factory, redis, backend, www):
    n = start(nginx_factory, redis, backend, www)
    declare(redis, n, "SET", "outage:site", "Site wide", want="degraded")

    # the checkout location only shows checkout incidents
    assert n.get("/checkout/page")[2] == SHOP
    assert n.get("/page")[2].count(MARK) == 1

    declare(redis, n, "HSET", "outage:checkout", "state", "down", "message",
            "Payments down", scope="checkout", want="down")
    body = n.get("/checkout/page")[2]
    banner = split_banner(body, SHOP, b'<body class="shop">')
    assert b"Payments down" in banner and b"Site wide" not in banner

    # "all": the worst scope wins
    banner = split_banner(n.get("/page")[2], SHOP, b'<body class="shop">')
    assert b"outage-banner--down" in banner


def test_scheduled_maintenance(nginx_factory, redis, backend, www):
    n = start(nginx_factory, redis, backend, www)
    starts = time.strftime("%Y-%m-%dT%H:%MZ",
                           time.gmtime(time.time() + 3 * 3600 + 120))
    ends = time.strftime("%Y-%m-%dT%H:%MZ",
                         time.gmtime(time.time() + 5 * 3600 + 120))
    redis.cli("HSET", "outage:site", "state", "maintenance", "message",
              "Database upgrade", "starts", starts, "ends", ends)
    wait_for(lambda: MARK in n.get("/page")[2], what="announced window")
    banner = split_banner(n.get("/page")[2], SHOP, b'<body class="shop">')
    assert b"outage-banner--scheduled" in banner, banner[-600:]
    assert b"Scheduled maintenance" in banner and b"Starts: " in banner
    assert b"(in 3 h)" in banner or b"(in 4 h)" in banner


# -- large static files with production socket settings ---------------------

BIG_CONF = """
    outage_redis 127.0.0.1:{redis} interval=200ms;
    server {{
        listen 127.0.0.1:{{port}};
        outage_banner on;
        sendfile on;
        tcp_nopush on;
        location / {{ root {www}; }}
        location = /outage/status {{ outage_status; }}
    }}
"""


def big_page(size, head_pad=0):
    head = (b"<!doctype html><html><head><title>big</title><style>"
            + b"/*" + b"x" * head_pad + b"*/" + b"</style></head>"
            + b'<body class="big">\n')
    line = b"<p>Lorem ipsum dolor sit amet, consectetur adipiscing.</p>\n"
    body = head + line * ((size - len(head)) // len(line) + 1)
    return body[:size - 15] + b"</body></html>\n"


def p50(n, path, count=50):
    """Median time of count GETs on one keepalive connection (the case
    where an undersized last segment waits for a delayed ACK), and the last
    body."""
    conn = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
    times = []
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            times.append(time.perf_counter() - t0)
            assert resp.status == 200
    finally:
        conn.close()
    return statistics.median(times), body


# (size, head padding): insertion point in the first read, or past it
PAGES = ((64 * 1024, 0), (66000, 3000), (64 * 1024, 20000), (80000, 20000),
         (100 * 1024 + 7, 0), (256 * 1024, 70000))


def test_sendfile_tcp_nopush_latency(nginx_factory, redis, www):
    pages = {}
    for size, pad in PAGES:
        name = "/big%d_%d.html" % (size, pad)
        pages[name] = big_page(size, head_pad=pad)
        with open(os.path.join(www, name[1:]), "wb") as f:
            f.write(pages[name])
    n = nginx_factory(BIG_CONF.format(redis=redis.port, www=www), workers=1)
    wait_for(lambda: n.status_json()["redis"]["up"], what="redis polled")

    plain = {}
    for name in pages:
        plain[name], body = p50(n, name)
        assert body == pages[name]

    declare(redis, n, "SET", "outage:site", "Slow", want="degraded")

    for name in pages:
        banner, body = p50(n, name)
        split_banner(body, pages[name], b'<body class="big">')
        # a banner must not cost a delayed-ACK stall (~40 ms) per response
        assert banner < 0.020, (name, banner, plain[name])
        assert banner < 2 * plain[name] + 0.005, (name, banner, plain[name])


def test_file_scan_paths(nginx_factory, redis, www):
    """Insertion point past the first read, no insertion point at all, and
    the same files through the in-memory (sendfile off) path."""
    far = big_page(300 * 1024, head_pad=40000)
    notag = b"plain text without any tag " * 4000
    # the scan of a file stops after 256 KB: no banner, counted
    toofar = big_page(600 * 1024, head_pad=300 * 1024)
    for name, data in (("far.html", far), ("notag.html", notag),
                       ("toofar.html", toofar)):
        with open(os.path.join(www, name), "wb") as f:
            f.write(data)
    conf = BIG_CONF.replace("location / {{ root {www}; }}",
                            "location / {{ root {www}; }}\n"
                            "        location /mem/ {{ alias {www}/; "
                            "sendfile off; output_buffers 2 4k; }}")
    n = nginx_factory(conf.format(redis=redis.port, www=www), workers=1)
    declare(redis, n, "SET", "outage:site", "Slow", want="degraded")

    for prefix in ("/", "/mem/"):
        st, h, body = n.get(prefix + "far.html")
        split_banner(body, far, b'<body class="big">')
        st, h, body = n.get(prefix + "notag.html")
        assert body.endswith(notag) and body.count(MARK) == 1
        assert body.startswith(b"<body><style>")
        skips = n.status_json()["counters"]["banner_skips"]
        st, h, body = n.get(prefix + "toofar.html")
        if prefix == "/":
            assert st == 200 and body == toofar
            assert n.status_json()["counters"]["banner_skips"] == skips + 1
        else:
            # read by the copy filter anyway: scanned in memory, no limit
            split_banner(body, toofar, b'<body class="big">')


def test_proxy_cache_hits_get_the_banner(nginx_factory, redis, backend,
                                         tmp_path):
    """A cache HIT is sent from the cache file at an unaligned offset; the
    cache keeps the upstream's page, the banner is added on the way out."""
    conf = """
    outage_redis 127.0.0.1:{redis} interval=200ms;
    proxy_cache_path {cache} keys_zone=pages:1m;
    server {{
        listen 127.0.0.1:{{port}};
        outage_banner on;
        sendfile on;
        tcp_nopush on;
        location / {{
            proxy_pass http://127.0.0.1:{backend};
            proxy_cache pages;
            proxy_cache_valid 200 1m;
            add_header X-Cache $upstream_cache_status;
        }}
        location = /outage/status {{ outage_status; }}
    }}
    """.format(redis=redis.port, backend=backend.port,
               cache=tmp_path / "cache")
    n = nginx_factory(conf, workers=1)
    declare(redis, n, "SET", "outage:site", "Slow", want="degraded")
    _, big = backend.get("/big?kb=300")

    for path, original, marker in [("/page", SHOP, b'<body class="shop">'),
                                   ("/big?kb=300", big, b'<body class="big">')]:
        for want in ("MISS", "HIT", "HIT"):
            st, h, body = n.get(path)
            assert st == 200 and h["x-cache"] == want, (path, h)
            split_banner(body, original, marker)

    redis.cli("DEL", "outage:site")
    wait_for(lambda: n.get("/page")[2] == SHOP, what="banner gone")
    st, h, body = n.get("/big?kb=300")
    assert h["x-cache"] == "HIT" and body == big


PAGE_LOAD = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_page_load_revalidating_a_cached_copy_gets_the_banner(
        nginx_factory, redis, backend, www, tmp_path):
    """A browser that cached a page before the incident revalidates it on
    reload; nginx's own 304 (static file, proxy_cache HIT) would hide the
    outage, so a page load gets the bannered 200. Images, scripts and API
    calls keep their 304s, and the 304s come back after the incident."""
    conf = """
    outage_redis 127.0.0.1:{redis} interval=200ms;
    proxy_cache_path {cache} keys_zone=pages:1m;
    server {{
        listen 127.0.0.1:{{port}};
        outage_banner on;
        location /static/ {{ alias {www}/; }}
        location /cached/ {{
            proxy_pass http://127.0.0.1:{backend}/;
            proxy_cache pages;
            proxy_cache_valid 200 1m;
            add_header X-Cache $upstream_cache_status;
        }}
        location = /outage/status {{ outage_status; }}
    }}
    """.format(redis=redis.port, backend=backend.port, www=www,
               cache=tmp_path / "cache")
    n = nginx_factory(conf)
    wait_for(lambda: n.status_json()["redis"]["up"], what="redis polled")

    st, h, _ = n.get("/static/index.html")
    etag, lm = h["etag"], h["last-modified"]
    st, h, _ = n.get("/cached/page")
    assert st == 200 and h["x-cache"] == "MISS"
    cached_etag = h["etag"]

    page = {"Accept": PAGE_LOAD}
    image = {"Accept": "image/avif,image/webp,image/*,*/*;q=0.8"}
    revalidations = [
        ("/static/index.html", {"If-None-Match": etag}),
        ("/static/index.html", {"If-Modified-Since": lm}),
        ("/static/index.html", {"If-None-Match": etag, "If-Modified-Since": lm}),
        ("/cached/page", {"If-None-Match": cached_etag}),
    ]

    def answers(accept):
        out = []
        for path, cond in revalidations:
            st, h, body = n.get(path, headers=dict(cond, **accept))
            out.append((st, body.count(MARK)))
        return out

    # before the incident: every revalidation is a 304
    assert answers(page) == [(304, 0)] * 4
    assert answers(image) == [(304, 0)] * 4

    declare(redis, n, "SET", "outage:site", "Payments are slow", want="degraded")
    assert answers(page) == [(200, 1)] * 4
    st, h, body = n.get("/static/index.html",
                        headers=dict(page, **{"If-None-Match": etag}))
    split_banner(body, STATIC, b'<body class="s">')
    assert h["etag"].startswith("W/" + etag[:-1] + "-outage-")
    assert h["cache-control"] == "no-store"
    st, h, body = n.get("/cached/page",
                        headers=dict(page, **{"If-None-Match": cached_etag}))
    assert h["x-cache"] == "HIT"
    split_banner(body, SHOP, b'<body class="shop">')
    # a resource of the page, or a client without Accept: still 304
    assert answers(image) == [(304, 0)] * 4
    assert answers({}) == [(304, 0)] * 4
    # validators that do not match: the 200 with the banner, as always
    stale = {"If-None-Match": '"old"'}
    for accept in (page, image):
        st, h, body = n.get("/static/index.html", headers=dict(accept, **stale))
        assert st == 200 and body.count(MARK) == 1
    # HEAD is answered as GET would be: 200, bannered headers
    st, h, body = n.request("HEAD", "/static/index.html",
                            headers=dict(page, **{"If-None-Match": etag}))
    assert st == 200 and body == b"" and h["cache-control"] == "no-store"

    redis.cli("DEL", "outage:site")
    wait_for(lambda: state_of(n, "site") == "ok", what="incident cleared")
    assert answers(page) == [(304, 0)] * 4


# -- slow clients: buffers are handed back only once sent --------------------

SLOW_CONF = """
    outage_redis 127.0.0.1:{redis} interval=200ms;
    server {{
        listen 127.0.0.1:{{port}} sndbuf=16k;
        outage_banner on;
        sendfile on;
        tcp_nopush on;
        location /static/ {{ alias {www}/; }}
        location /mem/ {{ alias {www}/; sendfile off; output_buffers 1 8k; }}
        location /buffered/ {{
            proxy_pass http://127.0.0.1:{backend}/;
            proxy_buffers 4 4k;
            proxy_buffer_size 4k;
            proxy_busy_buffers_size 8k;
            proxy_max_temp_file_size 0;
        }}
        location /tempfile/ {{
            proxy_pass http://127.0.0.1:{backend}/;
            proxy_buffers 2 4k;
            proxy_buffer_size 4k;
            proxy_busy_buffers_size 4k;
        }}
        location /stream/ {{
            proxy_pass http://127.0.0.1:{backend}/;
            proxy_buffering off;
            proxy_buffer_size 4k;
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""


def test_slow_client_large_bodies(nginx_factory, redis, backend, www):
    page = big_page(3 * 1024 * 1024)
    with open(os.path.join(www, "big.html"), "wb") as f:
        f.write(page)
    n = nginx_factory(SLOW_CONF.format(redis=redis.port, www=www,
                                       backend=backend.port))
    declare(redis, n, "SET", "outage:site", "Slow", want="degraded")
    _, proxied = backend.get("/big?kb=3072")

    for path, original, marker in [
            ("/static/big.html", page, b'<body class="big">'),
            ("/mem/big.html", page, b'<body class="big">'),
            ("/buffered/big?kb=3072", proxied, b'<body class="big">'),
            ("/tempfile/big?kb=3072", proxied, b'<body class="big">'),
            ("/stream/big?kb=3072", proxied, b'<body class="big">')]:
        st, head, body = raw_get(n.port, path, rcvbuf=4096, pause=0.003,
                                 pauses=60, timeout=30)
        assert st == 200, path
        split_banner(body, original, marker)


# -- HTTP/2 ------------------------------------------------------------------

def test_http2(nginx_factory, redis, backend, www):
    h2 = free_port()
    conf = CONF.replace("listen 127.0.0.1:{{port}} reuseport;",
                        "listen 127.0.0.1:{{port}} reuseport;\n"
                        "        listen 127.0.0.1:%d http2;" % h2)
    n = nginx_factory(conf.format(redis=redis.port, backend=backend.port,
                                  www=www))
    declare(redis, n, "SET", "outage:site", "Slow", want="degraded")

    for path, original, marker in [
            ("/page", SHOP, b'<body class="shop">'),
            ("/static/index.html", STATIC, b'<body class="s">')]:
        out = subprocess.run(
            ["curl", "-s", "--http2-prior-knowledge", "-D", "-",
             "http://127.0.0.1:%d%s" % (h2, path)],
            capture_output=True, timeout=20)
        head, _, body = out.stdout.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/2 200"), head
        assert b"cache-control: no-store" in head.lower()
        split_banner(body, original, marker)


# -- configuration variants --------------------------------------------------

VARIANTS = """
    outage_redis 127.0.0.1:{redis} interval=200ms;
    server {{
        listen 127.0.0.1:{{port}};
        outage_banner on;
        location /tpl/ {{
            outage_banner_template {tpl};
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location /html/ {{
            outage_banner_html
                '<div id="custom">$outage_state: $outage_message_html</div>';
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location /nonce/ {{
            outage_banner_nonce $request_id;
            add_header X-Nonce $request_id;
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location /linked/ {{
            outage_banner_css_uri /_outage/banner.css;
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location = /_outage/banner.css {{ outage_banner_css; }}
        location = /outage/status {{ outage_status; }}
    }}
"""

TEMPLATE = (b'<aside class="{{class}}" data-state="{{state}}" '
            b'data-scope="{{scope}}">{{message}}{{#eta}} (ETA {{eta}})'
            b'{{/eta}}{{#link}} <a href="{{link}}">more</a>{{/link}}'
            b'</aside>')


def test_template_html_nonce_and_css(nginx_factory, redis, backend,
                                     tmp_path):
    tpl = tmp_path / "banner.tpl"
    tpl.write_bytes(TEMPLATE)
    n = nginx_factory(VARIANTS.format(redis=redis.port, backend=backend.port,
                                      tpl=tpl))
    declare(redis, n, "HSET", "outage:site", "state", "down", "message",
            "Pay <b>", "eta", "after lunch", want="down")

    banner = split_banner(n.get("/tpl/page")[2], SHOP, b'<body class="shop">',
                          mark=b"<aside ")
    assert banner == (b'<aside class="outage-banner outage-banner--down" '
                      b'data-state="down" data-scope="site">Pay &lt;b&gt; '
                      b'(ETA after lunch)</aside>')

    banner = split_banner(n.get("/html/page")[2], SHOP, b'<body class="shop">',
                          mark=b'id="custom"')
    assert banner == b'<div id="custom">down: Pay &lt;b&gt;</div>'

    st, h, body = n.get("/nonce/page")
    banner = split_banner(body, SHOP, b'<body class="shop">')
    assert re.fullmatch(r"[0-9a-f]{32}", h["x-nonce"])
    assert banner.startswith(b'<style nonce="%s">' % h["x-nonce"].encode())
    assert n.get("/nonce/page")[1]["x-nonce"] != h["x-nonce"]

    banner = split_banner(n.get("/linked/page")[2], SHOP,
                          b'<body class="shop">')
    assert banner.startswith(b'<link rel="stylesheet" '
                             b'href="/_outage/banner.css"><div class="outage')
    assert b"<style" not in banner

    # the stylesheet location
    st, h, css = n.get("/_outage/banner.css")
    assert st == 200 and h["content-type"] == "text/css"
    assert css.startswith(b".outage-banner{") and b"</" not in css
    assert h["content-length"] == str(len(css))
    assert h["cache-control"] == "public, max-age=3600"
    st, h2, _ = n.get("/_outage/banner.css",
                      headers={"If-None-Match": h["etag"]})
    assert st == 304
    st, h2, body = n.request("HEAD", "/_outage/banner.css")
    assert st == 200 and body == b"" and h2["content-length"] == str(len(css))
    st, _, _ = n.request("POST", "/_outage/banner.css", body=b"x")
    assert st == 405

    # the inline style is the same stylesheet
    body = n.get("/nonce/page")[2]
    assert b">" + css + b"</style>" in body
