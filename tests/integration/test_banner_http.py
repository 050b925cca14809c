"""HTTP semantics of bannered responses (issue 15).

Validators of a bannered copy never revalidate into the time after the
incident; two tiers running the module add one banner; bodies that are not
HTML get none whatever outage_banner_types says; a recoding charset filter
does not corrupt the banner of later responses.
"""

import gzip
import re

from harness import raw_request, wait_for
from outage_fixtures import (ScriptedBackend, banner_nginx, declare,
                             response, scope_state, www_dir)

MARK = b'class="outage-banner '
PAGE_LOAD = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

PAGE = (b'<!doctype html><html><head><title>t</title></head>'
        b'<body class="s"><p>page</p></body></html>\n')

LOCATIONS = """
        location /keep/ {{
            alias {www}/;
            outage_banner_nocache off;
            outage_banner_last_modified on;
        }}
        location /app/ {{ alias {www}/; }}
        location /front/ {{
            rewrite ^/front/(.*)$ /app/$1 break;
            proxy_pass http://127.0.0.1:$server_port;
        }}
        location /any/ {{
            alias {www}/;
            outage_banner_types *;
        }}
        location /koi/ {{
            alias {www}/;
            source_charset koi8-r;
            charset $arg_cs;
        }}
        location /enc/ {{ proxy_pass http://127.0.0.1:{enc}/; }}
        location /appco/ {{ alias {www}/; outage_banner_scopes checkout; }}
        location /frontco/ {{
            rewrite ^/frontco/(.*)$ /appco/$1 break;
            proxy_pass http://127.0.0.1:$server_port;
        }}
"""


def start(nginx_factory, redis, tmp_path, files, enc=9):
    """The site, no incident yet; /enc/ proxies to port "enc"."""
    return banner_nginx(nginx_factory, redis,
                        LOCATIONS.format(www=www_dir(tmp_path, files),
                                         enc=enc),
                        listen=" reuseport",
                        http="include /etc/nginx/koi-win;")


def upstream(headers_of):
    """An upstream answering /NAME with headers_of(NAME) = (body,
    header...), as text/html."""
    def answer(c, name):
        body, *headers = headers_of(name)
        c.sendall(response(body, b"Content-Type: text/html", *headers))
    return ScriptedBackend(answer)


def test_bannered_copy_does_not_revalidate_after_the_incident(
        nginx_factory, redis, tmp_path):
    n = start(nginx_factory, redis, tmp_path, {"p.html": PAGE})
    st, h, _ = n.get("/keep/p.html")
    plain_etag, plain_lm = h["etag"], h["last-modified"]

    declare(n, redis, "Slow")
    st, h, body = n.get("/keep/p.html")
    assert body.count(MARK) == 1
    etag, lm = h["etag"], h["last-modified"]
    assert etag.startswith("W/") and etag != "W/" + plain_etag
    assert lm != plain_lm

    redis.cli("DEL", "outage:site")
    wait_for(lambda: scope_state(n) == "ok", what="incident over")

    # the browser revalidates its bannered copy: it must get the page
    for cond in ({"If-None-Match": etag}, {"If-Modified-Since": lm},
                 {"If-None-Match": etag, "If-Modified-Since": lm}):
        st, h, body = n.get("/keep/p.html",
                            headers=dict(cond, Accept=PAGE_LOAD))
        assert st == 200 and body == PAGE, cond
    # the page's own validators still work
    st, _, _ = n.get("/keep/p.html", headers={"If-None-Match": plain_etag})
    assert st == 304


def test_two_tiers_one_banner(nginx_factory, redis, tmp_path):
    n = start(nginx_factory, redis, tmp_path, {"p.html": PAGE})
    declare(n, redis, "Slow")

    st, h, body = n.get("/front/p.html")
    assert st == 200 and body.count(MARK) == 1
    assert h["x-outage-banner"] == "site; state=degraded"
    # HEAD through both tiers: the same headers as GET
    st, hh, _ = n.request("HEAD", "/front/p.html")
    assert hh["x-outage-banner"] == "site; state=degraded"
    assert "content-length" not in hh


def markers_of(n, path):
    raw = raw_request(n.port, b"GET %s HTTP/1.0\r\nHost: t\r\n\r\n"
                      % path.encode(), 10)
    head, _, body = raw.partition(b"\r\n\r\n")
    return re.findall(rb"(?im)^x-outage-banner:\s*(.*?)\r?$", head), body


