"""A self-probe through this nginx's own upstream cache (audit s12 A4 F1,
HIGH): a check whose URL reaches this nginx ("check what visitors get")
passed the page and the limits, but the location's proxy_cache answered it:
the application died, every probe got the cached 200 /health (for
proxy_cache_valid, or for good with proxy_cache_use_stale error), the
passive rule's confirming probe passed too, and a total outage was never
paged.

Every location that caches now gets $outage_probe in its *_cache_bypass
and *_no_cache, without configuration: the probe reaches the backend,
never gets a stale copy, and its answer is not stored.  Visitors are
cached as before.

Review s12 R3 F4: the bypass first went only to locations that page, and
$outage_probe was "1" only there; the common shape "location / {
outage_page shop; try_files $uri @app; }" with the cache in @app kept a
dead application "up", even with the documented manual lines in @app.
$outage_probe is now "1" for a check's request with the mark in any
location, and every location that caches is bypassed."""

import socketserver
import struct
import threading
import time

import pytest

from harness import LATENCY_FACTOR, free_port, wait_for
from passive_helpers import checks_of, lines, scope, serve, server, \
    stop_server
from test_health_self_probe import _recorder

T = 15 * LATENCY_FACTOR

CACHE = "proxy_cache_path {dir}/cache keys_zone=shop:1m;\n"


def _conf(app_port, stale):
    return (CACHE + "outage_check shop http://127.0.0.1:{port}/health "
            "interval=500ms timeout=400ms fall=2 rise=2;\n") + server("""
        location / {
            outage_page shop;
            proxy_cache shop;
            proxy_cache_valid 200 1m;
            %s
            proxy_pass http://127.0.0.1:%d;
        }""" % (stale, app_port))


@pytest.mark.parametrize("stale", [
    "", "proxy_cache_use_stale error timeout http_502;"],
    ids=["valid-1m", "use-stale-error"])
def test_self_probe_through_the_cache_pages_a_dead_application(
        nginx_factory, stale):
    port = free_port()
    app = serve("127.0.0.1", port)
    try:
        n = nginx_factory(_conf(port, stale), workers=2)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T,
                 what="the check up")
        # a visitor's /health is in the cache too: a probe must not get it
        assert n.get("/health")[0] == 200
        stop_server(app)                   # the application dies: refused
        app = None
        # visitors' requests fail to connect, and the passive rule asks a
        # confirming probe, which must reach the application as well
        for _ in range(12):
            n.get("/cart?%d" % time.monotonic_ns())
        end = time.monotonic() + T
        while scope(n, "shop")["state"] != "down":
            assert time.monotonic() < end, (
                "application dead for %.0f s, probes answered from "
                "proxy_cache: not paged; check=%r; warn=%r" % (
                    T, checks_of(n)[0],
                    lines(n, r"probe passes|probing now")[-2:]))
            time.sleep(0.2)
        assert checks_of(n)[0]["last_status"] == 502, checks_of(n)
    finally:
        if app is not None:
            stop_server(app)


# the cache is not where the page is (review s12 R3 F4)
_AFTER_PAGE = {
    # the common shape: the paging location hands on to a named one
    "named": """
        location / {
            outage_page shop;
            try_files /nonexistent-file @app;
        }
        location @app {
            proxy_cache shop;
            proxy_cache_valid 200 1m;
            proxy_cache_use_stale error timeout;
            %(manual)s
            proxy_pass http://127.0.0.1:%(app)d;
        }""",
    # the check's URL has a location of its own, which does not page
    "check-location": """
        location / {
            outage_page shop;
            proxy_pass http://127.0.0.1:%(app)d;
        }
        location = /health {
            proxy_cache shop;
            proxy_cache_valid 200 1m;
            proxy_cache_use_stale error timeout;
            %(manual)s
            proxy_pass http://127.0.0.1:%(app)d;
        }""",
}

_MANUAL = "proxy_cache_bypass $outage_probe; proxy_no_cache $outage_probe;"


@pytest.mark.parametrize("layout,manual", [
    ("named", ""), ("named", _MANUAL), ("check-location", "")],
    ids=["named", "named-manual-lines", "check-location"])
