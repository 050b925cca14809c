"""A check whose failing probes a Redis incident explains is left out of
the all-checks-failing guard's count (audit s12 A4 F2), but while the guard
holds, its verdict is held back like every probe verdict: when the incident
ends during a failure on the prober's side (the key deleted, a silence's
TTL, Redis lost with max_stale), that scope serves like the others and must
not be paged (review s12 R6 G1); and acting on Redis while the guard holds
(adding "checks silenced" to a degraded incident) never ends the guard
(R6 G2).  Each of these paged a healthy scope on the branch that first left
such checks out of the hold; all pass on 626f772, which counted them.
"""
import time

from harness import LATENCY_FACTOR, wait_for
from guard_helpers import T, ab_conf, apps, guard, states  # noqa: F401
from passive_helpers import checks_of, server

OPTS = "interval=500ms timeout=300ms fall=2 rise=2"


def _three(redis, pay, a, b):
    return ("outage_redis 127.0.0.1:%d interval=200ms timeout=500ms;\n"
            % redis.port
            + "outage_check payments http://127.0.0.1:%d/health %s;\n"
              "outage_check shopa http://127.0.0.1:%d/health %s;\n"
              "outage_check shopb http://127.0.0.1:%d/health %s;\n"
            % (pay.port, OPTS, a.port, OPTS, b.port, OPTS)) + server("""
        location /payments/ { outage_page payments;
                              proxy_pass http://127.0.0.1:%d/; }
        location /a/ { outage_page shopa; proxy_pass http://127.0.0.1:%d/; }
        location /b/ { outage_page shopb; proxy_pass http://127.0.0.1:%d/; }
        """ % (pay.port, a.port, b.port))


def test_maintenance_ending_during_prober_failure_keeps_its_scope_held(
        nginx_factory, apps, redis):
    # payments is in a declared maintenance, its application UP (serving).
    # The prober's side breaks (every /health 401): the guard holds shopa
    # and shopb.  The on-call ends the maintenance (DEL) while the prober
    # is still broken: payments' check stays "explained" (its probes still
    # fail, for the prober's reason), is not held by the guard, and
    # payments, a healthy application, is paged with a 503.
    pay, a, b = apps(), apps(), apps()
    n = nginx_factory(_three(redis, pay, a, b), workers=2)
    wait_for(lambda: [c["health"] for c in checks_of(n)] == ["up"] * 3,
             timeout=T, what="three checks up")
    redis.cli("HSET", "outage:payments", "state", "maintenance")
    wait_for(lambda: states(n)["payments"] == "maintenance", timeout=T)
    for app in (pay, a, b):
        app.health_code = 401
        app.health500 = True
    wait_for(lambda: guard(n)["state"] == "holding"
             and [c["health"] for c in checks_of(n)] == ["down"] * 3,
             timeout=T, what="the guard holding, every check down")
    redis.cli("DEL", "outage:payments")
    wait_for(lambda: states(n)["payments"] != "maintenance", timeout=T)
    end = time.monotonic() + 2 * LATENCY_FACTOR
    while time.monotonic() < end:
        st = n.status_json()
        assert st["guard"]["state"] == "holding", st["guard"]
        # the prober's side fails for all three alike: payments is as
        # healthy as shopa and shopb and must not be paged
        assert states(n) == {"payments": "ok", "shopa": "ok",
                             "shopb": "ok"}, (states(n), st["guard"])
        time.sleep(0.1)
    assert n.get("/payments/")[0] == 200


