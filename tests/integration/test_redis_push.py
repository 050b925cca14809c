"""Changes pushed by Redis (issue 14): CLIENT TRACKING ... BCAST on a second
connection makes a redis-cli SET/HSET/DEL reach every worker long before the
next poll; a server that refuses tracking, or answers the push connection
with garbage, leaves polling in charge with one log line.

The poll interval here is 10 s: a change seen within 2 s can only have come
through push.
"""

import os
import re
import signal
import time

import pytest

from harness import LATENCY_FACTOR, latency_bound, free_port, wait_for
from test_redis import SERVER
from test_redis_hostile import Fake, rss_kb

PUSH_BOUND = 2.0 * LATENCY_FACTOR

CONF = """
    outage_redis 127.0.0.1:{port} interval={interval} timeout=1s
                 connect_timeout=500ms {extra};
""" + SERVER


def conf(port, interval="10s", extra=""):
    return CONF.format(port=port, interval=interval, extra=extra)


def by_worker(n, path="/", header="x-state"):
    """Fresh connections until every worker answered: {pid: header}."""
    seen = {}
    workers = set(n.worker_pids())
    for _ in range(80):
        _, h, _ = n.get(path)
        seen[int(h["x-pid"])] = h[header]
        if set(seen) >= workers:
            break
    assert set(seen) >= workers, seen
    return seen


def every_worker(n, want, path="/", header="x-state"):
    return all(v == want for v in by_worker(n, path, header).values())


def pushed(n):
    return "pushes changes of" in n.log_text()


def pushed_and_polled(n):
    return lambda: pushed(n) and n.status_json()["redis"]["up"]


def commands(redis, name):
    """Calls of one command (or "container|sub") from INFO commandstats."""
    info = redis.cli("INFO", "commandstats")
    m = re.search(r"cmdstat_%s:calls=(\d+)" % re.escape(name), info)
    return int(m.group(1)) if m else 0


def nginx_clients(redis):
    """Client connections other than redis-cli's own."""
    out = redis.cli("CLIENT", "LIST")
    return [ln for ln in out.splitlines() if "cmd=client|list" not in ln]


def test_set_hset_del_reach_every_worker_through_push(nginx_factory, redis):
    n = nginx_factory(conf(redis.port), workers=3)
    wait_for(lambda: n.status_json()["redis"]["up"], what="first poll")
    wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
    assert every_worker(n, "ok")

    for cmd, path, want in [
        (("SET", "outage:site", "Pushed"), "/", "degraded"),
        (("HSET", "outage:checkout", "state", "down", "message", "x"),
         "/checkout/", "down"),
        (("DEL", "outage:checkout"), "/checkout/", "ok"),
        (("DEL", "outage:site"), "/", "ok"),
    ]:
        t0 = time.monotonic()
        redis.cli(*cmd)
        wait_for(lambda: every_worker(n, want, path), timeout=PUSH_BOUND + 1,
                 interval=0.01, what="%s -> %s" % (cmd, want))
        took = time.monotonic() - t0
        assert took < PUSH_BOUND, (cmd, took)

    # a key of another prefix is not tracked; no command per request
    polls = commands(redis, "exec")
    for _ in range(300):
        n.get("/")
    assert commands(redis, "exec") - polls <= 3
    assert commands(redis, "client|tracking") == 1
    assert commands(redis, "subscribe") == 1
    assert n.bad_log_lines() == []


def command_stats(redis):
    """{command: calls} from INFO commandstats."""
    info = redis.cli("INFO", "commandstats")
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"cmdstat_([^:]+):calls=(\d+)", info)}


def test_requests_send_no_redis_command(nginx_factory, redis):
    """1000 requests (banner scope and site, 2 workers, push on): every
    command Redis counts meanwhile is a poll's (MULTI, GET, HGETALL and PTTL
    per scope, EXEC), as many as the interval makes; the subscription is not
    repeated; nothing per request."""
    n = nginx_factory(conf(redis.port, interval="300ms"), workers=2)
    wait_for(pushed_and_polled(n), timeout=5, what="push subscribed")
    redis.cli("CONFIG", "RESETSTAT")
    t0 = time.monotonic()
    for i in range(1000):
        st, _, _ = n.get("/checkout/" if i % 2 else "/")
        assert st == 200
    elapsed = time.monotonic() - t0
    stats = command_stats(redis)
    stats.pop("info", None)             # this test's own
    stats.pop("config|resetstat", None)
    polls = stats.get("exec", 0)
    assert set(stats) <= {"multi", "get", "hgetall", "pttl", "exec"}, stats
    # RESETSTAT or INFO may fall between a poll's MULTI and its EXEC
    assert abs(stats.get("multi", 0) - polls) <= 1, stats
    # two scopes (site, checkout): one GET and one HGETALL each per poll,
    # counted when EXEC runs them
    assert stats.get("get", 0) == 2 * polls, stats
    assert stats.get("hgetall", 0) == 2 * polls, stats
    assert stats.get("pttl", 0) == 2 * polls, stats
    # by the clock, not by the requests
    assert polls <= elapsed / 0.3 + 3, (polls, elapsed)
    # 1000 requests may take less than one interval on a fast machine
    assert polls >= 1 or elapsed < 0.6, (polls, elapsed)


