"""The all-checks-failing guard's whole state in the status endpoint (the
"guard" object: off / holding / disproved, since, the evidence as its log
line says it, the scopes it holds back or would hold back) and in the
Prometheus metrics, driven with real nginx, dead ports and real traffic
(the set-ups of test_guard_trust.py).

"guard_active" alone could not tell a guard that holds scopes back from one
that every target's failure would engage but that traffic disproved: those
scopes are paged while the reader saw no reason why."""

import re
import time

import pytest

from harness import LATENCY_FACTOR, free_port, wait_for
from guard_helpers import (AB_OPTS, BOXES_OPTS, PASSIVE_WINDOW,  # noqa: F401
                           T, ab_conf, apps, boxes_conf, check_lines, guard,
                           metric_states, prober_fails, redis_shops, states)
from passive_helpers import checks_of, lines, serve, server, stop_server

TRAFFIC = ('real traffic fails like the probes: check "checkout" (#0): '
           'passive: upstream 502 (cannot connect)')


def test_guard_holding_then_disproved_by_traffic_then_off(nginx_factory):
    # box 1 serves checkout and api, box 2 search; both dead from the
    # start.  The guard holds the three scopes back; traffic to /checkout/
    # cannot connect either: the guard is disproved and every scope paged.
    # The status says which, since when, why, and which scopes; then box 2
    # comes back and the guard is off again
    box1 = free_port()
    box2 = free_port()
    conf = boxes_conf(box1, box2)
    n = nginx_factory(conf, workers=2)

    # a start with every check unknown: off, never changed
    g = guard(n)
    assert g["enabled"] is True, g
    if g["state"] == "off":
        assert g["held"] == [] and g["released"] == [], g

    wait_for(lambda: guard(n)["state"] == "holding", timeout=T,
             what="the guard holding")
    # "held" names a scope whose check is still on the way to "fall" too:
    # the traffic below must find checkout down by its probes
    wait_for(lambda: sorted(guard(n)["held"]) == ["api", "checkout",
                                                  "search"]
             and all(c["health"] == "down" for c in checks_of(n)),
             timeout=T, what="every scope held back, every check down")
    st = n.status_json()
    g = st["guard"]
    assert st["guard_active"] is True, st
    assert g["reason"] == "every health check fails (2 of 2 targets)", g
    assert g["since"] is not None and g["released"] == [], g
    assert states(n) == {"checkout": "ok", "api": "ok", "search": "ok"}
    held_since = g["since"]
    m, text = metric_states(n)
    assert m == {"off": "0", "holding": "1", "disproved": "0"}, text
    for name in ("checkout", "api", "search"):
        assert re.search(r'^outage_guard_held\{scope="%s"\} 1$' % name,
                         text, re.M), text

    end = time.monotonic() + PASSIVE_WINDOW + 10 * LATENCY_FACTOR
    while states(n)["checkout"] != "down":
        assert time.monotonic() < end, n.status_json()
        n.get("/checkout/")
    wait_for(lambda: states(n) == {"checkout": "down", "api": "down",
                                   "search": "down"},
             timeout=T, what="every probe-down scope paged")

    st = n.status_json()
    g = st["guard"]
    assert st["guard_active"] is False, st
    assert g["state"] == "disproved", g
    assert g["reason"] == TRAFFIC, g
    assert g["since"] >= held_since, g
    assert g["held"] == [], g
    # paged although every target fails: the scopes the guard would hold
    assert sorted(g["released"]) == ["api", "checkout", "search"], g
    m, text = metric_states(n)
    assert m == {"off": "0", "holding": "0", "disproved": "1"}, text
    assert re.findall(r'^outage_guard_held\{scope="\w+"\} (\d)$', text,
                      re.M) == ["0"] * 3, text
    # the log line says the status' reason, once
    # at error: it pages those scopes now (audit s10/A1 F3)
    got = lines(n, r"\[error\].*outage: " + re.escape(TRAFFIC)
                + r", so the prober's network is not what is broken")
    assert len(got) == 1, got
    assert re.search(r'; scopes paged now: "checkout", "api", "search"'
                     r'( while |, client: |$)', got[0]), got

    # box 2 answers again: not every target fails, the guard is off
    live = serve("127.0.0.1", box2)
    try:
        wait_for(lambda: guard(n)["state"] == "off", timeout=T,
                 what="the guard off")
        g = guard(n)
        assert g["reason"] == "not every health check fails any more", g
        assert g["held"] == [] and g["released"] == [], g
        assert len(lines(n, r"outage: not every health check fails any "
                            r"more, the all-checks-failing guard's "
                            r"disproval by traffic ends")) == 1
    finally:
        stop_server(live)


def test_guard_off_by_configuration_says_so(nginx_factory):
    # outage_check_guard off: every target failing pages every scope, and
    # the status says the guard is not enabled rather than merely "off"
    conf = ("outage_check_guard off;\n"
            + check_lines(BOXES_OPTS, ("shopa", free_port(), "/health"),
                          ("shopb", free_port(), "/health"))) + server("""
        location /a/ { outage_page shopa; }
        location /b/ { outage_page shopb; }""")
    n = nginx_factory(conf, workers=1)
    wait_for(lambda: states(n) == {"shopa": "down", "shopb": "down"},
             timeout=T, what="both paged")
    g = guard(n)
    assert g == {"enabled": False, "state": "off", "since": None,
                 "reason": None, "held": [], "released": []}, g
    m, text = metric_states(n)
    assert m == {"off": "1", "holding": "0", "disproved": "0"}, text


