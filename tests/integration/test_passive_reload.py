"""Passive evidence across reloads (review s5 passive item 8, brief s6
item 1), with real nginx, a real reload during a pending confirmation and
a failed one.

A streak and a pending "probing now to confirm" request are counted and
judged under the check's passive settings (passive_min, passive_ratio,
passive_window, passive_status).  A reload that keeps the check (same
identity) and those settings keeps them: the confirmation it was waiting
for still happens.  A reload that changes them drops them, and so does a
check that comes back after the carry window (its state is not evidence
any more).  A reload that fails changes nothing.

The check's /health hangs, so that each confirming probe takes its whole
timeout (2 s) and "fall" of them take several seconds: the reload lands
while the confirmation is pending.  Which probe took the check down shows
in its reason: "passive: ...; check: ..." for the confirming probes,
"check: ..." for the regular schedule.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import wait_for
from outage_fixtures import failed_reload
from passive_helpers import app, checks_of, down_lines, lines, scope  # noqa: F401

CONFIRMED = ("passive: upstream 504 (timed out); check: timed out after "
             "2000 ms")
BY_PROBES = "check: timed out after 2000 ms"


def conf(backend, app, passive_min=10, interval="30s", fall=5, check=True,
         listen=""):
    text = ""
    if check:
        text = ("outage_check checkout http://127.0.0.1:%d/health "
                "interval=%s timeout=2s fall=%d rise=2 passive_min=%d;\n"
                % (backend.health_port, interval, fall, passive_min))
    return text + """
    server {
        listen 127.0.0.1:{port} reuseport;
        %s
        location /checkout/ {
            outage_page checkout;
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:%d/;
        }
        location = /outage/status { outage_status; }
    }
""" % (listen, app.port)


def pending_confirmation(n):
    """Twelve requests time out together: the rule fires and asks for a
    probe, which hangs for its 2 s timeout."""
    with ThreadPoolExecutor(12) as pool:
        got = list(pool.map(lambda i: n.get("/checkout/slow?%d" % i)[0],
                            range(12)))
    assert set(got) <= {503, 504}, got
    wait_for(lambda: lines(n, r'check "checkout" \(#0\): passive: upstream '
                              r'504 \(timed out\).*probing now to confirm'),
             timeout=10, what="the confirmation request")
    c = checks_of(n)[0]
    assert c["health"] != "down", c


@pytest.mark.allow_log_errors
@pytest.mark.parametrize("variant", ["same", "changed", "failed", "stale"])
def test_reload_during_a_pending_confirmation(nginx_factory, backend, app,
                                              busy_port, variant):
    backend.set_health("hang")
    n = nginx_factory(conf(backend, app), workers=2)
    pending_confirmation(n)

    # the schedule after the reload is fast enough for the regular probes
    # to take the check down within the test (interval 3 s, fall 3)
    if variant == "same":
        # identity and passive settings kept: so is the confirmation
        n.write_conf(conf(backend, app, interval="3s", fall=3))
        n.reload()
        want = CONFIRMED
    elif variant == "changed":
        # passive_min changed: the request was made under another rule
        n.write_conf(conf(backend, app, passive_min=11, interval="3s",
                          fall=3))
        n.reload()
        want = BY_PROBES
    elif variant == "failed":
        # the failed configuration changes the rule too, in vain
        failed_reload(n, conf(backend, app, passive_min=11, listen=(
            "listen 127.0.0.1:%d;" % busy_port)))
        want = CONFIRMED
    else:
        # the check leaves with its request pending and comes back after
        # the carry window (10 s at least: docs/reliability.md#stale-state)
        n.write_conf(conf(backend, app, check=False))
        n.reload()
        time.sleep(11)      # the age of the evidence, not a synchronisation
        n.write_conf(conf(backend, app, interval="3s", fall=1))
        n.reload()
        want = BY_PROBES

    wait_for(lambda: checks_of(n)[0]["health"] == "down", timeout=40,
             what="checkout down")
    assert scope(n, "checkout")["reason"] == want
    got = down_lines(n)
    assert len(got) == 1, got
    assert ("confirmed by a probe" in got[0]) == (want == CONFIRMED), got
    bad = [ln for ln in n.bad_log_lines() if "bind()" not in ln]
    assert not bad, bad
