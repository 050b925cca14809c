"""A prober that crashes at every probe (audit s12 A4 F4): the master
respawns each worker it kills, so every worker stays younger than the stale
limit.  The limit and the wait after it counted from each worker's own
start, so no worker ever dropped the verdict: a down check paged for good,
verified by nobody, with no line.  Both now count from what the zone keeps
(the configuration's first start, the check's first sweep past the limit):
the check is unknown after the limit, as docs/reliability.md promises.
"""

import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import LATENCY_FACTOR, wait_for
from passive_helpers import lines, scope, server

T = 10 * LATENCY_FACTOR


class Target:
    """/health answers 500; once "crash" is set, each probe kills the
    worker that sent it (the only one: one worker) before any answer, in
    the handler itself, so that no probe ever outlives its 400 ms timeout
    however loaded the machine is (review s12 R4 L1: a kill from the test's
    loop came after the probe's timeout, a result that renewed the
    verdict)."""

    def __init__(self, kill):
        self.crash = threading.Event()
        self.done = threading.Event()
        self.kills = 0
        me = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                if me.crash.is_set():
                    if kill():
                        me.kills += 1
                    me.done.wait(5)
                body = b"no"
                try:
                    self.send_response(500)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass        # the prober is gone

            def log_message(self, *a):
                pass

        class S(ThreadingHTTPServer):
            def handle_error(self, *a):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.srv = S(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.done.set()
        self.srv.shutdown()
        self.srv.server_close()


def _status(n):
    """The status, or None when the worker answering it was killed."""
    try:
        return n.status_json()
    except (OSError, ValueError):
        return None


@pytest.mark.allow_log_errors       # the master's "exited on signal 9"
def test_a_prober_that_crashes_at_every_probe_drops_the_verdict(
        nginx_factory):
    # stale limit: 3 x 500 ms + 400 ms + 1 s + two take-overs (2 s each),
    # 6.9 s, then 1.9 s more.  One worker: each lives about 2.5 s (it
    # takes the lease once the dead prober's expires, and dies at its first
    # probe), so on the old code no worker ever got that old (with two, one
    # could outlive a few rounds by chance)
    box = {}

    def kill():
        for pid in box["n"].worker_pids():
            try:
                os.kill(pid, signal.SIGKILL)
                return True
            except ProcessLookupError:
                pass
        return False

    t = Target(kill)
    conf = ("outage_check shop http://127.0.0.1:%d/health interval=500ms "
            "timeout=400ms fall=2 rise=1;\n" % t.port) + server(
        "location / { outage_page shop; outage_passive off; "
        "proxy_pass http://127.0.0.1:%d; }" % t.port)
    n = nginx_factory(conf, workers=1)
    box["n"] = n
    try:
        wait_for(lambda: scope(n, "shop")["state"] == "down", timeout=T,
                 what="the scope down (its /health answers 500)")
        t.crash.set()
        end = time.monotonic() + 3 * T
        while True:
            st = _status(n)
            if st and st["checks"][0]["health"] == "unknown":
                break
            assert time.monotonic() < end, (
                "no probe result for %d prober crashes, yet the verdict is "
                "kept and the scope still paged: %r" % (t.kills, st))
            time.sleep(0.1)
        kills = t.kills
        # one snapshot: the probe now in flight fails in 400 ms
        c = st["checks"][0]
        assert kills >= 3, kills
        assert c["error_kind"] == "setup", c
        assert c["last_error"].startswith("not probed: no probe result "
                                          "for "), c
        assert [s for s in st["scopes"] if s["name"] == "shop"][0][
            "state"] == "ok", st
        got = lines(n, r'\[error\].*check "shop" \(#0\) is unknown: no '
                       r'probe result for \d+ ms \(the prober stalls or '
                       r'crashes')
        assert len(got) == 1, n.log_text()
    finally:
        t.stop()