def test_silencing_a_degraded_scope_keeps_an_active_guard(
        nginx_factory, apps, redis):
    # like test_silencing_a_check_keeps_an_active_guard, but shopa was
    # already "degraded" (a banner) before the prober broke; the on-call
    # adds "checks silenced" while the guard holds.  The state does not
    # change, so redis_since is older than guard_since: explains() takes
    # the silence for one from before the guard, shopa leaves the count,
    # one target is left, the guard ends and shopb (serving) is paged.
    a, b = apps(), apps()
    conf = ("outage_redis 127.0.0.1:%d interval=200ms timeout=500ms;\n"
            % redis.port) + ab_conf(a, b)
    n = nginx_factory(conf, workers=2)
    wait_for(lambda: [x["health"] for x in checks_of(n)] == ["up", "up"],
             timeout=T)
    redis.cli("HSET", "outage:shopa", "state", "degraded",
              "message", "Slow search")
    wait_for(lambda: states(n)["shopa"] == "degraded", timeout=T)
    a.health_code = b.health_code = 401
    a.health500 = b.health500 = True
    wait_for(lambda: guard(n)["state"] == "holding", timeout=T,
             what="the guard")
    redis.cli("HSET", "outage:shopa", "checks", "silenced")
    end = time.monotonic() + 3 * LATENCY_FACTOR
    while time.monotonic() < end:
        st = n.status_json()
        assert st["guard"]["state"] == "holding", st["guard"]
        assert states(n)["shopb"] == "ok", (states(n), st["guard"])
        time.sleep(0.1)
    assert n.get("/b/")[0] == 200


def test_redis_lost_with_the_prober_network_keeps_the_maintenance_scope_held(
        nginx_factory, apps, redis):
    # G1 through max_stale (opt-in): the prober host's network breaks, so
    # every probe fails AND Redis cannot be read.  payments was in a
    # declared maintenance with its application up.  After max_stale the
    # maintenance is dropped; payments' check, "explained" when the
    # network broke, is OVER, not held, and pages payments "down" while
    # the guard holds shopa and shopb for the same network failure.
    pay, a, b = apps(), apps(), apps()
    conf = _three(redis, pay, a, b).replace(
        "interval=200ms timeout=500ms;",
        "interval=200ms timeout=500ms max_stale=3s;", 1)
    n = nginx_factory(conf, workers=2)
    wait_for(lambda: [c["health"] for c in checks_of(n)] == ["up"] * 3,
             timeout=T, what="three checks up")
    redis.cli("HSET", "outage:payments", "state", "maintenance")
    wait_for(lambda: states(n)["payments"] == "maintenance", timeout=T)
    for app in (pay, a, b):
        app.health_code = 401
        app.health500 = True
    redis.stop()
    wait_for(lambda: guard(n)["state"] == "holding", timeout=T)
    wait_for(lambda: states(n)["payments"] != "maintenance",
             timeout=T, what="max_stale dropping the maintenance")
    # (the two workers may read the stale maintenance's end a poll apart:
    # "maintenance" or "ok", never "down")
    end = time.monotonic() + 2 * LATENCY_FACTOR
    while time.monotonic() < end:
        st = n.status_json()
        assert st["guard"]["state"] == "holding", st["guard"]
        got = states(n)
        assert got["payments"] in ("ok", "maintenance") \
            and got["shopa"] == "ok" and got["shopb"] == "ok", \
            (got, st["guard"])
        time.sleep(0.1)


def test_silence_expiring_during_prober_failure_keeps_its_scope_held(
        nginx_factory, apps, redis):
    # G1 with no operator action during the failure: payments silenced
    # ("ok", with a TTL) before the prober breaks; the silence expires
    # while the guard holds; payments (serving) is paged "down".
    pay, a, b = apps(), apps(), apps()
    n = nginx_factory(_three(redis, pay, a, b), workers=2)
    wait_for(lambda: [c["health"] for c in checks_of(n)] == ["up"] * 3,
             timeout=T, what="three checks up")
    redis.cli("HSET", "outage:payments", "state", "ok")
    redis.cli("PEXPIRE", "outage:payments", "6000")
    for app in (pay, a, b):
        app.health_code = 401
        app.health500 = True
    wait_for(lambda: guard(n)["state"] == "holding"
             and [c["health"] for c in checks_of(n)] == ["down"] * 3,
             timeout=T, what="the guard holding, every check down")
    wait_for(lambda: redis.cli("EXISTS", "outage:payments") == "0",
             timeout=T, what="the TTL")
    end = time.monotonic() + 2 * LATENCY_FACTOR
    while time.monotonic() < end:
        st = n.status_json()
        assert st["guard"]["state"] == "holding", st["guard"]
        assert states(n) == {"payments": "ok", "shopa": "ok",
                             "shopb": "ok"}, (states(n), st["guard"])
        time.sleep(0.1)
