"""A busy healthy upstream is not paged without a probe (audit s11/A2 F1).

nginx answers its own 502 "no live upstreams" both when every server is
marked failed (max_fails) and when every server is at its max_conns.  The
first, right after refusals by the check's own dependency, continues them
and pages without a probe (test_passive_rule.py::
test_refused_servers_then_no_live_upstreams_still_page); the second is a
busy, healthy application: it needs the confirming probe, which passes.

Scenario of the audit: `server app max_conns=1` (sized to the
application's capacity); the application restarts (one visitor request is
refused), then a long request (a report, an SSE stream) holds the only
connection; the next requests get "no live upstreams".  No answer came
through since the refusal (the long request has not ended): the old code
paged "directly" (`nginx never reached the peer, no probe needed`) while
the probe passed throughout.
"""

import threading
import time

from harness import LATENCY_FACTOR, wait_for
from passive_helpers import (PASSIVE_MIN, Ok, checks_of, down_lines, lines,
                             scope, serve, server, stop_server, wait_up)

T = 10 * LATENCY_FACTOR
REPORT_STARTED = threading.Event()


class Slowish(Ok):
    """/report takes 8 s (it holds the only connection max_conns allows);
    anything else answers 200 at once."""

    def wait(self):
        if self.path.startswith("/report"):
            REPORT_STARTED.set()
            time.sleep(8)


def test_busy_upstream_after_one_refusal_is_not_paged(nginx_factory):
    REPORT_STARTED.clear()
    srv = serve("127.0.0.1", 0, Slowish)
    port = srv.server_address[1]
    conf = ("upstream app { server 127.0.0.1:%d max_conns=1; }\n"
            "outage_check shop http://127.0.0.1:%d/health "
            "interval=2s timeout=500ms fall=3 rise=2;\n" % (port, port)
            ) + server("""
        location / {
            outage_page shop;
            proxy_pass http://app;
            proxy_read_timeout 30s;
        }""")
    n = nginx_factory(conf, workers=1)
    try:
        wait_up(n)
        # the application restarts: one visitor request is refused
        stop_server(srv)
        assert n.get("/")[0] in (502, 503)
        srv = serve("127.0.0.1", port, Slowish)
        # it is back and healthy: a long request holds max_conns=1
        t = threading.Thread(target=lambda: n.get("/report", timeout=20),
                             daemon=True)
        t.start()
        wait_for(REPORT_STARTED.is_set, timeout=T,
                 what="the long request at the application")
        codes = [n.get("/")[0] for _ in range(PASSIVE_MIN + 2)]
        assert set(codes) <= {502, 503}, codes   # nginx: "no live upstreams"
        assert lines(n, r"\[error\].*no live upstreams")
        # the rule fired: a probe is asked (not a direct take-down), and
        # it passes
        wait_for(lambda: down_lines(n) or lines(n, r"probing now to "
                                                   r"confirm"),
                 timeout=T, what="the rule fired")
        probes = checks_of(n)[0]["probes"]
        wait_for(lambda: down_lines(n)
                 or checks_of(n)[0]["probes"] >= probes + 2,
                 timeout=T, what="two probes after the burst")
        st = scope(n, "shop")
        chk = checks_of(n)[0]
        assert st["state"] != "down", (st, chk, down_lines(n))
        assert down_lines(n) == [], down_lines(n)
        assert chk["health"] == "up", chk
        assert lines(n, r"\[info\].*check \"shop\" \(#0\): passive: "
                        r"upstream 502 \(no live upstreams\) .*probing now "
                        r"to confirm")
    finally:
        stop_server(srv)