def test_two_tiers_marker_must_cover_this_tier(nginx_factory, redis,
                                                tmp_path):
    """Review of issue 15, finding 9: an upstream's X-Outage-Banner keeps
    this tier's banner out only when it names the scope this tier shows in
    a state at least as severe; otherwise this tier adds its banner and
    its own marker, in place of the upstream's."""
    markers = {"nope": b"nope", "old": b"site",
               "weak": b"site; state=degraded",
               "other": b"checkout; state=down",
               "covers": b"site; state=down"}
    be = upstream(lambda name: (PAGE, b"X-Outage-Banner: " + markers[name]))
    n = start(nginx_factory, redis, tmp_path, {"p.html": PAGE}, enc=be.port)
    redis.cli("HSET", "outage:site", "state", "down", "message", "Down")
    redis.cli("HSET", "outage:checkout", "state", "degraded",
              "message", "Checkout slow")
    wait_for(lambda: scope_state(n) == "down" and {
        s["name"]: s["state"] for s in n.status_json()["scopes"]
    }.get("checkout") == "degraded", what="incidents")

    for name in ("nope", "old", "weak", "other"):
        marks, body = markers_of(n, "/enc/" + name)
        assert body.count(MARK) == 1, name
        assert marks == [b"site; state=down"], (name, marks)
    # the one shape a front takes for a covering banner: passed as is
    marks, body = markers_of(n, "/enc/covers")
    assert body == PAGE and marks == [b"site; state=down"]

    # an app tier showing only checkout (degraded): the front shows site
    # (down) too, first in <body>
    marks, body = markers_of(n, "/appco/p.html")
    assert body.count(MARK) == 1 and marks == [b"checkout; state=degraded"]
    marks, body = markers_of(n, "/frontco/p.html")
    assert body.count(MARK) == 2 and marks == [b"site; state=down"]
    first = body.index(MARK)
    assert body.index(b"Down", first) < body.index(b"Checkout slow", first)
    # an app tier showing the same worst scope: one banner
    marks, body = markers_of(n, "/front/p.html")
    assert body.count(MARK) == 1 and marks == [b"site; state=down"]
    be.stop()


def test_upstream_marker_and_caching_headers_replaced_together(
        nginx_factory, redis, tmp_path):
    """The banner's headers replace, in one pass, every marker of an
    upstream that does not cover it and every Cache-Control and Expires
    line (outage_banner_nocache on, the default), whatever their order
    and case; headers of other names pass as they came."""
    heads = {
        "mix": (b"x-outage-banner: nope", b"Cache-Control: max-age=60",
                b"X-Keep: 1", b"EXPIRES: Thu, 01 Jan 2037 00:00:00 GMT",
                b"X-Outage-Banner: site; state=degraded",
                b"cache-control: public"),
        "cc": (b"Cache-Control: max-age=60", b"X-Keep: 1"),
        "marker": (b"X-Keep: 1", b"X-Outage-Banner: checkout; state=down"),
    }
    be = upstream(lambda name: (PAGE,) + heads[name])
    n = start(nginx_factory, redis, tmp_path, {"p.html": PAGE}, enc=be.port)
    redis.cli("HSET", "outage:site", "state", "down", "message", "Down")
    wait_for(lambda: scope_state(n) == "down", what="incident")

    for name in heads:
        raw = raw_request(n.port, b"GET /enc/%s HTTP/1.0\r\nHost: t\r\n\r\n"
                          % name.encode(), 10)
        head, _, body = raw.partition(b"\r\n\r\n")
        assert body.count(MARK) == 1, name
        lines = [ln.split(b":", 1) for ln in head.split(b"\r\n")[1:]]
        got = [(k.strip().lower(), v.strip()) for k, v in lines]
        assert [v for k, v in got if k == b"x-outage-banner"] == \
            [b"site; state=down"], (name, head)
        assert [v for k, v in got if k == b"cache-control"] == \
            [b"no-store"], (name, head)
        assert [v for k, v in got if k == b"expires"] == [], (name, head)
        assert [v for k, v in got if k == b"x-keep"] == [b"1"], (name, head)
    be.stop()


def test_not_html_gets_no_banner(nginx_factory, redis, tmp_path):
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00"
           b"\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9c"
           b"c\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00"
           b"\x00IEND\xaeB`\x82")
    utf16 = "<p>hi</p>".encode("utf-16")
    n = start(nginx_factory, redis, tmp_path,
              {"i.png": png, "u.html": utf16, "p.html": PAGE})
    declare(n, redis, "Slow")

    skips = n.status_json()["counters"]["banner_skips"]
    for name, data in (("i.png", png), ("u.html", utf16)):
        st, h, body = n.get("/any/" + name)
        assert st == 200 and body == data, name
    assert n.status_json()["counters"]["banner_skips"] == skips + 2
    assert n.get("/any/p.html")[2].count(MARK) == 1

    # the same counters in the Prometheus output
    st, _, prom = n.get("/outage/status?format=prometheus")
    metrics = dict(line.split(" ", 1) for line in prom.decode().splitlines()
                   if line and not line.startswith("#"))
    counters = n.status_json()["counters"]
    assert int(metrics["outage_banner_skips_total"]) == skips + 2
    assert int(metrics["outage_banners_injected_total"]) \
        == counters["banners"]
    assert "# TYPE outage_banner_skips_total counter" in prom.decode()


