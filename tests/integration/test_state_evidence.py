"""State carried across reloads is evidence, or nothing (issue 12, review).
A lease holder writes only in the lease epoch it asked in.

The zone outlives configurations, so it can hold state that no current
configuration produced: a Redis incident of a scope that was removed, or of
a configuration that had `outage_redis` and the running one has not; a
health check that was down when it was removed.  Such state is as old as the
configuration that last wrote it, and the incident may have ended since: it
must never come back (docs/reliability.md#stale-state).  State the running
configuration keeps polling or probing, or that is only seconds old, carries
over (test_lifecycle.py covers that side: no window in which a down check
looks up).
"""

import json
import os
import re
import signal
import time

from harness import wait_for
from test_lifecycle import (check_line, conf, every_worker_answers,
                            pids_connected_to)

REDIS = ("outage_redis 127.0.0.1:{rp} interval=300ms timeout=300ms "
         "connect_timeout=200ms;")

SEARCH = """
    {redis}
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        add_header X-Pid $pid always;
        location /search/ {{ outage_page search; root {{dir}}; }}
        location / {{ return 200 "ok\\n"; }}
        location = /outage/status {{ outage_status; }}
        location = /status {{ outage_status_page search format=json; }}
    }}
"""

NO_SEARCH = """
    {redis}
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        add_header X-Pid $pid always;
        location / {{ return 200 "ok\\n"; }}
        location = /outage/status {{ outage_status; }}
    }}
"""


def scope(n, name):
    return [s for s in n.status_json()["scopes"] if s["name"] == name][0]


def search_down(n):
    return n.get("/search/")[0] == 503 and scope(n, "search")["state"] == "down"


def assert_search_clear(n):
    st, _, body = n.get("/search/")
    assert st != 503, "an incident that ended is shown again: %s" % body[:200]
    s = scope(n, "search")
    assert s["state"] != "down" and s["source"] != "redis", s
    st, _, body = n.get("/status")
    assert st == 200, body[:200]
    comp = [c for c in json.loads(body)["components"] if c["id"] == "search"]
    assert comp and comp[0]["status"] == "operational", comp


def test_removing_outage_redis_ends_its_incidents(nginx_factory, redis):
    """Without outage_redis no scope has a Redis state: the last poll's
    incidents do not stay up until the next restart."""
    n = nginx_factory(SEARCH.format(redis=REDIS.format(rp=redis.port)),
                      workers=2)
    redis.cli("HSET", "outage:search", "state", "down",
              "message", "search is down")
    wait_for(lambda: search_down(n), what="search down by redis")

    n.write_conf(SEARCH.format(redis=""))
    n.reload()
    redis.cli("DEL", "outage:search")   # nobody reads it any more

    assert n.status_json()["redis"]["configured"] is False
    assert every_worker_answers(n, "/search/", 404)
    assert_search_clear(n)

    # and putting outage_redis back reads Redis again rather than the zone
    redis.cli("HSET", "outage:search", "state", "down")
    n.write_conf(SEARCH.format(redis=REDIS.format(rp=redis.port)))
    n.reload()
    wait_for(lambda: search_down(n), what="search down again, by a poll")


def test_readded_scope_does_not_bring_back_an_ended_incident(nginx_factory,
                                                             redis):
    """A scope removed while its incident ended, re-added while Redis cannot
    answer: nothing is known about it, the old incident does not return."""
    rd = REDIS.format(rp=redis.port)
    n = nginx_factory(SEARCH.format(redis=rd), workers=1)
    redis.cli("HSET", "outage:search", "state", "down",
              "message", "search is down")
    wait_for(lambda: search_down(n), what="search down by redis")

    n.write_conf(NO_SEARCH.format(redis=rd))
    n.reload()
    redis.cli("DEL", "outage:search")   # the incident ends meanwhile
    polls = n.status_json()["redis"]["polls"]
    wait_for(lambda: n.status_json()["redis"]["polls"] >= polls + 2,
             what="the configuration without search polls Redis")

    redis.pause()                       # and Redis cannot answer when ...
    try:
        n.write_conf(SEARCH.format(redis=rd))
        n.reload()                      # ... search comes back
        assert_search_clear(n)
    finally:
        redis.resume()

    # once Redis answers, its state decides again
    redis.cli("HSET", "outage:search", "state", "down")
    wait_for(lambda: search_down(n), what="search down by a new poll")


