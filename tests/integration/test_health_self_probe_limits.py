"""A self-probe through this nginx's own limit_req or limit_conn (audit s11
A1 F6, MEDIUM): at a traffic peak nginx itself refused (or delayed past its
timeout) the probe before it reached the application, the prober counted
that as a failure and a healthy shop was paged after "fall" such answers.

A probe of this nginx (the secret mark, the method and path of a check)
now skips its limits, so the probe always judges the application: a
healthy one stays up through a peak that saturates the limit, a dead one
is paged at once (review s11 R1 P3: an earlier "no verdict" design made
it unknown, and hid the outage, for the whole peak).  A client with a
wrong mark, or with the mark on another URL, is limited as before."""

import threading

import pytest

from harness import LATENCY_FACTOR, free_port, wait_for
from passive_helpers import checks_of, scope, serve, server, stop_server
from test_health_self_probe import Recorder

T = 10 * LATENCY_FACTOR


def _conf(app_port, rate="5r/s", limit="limit_req zone=one;", extra=""):
    # the check probes this nginx's own listen address; every request of
    # the location shares one limit key, as a zone keyed on the site (or
    # probes from behind the same NAT as the peak's clients) does
    return ("limit_req_zone $server_port zone=one:1m rate=%s;\n"
            "limit_conn_zone $server_port zone=conns:1m;\n"
            "outage_check shop http://127.0.0.1:{port}/health "
            "interval=300ms timeout=250ms fall=2 rise=2;\n" % rate
            + extra) + server("""
        location / {
            outage_page shop;
            outage_passive off;
            %s
            proxy_pass http://127.0.0.1:%d;
        }""" % (limit, app_port))


class Peak:
    """Client loops that keep the location's limit busy."""

    def __init__(self, n, threads=2):
        self.n = n
        self.stop = threading.Event()
        self.statuses = {}
        self.threads = [threading.Thread(target=self.run, daemon=True)
                        for _ in range(threads)]
        for t in self.threads:
            t.start()

    def run(self):
        while not self.stop.is_set():
            try:
                st, _, _ = self.n.get("/", timeout=5)
            except OSError:
                continue
            self.statuses[st] = self.statuses.get(st, 0) + 1

    def end(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)


def _up_through(n, probes, what):
    """Polls until the check has made `probes` more probes; fails as soon
    as the check or its scope is not up."""
    start = checks_of(n)[0]["probes"]
    last = []

    def step():
        c = checks_of(n)[0]
        last[:] = [c, scope(n, "shop")["state"]]
        assert c["health"] == "up" and last[1] == "ok", last
        return c["probes"] >= start + probes
    wait_for(step, timeout=3 * T, what=what)


@pytest.mark.parametrize("limit,rate", [
    ("limit_req zone=one;", "5r/s"),
    # nginx.org's own example: a burst without nodelay delays, past the
    # probe's timeout
    ("limit_req zone=one burst=5;", "2r/s"),
    ("limit_conn conns 1;", "1000r/s"),
])
def test_a_peak_at_the_limit_never_pages_a_healthy_shop(nginx_factory,
                                                         limit, rate):
    port = free_port()
    app = serve("127.0.0.1", port)
    peak = None
    try:
        n = nginx_factory(_conf(port, rate=rate, limit=limit), workers=2)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T)
        peak = Peak(n, threads=4 if "conn" in limit else 2)
        # the old module: down after two refused or late probes
        _up_through(n, 10, "ten probes through the peak")
        if "burst" not in limit:
            assert peak.statuses.get(503), peak.statuses    # the limit works
    finally:
        if peak:
            peak.end()
        stop_server(app)


def test_a_dead_application_during_a_peak_is_paged(nginx_factory):
    port = free_port()
    app = serve("127.0.0.1", port)
    peak = None
    try:
        n = nginx_factory(_conf(port, rate="1r/m"), workers=2)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T)
        peak = Peak(n)
        _up_through(n, 4, "probes through the peak")
        stop_server(app)
        app = None
        wait_for(lambda: checks_of(n)[0]["health"] == "down", timeout=T,
                 what="down by the dead application, peak or not")
        c = checks_of(n)[0]
        assert c["last_status"] == 502, c
        assert scope(n, "shop")["state"] == "down"
    finally:
        if peak:
            peak.end()
        if app:
            stop_server(app)


