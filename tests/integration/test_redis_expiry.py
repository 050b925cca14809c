"""A Redis key's own expiry (SET ... EX) ends its state in nginx too, even
while Redis cannot be read (review s7/R3 M5, docs/redis.md "Expiry").

The poll reads each key's PTTL with its value; the status JSON's
redis_expires_in_ms, the page a visitor gets and the error log are the
oracles.  On c9200e5 an "ok" override given EX 2 silenced a failing check
for as long as Redis stayed unreadable (max_stale=off), and a declared
incident with an expiry stayed up likewise."""

import time

import pytest

from harness import free_port, wait_for
from test_incident_rules import scope
from test_incident_rules import start as rules_start


# the set-up of test_incident_rules.py, with short timeouts and no push:
# the tests stop Redis and count on polls alone
def start(nginx_factory, redis, backend, check="", workers=2, auth=""):
    return rules_start(nginx_factory, redis, backend, check=check,
                       workers=workers, redis_extra="timeout=300ms "
                       "connect_timeout=300ms push=off " + auth)


def expiry_lines(n):
    return [ln for ln in n.log_text().splitlines()
            if "expired" in ln and "(its TTL) while Redis cannot be read" in ln]


def test_ok_override_ends_at_its_ttl_while_redis_is_unreadable(
        nginx_factory, redis, backend):
    dead = free_port()
    n = start(nginx_factory, redis, backend,
              check="outage_check checkout http://127.0.0.1:%d/health "
                    "interval=300ms timeout=200ms fall=1 rise=1;" % dead)
    wait_for(lambda: scope(n)["state"] == "down", timeout=10,
             what="the failing check")

    # the docs' advice to silence a false positive, for 8 s (long enough
    # to be read before it ends on a loaded machine)
    redis.cli("SET", "outage:checkout", "ok", "PX", "8000")
    wait_for(lambda: scope(n)["source"] == "redis", timeout=5,
             what="the override")
    s = scope(n)
    assert s["state"] == "ok" and s["overrides"].startswith("check: "), s
    assert 0 < s["redis_expires_in_ms"] <= 8000, s
    assert n.get("/checkout/")[0] != 503

    redis.pause()
    try:
        wait_for(lambda: n.status_json()["redis"]["up"] is False, timeout=5,
                 what="a failed poll")
        # the key's TTL passes while Redis cannot be read: detection is back
        # each worker judges the TTL when it rebuilds its views, at most a
        # second later: the status of two workers may differ that long
        # (CI20 read "down" from one and the override from the other)
        def health_again():
            s = scope(n)
            return (s["state"] == "down" and s["source"] == "health"
                    and s["overrides"] == "" and s["redis_expires_in_ms"] < 0)

        wait_for(lambda: all(health_again() for _ in range(6)), timeout=20,
                 what="the override ended at its TTL on every worker")
        # each worker's views are rebuilt within the second
        wait_for(lambda: all(n.get("/checkout/")[0] == 503
                             for _ in range(6)), timeout=3,
                 what="every worker serving the page")
        wait_for(lambda: len(expiry_lines(n)) == 1, timeout=5,
                 what="the one expiry line")
        line = expiry_lines(n)[0]
        assert ('redis key "outage:checkout" expired' in line
                and 'scope "checkout" is no longer ok by redis' in line), line
        assert "[warn]" in line, line
    finally:
        redis.resume()

    # Redis back: the key is gone there too; nothing more is said of it
    wait_for(lambda: n.status_json()["redis"]["up"] is True, timeout=10)
    wait_for(lambda: scope(n)["redis_expires_in_ms"] is None, timeout=5)
    assert scope(n)["state"] == "down"
    assert len(expiry_lines(n)) == 1
    assert n.bad_log_lines() == []


def test_declared_incident_ends_at_its_ttl_while_redis_is_unreadable(
        nginx_factory, redis, backend):
    n = start(nginx_factory, redis, backend)
    redis.cli("HSET", "outage:checkout", "state", "down", "message",
              "bounded by the operator")
    redis.cli("PEXPIRE", "outage:checkout", "6000")
    # HSET and PEXPIRE are two writes: a poll between them reads no expiry
    wait_for(lambda: scope(n)["state"] == "down"
             and scope(n)["redis_expires_in_ms"] is not None, timeout=5,
             what="the incident and its expiry")
    assert n.get("/checkout/")[0] == 503

    redis.pause()
    try:
        wait_for(lambda: scope(n)["state"] == "ok", timeout=20,
                 what="the incident ended at its TTL")
        wait_for(lambda: all(n.get("/checkout/")[0] != 503
                             for _ in range(6)), timeout=10,
                 what="every worker without the page")
        wait_for(lambda: len(expiry_lines(n)) == 1, timeout=5,
                 what="the one expiry line")
        assert 'no longer down by redis ("bounded by the operator")' \
            in expiry_lines(n)[0]
    finally:
        redis.resume()
    assert n.bad_log_lines() == []


