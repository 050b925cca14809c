"""A take-down by traffic alone is not dropped while the prober cannot
probe and the traffic keeps proving it (review s10/R5 F1).

A check taken down by passive detection alone (nginx could not connect to
the host:port it probes: `passive: upstream 502 (cannot connect)`) was
made unknown by the rules that drop a verdict nobody renews (`fall`
intervals without a probe; no probe result for (fall + 1) intervals plus
the timeout, 1 s and two lease take-overs), although the requests that
reached the dependency (staff bypassing the page) kept failing: the page
went away and came back with each new streak.  Now each such request
renews that verdict as a probe result would; when they stop, or one gets
an answer, the verdict ends by the same rules, counted from the last one,
and the [error] line says why.

The prober is made unable to probe by tests/support/curl_fault.c
(test_health_setup.py): curl_multi_add_handle() refuses the probes of a
URL holding "/start-fault", or no worker can create libcurl's multi
handle.
"""

import os
import re
import signal
import time

import pytest

from harness import LATENCY_FACTOR, wait_for
from passive_helpers import (checks_of, hammer_until_paged, lines, scope,
                             serve, server, stop_server)
from test_health_setup import fault_lib, faulty_nginx  # noqa: F401

T = 10 * LATENCY_FACTOR
STAFF = {"X-Staff": "1"}
REASON = "passive: upstream 502 (cannot connect)"


def shop_conf(port, url_path, interval, timeout, fall):
    return (
        "outage_check shop http://127.0.0.1:%d%s interval=%dms "
        "timeout=%dms fall=%d rise=1;\n" % (port, url_path, interval,
                                            timeout, fall)
    ) + server("location / { outage_page shop; outage_bypass $http_x_staff; "
               "proxy_pass http://127.0.0.1:%d; }" % port)


def taken_down_by_traffic(n):
    """Requests until the traffic takes the check down (the port refuses,
    no probe runs); the check's status then."""
    hammer_until_paged(n, "/", "shop", T)
    c = checks_of(n)[0]
    assert c["health"] == "down", c
    assert scope(n, "shop")["reason"] == REASON, scope(n, "shop")
    return c


def kept_by_traffic(n, seconds):
    """Staff requests that bypass the page keep failing to connect for
    that long: the page must stay all along; the time of the last."""
    end = time.monotonic() + seconds
    last = None
    while time.monotonic() < end:
        st, headers, _ = n.get("/", headers=STAFF)
        assert st == 502 and headers.get("x-outage-bypass") == "predicate"
        last = time.monotonic()
        c, s = checks_of(n)[0], scope(n, "shop")
        assert c["health"] == "down", c
        assert s["state"] == "down" and s["reason"] == REASON, s
        assert n.get("/")[0] == 503
        time.sleep(0.1)     # pacing only: the assertions are the test
    assert not lines(n, r"is unknown"), n.log_text()
    return last