def test_only_the_probe_skips_the_limit(nginx_factory):
    # a second check probes a recording application directly: it gets the
    # probes' mark, as a leak would give it
    seen = []
    rec = serve(handler=type("Rec", (Recorder,), {"seen": seen}))
    rport = rec.server_address[1]
    try:
        n = nginx_factory(_conf(rport, rate="1r/m",
                                extra="outage_check direct "
                                      "http://127.0.0.1:%d/direct "
                                      "interval=300ms timeout=250ms;\n"
                                      % rport), workers=1)
        wait_for(lambda: [p for p, _ in seen if p == "/direct"], timeout=T)
        mark = [v for p, h in seen if p == "/direct"
                for k, v in h if k.lower() == "x-outage-probe"][0]
        # the bucket is empty for a minute: everything else is refused
        wait_for(lambda: n.get("/other")[0] == 503, timeout=T)
        for path, value in (("/health", None), ("/health", "0" * 16),
                            ("/health", "0123456789abcdef"),
                            ("/health", mark[:-1] + "x"),
                            # the real mark: only where a probe goes
                            ("/other", mark), ("/health?x", mark),
                            # another check's path, in a location that
                            # does not page its scope (review s11 R5 F1:
                            # a third party's path on every site)
                            ("/direct", mark)):
            headers = {"X-Outage-Probe": value} if value else {}
            st, _, _ = n.get(path, headers=headers)
            assert st == 503, (path, value, st)
        # what the prober sends passes
        st, _, body = n.get("/health", headers={"X-Outage-Probe": mark})
        assert st == 200, (st, body)
    finally:
        stop_server(rec)


# -- the mark through redirects (review s11 R6) ------------------------------

# The probe reaches the location that pages its scope through another one:
# a named location (try_files, error_page = @name, X-Accel-Redirect) is
# entered at its rewrite phase with r->ctx cleared, after the server's
# rewrite phase took the mark out of the request; an internal redirect
# (the control) starts at the server's rewrite phase again.  %(app)d is
# the recording application, %(dead)d a port nothing listens on.
_LAYOUTS = {
    "try_files_named": """
        location / {
            try_files /nonexistent-file @app;
        }
        location @app {
            outage_page shop;
            outage_passive off;
            %(limit)s
            proxy_pass http://127.0.0.1:%(app)d;
        }""",
    "error_page_named": """
        location / {
            proxy_pass http://127.0.0.1:%(dead)d;
            error_page 502 = @app;
        }
        location @app {
            outage_page shop;
            outage_passive off;
            %(limit)s
            proxy_pass http://127.0.0.1:%(app)d;
        }""",
    "x_accel_named": """
        location / {
            proxy_pass http://127.0.0.1:%(app)d/accel/;
        }
        location @app {
            outage_page shop;
            outage_passive off;
            %(limit)s
            proxy_pass http://127.0.0.1:%(app)d;
        }""",
    "internal_redirect": """
        location / {
            try_files /nonexistent-file /app$uri;
        }
        location /app/ {
            outage_page shop;
            outage_passive off;
            %(limit)s
            proxy_pass http://127.0.0.1:%(app)d/;
        }""",
}


def _mark_conf(rport, locations):
    # "direct" probes the recorder itself: it hands the test the mark
    return ("limit_req_zone $server_port zone=one:1m rate=1r/m;\n"
            "outage_check shop http://127.0.0.1:{port}/health "
            "interval=300ms timeout=250ms fall=2 rise=2;\n"
            "outage_check direct http://127.0.0.1:%d/direct "
            "interval=300ms timeout=250ms;\n" % rport) + server(locations)