def test_a_longer_ttl_keeps_the_state_and_a_new_ttl_is_followed(
        nginx_factory, redis, backend):
    n = start(nginx_factory, redis, backend)
    redis.cli("SET", "outage:checkout", "kept", "EX", "3600")
    wait_for(lambda: scope(n)["state"] == "degraded", timeout=5)
    s = scope(n)
    assert 3590000 < s["redis_expires_in_ms"] <= 3600000, s

    # the expiry is a point in time: it counts down between polls
    e0, t0 = scope(n)["redis_expires_in_ms"], time.monotonic()
    polls = n.status_json()["redis"]["polls"]
    wait_for(lambda: n.status_json()["redis"]["polls"] >= polls + 5,
             timeout=10)
    e1, t1 = scope(n)["redis_expires_in_ms"], time.monotonic()
    assert abs((e0 - e1) - (t1 - t0) * 1000) < 1500, (e0, e1, t1 - t0)

    # PERSIST: no expiry any more; a shorter one is followed
    redis.cli("PERSIST", "outage:checkout")
    wait_for(lambda: scope(n)["redis_expires_in_ms"] is None, timeout=5)
    redis.cli("PEXPIRE", "outage:checkout", "60000")
    wait_for(lambda: (scope(n)["redis_expires_in_ms"] or 10 ** 9) <= 60000,
             timeout=5)

    redis.pause()
    try:
        wait_for(lambda: n.status_json()["redis"]["up"] is False, timeout=5)
        assert scope(n)["state"] == "degraded"
        assert expiry_lines(n) == []
    finally:
        redis.resume()


def test_user_without_pttl_still_polls_and_says_so(nginx_factory, redis,
                                                   backend):
    # an ACL user of the previous release: no +pttl
    assert redis.cli("ACL", "SETUSER", "old", "on", ">pw", "~outage:*",
                     "+get", "+hgetall", "+multi", "+exec") == "OK"
    n = start(nginx_factory, redis, backend, workers=1,
              auth="user=old password=pw")
    redis.cli("SET", "outage:checkout", "still read", "EX", "3600")
    wait_for(lambda: scope(n)["state"] == "degraded", timeout=5,
             what="polls without PTTL")
    assert scope(n)["redis_expires_in_ms"] is None
    lines = [ln for ln in n.log_text().splitlines()
             if "may not run PTTL" in ln]
    assert len(lines) == 1 and "[warn]" in lines[0], lines
    redis.cli("DEL", "outage:checkout")
    wait_for(lambda: scope(n)["state"] == "ok", timeout=5)
    assert len([ln for ln in n.log_text().splitlines()
                if "may not run PTTL" in ln]) == 1


def test_a_key_outside_the_acl_does_not_turn_pttl_off(nginx_factory, redis,
                                                      backend):
    # review s8/R3 A6b: NOPERM on a key (the user's patterns miss one
    # scope) is not "may not run PTTL": once the ACL is fixed, expiries
    # are read (on 0cdf7cb PTTL was off for the worker's life)
    assert redis.cli("ACL", "SETUSER", "narrow", "on", ">pw", "~outage:site",
                     "+get", "+hgetall", "+pttl", "+multi", "+exec") == "OK"
    n = start(nginx_factory, redis, backend, workers=1,
              auth="user=narrow password=pw")
    wait_for(lambda: "EXECABORT" in n.log_text(), timeout=5,
             what="the refused poll")
    assert redis.cli("ACL", "SETUSER", "narrow", "~outage:*") == "OK"
    redis.cli("SET", "outage:checkout", "with expiry", "EX", "3600")
    wait_for(lambda: scope(n)["state"] == "degraded", timeout=5)
    assert scope(n)["redis_expires_in_ms"] is not None
    assert "may not run PTTL" not in n.log_text()
