"""A check whose URL reaches this nginx itself ("check what visitors get":
the site's public name, or its own listen address) judges the backend, not
the maintenance page this nginx serves (review s8/R1 HIGH 2): once the
scope was down every probe got the module's own 503 and it never came up
again; a maintenance declared in Redis did it with the application healthy
throughout.  The probes carry a mark (X-Outage-Probe, random per start)
that the page lets through, like a bypass."""

from http.server import BaseHTTPRequestHandler

import pytest

from harness import LATENCY_FACTOR, free_port, raw_request, wait_for
from passive_helpers import checks_of, scope, serve, server, stop_server

T = 10 * LATENCY_FACTOR


def _conf(app_port, extra=""):
    # the check probes this nginx's own listen address ({port})
    return (extra +
            "outage_check shop http://127.0.0.1:{port}/health "
            "interval=500ms timeout=400ms fall=2 rise=2;\n") + server("""
        location / {
            outage_page shop;
            outage_passive off;
            proxy_pass http://127.0.0.1:%d;
        }""" % app_port)


@pytest.mark.parametrize("path", ["/health", "/./health", "/x/../health",
                                  "?probe=1", "/health?a=./b#frag"],
                         ids=["plain", "dot", "dot-dot", "query-only",
                              "fragment"])
def test_self_probe_comes_back_up_after_the_application(nginx_factory, path):
    # audit s10/A1 F2: curl removed "./" and "../" and sent "/" before a
    # query without a path, the mark check compared the URL as written: a
    # probe not recognised got this nginx's page once the scope was down,
    # not counted while down, so the scope stayed paged for good
    port = free_port()
    app = serve("127.0.0.1", port)
    n = nginx_factory(_conf(port).replace("{port}/health",
                                          "{port}" + path), workers=2)
    wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T)
    assert n.get("/")[0] == 200

    stop_server(app)
    wait_for(lambda: scope(n, "shop")["state"] == "down", timeout=T,
             what="the scope down")
    # the backend's failure, not the module's own page
    assert checks_of(n)[0]["last_status"] == 502, checks_of(n)
    assert n.get("/")[0] == 503

    app = serve("127.0.0.1", port)
    try:
        wait_for(lambda: scope(n, "shop")["state"] == "ok", timeout=T,
                 what="up again after the application")
        assert n.get("/")[0] == 200
        # the probes' passes are counted with the bypasses: a leaked mark
        # in use shows
        assert n.status_json()["counters"]["bypasses"] > 0
    finally:
        stop_server(app)


def test_self_probe_survives_a_redis_maintenance(nginx_factory, redis):
    port = free_port()
    app = serve("127.0.0.1", port)
    try:
        extra = ("outage_redis 127.0.0.1:%d interval=200ms "
                 "timeout=500ms;\n" % redis.port)
        n = nginx_factory(_conf(port, extra), workers=2)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T)
        redis.cli("HSET", "outage:shop", "state", "maintenance")
        wait_for(lambda: n.get("/")[0] == 503, timeout=T,
                 what="the maintenance page")
        # longer than fall x interval: the probes still reach the app
        probes = checks_of(n)[0]["probes"]
        wait_for(lambda: checks_of(n)[0]["probes"] >= probes + 4,
                 timeout=T, what="more probes")
        assert checks_of(n)[0]["health"] == "up", checks_of(n)
        redis.cli("DEL", "outage:shop")
        wait_for(lambda: scope(n, "shop")["state"] == "ok", timeout=T,
                 what="the maintenance over")
        assert n.get("/")[0] == 200
        assert checks_of(n)[0]["health"] == "up"
    finally:
        stop_server(app)


def test_a_foreign_probe_mark_is_no_bypass(nginx_factory):
    # the mark is random per start: a guessed one gets the page
    port = free_port()
    n = nginx_factory(_conf(port), workers=1)
    wait_for(lambda: scope(n, "shop")["state"] == "down", timeout=T)
    for v in ("0" * 16, "1" * 16, "", "zz" * 8, "0123456789abcdef0"):
        st, hdrs, _ = n.get("/", headers={"X-Outage-Probe": v})
        assert st == 503, (v, st)
        assert "x-outage-bypass" not in hdrs