def _mark(seen):
    wait_for(lambda: [p for p, _ in seen if p == "/direct"], timeout=T,
             what="a probe of the recorder")
    return [v for p, h in seen if p == "/direct"
            for k, v in h if k.lower() == "x-outage-probe"][0]


class _App(Recorder):
    """The recording application: /accel/* hands the request to @app
    (X-Accel-Redirect); /health answers 500 until healthy is set."""
    healthy = None

    def do_GET(self):
        if self.path.startswith("/accel/"):
            self.send_response(200)
            self.send_header("X-Accel-Redirect", "@app")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/health") and not self.healthy.is_set():
            self.send_response(500)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"sick")
            return
        Recorder.do_GET(self)


def _app(healthy=True):
    seen, ev = [], threading.Event()
    if healthy:
        ev.set()
    rec = serve(handler=type("Rec", (_App,), {"seen": seen, "healthy": ev}))
    return rec, seen, ev


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_the_probe_skips_the_limit_of_the_location_it_is_redirected_to(
        nginx_factory, layout):
    # review s11 R6 F1: through a named location the mark was lost, the
    # limit refused the probe and a healthy shop was paged
    rec, seen, _ = _app()
    rport = rec.server_address[1]
    try:
        n = nginx_factory(_mark_conf(rport, _LAYOUTS[layout] % {
            "app": rport, "dead": free_port(),
            "limit": "limit_req zone=one;"}), workers=1)
        mark = _mark(seen)
        wait_for(lambda: n.get("/other")[0] == 503, timeout=T,
                 what="the bucket empty")
        st, _, body = n.get("/health", headers={"X-Outage-Probe": mark})
        assert st == 200, (st, body)
        # the check's own probes, the same requests, keep the shop up
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T,
                 what="the check up")
        _up_through(n, 3, "probes through the empty bucket")
    finally:
        stop_server(rec)


@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_the_probe_passes_the_page_of_the_location_it_is_redirected_to(
        nginx_factory, layout):
    # review s11 R6 (related, presumed): the mark must pass the page of a
    # location it reaches by a redirect, or a recovered shop stays paged
    # for good.  It did already (a named location sets r->internal, and
    # the page's own look finds the context again): a guard, for the
    # layouts of the test above
    rec, seen, healthy = _app(healthy=False)
    rport = rec.server_address[1]
    try:
        n = nginx_factory(_mark_conf(rport, _LAYOUTS[layout] % {
            "app": rport, "dead": free_port(), "limit": ""}), workers=1)
        wait_for(lambda: scope(n, "shop")["state"] == "down", timeout=T,
                 what="the shop down by its failing health URL")
        assert n.get("/other")[0] == 503        # the page is up
        healthy.set()
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T,
                 what="the probe past the page sees the recovery")
        wait_for(lambda: scope(n, "shop")["state"] == "ok", timeout=T,
                 what="the shop no longer paged")
        assert n.get("/other")[0] == 200
    finally:
        stop_server(rec)


@pytest.mark.parametrize("leave", ["rewrite ^ /elsewhere last;",
                                   "return 502;"])
def test_the_skip_ends_where_the_request_leaves_the_paging_location(
        nginx_factory, leave):
    # review s11 R6 F2: the statuses set in the location that pages the
    # scope stayed set after "rewrite ... last" (or an error_page) into one
    # that does not: its limit was skipped too
    rec, seen, _ = _app()
    rport = rec.server_address[1]
    try:
        n = nginx_factory(_mark_conf(rport, """
        limit_req zone=one;
        location = /health {
            outage_page shop;
            outage_passive off;
            error_page 502 = @elsewhere;
            if ($http_x_leave) {
                %s
            }
            proxy_pass http://127.0.0.1:%d;
        }
        location /elsewhere {
            proxy_pass http://127.0.0.1:%d;
        }
        location @elsewhere {
            proxy_pass http://127.0.0.1:%d;
        }""" % (leave, rport, rport, rport)), workers=1)
        mark = _mark(seen)
        wait_for(lambda: n.get("/elsewhere")[0] == 503, timeout=T,
                 what="the bucket empty")
        # (@)elsewhere does not page shop: limited, the mark or not
        st, _, body = n.get("/health", headers={"X-Outage-Probe": mark,
                                                "X-Leave": "1"})
        assert st == 503, (st, body)
        # a location that does page shop still skips it
        st, _, body = n.get("/health", headers={"X-Outage-Probe": mark})
        assert st == 200, (st, body)
    finally:
        stop_server(rec)


