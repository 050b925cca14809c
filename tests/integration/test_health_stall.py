"""A stall of the prober's worker (SIGSTOP here; a blocking disk read, CPU
starvation, a paused container or VM in production) while a probe is in
flight must not count as the target timing out (review s11/A2-F3): the
target's answer came during the stall and waits in the socket buffer, but
curl checks its timeout before it reads, so the transfer "times out" at
the resume.  The module sees the stall (its own timers ran late), does not
count that timeout, and probes again at once.  Bounded: a target that
really hangs still goes down after fall timeouts, stall or not.

nginx runs with one worker (the prober).  Each stall is shorter than the
lease, so no other worker takes over and the result is not fenced.
"""

import os
import signal
import threading
import time

import pytest

from harness import wait_for
from passive_helpers import Ok, checks_of, down_lines, lines, serve, \
    stop_server

arrived = threading.Event()
hanging = threading.Event()     # set: /health never answers in time


class SlowHealth(Ok):
    """A /health that queries its database: answers after 300 ms, or
    (hanging set) after 30 s, long past any timeout= below."""

    def wait(self):
        arrived.set()
        time.sleep(30 if hanging.is_set() else 0.3)


SERVER = """
    server {
        listen 127.0.0.1:{port} reuseport;
        location / { outage_page shop; return 200 "shop\\n"; }
        location = /outage/status { outage_status; }
    }
"""

STALLED = r"while this worker's event loop stalled"


def stall_during_a_probe(n, seconds, clear=True):
    """Stops the worker just after a probe reached the target, resumes it
    `seconds` later."""
    worker = n.worker_pids()[0]
    if clear:
        arrived.clear()
    assert arrived.wait(10), "no probe reached the target"
    arrived.clear()                 # the next one is another probe
    os.kill(worker, signal.SIGSTOP)
    try:
        time.sleep(seconds)     # the stall itself, not a wait for a state
    finally:
        os.kill(worker, signal.SIGCONT)


@pytest.fixture
def shop(nginx_factory):
    """shop(params, hang): nginx with one check of a SlowHealth target,
    hanging or not; the target stops with the test."""
    servers = []

    def start(params, hang=False):
        (hanging.set if hang else hanging.clear)()
        arrived.clear()
        srv = serve("127.0.0.1", 0, SlowHealth)
        servers.append(srv)
        return nginx_factory("outage_check shop http://127.0.0.1:%d/health "
                             "%s;\n" % (srv.server_address[1], params)
                             + SERVER, workers=1)
    yield start
    hanging.clear()
    for srv in servers:
        stop_server(srv)


def test_prober_stall_is_not_a_target_timeout(shop):
    n = shop("interval=1500ms timeout=1s fall=1 rise=2")
    wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=15,
             what="check up")

    stall_during_a_probe(n, 1.5)    # the target answered at 0.3 s

    probes = checks_of(n)[0]["probes"]
    wait_for(lambda: checks_of(n)[0]["probes"] >= probes + 2,
             timeout=15, what="two probes after the stall")
    assert down_lines(n) == [], down_lines(n)
    assert checks_of(n)[0]["failures"] == 0, checks_of(n)[0]
    said = lines(n, STALLED)
    assert len(said) == 1 and "[warn]" in said[0], said
    assert "not counted, probed again now" in said[0], said


def test_a_hanging_target_still_goes_down(shop):
    """No stall: each timeout counts, the check goes down after fall."""
    n = shop("interval=1s timeout=500ms fall=2 rise=2", hang=True)
    wait_for(lambda: len(down_lines(n)) == 1, timeout=15,
             what="the hanging target down")
    assert "timed out after 500 ms (2 failures)" in down_lines(n)[0]
    assert lines(n, STALLED) == []


def test_a_hanging_target_goes_down_across_stalls(shop):
    """A stall voids one timeout; the target, which really hangs, still
    goes down: a voided probe is probed again at once, and its timeout
    counts."""
    n = shop("interval=3s timeout=1s fall=1 rise=2", hang=True)
    stall_during_a_probe(n, 1.5, clear=False)     # the first probe
    wait_for(lambda: len(down_lines(n)) == 1, timeout=15,
             what="the hanging target down")
    assert "(1 failures)" in down_lines(n)[0], down_lines(n)
    text = n.log_text()
    assert 0 <= text.find("event loop stalled") < text.find("is down")


def test_stalls_at_every_probe_still_take_a_hanging_target_down(shop):
    # review s11 R4 F6: the worker stalls across the deadline of EVERY probe
    # of a hanging target: at most one timeout in a row is voided, so the
    # second one counts (fall=1: down)
    n = shop("interval=3s timeout=1s fall=1 rise=2", hang=True)
    stalls = 0
    while stalls < 5:
        # covers the deadline of the probe on its way now (a re-probe too)
        stall_during_a_probe(n, 1.5, clear=False)
        stalls += 1
        # the resumed worker judges the probe: down, or probes again
        try:
            wait_for(lambda: down_lines(n) or arrived.is_set(),
                     timeout=5, what="the probe judged")
        except AssertionError:
            pass
        if down_lines(n):
            break
    assert down_lines(n), "not down after %d stalled probes" % stalls
    assert stalls <= 2, stalls
