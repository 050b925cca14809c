"""The push connection notices a silent (half-open) path (session 7).

A subscribed push connection has nothing in flight; cut without a FIN or an
RST (a NAT or firewall that forgot it, a host gone, a stopped server) it
used to look idle until the kernel gave up, while push had quietly stopped.
After ping= of silence the module sends PING and wants its reply within
timeout=: none, and the connection is dropped, said once, and reopened.

The poll interval here is 30 s: a change seen within a few seconds can only
have come through push.  ping=1s (or 2s) keeps the tests short.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from harness import LATENCY_FACTOR, SUPPORT, wait_for
from test_redis import SERVER
from test_redis_hostile import Fake
from test_redis_push import (PUSH_BOUND, accepted, commands, every_worker,
                             fast_and_bounded_until, pushed)
from test_redis_tls import pki, tls_redis  # noqa: F401 (a fixture)

sys.path.insert(0, SUPPORT)
from tcp_proxy import Relay, TcpProxy  # noqa: E402

CONF = """
    outage_redis 127.0.0.1:{port} interval={interval} timeout=1s
                 connect_timeout=500ms ping={ping} {extra};
""" + SERVER


def conf(port, interval="30s", ping="1s", extra=""):
    return CONF.format(port=port, interval=interval, ping=ping, extra=extra)


def tls_conf(port, pki):
    return conf(port, extra="tls tls_trusted_certificate=%s/ca.crt "
                "tls_name=localhost" % pki)


def push_lines(n, words="push connection"):
    return [ln for ln in n.log_text().splitlines() if words in ln]


def push_status(n):
    return n.status_json()["redis"]["push"]


SILENT = ("push connection: silent: no reply to PING within 1000 ms "
          "(timeout=) after 1000 ms of silence (ping=)")


def change_by_push(n, redis, value):
    """SET outage:site, and every worker shows it at push speed."""
    t0 = time.monotonic()
    redis.cli("SET", "outage:site", value)
    wait_for(lambda: every_worker(n, value, header="x-message"),
             timeout=PUSH_BOUND + 1, interval=0.01, what="pushed %r" % value)
    took = time.monotonic() - t0
    assert took < PUSH_BOUND, (value, took)


def test_silently_cut_push_link_is_noticed_and_reopened(nginx_factory, redis):
    """The proxy forgets the push connection (nothing forwarded either way,
    nothing closed), as a NAT that dropped its state: within ping= +
    timeout= the module says so once, reconnects (a new connection goes
    through), and changes are pushed again; polls are never disturbed."""
    proxy = TcpProxy(redis.port)
    try:
        n = nginx_factory(conf(proxy.port), workers=2)
        wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
        wait_for(lambda: push_status(n)["state"] == "subscribed", timeout=5,
                 what="status: subscribed")
        change_by_push(n, redis, "before the cut")
        assert push_status(n)["failures"] == 0

        t0 = time.monotonic()
        proxy.freeze(b"SUBSCRIBE")
        assert proxy.frozen() == 1
        wait_for(lambda: push_lines(n, "silent: no reply to PING"),
                 timeout=10 * LATENCY_FACTOR, interval=0.05,
                 what="the silent link noticed")
        took = time.monotonic() - t0
        # ping= (1 s of silence) + timeout= (1 s), with slack
        assert took < (1.0 + 1.0 + 1.5) * LATENCY_FACTOR, took

        # a new connection subscribes, and push works again
        wait_for(lambda: commands(redis, "subscribe") >= 2,
                 timeout=5 * LATENCY_FACTOR, what="subscribed again")
        change_by_push(n, redis, "after the cut")

        lines = push_lines(n)
        assert len(lines) == 1, lines
        assert "[notice]" in lines[0], lines
        assert ("redis 127.0.0.1:%d %s" % (proxy.port, SILENT)) in lines[0]
        st = push_status(n)
        assert st["state"] == "subscribed", st
        assert st["failures"] == 1, st
        assert "no reply to PING" in st["last_error"], st
        assert st["last_error_time"] is not None, st
        assert st["ping_ms"] == 1000, st
        assert st["pings"] >= 1, st
        # the poll link was never touched: no poll error, one connection
        assert n.status_json()["redis"]["errors"] == 0
        assert n.status_json()["redis"]["connects"] == 1
        assert n.bad_log_lines() == []
    finally:
        proxy.close()


def test_push_path_down_then_back(nginx_factory, redis):
    """The path of the push connection stays cut for a while (every new
    push connection is held as soon as it subscribes): the status says
    "reconnecting" with the reason, each condition is logged once, polls go
    on; once the path is back, push is back within the backoff."""
    proxy = TcpProxy(redis.port)
    try:
        n = nginx_factory(conf(proxy.port), workers=1)
        wait_for(lambda: pushed(n), timeout=5, what="push subscribed")

        proxy.freeze(b"SUBSCRIBE", new=True)
        wait_for(lambda: push_status(n)["state"] == "reconnecting",
                 timeout=10 * LATENCY_FACTOR, interval=0.05,
                 what="status: reconnecting")
        # held while it subscribes: the next attempts time out instead
        wait_for(lambda: push_lines(n, "no reply within timeout"),
                 timeout=10 * LATENCY_FACTOR, interval=0.05,
                 what="a reconnect held")
        st = push_status(n)
        assert st["state"] == "reconnecting", st
        assert st["failures"] >= 2, st

        proxy.thaw()
        t0 = time.monotonic()
        wait_for(lambda: push_status(n)["state"] == "subscribed",
                 timeout=10 * LATENCY_FACTOR, interval=0.05,
                 what="subscribed again")
        # the backoff by then is at most 1.6 s (200, 400, 800, 1600 ms)
        assert time.monotonic() - t0 < (1.6 + 1.5 + 1.0) * LATENCY_FACTOR
        change_by_push(n, redis, "path back")

        assert len(push_lines(n, "silent: no reply to PING")) == 1
        assert len(push_lines(n, "no reply within timeout")) == 1
        assert n.status_json()["redis"]["errors"] == 0
        assert n.bad_log_lines() == []
    finally:
        proxy.close()


def stopped_and_noticed(n, redis):
    """SIGSTOP the redis-server until the push link says it is silent
    (within ping= + timeout=), SIGCONT, and wait until it is subscribed
    again."""
    redis.pause()
    try:
        t0 = time.monotonic()
        wait_for(lambda: push_lines(n, "silent: no reply to PING"),
                 timeout=10 * LATENCY_FACTOR, interval=0.05,
                 what="the stopped server noticed")
        assert time.monotonic() - t0 < (1.0 + 1.0 + 1.5) * LATENCY_FACTOR
    finally:
        redis.resume()
    wait_for(lambda: push_status(n)["state"] == "subscribed",
             timeout=10 * LATENCY_FACTOR, interval=0.05,
             what="subscribed again")


@pytest.mark.allow_log_errors
def test_stopped_redis_is_noticed_by_the_push_link(nginx_factory, redis):
    """SIGSTOP of the redis-server (its kernel still accepts and
    acknowledges): the push connection says it is silent within ping= +
    timeout=; after SIGCONT, changes are pushed again."""
    n = nginx_factory(conf(redis.port), workers=1)
    wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
    stopped_and_noticed(n, redis)
    change_by_push(n, redis, "after SIGCONT")
    assert len(push_lines(n, "silent: no reply to PING")) == 1


class Writer:
    """One connection to Redis for SETs at a steady rate (redis-cli would
    fork a process per change)."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)

    def set(self, key, value):
        self.s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
            len(key), key, len(value), value))
        assert self.s.recv(64) == b"+OK\r\n"

    def close(self):
        self.s.close()


