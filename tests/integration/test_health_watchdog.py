"""The prober's watchdog (brief s6 item 4): a probe still running 1 s
after its timeout= is aborted and counted, so that no check is ever frozen
at its last verdict, whatever curl, the socket glue or nginx's resolver
do.

nginx's resolver timer ends a resolution first in normal running (after
half the probe's timeout=); it loses that race when the worker was stopped
past the watchdog's deadline (a SIGSTOP here; swapping, a debugger, a VM
pause in production): on resume nginx runs the expired timers in the order
of their deadlines, and the prober's tick (due every second) comes before
the resolver's when timeout= is long.  So the test stops the only worker
while it waits for a resolver that never answers, and resumes it past
timeout= + 1 s.

The same watchdog for a curl transfer is not triggered from outside: curl
keeps a timer of its own due within the second, which runs first after any
stall and times the transfer out itself (curl: "Operation timed out after
4515 milliseconds").
"""

import os
import signal
import time

from harness import LATENCY_FACTOR, wait_for
from outage_fixtures import FakeDns

T = 10 * LATENCY_FACTOR

SERVER = """
    server {
        listen 127.0.0.1:{port} reuseport;
        location / { return 200 "ok\\n"; }
        location = /outage/status { outage_status; }
    }
"""


def check(n):
    return n.status_json()["checks"][0]


def stall(pid, seconds):
    """The worker stopped for that long (the stall is the test's subject,
    not a synchronisation)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)


def test_watchdog_aborts_a_resolution_past_the_timeout(nginx_factory,
                                                       backend, tmp_path):
    """The resolver never answers; the address known from the configuration
    ("localhost") is probed once the resolution is aborted (on d061b66 the
    watchdog looked at transfers only: the resolution waited for its own
    timer)."""
    dns = FakeDns(tmp_path, {"localhost": "silent"})
    backend.set_health("hang")
    try:
        n = nginx_factory(dns.resolver(timeout="30s") + """
    outage_check checkout http://localhost:%d/health interval=5s
                 timeout=3s fall=1 rise=1;
""" % backend.health_port + SERVER, workers=1)
        wait_for(lambda: "localhost 1 -> (silent)" in dns.log(), timeout=T,
                 interval=0.005, what="a resolution in flight")
        stall(n.worker_pids()[0], 4.5)

        wait_for(lambda: check(n)["health"] == "down", timeout=T,
                 what="the probe counted")
        c = check(n)
        assert c["last_error"] == "timed out after 3000 ms", c
        got = [ln for ln in n.log_text().splitlines()
               if 'the resolution of "localhost" was still running 1000 ms '
                  "after the probe's timeout; aborted" in ln]
        assert len(got) == 1 and "[warn]" in got[0], got
        # the known address was probed (the target got the request)
        assert backend.count("/health") >= 1
        assert n.get("/")[0] == 200
    finally:
        dns.stop()