def test_self_probe_through_a_cache_where_no_page_is_pages_a_dead_app(
        nginx_factory, layout, manual):
    port = free_port()
    app = serve("127.0.0.1", port)
    try:
        n = nginx_factory(
            CACHE + "outage_check shop http://127.0.0.1:{port}/health "
            "interval=500ms timeout=400ms fall=2 rise=2;\n"
            + server(_AFTER_PAGE[layout] % {"app": port, "manual": manual}),
            workers=1)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T,
                 what="the check up")
        assert n.get("/health")[0] == 200          # a visitor's, cached
        stop_server(app)                           # the application dies
        app = None
        end = time.monotonic() + T
        while scope(n, "shop")["state"] != "down":
            assert time.monotonic() < end, (
                "application dead for %.0f s, the cache (%s) answered the "
                "probes: not paged; check=%r" % (T, layout, checks_of(n)[0]))
            time.sleep(0.2)
    finally:
        if app is not None:
            stop_server(app)


# -- visitors are still cached; where the bypass applies --------------------

# %(app)d is the recording application; the check "shop" probes this nginx
_LAYOUTS = {
    "location": """
        location / {
            outage_page shop;
            proxy_cache shop;
            proxy_cache_valid 200 1m;
            %(headers)s
            proxy_pass http://127.0.0.1:%(app)d;
        }""",
    # inherited from the server level, with a bypass of the operator's
    "server": """
        outage_page shop;
        proxy_cache shop;
        proxy_cache_valid 200 1m;
        proxy_cache_bypass $http_x_refresh;
        proxy_no_cache $http_x_refresh;
        location / {
            %(headers)s
            proxy_pass http://127.0.0.1:%(app)d;
        }""",
    # an "if" block is a location of its own
    "if": """
        location / {
            outage_page shop;
            proxy_cache shop;
            proxy_cache_valid 200 1m;
            %(headers)s
            if ($request_method = GET) {
                proxy_pass http://127.0.0.1:%(app)d;
            }
            proxy_pass http://127.0.0.1:%(app)d;
        }""",
    # the page in "/", the cache in the named location it hands on to
    "page-then-named": """
        location / {
            outage_page shop;
            try_files /nonexistent-file @app;
        }
        location @app {
            proxy_cache shop;
            proxy_cache_valid 200 1m;
            %(headers)s
            proxy_pass http://127.0.0.1:%(app)d;
        }""",
    # a location of the check's own URL that caches and does not page
    "check-location": """
        location / {
            outage_page shop;
            proxy_cache shop;
            proxy_cache_valid 200 1m;
            %(headers)s
            proxy_pass http://127.0.0.1:%(app)d;
        }
        location = /health {
            proxy_cache shop;
            proxy_cache_valid 200 1m;
            %(headers)s
            proxy_pass http://127.0.0.1:%(app)d;
        }""",
    "named": """
        location / {
            try_files /nonexistent-file @app;
        }
        location @app {
            outage_page shop;
            proxy_cache shop;
            proxy_cache_valid 200 1m;
            %(headers)s
            proxy_pass http://127.0.0.1:%(app)d;
        }""",
}

_HEADERS = ('add_header X-Cache $upstream_cache_status always; '
            'add_header X-Probe "[$outage_probe]" always;')


def _mark_conf(rport, layout):
    # "direct" probes the recorder itself: it hands the test the mark
    return (CACHE + "outage_check shop http://127.0.0.1:{port}/health "
            "interval=300ms timeout=250ms fall=2 rise=2;\n"
            "outage_check direct http://127.0.0.1:%d/direct "
            "interval=300ms timeout=250ms;\n" % rport) + server(
        _LAYOUTS[layout] % {"app": rport, "headers": _HEADERS})


def _mark(seen):
    wait_for(lambda: [p for p, _ in seen if p == "/direct"], timeout=T,
             what="a probe of the recorder")
    return [v for p, h in seen if p == "/direct"
            for k, v in h if k.lower() == "x-outage-probe"][0]


def _get(n, path, **kw):
    st, h, _ = n.get(path, **kw)
    return st, h.get("x-cache"), h.get("x-probe")


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_visitors_are_cached_and_the_probe_never(nginx_factory, layout):
    rec, seen = _recorder()
    rport = rec.server_address[1]
    try:
        n = nginx_factory(_mark_conf(rport, layout), workers=1)
        mark = _mark(seen)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T,
                 what="the check up")

        # the check's probes of /health stored nothing: a visitor's first
        # /health is a miss; then visitors get hits, $outage_probe empty
        assert _get(n, "/health") == (200, "MISS", "[]")
        assert _get(n, "/health") == (200, "HIT", "[]")
        assert _get(n, "/page") == (200, "MISS", "[]")
        assert _get(n, "/page") == (200, "HIT", "[]")

        # the probe: past the cached copy, to the application
        before = len([p for p, _ in seen if p == "/health"])
        assert _get(n, "/health", headers={"X-Outage-Probe": mark}) == (
            200, "BYPASS", "[1]")
        assert len([p for p, _ in seen if p == "/health"]) == before + 1

        # the mark on another path is no probe: cached as a visitor
        assert _get(n, "/page", headers={"X-Outage-Probe": mark}) == (
            200, "HIT", "[]")

        # the check's own probes reach the application all along
        count = len([p for p, _ in seen if p == "/health"])
        wait_for(lambda: len([p for p, _ in seen if p == "/health"])
                 >= count + 3, timeout=T, what="probes past the cache")
        assert checks_of(n)[0]["health"] == "up"
    finally:
        stop_server(rec)