def test_one_ping_per_idle_period_none_while_changes_flow(nginx_factory,
                                                         redis):
    """Idle, the push connection sends one PING per ping= (2 s), from the
    lease holder only (2 workers, one PING stream); while changes flow, the
    link is not silent and sends none."""
    n = nginx_factory(conf(redis.port, ping="2s"), workers=2)
    wait_for(lambda: pushed(n), timeout=5, what="push subscribed")

    p0 = commands(redis, "ping")
    t0 = time.monotonic()
    wait_for(lambda: commands(redis, "ping") >= p0 + 2,
             timeout=10 * LATENCY_FACTOR, interval=0.1,
             what="PINGs of the idle link")
    time.sleep(2.5)         # observe a while longer: no more than its rate
    idle = time.monotonic() - t0
    pings = commands(redis, "ping") - p0
    # one per 2 s of silence, at most (+1 for the edges)
    assert pings <= idle / 2.0 + 1, (pings, idle)
    assert push_status(n)["pings"] >= pings - 1

    # changes every 200 ms for 5 s: never 2 s of silence, never a PING
    w = Writer(redis.port)
    try:
        p1 = commands(redis, "ping")
        t1 = time.monotonic()
        i = 0
        while time.monotonic() - t1 < 5:
            w.set(b"outage:flow", b"%d" % i)
            i += 1
            time.sleep(0.2)
        assert commands(redis, "ping") == p1, "PING while changes flowed"
    finally:
        w.close()
    assert push_status(n)["failures"] == 0
    assert n.bad_log_lines() == []