def test_readded_scope_with_a_current_incident_gets_it_from_redis(
        nginx_factory, redis):
    """The other side: dropping the old copy loses nothing, the next poll
    brings an incident that still holds."""
    rd = REDIS.format(rp=redis.port)
    n = nginx_factory(SEARCH.format(redis=rd), workers=2)
    redis.cli("HSET", "outage:search", "state", "down")
    wait_for(lambda: search_down(n), what="search down by redis")
    n.write_conf(NO_SEARCH.format(redis=rd))
    n.reload()
    n.write_conf(SEARCH.format(redis=rd))
    n.reload()
    wait_for(lambda: every_worker_answers(n, "/search/", 503),
             what="search down again")


def test_readded_check_with_old_evidence_starts_fresh(nginx_factory,
                                                      backend):
    """A check that was down when removed, re-added after its backend
    recovered: its old verdict is not evidence any more (last probe older
    than fall x interval + timeout + 1 s, and than 10 s), so no maintenance
    page; it is judged again as a new check is."""
    line = check_line(backend, "checkout", interval="1s", timeout="300ms",
                      fall=1).replace("rise=1", "rise=3")
    a = conf(backend, [line])
    b = conf(backend, [])
    n = nginx_factory(a, workers=2)
    backend.set_health("500")
    wait_for(lambda: every_worker_answers(n, "/checkout/", 503), timeout=20,
             what="checkout down")

    n.write_conf(b)
    n.reload()
    removed = time.monotonic()
    backend.set_health("ok")
    assert every_worker_answers(n, "/checkout/", 200)
    # the evidence ages past the bound: max(1 s + 300 ms + 1 s, 10 s)
    wait_for(lambda: time.monotonic() - removed > 11.5, timeout=20,
             interval=0.2, what="the last probe is old")

    n.write_conf(a)
    n.reload()
    # at once, before rise=3 probes could have brought it back up
    assert every_worker_answers(n, "/checkout/", 200)
    c = n.status_json()["checks"][0]
    assert c["health"] != "down" and c["consecutive_failures"] == 0, c
    assert "does not take over the state" in n.log_text()
    # and it is still a live check: a failure takes it down again
    backend.set_health("500")
    wait_for(lambda: every_worker_answers(n, "/checkout/", 503), timeout=20,
             what="checkout down again")


def test_readded_check_with_recent_evidence_keeps_it(nginx_factory, backend):
    """Removed and re-added within the bound (here 10 s, reloads on a busy
    host take seconds): the down verdict carries, no window where a down
    backend looks up."""
    line = check_line(backend, "checkout", interval="2s", timeout="300ms",
                      fall=1)
    n = nginx_factory(conf(backend, [line]), workers=2)
    backend.set_health("500")
    wait_for(lambda: every_worker_answers(n, "/checkout/", 503), timeout=20,
             what="checkout down")
    n.write_conf(conf(backend, []))
    n.reload()
    n.write_conf(conf(backend, [line]))
    n.reload()
    assert every_worker_answers(n, "/checkout/", 503)
    assert "does not take over the state" not in n.log_text()


def test_retaken_lease_fences_a_result_asked_for_before(nginx_factory,
                                                        backend):
    """A prober stalls with a probe in flight, another worker takes the
    lease over and stalls too, the first one comes back and takes the lease
    again on its tick before its old probe is answered: that answer was
    asked for under another holder's watch (another lease epoch) and is
    dropped, not written."""
    # a probe timeout longer than both stalls together (so the late answer
    # comes from the backend, when the test says); the first probe starts
    # within one interval and hangs ("hang" answers when the mode changes);
    # one shared listening socket: a stopped worker takes no connections
    line = check_line(backend, "checkout", interval="16s", timeout="15s",
                      fall=1)
    backend.set_health("hang")
    n = nginx_factory(conf(backend, [line]).replace(" reuseport;", ";"),
                      workers=2)

    def took_over_from(pid):
        return re.search(r"outage: worker %d stopped renewing its lease .* "
                         r"runs the health checks" % pid, n.log_text())

    wait_for(lambda: len(pids_connected_to(n.worker_pids(),
                                           backend.health_port)) == 1,
             timeout=25, what="the first probe in flight")
    a = pids_connected_to(n.worker_pids(), backend.health_port)[0]
    b = [p for p in n.worker_pids() if p != a][0]

    os.kill(a, signal.SIGSTOP)
    try:
        wait_for(lambda: took_over_from(a), timeout=15,
                 what="the other worker takes the lease over")
        os.kill(b, signal.SIGSTOP)
        try:
            # its lease (3 ticks + 0.5 s) runs out while both are stopped
            t = time.monotonic()
            wait_for(lambda: time.monotonic() - t > 5, timeout=10,
                     interval=0.2, what="the lease expires")
            os.kill(a, signal.SIGCONT)
            wait_for(lambda: took_over_from(b), timeout=10,
                     what="the first worker takes the lease back")
            # now its probe of before is answered
            backend.set_health("500")
            wait_for(lambda: re.search(r"\[notice\] %d#\d+: outage: dropped "
                                       r"a late probe result of check "
                                       r"\"checkout\"" % a, n.log_text()),
                     timeout=10, what="the old answer is dropped")
            assert n.status_json()["health"]["late_results_dropped"] >= 1
        finally:
            os.kill(b, signal.SIGCONT)
    finally:
        os.kill(a, signal.SIGCONT)