def test_guard_held_leaves_out_scopes_redis_decides(nginx_factory, apps,
                                                    redis):
    # review s8/R5 #2: every /health answers 401 (the prober's side), the
    # guard holds.  shopa is in a maintenance declared in Redis (paged by
    # Redis, not held by the guard): only shopb and shopc are "held", in
    # the status, its metric and the [error] line of the hold alike (one
    # rule; the line named shopa too before guard9).  Three targets: a
    # check failing in a maintenance is not counted (audit s12 A4 F2), and
    # one target left is never guarded
    a, b, c = apps(), apps(), apps()
    extra = ("outage_check shopc http://127.0.0.1:%d/health %s rise=2;\n"
             % (c.port, AB_OPTS))
    conf = ("outage_redis 127.0.0.1:%d interval=200ms timeout=500ms;\n"
            % redis.port) + ab_conf(a, b, extra)
    n = nginx_factory(conf, workers=2)
    wait_for(lambda: [x["health"] for x in checks_of(n)] == ["up"] * 3,
             timeout=T, what="the three checks up")
    redis.cli("HSET", "outage:shopa", "state", "maintenance")
    wait_for(lambda: states(n)["shopa"] == "maintenance", timeout=T)
    prober_fails(n, a, b, c)
    wait_for(lambda: states(n)["shopa"] == "maintenance", timeout=T)
    assert guard(n)["held"] == ["shopb", "shopc"], n.status_json()
    _, text = metric_states(n)
    assert re.search(r'^outage_guard_held\{scope="shopa"\} 0$', text, re.M)
    assert re.search(r'^outage_guard_held\{scope="shopb"\} 1$', text, re.M)
    held = lines(n, r"\[error\].*every health check fails")
    assert len(held) == 1, held
    assert held[0].endswith('scopes kept up: "shopb", "shopc"'), held



def _iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@pytest.mark.parametrize("window", ["announced", "ended"])
def test_guard_held_counts_an_incident_not_in_effect(nginx_factory, apps,
                                                     redis, window):
    # review s10/R5 F3: an incident announced for later (or ended) does not
    # decide against a failing check (docs/redis.md, "Times"), so a scope
    # the guard holds back with one is "held", in the status, its metric
    # and the line of the hold, as the decision pages it when the guard
    # ends.  The announced one was left out before decide11
    n, a, b = redis_shops(nginx_factory, apps, redis)
    now = time.time()
    if window == "announced":
        redis.cli("HSET", "outage:shopa", "state", "down", "message",
                  "Database upgrade", "starts", _iso(now + 3600))
        wait_for(lambda: any(s["name"] == "shopa" and s["scheduled"]
                             for s in n.status_json()["scopes"]),
                 timeout=T, what="the announcement read")
    else:
        redis.cli("HSET", "outage:shopa", "state", "maintenance",
                  "starts", _iso(now - 7200), "ends", _iso(now - 3600))
        wait_for(lambda: n.status_json()["redis"]["polls"] >= 3, timeout=T)
    prober_fails(n, a, b)
    wait_for(lambda: guard(n)["held"] == ["shopa", "shopb"], timeout=T,
             what="both scopes held")
    _, text = metric_states(n)
    assert re.search(r'^outage_guard_held\{scope="shopa"\} 1$', text, re.M)
    held = lines(n, r"\[error\].*every health check fails")
    assert len(held) == 1, held
    assert held[0].endswith('scopes kept up: "shopa", "shopb"'), held

    # b answers again: the guard ends, and the decision pages shopa as the
    # list said (an announcement never hides a failing check)
    b.health500 = False
    wait_for(lambda: guard(n)["state"] == "off", timeout=T)
    wait_for(lambda: states(n)["shopa"] == "down", timeout=T,
             what="shopa paged once the guard ended")
    got = lines(n, r"health checks decide again")
    assert len(got) == 1 and got[0].endswith('scopes paged now: "shopa"'), got

def test_a_take_down_is_logged_when_it_takes_effect(nginx_factory):
    # audit s10/A1 F3: while the guard holds, "[error] is down" was logged
    # for a scope that was not paged; when the guard ended, the scope was
    # paged from that second and no line named it.  Now the held one is a
    # [warn] that says so, and the line of the guard's end names the
    # scopes it pages now
    search, checkout = free_port(), free_port()
    conf = (
        "outage_check search http://127.0.0.1:%d/health interval=500ms "
        "timeout=300ms fall=1 rise=1;\n"
        "outage_check checkout http://127.0.0.1:%d/health interval=500ms "
        "timeout=300ms fall=4 rise=1;\n" % (search, checkout)
    ) + server("""
        location /checkout/ { outage_page checkout; outage_passive off; }
        location /search/ { outage_page search; outage_passive off; }""")
    n = nginx_factory(conf, workers=1)
    wait_for(lambda: [c["health"] for c in checks_of(n)] == ["down", "down"],
             timeout=T, what="both checks down")
    assert guard(n)["state"] == "holding", guard(n)
    assert states(n) == {"search": "ok", "checkout": "ok"}
    got = lines(n, r'check "checkout" \(#1\) is down: ')
    assert len(got) == 1 and "[warn]" in got[0], got
    assert got[0].endswith("; held back by the all-checks-failing guard "
                           "(outage_check_guard): not paged until it "
                           "ends"), got
    # search comes back: the guard ends, checkout is paged from now on
    app = serve("127.0.0.1", search)
    try:
        wait_for(lambda: guard(n)["state"] == "off", timeout=T,
                 what="the guard off")
        wait_for(lambda: states(n)["checkout"] == "down", timeout=T,
                 what="checkout paged")
        got = lines(n, r"health checks decide again")
        assert len(got) == 1 and "[error]" in got[0], got
        assert got[0].endswith('(outage_check_guard cleared); scopes paged '
                               'now: "checkout"'), got
    finally:
        stop_server(app)
