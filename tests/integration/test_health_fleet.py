"""Two nginx running the module, each with a check whose URL reaches the
OTHER one (review s8/R5 MEDIUM 4: a fleet probing its public name through a
load balancer; here each member's check probes the other's listen address,
the worst case of that).  Once the application failed long enough for both
to page, each probe was answered by the other's maintenance page, not the
application, and the fleet stayed down for good.

With outage_probe_secret (one file on every member) the members let each
other's probes through: the fleet comes back up with the application.
Without it, a probe answered by another member's page (X-Outage-Page:
paged) is not counted as the application's verdict, and a [warn] names the
check and the directive."""

import itertools
import os
import signal
import socket
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from harness import LATENCY_FACTOR, free_port, wait_for
from passive_helpers import checks_of, lines, scope, serve, stop_server

T = 10 * LATENCY_FACTOR


class FlakyApp:
    """An application that answers 500 while dead, 200 otherwise, and
    records the X-Outage-Probe headers it was sent."""

    def __init__(self):
        self.dead = threading.Event()
        self.marks = []
        app = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                app.marks.extend(self.headers.get_all("X-Outage-Probe") or [])
                status = 500 if app.dead.is_set() else 200
                body = b"app %d" % status
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = serve(handler=H)
        self.port = self.srv.server_address[1]

    def stop(self):
        stop_server(self.srv)


def _conf(other_port, app_port, extra=""):
    return extra + """
    outage_check shop http://127.0.0.1:%d/health
        interval=300ms timeout=250ms fall=2 rise=2;""" % other_port + \
        _server(app_port)


def _server(app_port):
    return """
    server {
        listen 127.0.0.1:{port};
        location / {
            outage_page shop;
            outage_passive off;
            proxy_pass http://127.0.0.1:%d;
        }
        location = /outage/status { outage_status; }
    }
""" % app_port


def _fleet(nginx_factory, app, extra=""):
    """Two members, each probing the other."""
    a = nginx_factory("", workers=2, start=False)
    b = nginx_factory("", workers=2, start=False)
    a.write_conf(_conf(b.port, app.port, extra))
    b.write_conf(_conf(a.port, app.port, extra))
    a.start()
    b.start()
    return a, b


def _secret(tmp_path, text="fleet-secret-0123456789abcdef\n",
            name="probe.secret"):
    path = os.path.join(str(tmp_path), name)
    with open(path, "w") as f:
        f.write(text)
    return path


def _outage(a, b, app):
    """Both members up, the application fails for 3 s (both page)."""
    for n in (a, b):
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T,
                 what="the check up")
    app.dead.set()
    for n in (a, b):
        wait_for(lambda: scope(n, "shop")["state"] == "down", timeout=T,
                 what="the scope down")
    assert a.get("/")[0] == 503 and b.get("/")[0] == 503
    threading.Event().wait(3)     # the application's outage lasts 3 s
    app.dead.clear()


def test_fleet_with_a_shared_secret_comes_back_up(nginx_factory, tmp_path):
    app = FlakyApp()
    try:
        extra = "outage_probe_secret %s;\n" % _secret(tmp_path)
        a, b = _fleet(nginx_factory, app, extra)
        _outage(a, b, app)
        for n in (a, b):
            wait_for(lambda: scope(n, "shop")["state"] == "ok", timeout=T,
                     what="the fleet up again after the application")
            assert n.get("/")[0] == 200
            # the probes passed the other's page, as probes
            assert n.status_json()["counters"]["bypasses"] > 0
            assert not lines(n, "answered by an outage page")
            assert checks_of(n)[0]["page_answers"] == 0
        # the mark never reaches the application, page or not
        assert app.marks == [], app.marks[:3]
    finally:
        app.stop()


