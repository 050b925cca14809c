"""The X-Outage-Probe strip: what it costs an idle request (issue 15), and
that no phase after it passes a mark on.

Every main request's header list is walked for the fleet's probe mark
(ngx_http_outage_page_take_mark(): the mark must never reach an upstream,
auth_request, mirror or SSI).  tests/bench/mark_ir.py counts, under
callgrind on a worker, the instructions of the module's rewrite handlers
(the strip, and nothing else on this request) for a browser request of 20
headers.  Session 9 walked the list in both rewrite phases and called
ngx_strncasecmp() for every header of the mark's length (four
Sec-Fetch-*): 808 instructions a request, 14.7 % of the idle module's
request path; the server rewrite phase's walk alone (the location's
walks only after a named location cleared r->ctx), told from the name's
length and first byte, 370 (docs/performance.md, Run R).  Instruction
counts are deterministic: the bound holds on a loaded machine.
"""

import os
import shutil
import subprocess

import pytest

from harness import LATENCY_FACTOR, PY, REPO, raw_request, wait_for
from passive_helpers import serve, server, stop_server
from test_health_self_probe import Recorder

T = 10 * LATENCY_FACTOR

MARK_IR = os.path.join(REPO, "tests", "bench", "mark_ir.py")

# 808 before (one walk per rewrite phase, a call per 14-byte name)
MAX_IR_PER_REQUEST = 450


@pytest.mark.skipif(not shutil.which("valgrind"), reason="needs valgrind")
def test_the_idle_strip_walks_the_headers_once_and_cheaply():
    run = subprocess.run([PY, MARK_IR, "--requests", "50",
                          "--max", str(MAX_IR_PER_REQUEST)],
                         capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    line = [ln for ln in run.stdout.splitlines()
            if ln.startswith("Ir/request")]
    assert line, out
    # the handler ran: a figure of 0 would be a measurement of nothing
    take = float(line[0].split("inclusive)")[1].split()[0])
    assert take > 50, out


# -- no phase after the strip passes a mark on ------------------------------

def _app_behind(nginx_factory, locations):
    """nginx with a check of an application that records each request's
    headers (test_health_self_probe's Recorder), and the locations
    given ("%d" for the application's port): (nginx, application, seen),
    once a probe got through"""
    seen = []
    app = serve(handler=type("Rec", (Recorder,), {"seen": seen}))
    port = app.server_address[1]
    try:
        n = nginx_factory(("outage_check shop http://127.0.0.1:%d/health "
                           "interval=300ms timeout=250ms;\n" % port)
                          + server(locations.replace("%d", str(port))),
                          workers=1)
        wait_for(lambda: [p for p, _ in seen if p == "/health"], timeout=T,
                 what="a probe")
    except BaseException:
        stop_server(app)
        raise
    return n, app, seen


def _got_no_mark(seen, path):
    rec = [h for p, h in seen if p == path]
    assert rec, (path, seen)
    names = [k.lower() for k, _ in rec[0]]
    assert "x-outage-probe" not in names, (path, rec)
    assert "x-a" in names, (path, rec)


def test_no_later_phase_passes_a_mark_on(nginx_factory):
    # The server rewrite phase takes the marks out, which every request
    # passes first: a named location (try_files, error_page = @name),
    # which starts at the location's rewrite phase, "rewrite ... last",
    # which runs the location phases again, and an internal redirect, which
    # starts over at the server's, all reach the application without one
    n, app, seen = _app_behind(nginx_factory, """
        location /tf/ { try_files /nonexistent @app; }
        location /ep/ { error_page 404 = @app; return 404; }
        location /rw/ { rewrite ^ /to/rw last; }
        location /ir/ { error_page 418 = /to/ir; return 418; }
        location /to/ {
            outage_page shop;
            proxy_pass http://127.0.0.1:%d;
        }
        location @app {
            outage_page shop;
            proxy_pass http://127.0.0.1:%d;
        }""")
    try:
        for path, want in (("/tf/a", "/tf/a"), ("/ep/b", "/ep/b"),
                           ("/rw/c", "/to/rw"), ("/ir/d", "/to/ir")):
            for mark in ("0123456789abcdef", "zz"):
                del seen[:]
                st, _, body = n.get(path, headers={"X-Outage-Probe": mark,
                                                   "X-A": "1"})
                assert (st, body) == (200, b"ok"), (path, st, body)
                _got_no_mark(seen, want)
    finally:
        stop_server(app)


def test_a_request_that_failed_before_any_phase_passes_no_mark(
        nginx_factory):
    # A request whose headers fail (a second Host) gets its error page
    # before any phase ran; "error_page 400 = @app" sends it, with the
    # headers read so far, to a named location, which starts at the
    # location's rewrite phase: the strip must happen there (2af4976 left
    # that phase's walk out and proxied the mark)
    n, app, seen = _app_behind(nginx_factory, """
        error_page 400 = @app;
        location / { return 204; }
        location @app {
            proxy_pass http://127.0.0.1:%d;
        }""")
    try:
        for mark in (b"0123456789abcdef", b"zz"):
            del seen[:]
            raw = (b"GET /bad HTTP/1.1\r\nHost: a\r\nX-Outage-Probe: " + mark
                   + b"\r\nX-A: 1\r\nHost: b\r\nConnection: close\r\n\r\n")
            got = raw_request(n.port, raw)
            assert got.startswith(b"HTTP/1.1 200"), got[:200]
            _got_no_mark(seen, "/bad")
    finally:
        stop_server(app)
