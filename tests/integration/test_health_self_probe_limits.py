"""A self-probe through this nginx's own limit_req or limit_conn (audit s11
A1 F6, MEDIUM): at a traffic peak nginx itself answered the probe 503 (or
429) before it reached the application, the prober counted that as a
failure and a healthy shop was paged after "fall" such answers.

This nginx now tells its own probe (the secret mark, for a check's URL)
that its limits refused it (X-Outage-Probe-Unreached); the prober counts
that as no verdict: an interval without a probe, never a pass.  An
upstream's own 429 or 503, or a dead upstream's 502, still count, whatever
headers the upstream sends; nothing a client sends gets that header; and
$outage_probe lets a configuration exempt the probes from its limits."""

import threading
from http.server import BaseHTTPRequestHandler

import pytest

from harness import LATENCY_FACTOR, free_port, wait_for
from passive_helpers import checks_of, lines, scope, serve, server, \
    stop_server
from test_health_self_probe import Recorder

T = 10 * LATENCY_FACTOR

HDR = "x-outage-probe-unreached"


def _conf(app_port, rate="5r/s", key="$server_port", head="",
          limit="limit_req zone=one;"):
    # the check probes this nginx's own listen address; every request of
    # the location shares one limit_req key, as a zone keyed on the site
    # (or a probe from behind the same NAT as the peak's clients) does
    return (head +
            "limit_req_zone %s zone=one:1m rate=%s;\n"
            "limit_conn_zone $server_port zone=conns:1m;\n"
            "outage_check shop http://127.0.0.1:{port}/health "
            "interval=300ms timeout=250ms fall=2 rise=2;\n" % (key, rate)) \
        + server("""
        location / {
            outage_page shop;
            outage_passive off;
            %s
            proxy_pass http://127.0.0.1:%d;
        }""" % (limit, app_port))


class Peak:
    """A client loop that keeps the location's limit busy."""

    def __init__(self, n, path="/"):
        self.n, self.path = n, path
        self.stop = threading.Event()
        self.statuses = {}
        self.leaked = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                st, h, _ = self.n.get(self.path, timeout=5)
            except OSError:
                continue
            self.statuses[st] = self.statuses.get(st, 0) + 1
            if HDR in h:
                self.leaked.append(h)

    def end(self):
        self.stop.set()
        self.thread.join(timeout=10)
        # never on a client's answer
        assert not self.leaked, self.leaked[:3]


def _never_down_until(n, done, what):
    """Polls until done(c) for the check's status c; fails as soon as the
    check or its scope is down."""
    last = []

    def step():
        c = checks_of(n)[0]
        last[:] = [c, scope(n, "shop")["state"]]
        return c["health"] == "down" or last[1] == "down" or done(c)
    try:
        wait_for(step, timeout=3 * T, what=what)
    except AssertionError as e:
        raise AssertionError("%s; %r" % (e, last)) from None
    assert last[0]["health"] != "down" and last[1] != "down", last


def test_a_self_probe_refused_by_limit_req_never_pages_a_healthy_shop(
        nginx_factory):
    port = free_port()
    app = serve("127.0.0.1", port)
    peak = None
    try:
        n = nginx_factory(_conf(port), workers=2)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T)

        peak = Peak(n)
        # the old module: down after two refused probes (HTTP 503)
        _never_down_until(n, lambda c: c.get("local_answers", 0) >= 12,
                          "probes refused by limit_req")
        assert peak.statuses.get(503), peak.statuses
        # why, once (not once per probe)
        said = lines(n, r'outage: check "shop" \(#0\): no verdict: HTTP 503 '
                        r'from limit_req of this nginx')
        assert 1 <= len(said) <= 2, said
        assert "$outage_probe" in said[0], said

        peak.end()
        peak = None
        wait_for(lambda: checks_of(n)[0]["health"] == "up"
                 and checks_of(n)[0]["error_kind"] == "ok", timeout=T,
                 what="up again after the peak")
        assert scope(n, "shop")["state"] == "ok"
    finally:
        if peak:
            peak.end()
        stop_server(app)


def test_refused_for_fall_intervals_the_check_is_unknown_not_down(
        nginx_factory):
    # with no probe through, the check keeps no verdict: unknown, as a check
    # not probed for "fall" intervals (never up on no evidence)
    port = free_port()
    app = serve("127.0.0.1", port)
    peak = None
    try:
        # the first probe passes, the bucket is empty for a minute after
        n = nginx_factory(_conf(port, rate="1r/m"), workers=1)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T)
        _never_down_until(n, lambda c: c["health"] == "unknown",
                          "the check unknown")
        c = checks_of(n)[0]
        assert c["error_kind"] == "local", c
        assert "limit_req" in c["last_error"], c
        assert lines(n, r'outage: check "shop" \(#0\) is unknown: not probed '
                        r'for 2 intervals \(no verdict: HTTP 503 from '
                        r'limit_req'), n.log_text()[-3000:]
    finally:
        if peak:
            peak.end()
        stop_server(app)


def test_a_self_probe_refused_by_limit_conn_is_no_verdict(nginx_factory):
    # the application holds every request 2 s: one connection at a time,
    # taken by the peak, so limit_conn refuses the probes
    port = free_port()

    class Slow(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path != "/health":
                threading.Event().wait(2)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a):
            pass

    app = serve("127.0.0.1", port, handler=Slow)
    peaks = []
    try:
        n = nginx_factory(_conf(port, rate="1000r/s",
                                limit="limit_conn conns 1;"), workers=1)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T)
        peaks = [Peak(n, "/slow") for _ in range(3)]
        _never_down_until(n, lambda c: c.get("local_answers", 0) >= 6,
                          "probes refused by limit_conn")
        assert lines(n, r'no verdict: HTTP 503 from limit_conn of this nginx')
    finally:
        for p in peaks:
            p.end()
        stop_server(app)