def test_a_leaked_mark_passes_only_where_a_probe_goes(nginx_factory):
    # review s8/R5 #1: the mark reaches every probe target (here a
    # partner's service, which records it).  Sent by anyone to this nginx
    # during an outage, it passes the page only for a check's own request
    # (its method, path and query) in a location paging its scope: the
    # rest of the site (/admin/migrate) keeps the page
    seen = []

    class Rec(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append(self.headers.get("X-Outage-Probe"))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a):
            pass

    partner = serve(handler=Rec)
    try:
        dead = free_port()
        conf = ("outage_check partner http://127.0.0.1:%d/health "
                "interval=500ms timeout=400ms;\n"
                % partner.server_address[1]) + _conf(dead)
        n = nginx_factory(conf, workers=1)
        wait_for(lambda: scope(n, "shop")["state"] == "down" and seen,
                 timeout=T, what="shop down, the partner probed")
        mark = seen[-1]
        assert mark and len(mark) == 16, seen
        hdr = {"X-Outage-Probe": mark}
        for path in ("/admin/migrate", "/health?x=1", "/health/", "/"):
            st, hdrs, _ = n.get(path, headers=hdr)
            assert st == 503 and "x-outage-bypass" not in hdrs, (path, st)
        # the probe's own request reaches the (dead) backend
        st, hdrs, _ = n.get("/health", headers=hdr)
        assert hdrs.get("x-outage-bypass") == "probe" and st == 502, \
            (st, hdrs)
        # the first mark decides: a wrong one, then the right one, is no
        # second chance
        for first in ("zz" * 8, "0" * 16, ""):
            raw = ("GET /health HTTP/1.0\r\nX-Outage-Probe: %s\r\n"
                   "X-Outage-Probe: %s\r\n\r\n" % (first, mark)).encode()
            assert raw_request(n.port, raw).startswith(b"HTTP/1.1 503"), \
                first
    finally:
        stop_server(partner)


class Recorder(BaseHTTPRequestHandler):
    """200 to every GET; records each request's header list, in order."""
    protocol_version = "HTTP/1.1"
    seen = None

    def do_GET(self):
        self.seen.append((self.path, list(self.headers.items())))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


def _recorder():
    seen = []
    handler = type("Rec", (Recorder,), {"seen": seen})
    return serve(handler=handler), seen


def _names(headers, prefix):
    return [(k.lower(), v) for k, v in headers if k.lower().startswith(prefix)]