def test_charset_recoding_leaves_the_shared_banner_alone(nginx_factory, redis,
                                                         tmp_path):
    # a koi8-r letter in the page: the koi8-r -> windows-1251 table changes it
    page = PAGE.replace(b"<p>page</p>", b"<p>\xc1 page</p>")
    n = start(nginx_factory, redis, tmp_path, {"p.html": page})
    # non-ASCII in the banner: bytes the same table would change
    declare(n, redis, "Caf\u00e9 \u00e0 la carte")

    ref = n.get("/koi/p.html?cs=koi8-r")[2]          # no recoding
    assert b"Caf&#x00e9;" in ref                     # the banner is ASCII
    recoded = n.get("/koi/p.html?cs=windows-1251")[2]
    # the page is recoded, the banner is not: the charset filter runs
    # before the banner filter (docs/directives.md)
    assert recoded == ref.replace(b"\xc1 page", b"\xe0 page") != ref
    for _ in range(3):
        assert n.get("/koi/p.html?cs=koi8-r")[2] == ref
        assert n.get("/app/p.html")[2].count(b"Caf&#x00e9;") == 1


def test_encodings(nginx_factory, redis, tmp_path):
    """gzip is inflated (several members too), br passes untouched and is
    counted, a corrupt gzip body ends where it fails with one info line."""
    br = b"\x1b\x0e\x00\xf8\xa5@\x02\xad<html><body>x"   # not ours to read
    good = gzip.compress(PAGE[:30]) + gzip.compress(PAGE[30:])
    bad = gzip.compress(PAGE)[:20] + b"\xff" * 40
    bodies = {"br": (b"br", br), "gz": (b"gzip", good),
              "bad": (b"gzip", bad), "empty": (b"gzip", gzip.compress(b""))}
    be = upstream(lambda name: (bodies[name][1],
                                b"Content-Encoding: " + bodies[name][0]))
    n = start(nginx_factory, redis, tmp_path, {"p.html": PAGE}, enc=be.port)
    declare(n, redis, "Slow")

    st, h, body = n.get("/enc/gz")
    assert st == 200 and "content-encoding" not in h
    assert body.count(MARK) == 1 and body.replace(
        body[body.index(b"<style"):body.index(b"</div></div>") + 12],
        b"") == PAGE

    skips = n.status_json()["counters"]["banner_skips"]
    st, h, body = n.get("/enc/br")
    assert st == 200 and h["content-encoding"] == "br" and body == br
    assert n.status_json()["counters"]["banner_skips"] == skips + 1

    # a gzip body that inflates to nothing: no banner-only page
    st, h, body = n.get("/enc/empty")
    assert st == 200 and body == b"" and "content-encoding" not in h
    assert n.status_json()["counters"]["banner_skips"] == skips + 2

    try:
        st, h, body = n.get("/enc/bad")
        assert MARK not in body or len(body) < len(PAGE)
    except Exception:
        pass                                  # cut: the connection closes
    wait_for(lambda: re.search(r"\[info\].*the upstream's gzip body (is "
                               r"corrupt|ends early)",
                               open(n.error_log).read()),
             timeout=5, what="the info line")
    be.stop()


def test_etag_names_the_incident_unambiguously(nginx_factory, redis,
                                               tmp_path):
    """W/"<etag>-outage-<since, hex>-<state, decimal>": without the "-"
    a start of 0x...abc with a state "12" and one of 0x...abc1 with "2"
    wrote the same tag; the two parts must read back as they were."""
    n = start(nginx_factory, redis, tmp_path, {"p.html": PAGE})
    plain = n.get("/app/p.html")[1]["etag"]
    tags = {}
    for since, state in ((1796609880, "degraded"), (1796609881, "down"),
                         (1796609880, "down")):
        redis.cli("HSET", "outage:site", "state", state, "since", str(since))
        wait_for(lambda: scope_state(n) == state
                 and ("%x-" % since) in n.get("/app/p.html")[1]["etag"],
                 what=state)
        etag = n.get("/app/p.html")[1]["etag"]
        m = re.fullmatch(r'W/(".*)-outage-([0-9a-f]+)-([0-9]+)"', etag)
        assert m and m.group(1) == plain[:-1], etag
        assert int(m.group(2), 16) == since, etag
        tags[(since, state)] = (etag, int(m.group(3)))
    assert len({t for t, _ in tags.values()}) == 3
    # one state number per state
    assert tags[(1796609881, "down")][1] == tags[(1796609880, "down")][1] \
        != tags[(1796609880, "degraded")][1]