def test_another_members_page_is_not_the_applications_answer(
        nginx_factory, redis):
    # B pages the scope (a maintenance declared in its Redis), A's check
    # probes through B without a shared secret: B's page answers.  While
    # A's check is up that page is evidence of an outage (counted: A
    # pages too); once A is down it is not counted, so A stays down until
    # a probe reaches the application (here: B's maintenance ends)
    app = FlakyApp()
    try:
        b = nginx_factory("", workers=1, start=False)
        b.write_conf(("outage_redis 127.0.0.1:%d interval=200ms "
                      "timeout=500ms;\n" % redis.port)
                     + _server(app.port))
        b.start()
        a = nginx_factory(_conf(b.port, app.port), workers=2)
        wait_for(lambda: checks_of(a)[0]["health"] == "up", timeout=T,
                 what="the check up")
        redis.cli("HSET", "outage:shop", "state", "maintenance")
        wait_for(lambda: scope(a, "shop")["state"] == "down", timeout=T,
                 what="A down by B's page")
        assert scope(a, "shop")["reason"] == \
            "check: HTTP 503 from an outage page", scope(a, "shop")
        wait_for(lambda: lines(a, r'\[warn\].*check "shop" \(#0\): a '
                               r'probe was answered by an outage page '
                               r'\(another member of the fleet\?\): set '
                               r'outage_probe_secret; '),
                 timeout=T, what="the warning")
        # down: B's page is not counted any more (no streak that would
        # keep A down after B's page is gone), but shown
        c = checks_of(a)[0]
        wait_for(lambda: checks_of(a)[0]["page_answers"]
                 >= c["page_answers"] + 5, timeout=T,
                 what="more probes answered by B's page")
        assert checks_of(a)[0]["consecutive_failures"] == \
            c["consecutive_failures"], (c, checks_of(a))
        # said once a minute, not per probe
        assert len(lines(a, "answered by an outage page")) == 1
        # how A told B's page from the application's answer
        assert b.get("/health")[1].get("x-outage-page") == "paged"
        # B's maintenance ends: A's probes reach the application again
        redis.cli("DEL", "outage:shop")
        wait_for(lambda: scope(a, "shop")["state"] == "ok", timeout=T,
                 what="A up with the application")
        assert a.get("/")[0] == 200
        # the application's own failure counts as ever
        app.dead.set()
        wait_for(lambda: scope(a, "shop")["state"] == "down", timeout=T,
                 what="A down with the application")
        assert scope(a, "shop")["reason"] == "check: HTTP 500"
    finally:
        app.stop()


def test_a_member_that_paged_first_is_evidence_for_the_others(
        nginx_factory):
    # review s9/R1 P1: without a shared secret, B (fall=1) pages first when
    # the application dies for good; every later probe of A (fall=3) is
    # answered by B's page.  Not counting it hid the outage on A for good
    app = FlakyApp()
    try:
        a = nginx_factory("", workers=1, start=False)
        b = nginx_factory("", workers=1, start=False)
        a.write_conf(_conf(b.port, app.port).replace("fall=2", "fall=3"))
        b.write_conf(_conf(a.port, app.port).replace("fall=2", "fall=1"))
        a.start()
        b.start()
        for n in (a, b):
            wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T,
                     what="the check up")
        app.dead.set()
        for n in (b, a):
            wait_for(lambda: scope(n, "shop")["state"] == "down",
                     timeout=T, what="the scope down")
        assert a.get("/")[0] == 503 and b.get("/")[0] == 503
        # each probe is answered by the other's page from now on, not
        # counted while down: the prober still renews the verdict, which
        # is not taken for a stale one (no probe result for (fall + 1) x
        # interval + timeout + 1 s + two take-overs: about 5.3 s here)
        before = [checks_of(n)[0] for n in (a, b)]
        wait_for(lambda: checks_of(a)[0]["page_answers"]
                 >= before[0]["page_answers"] + 24, timeout=3 * T,
                 what="more than 7 s of A's probes answered by B's page")
        for n, c in zip((a, b), before):
            assert checks_of(n)[0]["transitions"] == c["transitions"], \
                (c, checks_of(n)[0])
        assert a.get("/")[0] == 503 and b.get("/")[0] == 503
    finally:
        app.stop()


def test_a_confirming_probe_answered_by_a_page_ends(nginx_factory, redis):
    # review s9/R1 P2: passive detection on A asks a probe to confirm; the
    # probe gets B's page.  Left unstored, the confirmation stayed asked
    # and A probed B again at once, hundreds of times a second, for as
    # long as B paged.  Now it is a failure (A's check is up), "fall" of
    # them take A down, and a down check confirms nothing
    app = FlakyApp()
    try:
        b = nginx_factory("", workers=1, start=False)
        b.write_conf(("outage_redis 127.0.0.1:%d interval=200ms "
                      "timeout=500ms;\n" % redis.port)
                     + _server(app.port))
        b.start()
        redis.cli("HSET", "outage:shop", "state", "maintenance")
        wait_for(lambda: b.get("/health")[0] == 503, timeout=T,
                 what="B's page")
        a = nginx_factory("""
    outage_check shop http://127.0.0.1:%d/health interval=20s timeout=1s;
    server {
        listen 127.0.0.1:{port};
        location / {
            outage_page shop;
            proxy_pass http://127.0.0.1:1;
        }
        location = /outage/status { outage_status; }
    }
""" % b.port, workers=1)
        for _ in range(20):
            a.get("/")
        wait_for(lambda: scope(a, "shop")["state"] == "down", timeout=T,
                 what="A down: confirmed by failures")
        pages = b.status_json()["counters"]["pages"]
        threading.Event().wait(2)       # a loop would send hundreds
        assert b.status_json()["counters"]["pages"] <= pages + 3
        assert checks_of(a)[0]["page_answers"] <= 8, checks_of(a)
    finally:
        app.stop()