@pytest.mark.parametrize("end", ["stops", "answers"])
def test_traffic_keeps_a_passive_take_down_the_prober_cannot_renew(
        nginx_factory, fault_lib, tmp_path, end):  # noqa: F811
    app = serve()
    port = app.server_address[1]
    fault = tmp_path / "fault-on"
    n = faulty_nginx(nginx_factory,
                     shop_conf(port, "/start-fault", 500, 300, 2),
                     fault_lib, fault, workers=2)
    try:
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T,
                 what="the check up")
        # libcurl refuses every probe from now on; the application dies
        fault.write_text("1")
        stop_server(app)
        app = None
        wait_for(lambda: checks_of(n)[0]["error_kind"] == "setup",
                 timeout=T, what="a probe refused")
        taken_down_by_traffic(n)

        # fall (2) intervals are 1 s: the old code dropped it within one
        last = kept_by_traffic(n, 4 * LATENCY_FACTOR)
        c = checks_of(n)[0]
        assert c["error_kind"] == "setup", c

        if end == "stops":
            # nobody renews it: unknown "fall" intervals after the last one
            wait_for(lambda: checks_of(n)[0]["health"] == "unknown",
                     timeout=T, what="the verdict dropped")
            assert time.monotonic() - last >= 0.9, checks_of(n)
            tail = (r"; taken down by traffic alone, and no request failed "
                    r"to reach its dependency for \d+ ms")
        else:
            # the dependency answers a request: the traffic no longer
            # proves it down, and the probes have not run for long
            app = serve(port=port)
            st, _, body = n.get("/", headers=STAFF)
            assert st == 200 and body == b"ok"
            wait_for(lambda: checks_of(n)[0]["health"] == "unknown",
                     timeout=T, what="the verdict dropped")
            tail = (r"; taken down by traffic alone, and a request got an "
                    r"answer of its dependency since")
        assert scope(n, "shop")["state"] == "ok"
        got = lines(n, r'\[error\].*check "shop" \(#0\) is unknown: not '
                       r'probed for \d+ intervals \(cannot start a probe: '
                       r'[^)]*\)' + tail + r', so its last verdict \(down\) '
                       r'no longer counts')
        assert len(got) == 1, n.log_text()
    finally:
        if app is not None:
            stop_server(app)


@pytest.mark.allow_log_errors      # the worker killed: an [alert]
def test_traffic_keeps_a_passive_take_down_while_no_worker_can_probe(
        nginx_factory, fault_lib, tmp_path):  # noqa: F811
    # the stale rule: the prober dies and the worker that takes over
    # cannot run libcurl at all; nobody probes for longer than (fall + 1)
    # intervals, the timeout, 1 s and two take-overs (~5 s here)
    app = serve()
    port = app.server_address[1]
    multi = tmp_path / "multi-fault-on"
    n = faulty_nginx(nginx_factory, shop_conf(port, "/health", 300, 200, 2),
                     fault_lib, tmp_path / "no-fault", multi=multi,
                     workers=1)
    try:
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=T,
                 what="the check up")
        multi.write_text("1")
        os.kill(n.status_json()["health"]["prober_pid"], signal.SIGKILL)
        wait_for(lambda: lines(n, r"cannot set up libcurl's multi handle"),
                 timeout=3 * T, what="the new worker without libcurl")
        stop_server(app)
        app = None
        taken_down_by_traffic(n)
        probed = checks_of(n)[0]["probes"]

        # the old code dropped it ~6.4 s after the last probe result
        last = kept_by_traffic(n, 10 * LATENCY_FACTOR)
        c = checks_of(n)[0]
        assert c["probes"] == probed, c
        # nobody probes it, and the status says so (not "ok" of old)
        assert c["error_kind"] == "setup", c
        assert c["last_error"] == (
            "not probed: no probe result for over 4900 ms; kept down by "
            "requests that still cannot reach its dependency"), c

        wait_for(lambda: checks_of(n)[0]["health"] == "unknown",
                 timeout=3 * T, what="the verdict dropped")
        # no probe result nor failed request for the stale limit (4.9 s)
        assert time.monotonic() - last >= 4.5, checks_of(n)
        c = checks_of(n)[0]
        assert re.match(r"not probed: no probe result for \d+ ms; taken "
                        r"down by traffic alone, and no request failed to "
                        r"reach its dependency for \d+ ms$",
                        c["last_error"]), c
        assert scope(n, "shop")["state"] == "ok"
        got = lines(n, r'\[error\].*check "shop" \(#0\) is unknown: no '
                       r'probe result for \d+ ms \(the prober stalls or '
                       r'crashes, or cannot run libcurl: see the lines '
                       r'before\); taken down by traffic alone, and no '
                       r'request failed to reach its dependency for \d+ ms, '
                       r'so its last verdict \(down\) no longer counts')
        assert len(got) == 1, n.log_text()
    finally:
        if app is not None:
            stop_server(app)