def test_ping_without_the_acl_right(nginx_factory, redis):
    """A user made with the recipe of before (push rights, no +ping): the
    -NOPERM answer proves the link alive as well, the link stays (one
    SUBSCRIBE), and the log says once to grant +ping.  The recipe of
    docs/redis.md grants it: no such line."""
    redis.cli("ACL", "SETUSER", "noping", "on", ">pw", "~outage:*",
              "&__redis__:invalidate", "+get", "+hgetall", "+multi", "+exec",
              "+select", "+client|id", "+client|tracking", "+subscribe")
    n = nginx_factory(conf(redis.port, extra="user=noping password=pw"),
                      workers=1)
    wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
    wait_for(lambda: push_lines(n, "PING refused"), timeout=5 * LATENCY_FACTOR,
             what="the refusal said")
    subs = commands(redis, "subscribe")
    # three more idle periods: the link stays, said once
    t0 = time.monotonic()
    wait_for(lambda: push_status(n)["pings"] >= 4,
             timeout=10 * LATENCY_FACTOR, what="more PINGs")
    assert commands(redis, "subscribe") == subs == 1
    lines = push_lines(n, "push connection")
    assert len(lines) == 1, lines
    assert "[notice]" in lines[0] and "NOPERM" in lines[0], lines
    assert 'grant "+ping"' in lines[0], lines
    assert push_status(n)["failures"] == 0
    change_by_push(n, redis, "noping")
    assert time.monotonic() - t0 < 30
    n.stop()

    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                           "redis.md")) as f:
        m = re.search(r"^redis-cli (ACL SETUSER outage .*)$", f.read(), re.M)
    out = subprocess.run(
        ["/bin/sh", "-c", "redis-cli -h 127.0.0.1 -p %d %s" % (
            redis.port, m.group(1).replace("long-random-password", "pw"))],
        capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "OK", out
    m2 = nginx_factory(conf(redis.port, extra="user=outage password=pw"),
                       workers=1)
    wait_for(lambda: pushed(m2), timeout=5, what="push subscribed")
    wait_for(lambda: push_status(m2)["pings"] >= 2,
             timeout=10 * LATENCY_FACTOR, what="PINGs")
    assert push_lines(m2, "push connection") == []
    assert m2.bad_log_lines() == []


@pytest.mark.parametrize("mode,reason", [
    ("pingsilent", SILENT),
    ("pinggarbage", "push connection: unreadable reply: Protocol error"),
    ("pinghuge", "push connection: reply refused: an array of 100000000 "
                 "elements (at most 3)"),
    # an invalidation is one, even while a PING waits: not its reply
    ("pingmessage", SILENT),
    # a pong nobody asked for is no change either
    ("pingflood", "push connection: unexpected message (not an "
                  "invalidation)"),
    # a pong too big for the reader is a pong all the same: not a skipped
    # invalidation (no poll for it), and not a silence either
    ("pingbigpong", "push connection: unexpected reply to PING: too big: a "
                    "value of 70000 bytes (at most 65536)"),
])
def test_wrong_answers_to_ping(nginx_factory, tmp_path, mode, reason):
    """A server that answers PING wrongly (never, garbage, a huge array, an
    invalidation instead, endless pongs): the push connection is dropped
    and reopened with the backoff, said once, within bounded memory, while
    requests stay fast and polls keep the state current."""
    fake = Fake(tmp_path, mode)
    try:
        fake.control("FAKERESET", "SET outage:site Before")
        n = nginx_factory(conf(fake.port, interval="300ms"), workers=1)
        wait_for(lambda: n.get("/")[1]["x-message"] == "Before", timeout=5,
                 what="first poll")
        wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
        # poll + push, then two more push connections
        fast_and_bounded_until(n, lambda: accepted(fake) >= 4,
                               30 * LATENCY_FACTOR, message="Before")

        lines = push_lines(n)
        assert len(lines) == 1, lines
        assert reason in lines[0], lines
        assert "[notice]" in lines[0], lines
        assert "invalidation message(s)" not in n.log_text()
        st = push_status(n)
        assert st["failures"] >= 2, st
        assert n.status_json()["redis"]["errors"] == 0

        fake.control("FAKEMODE ok", "SET outage:site After")
        wait_for(lambda: n.get("/")[1]["x-message"] == "After", timeout=5,
                 what="polled")
        assert n.bad_log_lines() == []
    finally:
        fake.stop()


def test_status_push_off(nginx_factory, redis):
    n = nginx_factory(conf(redis.port, interval="1s", extra="push=off"),
                      workers=1)
    wait_for(lambda: n.status_json()["redis"]["up"], what="first poll")
    assert push_status(n) == {"state": "off"}
    text = n.get("/outage/status?format=prometheus")[2]
    text = text.decode() if isinstance(text, bytes) else text
    assert "\noutage_redis_push_up 0\n" in text, text


@pytest.mark.allow_log_errors
def test_ping_over_tls(nginx_factory, tmp_path, pki):
    """Over TLS (nginx's OpenSSL): PINGs of an idle link are answered, and a
    stopped server is noticed and left behind the same way."""
    r = tls_redis(tmp_path, pki)
    try:
        n = nginx_factory(tls_conf(r.tls_port, pki),
                          workers=1)
        wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
        wait_for(lambda: push_status(n)["pings"] >= 2,
                 timeout=10 * LATENCY_FACTOR, what="PINGs over TLS")
        assert push_status(n)["failures"] == 0
        assert push_lines(n) == []
        stopped_and_noticed(n, r)
        change_by_push(n, r, "over TLS again")
    finally:
        r.stop()


def test_ping_error_text_is_escaped_and_proves_the_link(nginx_factory,
                                                       tmp_path):
    """An error answering PING keeps the link (it came back: the path
    works), and its text, the server's, is escaped in the one line that
    quotes it."""
    fake = Fake(tmp_path, "pingerror")
    try:
        n = nginx_factory(conf(fake.port, interval="300ms"), workers=1)
        wait_for(lambda: pushed(n), timeout=5, what="push subscribed")
        wait_for(lambda: push_status(n)["pings"] >= 3,
                 timeout=10 * LATENCY_FACTOR, what="three PINGs")
        assert accepted(fake) == 2          # the poll and the push link
        assert push_status(n)["failures"] == 0
        lines = push_lines(n)
        assert len(lines) == 1, lines
        assert ('PING refused (NOPERM evil \\x1b[2J \\x22quoted\\x22 \\x5c '
                'text)' in lines[0]), lines
        assert "\x1b" not in n.log_text()
        assert n.bad_log_lines() == []
    finally:
        fake.stop()


class StopOnPing(Relay):
    """A relay to a real Redis that, when the push connection sends PING,
    stops the worker holding it (SIGSTOP), forwards the PING and, `stop_s`
    later, lets the worker go on (SIGCONT): the pong waits in its socket
    while its wait for it (timeout=) runs out.  Requests keep flowing
    meanwhile in the other worker."""

    def __init__(self, target, stops, stop_s):
        self.stops = stops
        self.stop_s = stop_s
        self.holder = None
        self.done = 0
        self.stopped = None
        super().__init__(target)

    def carry(self, d, to, up, state):
        if up:
            state["subscribed"] = state.get("subscribed") or b"SUBSCRIBE" in d
        if (up and state["subscribed"] and b"PING" in d and self.holder
                and self.done < self.stops):
            pid = self.holder
            os.kill(pid, signal.SIGSTOP)
            self.stopped = pid
            to.sendall(d)
            time.sleep(self.stop_s)
            os.kill(pid, signal.SIGCONT)
            self.stopped = None
            self.done += 1
            return
        to.sendall(d)

    def close(self):
        if self.stopped:
            os.kill(self.stopped, signal.SIGCONT)
        super().close()


def test_a_stalled_worker_reads_the_pong_waiting_in_its_socket(
        nginx_factory, redis):
    """The push link's holder is stopped right after its PING, past
    timeout=, while the pong arrives; with accept_mutex on, nginx runs the
    expired timers before the read events it posted.  The pong is there:
    the link is kept, no "silent" line, no failure (before session 9 every
    such stop dropped it as "cut or the server stopped": the read handler
    called from the timer read nothing, ngx_unix_recv() trusting the
    readiness left at 0)."""
    proxy = StopOnPing(redis.port, stops=3, stop_s=1.2)
    try:
        n = nginx_factory(conf(proxy.port, ping="1s").replace(
            "timeout=1s", "timeout=300ms"), workers=2, start=False)
        with open(n.conf_path) as f:
            text = f.read()
        with open(n.conf_path, "w") as f:
            f.write(text.replace("events { worker_connections 1024; }",
                                 "events { worker_connections 1024; "
                                 "accept_mutex on; }"))
        n.start()
        wait_for(lambda: push_status(n)["state"] == "subscribed", timeout=5,
                 what="status: subscribed")
        proxy.holder = n.status_json()["redis"]["poller_pid"]
        deadline = time.monotonic() + 30 * LATENCY_FACTOR
        while proxy.done < 3 and time.monotonic() < deadline:
            try:
                n.get("/", timeout=2)
            except OSError:
                pass
            time.sleep(0.02)
        assert proxy.done == 3
        # the last PING's pong is read once the worker runs again
        wait_for(lambda: push_status(n)["state"] == "subscribed",
                 timeout=5, what="still subscribed")
        st = push_status(n)
        assert st["failures"] == 0, (st, push_lines(n))
        assert push_lines(n, "silent") == []
        assert n.status_json()["redis"]["poller_pid"] == proxy.holder
        change_by_push(n, redis, "after the stops")
    finally:
        proxy.close()


@pytest.mark.allow_log_errors      # nginx's alert: worker exited on signal 9
def test_push_state_of_a_killed_holder_is_not_subscribed(nginx_factory,
                                                          redis):
    """SIGKILL of the worker that holds the push link: no link exists until
    another worker takes the lease and connects, seconds later; meanwhile
    the status does not say "subscribed" (it did, up to the takeover)."""
    n = nginx_factory(conf(redis.port, interval="2s"), workers=2)
    wait_for(lambda: push_status(n)["state"] == "subscribed", timeout=10,
             what="status: subscribed")
    holder = n.status_json()["redis"]["poller_pid"]
    os.kill(holder, signal.SIGKILL)
    seen = {}

    def not_subscribed():
        st = n.status_json()["redis"]
        seen.update(st)
        return st["push"]["state"] != "subscribed"

    wait_for(not_subscribed, timeout=10 * LATENCY_FACTOR,
             what="status: not subscribed")
    # said while the dead worker still held the lease, before any takeover
    assert seen["poller_pid"] == holder, seen
    assert seen["push"]["state"] == "connecting", seen
    assert seen["push"]["since"] is None, seen
    text = n.get("/outage/status?format=prometheus")[2]
    text = text.decode() if isinstance(text, bytes) else text
    if n.status_json()["redis"]["poller_pid"] == holder:
        assert "\noutage_redis_push_up 0\n" in text, text
    # and another worker takes over and subscribes
    wait_for(lambda: push_status(n)["state"] == "subscribed"
             and n.status_json()["redis"]["poller_pid"] != holder,
             timeout=30 * LATENCY_FACTOR, what="taken over")
    change_by_push(n, redis, "after the takeover")


def test_each_command_of_the_push_handshake_has_its_timeout(nginx_factory,
                                                            tmp_path):
    """Every command of the push connection's set-up answered in 60 % of
    timeout=: CLIENT ID, then CLIENT TRACKING and SUBSCRIBE are two round
    trips, each within timeout=: subscribed (redis9 first judged both under
    one timeout= from the connection's opening: never subscribed)."""
    fake = Fake(tmp_path)
    try:
        assert fake.control("FAKERESET", "SET outage:site Before",
                            "FAKEDELAY 1200 CLIENT").endswith(b"+OK\r\n")
        n = nginx_factory(CONF.format(port=fake.port, interval="2s",
                                      ping="30s", extra="")
                          .replace("timeout=1s", "timeout=2s")
                          .replace("connect_timeout=500ms",
                                   "connect_timeout=1s"), workers=1)
        wait_for(lambda: push_status(n)["state"] == "subscribed",
                 timeout=20 * LATENCY_FACTOR, what="subscribed")
        assert push_status(n)["failures"] == 0, push_status(n)
        assert push_lines(n) == []
    finally:
        fake.stop()