class Answers(BaseHTTPRequestHandler):
    """Answers mode["status"] itself, with the header this nginx gives its
    refused probes: an upstream's word is no limit of this nginx."""
    protocol_version = "HTTP/1.1"
    mode = None

    def do_GET(self):
        self.send_response(self.mode["status"])
        self.send_header("X-Outage-Probe-Unreached", "limit_req")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"no")

    def log_message(self, *a):
        pass


@pytest.mark.parametrize("status", [429, 503])
def test_the_application_s_own_429_or_503_still_pages(nginx_factory, status):
    mode = {"status": 200}
    app = serve(handler=type("A", (Answers,), {"mode": mode}))
    try:
        n = nginx_factory(_conf(app.server_address[1], rate="1000r/s"),
                          workers=2)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T)
        mode["status"] = status
        wait_for(lambda: checks_of(n)[0]["health"] == "down", timeout=T,
                 what="down by the application's %d" % status)
        c = checks_of(n)[0]
        assert c["last_status"] == status and c["error_kind"] == "status", c
        assert c.get("local_answers", 0) == 0, c
        assert scope(n, "shop")["state"] == "down"
    finally:
        stop_server(app)


def test_a_dead_upstream_still_pages(nginx_factory):
    port = free_port()
    app = serve("127.0.0.1", port)
    try:
        n = nginx_factory(_conf(port, rate="1000r/s"), workers=2)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T)
    finally:
        stop_server(app)
    wait_for(lambda: checks_of(n)[0]["health"] == "down", timeout=T,
             what="down by the dead upstream")
    c = checks_of(n)[0]
    assert c["last_status"] == 502 and c.get("local_answers", 0) == 0, c


def _leaked_mark(nginx_factory, key="$server_port", head=""):
    """nginx whose second check probes a recording application directly:
    the probes' mark, as a leak would give it.  (nginx, app, mark)"""
    seen = []
    rec = serve(handler=type("Rec", (Recorder,), {"seen": seen}))
    rport = rec.server_address[1]
    n = nginx_factory(_conf(rport, rate="1r/m", key=key, head=head)
                      + "outage_check direct http://127.0.0.1:%d/direct "
                        "interval=300ms timeout=250ms;\n" % rport, workers=1)
    wait_for(lambda: [p for p, _ in seen if p == "/direct"], timeout=T)
    mark = [v for p, h in seen if p == "/direct"
            for k, v in h if k.lower() == "x-outage-probe"][0]
    return n, rec, mark


def test_no_client_gets_the_header(nginx_factory):
    n, rec, mark = _leaked_mark(nginx_factory)
    try:
        # the limit busy: everything of the location is refused
        wait_for(lambda: n.get("/other")[0] == 503, timeout=T)
        for path, value in (("/health", None), ("/health", "0" * 16),
                            ("/health", "0123456789abcdef"),
                            ("/health", mark[:-1] + "x"),
                            ("/health", mark + mark),
                            # the real mark: only where a probe goes
                            ("/other", mark), ("/health?x", mark)):
            headers = {"X-Outage-Probe": value} if value else {}
            st, h, _ = n.get(path, headers=headers)
            assert st == 503 and HDR not in h, (path, value, st, h)
        # what the prober sees (the mark is the prober's secret)
        st, h, _ = n.get("/health", headers={"X-Outage-Probe": mark})
        assert st == 503 and h.get(HDR) == "limit_req", h
    finally:
        stop_server(rec)


def test_outage_probe_exempts_the_probes_from_the_limit(nginx_factory):
    head = ('map $outage_probe $limit_key { 1 ""; '
            'default $server_port; }\n')
    port = free_port()
    app = serve("127.0.0.1", port)
    peak = None
    try:
        n = nginx_factory(_conf(port, rate="1r/s", key="$limit_key",
                                head=head), workers=2)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T)
        peak = Peak(n)
        probes = checks_of(n)[0]["probes"]
        # every probe through, none refused, while the peak is refused
        _never_down_until(n, lambda c: c["probes"] >= probes + 8,
                          "probes through the limit")
        c = checks_of(n)[0]
        assert c["health"] == "up" and c["local_answers"] == 0, c
        assert peak.statuses.get(503), peak.statuses
    finally:
        if peak:
            peak.end()
        stop_server(app)


def test_outage_probe_is_the_probe_s_only(nginx_factory):
    # only the mark, and only for a check's URL, makes $outage_probe "1"
    head = ('map $outage_probe $limit_key { 1 ""; '
            'default $server_port; }\n')
    n, rec, mark = _leaked_mark(nginx_factory, key="$limit_key", head=head)
    try:
        wait_for(lambda: n.get("/other")[0] == 503, timeout=T)
        for path, value in (("/health", None), ("/health", "0" * 16),
                            ("/health", "0123456789abcdef"),
                            ("/other", mark), ("/health?x", mark)):
            headers = {"X-Outage-Probe": value} if value else {}
            st, _, _ = n.get(path, headers=headers)
            assert st == 503, (path, value, st)
        st, _, body = n.get("/health", headers={"X-Outage-Probe": mark})
        assert (st, body) == (200, b"ok"), (st, body)
        assert checks_of(n)[0]["local_answers"] == 0
    finally:
        stop_server(rec)