class PatternLB:
    """A TCP load balancer that sends each connection to the next port of
    a repeating pattern (the test decides which member a probe lands on)."""

    def __init__(self):
        self.pattern = []
        self.port = free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(64)
        self.next = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", next(self.next)))
            except OSError:
                c.close()
                continue
            for x, y in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(x, y),
                                 daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                dst.sendall(b)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def start(self, pattern):
        self.next = itertools.cycle(pattern)

    def stop(self):
        self.sock.close()


def test_a_member_whose_probes_reach_the_application_does_not_flap(
        nginx_factory):
    # review s9/R1 P3: B cannot reach the application and pages; A reaches
    # it.  Behind a load balancer two of every three of A's probes land on
    # B's page: counted as failures, they took A down again and again
    # while its own probes passed.  Direct evidence outweighs them
    app = FlakyApp()
    lb = PatternLB()
    try:
        a = nginx_factory(_conf(lb.port, app.port), workers=1, start=False)
        b = nginx_factory(_conf(free_port(), app.port), workers=1,
                          start=False)
        lb.start([b.port, b.port, a.port])
        a.start()
        b.start()
        wait_for(lambda: scope(b, "shop")["state"] == "down", timeout=T,
                 what="B paged")
        wait_for(lambda: checks_of(a)[0]["page_answers"] >= 12, timeout=T,
                 what="A's probes answered by B's page")
        assert scope(a, "shop")["state"] == "ok", scope(a, "shop")
        assert checks_of(a)[0]["transitions"] == 0, checks_of(a)
        assert a.get("/")[0] == 200
        assert lines(a, "not counted: other probes reach the application")
    finally:
        lb.stop()
        app.stop()


def _spread(nginx_factory, app, lb):
    """A's check probes through the load balancer, B cannot reach the
    application and pages; every probe of A reaches A until the test
    spreads them.  fall=4: a run of five of B's pages takes down a check
    whose prober has no record of a direct answer."""
    conf = _conf(lb.port, app.port).replace(
        "interval=300ms timeout=250ms fall=2",
        "interval=400ms timeout=300ms fall=4")
    a = nginx_factory(conf, workers=2, start=False)
    b = nginx_factory(_conf(free_port(), app.port), workers=1, start=False)
    lb.start([a.port])
    a.start()
    b.start()
    wait_for(lambda: scope(b, "shop")["state"] == "down", timeout=T,
             what="B paged")
    wait_for(lambda: checks_of(a)[0]["health"] == "up", timeout=T,
             what="A's check up")
    return a, b


def _spread_then(a, b, lb, disrupt):
    """Probes reach A, then five of every six land on B's page from the
    moment of the disruption on: the first probes of A's new prober are
    answered by B's page, which the record of the last direct answer (a
    probe answered by the application, 6 x 400 ms ago at most) outweighs
    (4 x fall x interval = 6.4 s)."""
    lb.start([a.port])
    probes = checks_of(a)[0]["probes"]
    wait_for(lambda: checks_of(a)[0]["probes"] >= probes + 2, timeout=T,
             what="A's probes reach the application")
    answers = checks_of(a)[0]["page_answers"]
    lb.start([b.port] * 5 + [a.port])
    disrupt()
    wait_for(lambda: checks_of(a)[0]["page_answers"] >= answers + 6,
             timeout=T, what="the new prober's probes answered by B's page")
    assert scope(a, "shop")["state"] == "ok", scope(a, "shop")
    assert checks_of(a)[0]["transitions"] == 0, checks_of(a)


def test_a_reload_keeps_the_record_of_direct_answers(nginx_factory):
    # review s9/R1 P4: the time of the last probe answered by the
    # application was the prober worker's: after a reload the new prober
    # counted B's pages as hearsay until one of its probes reached the
    # application, and A paged its shoppers with the application healthy
    app = FlakyApp()
    lb = PatternLB()
    try:
        a, b = _spread(nginx_factory, app, lb)
        for _ in range(3):
            _spread_then(a, b, lb, a.reload)
        assert a.get("/")[0] == 200
        assert lines(a, "not counted: other probes reach the application")
    finally:
        lb.stop()
        app.stop()


@pytest.mark.allow_log_errors     # "worker process exited on signal 9"
def test_a_prober_takeover_keeps_the_record_of_direct_answers(
        nginx_factory):
    # the same after the prober worker is SIGKILLed: the other worker
    # takes the lease over (or the master's new worker) with the zone's
    # record, not an empty one of its own
    app = FlakyApp()
    lb = PatternLB()
    try:
        a, b = _spread(nginx_factory, app, lb)

        def kill_prober():
            pid = a.status_json()["health"]["prober_pid"]
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: pid not in a.worker_pids()
                     and len(a.worker_pids()) == a.workers, timeout=T,
                     what="the killed worker replaced")

        for _ in range(2):
            _spread_then(a, b, lb, kill_prober)
        assert a.get("/")[0] == 200
    finally:
        lb.stop()
        app.stop()
