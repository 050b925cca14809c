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