def test_storm_of_changes_is_rate_limited(nginx_factory, redis):
    """1000 changes in a burst: a bounded number of polls (one per 50 ms at
    most), and the last value wins."""
    n = nginx_factory(conf(redis.port), workers=2)
    wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
    polls0 = commands(redis, "exec")
    t0 = time.monotonic()
    script = "for i=1,1000 do redis.call('SET', KEYS[1], 'storm ' .. i) end"
    # one EVAL per change: 1000 separate invalidation messages
    for i in range(0, 1000, 100):
        redis.cli("EVAL", "for i=%d,%d do redis.call('SET', KEYS[1], "
                  "'storm ' .. i) end" % (i + 1, i + 100), 1, "outage:site")
    redis.cli("SET", "outage:site", "storm done")
    wait_for(lambda: every_worker(n, "storm done", header="x-message"),
             timeout=PUSH_BOUND + 1, interval=0.01, what="last value")
    elapsed = time.monotonic() - t0
    polls = commands(redis, "exec") - polls0
    # at most one poll per 50 ms (+ the one after a poll in flight, + ticks)
    assert polls <= elapsed / 0.05 + 3, (polls, elapsed)
    assert script


def test_push_off_polls_only(nginx_factory, redis):
    n = nginx_factory(conf(redis.port, interval="300ms", extra="push=off"))
    wait_for(lambda: n.status_json()["redis"]["up"], what="first poll")
    redis.cli("SET", "outage:site", "Polled")
    wait_for(lambda: every_worker(n, "degraded"), timeout=3, what="poll")
    assert commands(redis, "client|tracking") == 0
    assert commands(redis, "subscribe") == 0
    assert len(nginx_clients(redis)) == 1
    assert not pushed(n)


def test_reload_and_exit_close_both_connections(nginx_factory, redis):
    n = nginx_factory(conf(redis.port), workers=2)
    wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
    wait_for(lambda: len(nginx_clients(redis)) == 2, timeout=5,
             what="one poll and one push connection")
    for _ in range(2):
        n.reload()
        # the new owner subscribes again; the old worker's links are gone
        wait_for(lambda: len(nginx_clients(redis)) == 2
                 and commands(redis, "subscribe") >= 2, timeout=5,
                 what="two connections after reload")
        redis.cli("SET", "outage:site", "after reload %d" % _)
        t0 = time.monotonic()
        wait_for(lambda: every_worker(n, "after reload %d" % _,
                                      header="x-message"),
                 timeout=PUSH_BOUND + 1, interval=0.01, what="pushed")
        assert time.monotonic() - t0 < PUSH_BOUND
    n.stop()
    wait_for(lambda: nginx_clients(redis) == [], timeout=5,
             what="no connection left after exit")


def test_push_link_lost_reconnects(nginx_factory, redis):
    """CLIENT KILL of the push connection: polling goes on, the link comes
    back with backoff, and pushes work again."""
    n = nginx_factory(conf(redis.port), workers=2)
    wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
    redis.cli("CLIENT", "KILL", "TYPE", "pubsub")
    wait_for(lambda: commands(redis, "subscribe") >= 2, timeout=5,
             what="resubscribed")
    redis.cli("SET", "outage:site", "after kill")
    t0 = time.monotonic()
    wait_for(lambda: every_worker(n, "after kill", header="x-message"),
             timeout=PUSH_BOUND + 1, interval=0.01, what="pushed")
    assert time.monotonic() - t0 < PUSH_BOUND
    lines = [ln for ln in n.log_text().splitlines() if "push connection" in ln]
    assert len(lines) <= 2, lines          # lost, then works again
    assert all("[error]" not in ln for ln in lines), lines