# -- after the paging location's limits (review s12 R1 N1) -------------------

def test_a_fallback_after_the_paging_location_keeps_a_healthy_shop_up(
        nginx_factory):
    # the primary is dead, @secondary serves everybody, a server-level
    # limit_req is full: nginx counts a visitor once, in "/", and lets it
    # through @secondary.  The probe skipped the limit in "/"; that skip was
    # the limit's verdict, so @secondary must not count it either (it did:
    # every probe got limit_req's 503 and the shop was paged while it
    # served)
    rec, seen, _ = _app()
    rport = rec.server_address[1]
    try:
        n = nginx_factory(
            # the status endpoint (server() adds it) is not limited
            "map $uri $lim { /outage/status ''; default $server_port; }\n"
            "limit_req_zone $lim zone=one:1m rate=1r/m;\n"
            "outage_check shop http://127.0.0.1:{port}/health "
            "interval=300ms timeout=250ms fall=2 rise=2;\n" + server("""
        limit_req zone=one;
        location / {
            outage_page shop;
            outage_passive off;
            proxy_pass http://127.0.0.1:%d;
            error_page 502 = @secondary;
        }
        location @secondary {
            proxy_pass http://127.0.0.1:%d;
        }""" % (free_port(), rport)), workers=1)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T,
                 what="the check up through the secondary")
        # a peak: the bucket is empty, visitors are limited in "/"
        wait_for(lambda: n.get("/other")[0] == 503, timeout=T,
                 what="the bucket empty")
        start = checks_of(n)[0]["probes"]
        last = []

        def step():
            c = checks_of(n)[0]
            last[:] = [c, scope(n, "shop")["state"]]
            assert c["health"] == "up" and last[1] == "ok", last
            n.get("/other")                 # keep the bucket empty
            return c["probes"] >= start + 10
        wait_for(step, timeout=3 * T, what="ten probes through the peak")
    finally:
        stop_server(rec)


def test_a_limit_verdict_of_nginx_is_never_undone(nginx_factory):
    # review s12 R1: a status a limit module set is nginx's.  The probe is
    # counted by a dry-run limit in a location that does not page the
    # scope, then reaches one that does (error_page to a URI after the
    # upstream failed): $limit_req_status stays REJECTED_DRY_RUN (626f772
    # overwrote it with PASSED)
    rec, seen, _ = _app()
    rport = rec.server_address[1]
    try:
        n = nginx_factory(
            "map $uri $lim { /outage/status ''; default $server_port; }\n"
            "limit_req_zone $lim zone=one:1m rate=1r/m;\n"
            "outage_check shop http://127.0.0.1:{port}/health "
            "interval=300ms timeout=250ms;\n"
            "outage_check direct http://127.0.0.1:%d/direct "
            "interval=300ms timeout=250ms;\n" % rport + server("""
        location = /health {
            limit_req zone=one;
            limit_req_dry_run on;
            proxy_pass http://127.0.0.1:%d;
            error_page 502 = /app/health;
        }
        location /app/ {
            outage_page shop;
            outage_passive off;
            add_header X-LRS $limit_req_status always;
            proxy_pass http://127.0.0.1:%d/;
        }""" % (free_port(), rport)), workers=1)
        mark = _mark(seen)

        def status():
            st, hd, _ = n.get("/health", headers={"X-Outage-Probe": mark})
            return dict((k.lower(), v) for k, v in hd.items()).get("x-lrs")
        wait_for(lambda: status() == "REJECTED_DRY_RUN", timeout=T,
                 what="nginx's own dry-run verdict kept")
    finally:
        stop_server(rec)