def full_table_scopes(redis_line, names):
    return """
    %s
    outage_scopes %s;
    server {
        listen 127.0.0.1:{port};
        location /s1/ { outage_page s1; root {dir}; }
        location = /outage/status { outage_status; }
    }
    """ % (redis_line, " ".join(names))


def test_new_scope_in_a_full_zone_keeps_the_live_ones(nginx_factory, redis):
    """The zone has 64 scope slots, all named (site + s1..s63).  A reload
    that adds n1, listed first, and drops s63 must give n1 the slot of s63,
    not the slot of s1 (still configured, listed later), which would wipe
    s1's current incident with nothing in the log (review)."""
    rd = REDIS.format(rp=redis.port)
    n = nginx_factory(full_table_scopes(
        rd, ["s%d" % i for i in range(1, 64)]), workers=1)
    redis.cli("HSET", "outage:s1", "state", "down", "message", "s1 down")
    wait_for(lambda: n.get("/s1/")[0] == 503, what="s1 down")

    # no poll can bring it back: what s1 shows is what the zone kept
    redis.pause()
    try:
        n.write_conf(full_table_scopes(
            rd, ["n1"] + ["s%d" % i for i in range(1, 63)]))
        n.reload()
        assert n.get("/s1/")[0] == 503
        s = scope(n, "s1")
        assert s["state"] == "down" and s["source"] == "redis", s
        assert scope(n, "n1")["state"] == "ok"
    finally:
        redis.resume()

    log = n.log_text()
    # s63 had to give its slot up: said once, and not as lost state
    assert "reuses the slots of 1 scope(s) or check(s)" in log
    assert "does not take over the state" not in log


def full_table_checks(backend, urls):
    lines = "\n".join(
        "outage_check c http://127.0.0.1:%d/h%s interval=10s timeout=1s "
        "fall=1 rise=1;" % (backend.health_port, u) for u in urls)
    return """
    outage_check_guard off;
    %s
    server {
        listen 127.0.0.1:{port};
        location /c/ { outage_page c; root {dir}; }
        location = /outage/status { outage_status; }
    }
    """ % lines


def test_new_check_in_a_full_zone_keeps_the_live_ones(nginx_factory,
                                                      backend):
    """64 checks fill the zone's check slots, all down.  A reload that adds
    a new URL first and drops the last one keeps the 63 verdicts: the new
    check takes the dropped one's slot, not the slot of a check listed
    after it (review: every verdict was lost, 64 unknown)."""
    backend.set_health("500")
    urls = ["%d" % i for i in range(64)]
    n = nginx_factory(full_table_checks(backend, urls), workers=1)
    wait_for(lambda: all(c["health"] == "down"
                         for c in n.status_json()["checks"]),
             timeout=60, what="all 64 checks down")

    n.write_conf(full_table_checks(backend, ["new"] + urls[:63]))
    n.reload()
    # at once: the next probes are 10 s away
    assert n.get("/c/")[0] == 503
    checks = n.status_json()["checks"]
    assert len(checks) == 64
    kept = [c for c in checks if c["id"] != 0]
    assert all(c["health"] == "down" for c in kept), \
        [c["health"] for c in kept]
    log = n.log_text()
    assert "reuses the slots of 1 scope(s) or check(s)" in log
    assert "does not take over the state" not in log