def test_the_mark_never_reaches_the_application(nginx_factory):
    # review s8/R5 #1 (b): a probe that goes through this nginx was proxied
    # to the application with its X-Outage-Probe, into the application's
    # logs; a header= after the mark must still arrive
    app, seen = _recorder()
    try:
        port = app.server_address[1]
        conf = ("outage_check shop http://127.0.0.1:{port}/health "
                "interval=300ms timeout=250ms header=X-After:1;\n") + \
            server("""
        location / {
            outage_page shop;
            outage_passive off;
            add_header X-UA "$http_user_agent" always;
            add_header X-H7 "$http_x_h7" always;
            proxy_pass http://127.0.0.1:%d;
        }
        location /authed/ {
            auth_request /auth;
            proxy_pass http://127.0.0.1:%d;
        }
        location = /auth {
            internal;
            proxy_pass http://127.0.0.1:%d;
        }""" % (port, port, port))
        n = nginx_factory(conf, workers=1)
        wait_for(lambda: len([s for s in seen if s[0] == "/health"]) >= 2,
                 timeout=T, what="probes through this nginx")
        for path, hdrs in seen:
            names = [k.lower() for k, _ in hdrs]
            assert "x-outage-probe" not in names, (path, hdrs)
            assert ("x-after", "1") in [(k.lower(), v) for k, v in hdrs]

        # any request, the mark anywhere in nginx's header list (20 to a
        # part): the other headers arrive, in order, and nginx's pointers
        # to known headers (User-Agent) still read right
        mark = "0123456789abcdef"
        for count, at in ((1, 0), (3, 0), (3, 1), (3, 2), (25, 0), (25, 5),
                          (25, 17), (25, 18), (25, 19), (25, 24), (45, 38)):
            hdrs = [("X-H%d" % i, "v%d" % i) for i in range(count)]
            hdrs.insert(at, ("X-Outage-Probe", mark))
            hdrs.insert(count // 2, ("User-Agent", "ua-%d-%d" % (count, at)))
            del seen[:]
            st, got, _ = n.get("/x", headers=dict(hdrs))
            assert st == 200, (count, at, st)
            path, rec = [s for s in seen if s[0] == "/x"][0]
            want = [(k.lower(), v) for k, v in hdrs
                    if k.lower().startswith("x-h")]
            assert _names(rec, "x-h") == want, (count, at, rec)
            assert "x-outage-probe" not in [k.lower() for k, _ in rec]
            assert got["x-ua"] == "ua-%d-%d" % (count, at)
            assert got.get("x-h7", "") == ("v7" if count > 7 else "")
        # an auth_request subrequest (access phase) copies the request's
        # headers too; and a location that pages nothing
        del seen[:]
        assert n.get("/authed/x", headers={"X-Outage-Probe": mark})[0] == 200
        assert sorted(p for p, _ in seen) == ["/auth", "/authed/x"], seen
        for path, rec in seen:
            assert "x-outage-probe" not in [k.lower() for k, _ in rec], rec
        # two marks: the first one of the first part and the only one of
        # the last part (HTTP/1.0 needs no Host: 21 headers in nginx's list)
        del seen[:]
        hs = ["X-Outage-Probe: " + mark] + \
            ["X-H%d: v%d" % (i, i) for i in range(19)] + \
            ["X-Outage-Probe: " + mark]
        raw = ("GET /w HTTP/1.0\r\n" + "\r\n".join(hs)
               + "\r\n\r\n").encode()
        assert raw_request(n.port, raw).startswith(b"HTTP/1.1 200")
        rec = [s for s in seen if s[0] == "/w"][0][1]
        assert _names(rec, "x-") == [("x-h%d" % i, "v%d" % i)
                                     for i in range(19)], rec
        # a request made of marks is refused (each costs a walk of the
        # list), a few are taken out
        for count, want in ((8, b"HTTP/1.1 200"), (9, b"HTTP/1.1 400")):
            raw = ("GET /m HTTP/1.0\r\n" + "X-Outage-Probe: %s\r\n" % mark
                   * count + "\r\n").encode()
            assert raw_request(n.port, raw).startswith(want), count
        # two marks, and one alone in an HTTP/1.0 request
        del seen[:]
        raw = (b"GET /y HTTP/1.0\r\nX-Outage-Probe: " + mark.encode()
               + b"\r\nX-Outage-Probe: x\r\n\r\n")
        assert raw_request(n.port, raw).startswith(b"HTTP/1.1 200")
        rec = [s for s in seen if s[0] == "/y"][0][1]
        assert "x-outage-probe" not in [k.lower() for k, _ in rec], rec
        del seen[:]
        raw = b"GET /z HTTP/1.0\r\nX-Outage-Probe: " + mark.encode() + \
            b"\r\n\r\n"
        assert raw_request(n.port, raw).startswith(b"HTTP/1.1 200")
        rec = [s for s in seen if s[0] == "/z"][0][1]
        assert "x-outage-probe" not in [k.lower() for k, _ in rec], rec
    finally:
        stop_server(app)


def test_a_mark_passes_no_subrequest(nginx_factory):
    # a subrequest (an SSI include of the application's answer) has the
    # main request's URI: with the probe's mark it matched the check's URL
    # and passed the page of a location a probe never goes to
    seen = []

    class Ssi(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append((self.path, self.headers.get("X-Outage-Probe")))
            body = (b'<!--#include virtual="/admin/x" -->'
                    if self.path == "/health" else b"admin")
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    app = serve(handler=Ssi)
    partner = serve(handler=Ssi)
    try:
        conf = ("outage_check partner http://127.0.0.1:%d/p "
                "interval=300ms timeout=250ms;\n"
                "outage_check shop http://127.0.0.1:%d/health "
                "interval=300ms timeout=250ms fall=2;\n"
                % (partner.server_address[1], free_port())) + server("""
        location / {
            outage_page shop;
            outage_passive off;
            ssi on;
            proxy_pass http://127.0.0.1:%d;
        }""" % app.server_address[1])
        n = nginx_factory(conf, workers=1)
        wait_for(lambda: scope(n, "shop")["state"] == "down"
                 and [m for p, m in seen if p == "/p"],
                 timeout=T, what="shop down, the partner probed")
        mark = [m for p, m in seen if p == "/p"][-1]
        del seen[:]
        st, hdrs, body = n.get("/health", headers={"X-Outage-Probe": mark})
        assert hdrs.get("x-outage-bypass") == "probe", (st, hdrs)
        assert [p for p, _ in seen if p != "/p"] == ["/health"], seen
        assert b"admin" not in body
    finally:
        stop_server(app)
        stop_server(partner)