def test_an_operator_bypass_still_works(nginx_factory):
    # the server layout's own proxy_cache_bypass is kept next to ours
    rec, seen = _recorder()
    rport = rec.server_address[1]
    try:
        n = nginx_factory(_mark_conf(rport, "server"), workers=1)
        assert _get(n, "/page") == (200, "MISS", "[]")
        assert _get(n, "/page") == (200, "HIT", "[]")
        assert _get(n, "/page", headers={"X-Refresh": "1"}) == (
            200, "BYPASS", "[]")
    finally:
        stop_server(rec)


@pytest.mark.parametrize("cache", [False, True], ids=["no-cache", "cache"])
def test_nginx_t_is_clean(nginx_factory, cache):
    # nothing to warn about: the bypass is added where a cache is, and
    # a location without one is left alone
    port = free_port()
    conf = _conf(port, "")
    if not cache:
        conf = conf.replace(CACHE, "").replace(
            "proxy_cache shop;", "").replace("proxy_cache_valid 200 1m;", "")
    n = nginx_factory(conf, start=False)
    ok, out = n.test_config()
    assert ok, out
    assert "[warn]" not in out and "[emerg]" not in out, out


# -- PHP shops: fastcgi_cache (audit s12 A4 F1 addendum) ---------------------

class FastCgi:
    """A FastCGI responder: 200 "ok" to every request (PHP-FPM's part).
    A check of a PHP application can only probe it through nginx."""

    def __init__(self, port=0):
        class H(socketserver.BaseRequestHandler):
            def handle(self):
                rid, stdin_done = 1, False
                f = self.request.makefile("rb")
                while not stdin_done:
                    head = f.read(8)
                    if len(head) < 8:
                        return
                    _, typ, rid, clen, plen, _ = struct.unpack(
                        ">BBHHBB", head)
                    f.read(clen + plen)
                    stdin_done = typ == 5 and clen == 0    # FCGI_STDIN
                body = (b"Status: 200 OK\r\nContent-Type: text/plain\r\n"
                        b"Content-Length: 2\r\n\r\nok")

                def record(typ, content):
                    return struct.pack(">BBHHBB", 1, typ, rid, len(content),
                                       0, 0) + content
                self.request.sendall(
                    record(6, body) + record(6, b"")       # FCGI_STDOUT
                    + record(3, b"\0" * 8))                # FCGI_END_REQUEST

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.srv = socketserver.ThreadingTCPServer(("127.0.0.1", port), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_self_probe_through_fastcgi_cache_pages_a_dead_application(
        nginx_factory):
    # the canonical WordPress/WooCommerce config: fastcgi_cache with
    # use_stale error on the location the check of PHP-FPM goes through
    fpm = FastCgi()
    try:
        n = nginx_factory(
            "fastcgi_cache_path {dir}/fcache keys_zone=php:1m;\n"
            "outage_check shop http://127.0.0.1:{port}/health.php "
            "interval=500ms timeout=400ms fall=2 rise=2;\n" + server("""
        location / {
            outage_page shop;
            fastcgi_cache php;
            fastcgi_cache_key $scheme$request_method$host$request_uri;
            fastcgi_cache_valid 200 1m;
            fastcgi_cache_use_stale error timeout updating http_500;
            add_header X-Cache $upstream_cache_status always;
            fastcgi_pass 127.0.0.1:%d;
        }""" % fpm.port), workers=2)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T,
                 what="the check up")
        # visitors are cached (the old code had the probes fill it)
        n.get("/health.php")
        assert n.get("/health.php")[1].get("x-cache") == "HIT"
        fpm.stop()                         # PHP-FPM dies: refused
        fpm = None
        wait_for(lambda: scope(n, "shop")["state"] == "down", timeout=T,
                 what="the shop paged: the probe past fastcgi_cache")
        assert checks_of(n)[0]["last_status"] == 502, checks_of(n)
    finally:
        if fpm is not None:
            fpm.stop()