def test_acl_recipe_of_the_docs(nginx_factory, redis):
    """The read-only user of docs/redis.md, on a real Redis 7: polls and
    pushes work; without the tracking rights, one warning and polling."""
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                           "redis.md")) as f:
        doc = f.read()
    m = re.search(r"^redis-cli (ACL SETUSER outage .*)$", doc, re.M)
    assert m, "recipe not found in docs/redis.md"
    # through a shell, as an operator pastes it (quoting included)
    import subprocess
    out = subprocess.run(
        ["/bin/sh", "-c", "redis-cli -h 127.0.0.1 -p %d %s" % (
            redis.port, m.group(1).replace("long-random-password", "pw"))],
        capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "OK", (out.stdout, out.stderr)

    n = nginx_factory(conf(redis.port, extra="user=outage password=pw"))
    wait_for(lambda: pushed(n), timeout=5, what="push with the ACL user")
    redis.cli("SET", "outage:site", "acl")
    t0 = time.monotonic()
    wait_for(lambda: every_worker(n, "acl", header="x-message"),
             timeout=PUSH_BOUND + 1, interval=0.01, what="pushed")
    assert time.monotonic() - t0 < PUSH_BOUND
    assert "refuses key tracking" not in n.log_text()
    n.stop()

    # the older recipe (no CLIENT, no channel): refused once, polling works
    assert redis.cli("ACL", "SETUSER", "old", "on", ">pw", "~outage:*",
                     "+get", "+hgetall", "+multi", "+exec") == "OK"
    m2 = nginx_factory(conf(redis.port, interval="300ms",
                            extra="user=old password=pw"))
    redis.cli("SET", "outage:site", "old acl")
    wait_for(lambda: every_worker(m2, "old acl", header="x-message"),
             timeout=3, what="polled")
    wait_for(lambda: "refuses key tracking" in m2.log_text(), timeout=5,
             what="the refusal")
    lines = [ln for ln in m2.log_text().splitlines()
             if "refuses key tracking" in ln]
    assert len(lines) == 1 and "[warn]" in lines[0], lines
    assert "NOPERM" in lines[0], lines
    # nor +info (test_redis_info.py): said apart, polling goes on
    assert "refuses INFO (NOPERM" in m2.log_text()


def test_three_instances_every_worker(nginx_factory, redis):
    """Three nginx (2 workers each) on one Redis: SET and DEL reach every
    worker of all three at push speed (the 10 s interval cannot); with
    tracking refused to their user, within one interval.  The p99 is
    measured by tests/bench/push_fanout.py (docs/performance.md)."""
    ns = [nginx_factory(conf(redis.port), workers=2) for _ in range(3)]
    for n in ns:
        wait_for(pushed_and_polled(n), timeout=5, what="push subscribed")

    def everywhere(want, header):
        return all(every_worker(n, want, header=header) for n in ns)

    for cmd, want, header in [
            (("SET", "outage:site", "Fan out"), "Fan out", "x-message"),
            (("DEL", "outage:site"), "ok", "x-state")]:
        t0 = time.monotonic()
        redis.cli(*cmd)
        wait_for(lambda: everywhere(want, header), timeout=PUSH_BOUND + 1,
                 interval=0.01, what="%s on all three" % (cmd,))
        assert time.monotonic() - t0 < PUSH_BOUND, cmd
    assert commands(redis, "subscribe") == 3
    for n in ns:
        n.stop()

    # tracking refused (a user without CLIENT): polling, within an interval
    assert redis.cli("ACL", "SETUSER", "poll", "on", ">pw", "~outage:*",
                     "+get", "+hgetall", "+multi", "+exec") == "OK"
    ns = [nginx_factory(conf(redis.port, interval="500ms",
                             extra="user=poll password=pw"), workers=2)
          for _ in range(3)]
    for n in ns:
        wait_for(lambda: "refuses key tracking" in n.log_text(), timeout=5,
                 what="the refusal")
    for cmd, want, header in [
            (("SET", "outage:site", "Polled"), "Polled", "x-message"),
            (("DEL", "outage:site"), "ok", "x-state")]:
        t0 = time.monotonic()
        redis.cli(*cmd)
        wait_for(lambda: everywhere(want, header), timeout=5, interval=0.01,
                 what="%s on all three" % (cmd,))
        assert time.monotonic() - t0 < (0.5 + 1.0) * LATENCY_FACTOR, cmd
    for n in ns:
        assert n.bad_log_lines() == []


def accepted(fake):
    """Connections the fake accepted (control connections not counted)."""
    return int(fake.control("FAKECOUNT").strip()[1:])


def fast_and_bounded_until(n, done, timeout, message=None):
    """Requests until done(): each answered at once (200, and x-message
    `message` if given), and no worker's memory grows by 10 MB.  A worker
    kept from its requests by the hostile peer would make every request
    made meanwhile slow; one slow request in fifty is the shared 2-core
    machine's scheduler, not the module, and no request may take long."""
    pids = n.worker_pids()
    for _ in range(200):
        n.get("/")
    rss0 = {p: rss_kb(p) for p in pids}
    peak = dict(rss0)
    took = []
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, n.log_text()[-3000:]
        t0 = time.monotonic()
        st, h, _ = n.get("/", timeout=5)
        took.append(time.monotonic() - t0)
        assert st == 200
        assert message is None or h["x-message"] == message
        for p in pids:
            peak[p] = max(peak[p], rss_kb(p))
        time.sleep(0.005)
    slow = [t for t in took if t >= 0.1 * LATENCY_FACTOR]
    assert len(slow) <= len(took) // 50, (slow, len(took))
    assert max(took or [0]) < 0.5 * LATENCY_FACTOR, max(took)
    for p in pids:
        assert peak[p] - rss0[p] < 10 * 1024, (rss0, peak)


def started_on(fake, nginx_factory, workers):
    """nginx on the fake (interval 300 ms) once its first poll read
    outage:site = "Before"."""
    fake.control("FAKERESET", "SET outage:site Before")
    n = nginx_factory(conf(fake.port, interval="300ms"), workers=workers)
    wait_for(lambda: n.get("/")[1]["x-message"] == "Before", timeout=5,
             what="first poll")
    return n


def test_tracking_refused_logs_once_and_polls(nginx_factory, tmp_path):
    fake = Fake(tmp_path, "notracking")
    try:
        n = started_on(fake, nginx_factory, workers=2)
        wait_for(lambda: "refuses key tracking" in n.log_text(), timeout=5,
                 what="the refusal")
        fake.control("FAKERESET", "SET outage:site After")
        t0 = time.monotonic()
        wait_for(lambda: every_worker(n, "After", header="x-message"),
                 timeout=5, interval=0.01, what="polled")
        assert time.monotonic() - t0 < (0.3 + 1.0) * LATENCY_FACTOR
        # many polls later: still one line
        polls = n.status_json()["redis"]["polls"]
        wait_for(lambda: n.status_json()["redis"]["polls"] >= polls + 5,
                 timeout=10, what="more polls")
        lines = [ln for ln in n.log_text().splitlines() if "outage: redis" in ln
                 and ("push" in ln or "track" in ln)]
        assert len(lines) == 1, lines
        assert "[warn]" in lines[0]
        assert "CLIENT TRACKING: ERR Unknown subcommand" in lines[0], lines
        assert "polling every 300 ms" in lines[0], lines
        assert n.bad_log_lines() == []
    finally:
        fake.stop()


@pytest.mark.parametrize("mode,reason", [
    ("pushbigarray", "reply refused: an array of 100000000 elements (at most 3)"),
    # beyond 32 MB an invalidation is not skipped but refused at its header
    ("pushbigbulk", "reply refused: a value of 52428800 bytes (at most 33554432)"),
    ("pushgarbage", "unreadable reply: Protocol error"),
    # only a message may be skipped as an invalidation too big to read
    ("pushbigerror", "reply refused: a line of more than 65536 bytes, and "
                     "not an invalidation"),
])
def test_hostile_push_connection_is_dropped_bounded_logged_once(
        nginx_factory, tmp_path, mode, reason):
    fake = Fake(tmp_path, mode)
    try:
        n = started_on(fake, nginx_factory, workers=2)
        # the push link is refused and retried (200, 400, 800 ms...)
        fast_and_bounded_until(n, lambda: accepted(fake) >= 5,
                               20 * LATENCY_FACTOR)

        lines = [ln for ln in n.log_text().splitlines()
                 if "push connection" in ln]
        assert len(lines) == 1, lines
        assert reason in lines[0], lines
        assert "[error]" not in n.log_text()     # polling is fine

        # and polling still works
        fake.control("FAKERESET", "SET outage:site After")
        wait_for(lambda: every_worker(n, "After", header="x-message"),
                 timeout=5, interval=0.01, what="polled")
        assert n.bad_log_lines() == []
    finally:
        fake.stop()


def test_push_link_stalled_mid_message_is_dropped_and_reopened(
        nginx_factory, tmp_path):
    """The push connection gets the first half of an invalidation and then
    nothing, the TCP connection left open (a stalled server or proxy): the
    link is dropped once the message is not whole within timeout= (1 s)
    and opened again after the backoff (200 ms first), one notice line
    naming the address says so, and polling keeps the state fresh all the
    while."""
    fake = Fake(tmp_path, "pushhalf")
    try:
        n = started_on(fake, nginx_factory, workers=1)

        # the poll link and the push link, which subscribed and stalled
        wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
        t0 = time.monotonic()
        assert accepted(fake) == 2
        wait_for(lambda: accepted(fake) >= 3, timeout=10 * LATENCY_FACTOR,
                 interval=0.02, what="push link opened again")
        took = time.monotonic() - t0
        # timeout= (1 s) + the first backoff (200 ms), with slack
        assert took < (1.0 + 0.2 + 1.0) * LATENCY_FACTOR, took

        # while every push link stalls, polls still bring each change
        seen = accepted(fake)
        for i in range(3):
            # FAKECOUNT first: a control connection, not counted
            fake.control("FAKECOUNT", "SET outage:site Polled%d" % i)
            t1 = time.monotonic()
            wait_for(lambda: n.get("/")[1]["x-message"] == "Polled%d" % i,
                     timeout=5, interval=0.01, what="polled")
            assert time.monotonic() - t1 < (0.3 + 1.0) * LATENCY_FACTOR
        wait_for(lambda: accepted(fake) > seen, timeout=10 * LATENCY_FACTOR,
                 what="another stalled link reopened")

        lines = [ln for ln in n.log_text().splitlines()
                 if "push connection" in ln]
        assert len(lines) == 1, lines
        assert "[notice]" in lines[0], lines
        assert ("redis 127.0.0.1:%d push connection: stalled mid-message: "
                "part of a message, then nothing for 1000 ms" % fake.port
                in lines[0]), lines
        assert n.bad_log_lines() == []
    finally:
        fake.stop()


def test_flood_of_oversized_invalidations_keeps_requests_fast(
        nginx_factory, tmp_path):
    """The push connection receives 1 MiB "invalidations" back to back, as
    fast as it reads them: each is skipped in constant memory, the worker
    that reads them (the only one) still answers every request at once,
    the link is kept, and the log says it once."""
    fake = Fake(tmp_path, "pushflood")
    try:
        n = started_on(fake, nginx_factory, workers=1)
        wait_for(lambda: "skipped 1 invalidation" in n.log_text(),
                 timeout=5, what="the flood skipped")
        pid = n.worker_pids()[0]
        for _ in range(200):
            n.get("/")
        rss0 = peak = rss_kb(pid)
        conns = accepted(fake)

        worst = 0.0
        t_end = time.monotonic() + 3
        count = 0
        while time.monotonic() < t_end:
            t0 = time.monotonic()
            st, h, _ = n.get("/", timeout=5)
            worst = max(worst, time.monotonic() - t0)
            assert st == 200 and h["x-message"] == "Before"
            peak = max(peak, rss_kb(pid))
            count += 1
        assert worst < latency_bound(0.1), (worst, count)
        assert peak - rss0 < 10 * 1024, (rss0, peak)
        # neither the push link nor the poll link was reopened
        assert accepted(fake) == conns
        lines = skip_lines(n)
        assert len(lines) == 1, lines
        assert "a value of 1048576 bytes (at most 65536)" in lines[0]

        fake.control("FAKEMODE ok", "SET outage:site After")
        wait_for(lambda: n.get("/")[1]["x-message"] == "After", timeout=5,
                 what="polled after the flood")
        assert n.bad_log_lines() == []
    finally:
        fake.stop()


@pytest.mark.allow_log_errors
def test_failing_poll_no_reconnect_storm(nginx_factory, redis):
    """Polls fail (the ACL lacks HGETALL) while push works: each change
    pushed must not open a new poll connection (and AUTH) of its own."""
    redis.cli("ACL", "SETUSER", "outage", "on", ">pw", "~outage:*",
              "&__redis__:invalidate", "+get", "+multi", "+exec", "+select",
              "+client|id", "+client|tracking", "+subscribe")
    n = nginx_factory(conf(redis.port, interval="10s",
                           extra="user=outage password=pw"), workers=1)
    wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
    a0 = commands(redis, "auth")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3:
        redis.cli("SET", "outage:junk", "x")
        time.sleep(0.02)
    auths = commands(redis, "auth") - a0
    # at most one reconnect a second (plus slack for a loaded machine)
    assert auths <= 6, auths


SAME_IP_CONF = """
    resolver 127.0.0.1:%d ipv6=off valid=1s; resolver_timeout 2s;
    outage_redis localhost:%d interval=10s timeout=1s connect_timeout=500ms;
    server {
        listen 127.0.0.1:{port} reuseport;
        location / {
            add_header X-Message $outage_message always;
            return 200 "ok\\n";
        }
        location = /outage/status { outage_status; }
    }
"""


@pytest.mark.allow_log_errors
def test_reresolved_same_address_keeps_push(nginx_factory, redis, tmp_path):
    """The poll link drops, the name is resolved again to the same
    address: the working push link stays (it was closed until the next
    tick, 10 s away, so the second change waited for it)."""
    from test_redis_resolve import Dns
    dns = Dns(tmp_path, "127.0.0.1")
    try:
        n = nginx_factory(SAME_IP_CONF % (dns.port, redis.port), workers=1)
        wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
        redis.cli("CLIENT", "KILL", "TYPE", "normal")   # the poll link only
        redis.cli("SET", "outage:site", "after kill")
        wait_for(lambda: n.get("/")[1].get("x-message") == "after kill",
                 timeout=15, interval=0.05, what="first change seen")
        # let the resolution finish, then a change only push can bring soon
        wait_for(lambda: dns_asked(tmp_path), timeout=5, what="resolved")
        time.sleep(0.3)
        redis.cli("SET", "outage:site", "second")
        wait_for(lambda: n.get("/")[1].get("x-message") == "second",
                 timeout=3 * LATENCY_FACTOR, interval=0.05,
                 what="second change seen by push (interval is 10 s)")
    finally:
        dns.stop()


def dns_asked(tmp_path):
    # the fake DNS logs each query to stderr
    return os.path.getsize(os.path.join(str(tmp_path), "dns.log")) > 0


@pytest.mark.allow_log_errors
def test_push_back_with_the_poll_after_restart(nginx_factory, redis):
    """Redis restarts after 7 s down: the push link comes back when the
    poll does, not at its own backoff (6.4 s steps by then)."""
    n = nginx_factory(conf(redis.port, interval="1s"), workers=1)
    wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
    redis.kill()
    time.sleep(7)
    redis.start()
    t0 = time.monotonic()
    wait_for(lambda: "sub=1" in redis.cli("CLIENT", "LIST"),
             timeout=40, interval=0.05, what="resubscribed")
    took = time.monotonic() - t0
    assert took < 3.0 * LATENCY_FACTOR, took


@pytest.mark.allow_log_errors
def test_temporary_tracking_error_is_not_a_refusal(nginx_factory, tmp_path):
    """-ERR max number of clients reached is retried with the backoff
    (seconds), not taken as a refusal asked again only every 60 s."""
    fake = Fake(tmp_path, "trackbusy")
    try:
        n = nginx_factory(conf(fake.port, interval="10s"), workers=1)
        wait_for(lambda: "max number of clients" in n.log_text(),
                 timeout=5, what="tracking error logged")
        assert "refuses key tracking" not in n.log_text()
        fake.control("FAKEMODE ok")
        wait_for(lambda: pushed(n), timeout=5 * LATENCY_FACTOR,
                 what="push subscribed once Redis accepts again")
    finally:
        fake.stop()


def skip_lines(n):
    return [ln for ln in n.log_text().splitlines() if "push connection" in ln]


# one script, one BCAST invalidation message: the change to outage:site is
# in the same message as what makes it too big for the reader
OVERSIZED = {
    # a key name beyond the 64 KB a value may have
    "long key": ("redis.call('SET', KEYS[1], ARGV[1]); "
                 "redis.call('SET', 'outage:' .. string.rep('k', 70000), '1')",
                 "a value of 70007 bytes (at most 65536)"),
    # more keys than the key list takes
    "many keys": ("for i = 1, 1500 do redis.call('SET', 'outage:m' .. i, '1') "
                  "end; redis.call('SET', KEYS[1], ARGV[1])",
                  "an array of 1501 elements (at most 1024)"),
    # more bytes than a message may have (1.1 MB), each key within bounds
    "many bytes": ("for i = 1, 1000 do redis.call('SET', 'outage:' .. i .. "
                   "string.rep('b', 1100), '1') end; "
                   "redis.call('SET', KEYS[1], ARGV[1])",
                   "a reply of more than 524288 bytes"),
}


@pytest.mark.parametrize("case", sorted(OVERSIZED))
def test_oversized_invalidation_is_skipped_and_polled(nginx_factory, redis,
                                                      case):
    """An invalidation too big for the reader is skipped to its end as
    "something changed": the change it hides is shown at push speed, the
    link stays (no new SUBSCRIBE), and the log says it once."""
    script, reason = OVERSIZED[case]
    n = nginx_factory(conf(redis.port), workers=2)
    wait_for(lambda: pushed(n), timeout=5, what="push subscribed")

    t0 = time.monotonic()
    redis.cli("EVAL", script, 1, "outage:site", "Hidden change")
    wait_for(lambda: every_worker(n, "Hidden change", header="x-message"),
             timeout=PUSH_BOUND + 1, interval=0.01, what="the hidden change")
    assert time.monotonic() - t0 < PUSH_BOUND

    lines = skip_lines(n)
    assert len(lines) == 1, lines
    assert "[warn]" in lines[0] and "skipped 1 invalidation" in lines[0], lines
    assert reason in lines[0], lines

    # the same link goes on pushing
    redis.cli("SET", "outage:site", "Next change")
    t0 = time.monotonic()
    wait_for(lambda: every_worker(n, "Next change", header="x-message"),
             timeout=PUSH_BOUND + 1, interval=0.01, what="the next change")
    assert time.monotonic() - t0 < PUSH_BOUND
    assert commands(redis, "subscribe") == 1
    assert commands(redis, "client|tracking") == 1
    assert len(skip_lines(n)) == 1
    assert n.bad_log_lines() == []


def test_oversized_message_published_again_does_not_flap(nginx_factory,
                                                          redis):
    """Someone PUBLISHes 1 MB "invalidations" again and again: each is
    skipped, the push link stays (it reconnected every 200 ms, then backed
    off), polls stay rate-limited, and the log says it once."""
    n = nginx_factory(conf(redis.port), workers=1)
    wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
    subs0 = commands(redis, "subscribe")
    polls0 = commands(redis, "exec")
    big = ("redis.call('PUBLISH', '__redis__:invalidate', "
           "string.rep('x', 1000000))")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 4:
        redis.cli("PUBLISH", "__redis__:invalidate", "outage:k")
        redis.cli("EVAL", big, 0)
    elapsed = time.monotonic() - t0
    polls = commands(redis, "exec") - polls0
    assert commands(redis, "subscribe") == subs0
    lines = skip_lines(n)
    assert len(lines) == 1, lines
    assert "a value of 1000000 bytes (at most 65536)" in lines[0], lines
    # one poll per 50 ms at most, plus the ticks of a 10 s interval
    assert polls <= elapsed / 0.05 + 3, (polls, elapsed)

    # and a real change still arrives through push
    redis.cli("SET", "outage:site", "After the flood")
    t0 = time.monotonic()
    wait_for(lambda: every_worker(n, "After the flood", header="x-message"),
             timeout=PUSH_BOUND + 1, interval=0.01, what="pushed")
    assert time.monotonic() - t0 < PUSH_BOUND
    assert commands(redis, "subscribe") == subs0
    assert n.bad_log_lines() == []


def test_skips_within_the_minute_are_told_later(nginx_factory, redis):
    """A burst of oversized invalidations, then none: the first is told at
    once, the others are counted and told later (a minute after that line,
    or when the worker exits, here by a reload), not merged into the line
    of a skip hours later nor lost."""
    n = nginx_factory(conf(redis.port), workers=1)
    wait_for(lambda: pushed(n), timeout=5, what="push subscribed")

    big = ("return redis.call('PUBLISH', '__redis__:invalidate', "
           "string.rep('k', 70000))")
    for _ in range(5):
        redis.cli("EVAL", big, 0)
    # the link reads in order: the change after them means all were read
    redis.cli("SET", "outage:site", "After the burst")
    wait_for(lambda: every_worker(n, "After the burst", header="x-message"),
             timeout=PUSH_BOUND + 1, interval=0.01, what="pushed")
    lines = skip_lines(n)
    assert len(lines) == 1 and "skipped 1 invalidation" in lines[0], lines

    n.reload()
    wait_for(lambda: len(skip_lines(n)) == 2, timeout=10,
             what="the other skips told at exit")
    later = skip_lines(n)[1]
    assert "[warn]" in later, later
    assert "skipped 4 more invalidation message(s) too big to read" in later
    assert "a value of 70000 bytes (at most 65536)" in later, later
    assert n.bad_log_lines() == []


def test_a_flapping_state_is_said_in_bounded_lines(nginx_factory, redis):
    """Two scripts fighting over a key (one writes down, the other
    degraded): every change is seen at push speed, but the log says the
    first five of a scope's changes in 10 s, then one line that counts the
    rest with the state they ended in; each line quotes at most 120 bytes
    of the message (the status has it whole).  Up to session 8 each change
    was a line with the whole message escaped: ~470 KB/s of log with 16
    scopes."""
    n = nginx_factory(conf(redis.port, interval="1s"), workers=1)
    wait_for(lambda: pushed(n), timeout=10, what="push subscribed")
    message = "\u00e9" * 250
    t0 = time.monotonic()
    last = n.get("/")[1]["x-state"]
    for i in range(20):
        state = "down" if i % 2 == 0 else "degraded"
        redis.cli("HSET", "outage:site", "state", state, "message", message)
        wait_for(lambda: n.get("/")[1]["x-state"] != last,
                 timeout=PUSH_BOUND + 1, interval=0.01,
                 what="change %d seen" % i)
        last = n.get("/")[1]["x-state"]
    elapsed = time.monotonic() - t0

    def lines():
        return [ln for ln in n.log_text().splitlines()
                if 'scope "site"' in ln
                and ("by redis:" in ln or "changed state" in ln)]

    wait_for(lambda: any("changed state" in ln for ln in lines()),
             timeout=30 * LATENCY_FACTOR, what="the changes counted")
    said = [ln for ln in lines() if "by redis:" in ln]
    counted = [ln for ln in lines() if "changed state" in ln]
    assert len(said) == 5, said
    assert "further changes of this scope within 10 s are counted" \
        in said[-1], said
    assert len(counted) <= 2 + elapsed // 10, (elapsed, counted)
    total = len(said) + sum(int(re.search(r"changed state (\d+) more",
                                          ln).group(1)) for ln in counted)
    assert total == 20, lines()
    assert re.search(r'changed state \d+ more time\(s\) by redis, not each '
                     r'said \(and 0 line\(s\) about its key: warnings, '
                     r'unusable, readable again\); (now|then) '
                     r'(down|degraded)', counted[0]), counted
    for ln in lines():
        assert len(ln) < 400, ln
    assert "\\xc3\\xa9" in said[0] and said[0].count("\\xc3") <= 15, said[0]


def eight_changes(n, redis):
    """Eight changes of outage:site at push speed, each seen; the last one
    down, "m7FINAL": three of them are counted, not said."""
    states = ["down", "degraded", "maintenance", "degraded", "down",
              "degraded", "maintenance", "down"]
    for i, state in enumerate(states):
        message = "m%d" % i if i < len(states) - 1 else "m7FINAL"
        redis.cli("HSET", "outage:site", "state", state, "message", message)
        wait_for(lambda: n.get("/")[1]["x-message"] == message,
                 timeout=PUSH_BOUND + 1, interval=0.01,
                 what="change %d seen" % i)


@pytest.mark.parametrize("then", ["redis_stops", "reload"])
def test_counted_changes_are_said_when_reading_stops(nginx_factory, redis,
                                                     then):
    """Changes counted within a scope's window are said, with the state
    they ended in, as soon as this worker stops reading them (its poll
    fails, it exits on a reload): the log's last word on a scope is the
    state visitors get (review s9/R2 F2: it was a state the scope had
    left)."""
    n = nginx_factory(conf(redis.port, interval="1s"), workers=1)
    wait_for(lambda: pushed(n), timeout=10, what="push subscribed")
    last = n.get("/")[1]["x-state"]
    eight_changes(n, redis)
    assert n.get("/")[1]["x-state"] != last
    try:
        if then == "redis_stops":
            redis.pause()
        else:
            n.reload()
        wait_for(lambda: 'now down: "m7FINAL"' in n.log_text(),
                 timeout=10 * LATENCY_FACTOR, what="the counted changes said")
        line = [ln for ln in n.log_text().splitlines()
                if 'now down: "m7FINAL"' in ln][0]
        assert re.search(r'scope "site" changed state 3 more time\(s\) by '
                         r'redis, not each said', line), line
    finally:
        if then == "redis_stops":
            redis.resume()


def test_counted_changes_are_said_when_the_window_ends(nginx_factory,
                                                      redis):
    """With push on, interval= may be long: the summary of a flap comes
    when its 10 s are over (a timer), not at the next poll tick (review
    s9/R2 F2 remainder: said after 27 s with interval=30s)."""
    n = nginx_factory(conf(redis.port, interval="30s"), workers=1)
    wait_for(lambda: pushed(n), timeout=10, what="push subscribed")
    t0 = time.monotonic()
    eight_changes(n, redis)
    wait_for(lambda: 'now down: "m7FINAL"' in n.log_text(),
             timeout=10 + 5 * LATENCY_FACTOR, what="the summary at 10 s")
    assert time.monotonic() - t0 < 10 + 5 * LATENCY_FACTOR


def test_warnings_of_a_flapping_key_share_its_budget(nginx_factory, redis):
    """A key flipping between a clean value and a warned one (an unknown
    state value) says its warnings out of the same budget as its changes:
    past it they are counted in the one summary (review s9/R2 F4: one
    warning per flip)."""
    n = nginx_factory(conf(redis.port, interval="1s"), workers=1)
    wait_for(lambda: pushed(n), timeout=10, what="push subscribed")
    for i in range(20):
        state = "down" if i % 2 == 0 else "bogus%d" % i
        redis.cli("HSET", "outage:site", "state", state, "message",
                  "m%d" % i)
        wait_for(lambda: n.get("/")[1]["x-message"] == "m%d" % i,
                 timeout=PUSH_BOUND + 1, interval=0.01,
                 what="change %d seen" % i)

    def about_site():
        return [ln for ln in n.log_text().splitlines()
                if 'scope "site"' in ln or '"outage:site"' in ln]

    wait_for(lambda: any("changed state" in ln for ln in about_site()),
             timeout=30 * LATENCY_FACTOR, what="the summary")
    lines = about_site()
    said = [ln for ln in lines if "changed state" not in ln]
    assert len(said) <= 5, said
    summary = [ln for ln in lines if "changed state" in ln][0]
    hushed = int(re.search(r"and (\d+) line\(s\) about its key",
                           summary).group(1))
    warned = [ln for ln in said if 'unknown "state" value' in ln]
    assert warned and hushed >= 10 - len(warned), (said, summary)


@pytest.mark.allow_log_errors      # nginx's alert: worker exited on signal 9
def test_a_worker_taking_over_says_the_state_it_inherits(nginx_factory,
                                                         redis):
    """The holder is killed inside a flap window, its counted changes
    with it: the worker that takes the lease over says the state each
    scope is in (review s9/R2 F5)."""
    n = nginx_factory(conf(redis.port, interval="500ms"), workers=2)
    wait_for(lambda: pushed(n), timeout=10, what="push subscribed")
    eight_changes(n, redis)
    holder = n.status_json()["redis"]["poller_pid"]
    os.kill(holder, signal.SIGKILL)
    said = 'scope "site" is down by redis as worker %d left it' % holder
    wait_for(lambda: said in n.log_text(), timeout=30 * LATENCY_FACTOR,
             what="the inherited state said")
    line = [ln for ln in n.log_text().splitlines() if said in ln][0]
    assert line.endswith('"m7FINAL"'), line
