"""Host names re-resolved through nginx's `resolver` (issue 14): after the
address of a name fails, the module asks the resolver again and follows the
name to its new address, as a managed Redis's endpoint does on failover.

A fake DNS server (tests/support/fake_dns.py) answers for "localhost", whose
address nginx's configuration-time lookup takes from /etc/hosts (127.0.0.1,
where nothing listens on the port used here); two redis-servers listen on
127.0.0.2 and 127.0.0.3 with that port.
"""

import os
import re
import socket
import subprocess
import time

import pytest

from harness import LATENCY_FACTOR, free_port, stop_pid, wait_for
from outage_fixtures import FakeDns

CONF = """
    {resolver}
    outage_redis localhost:{port} interval=300ms timeout=300ms
                 connect_timeout=300ms;
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        location / {{
            add_header X-Message $outage_message always;
            return 200 "ok\\n";
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""


class RedisAt:
    """A redis-server on ip:port, stopped by PID."""

    def __init__(self, tmp_path, ip, port):
        self.ip, self.port = ip, port
        d = os.path.join(str(tmp_path), "redis-" + ip)
        os.makedirs(d, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", ip, "--save", "",
             "--appendonly", "no", "--dir", d, "--logfile",
             os.path.join(d, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.cli("PING") == "PONG", what="redis on " + ip)

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-h", self.ip, "-p", str(self.port)]
                             + list(args), capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip()

    def stop(self):
        stop_pid(self.proc)


class Dns(FakeDns):
    """The fake DNS: localhost -> ip; None: localhost unknown (NXDOMAIN)."""

    def __init__(self, tmp_path, ip):
        super().__init__(tmp_path, {"localhost": ip} if ip else {})

    def set_ip(self, ip):
        self.set({"localhost": ip} if ip else {})


def start(tmp_path, nginx_factory, with_resolver, ip="127.0.0.2"):
    port = free_port()
    dns = Dns(tmp_path, ip)
    a = RedisAt(tmp_path, "127.0.0.2", port)
    b = RedisAt(tmp_path, "127.0.0.3", port)
    a.cli("SET", "outage:site", "from A")
    b.cli("SET", "outage:site", "from B")
    resolver = ("resolver 127.0.0.1:%d ipv6=off valid=1s; resolver_timeout 1s;"
                % dns.port) if with_resolver else ""
    n = nginx_factory(CONF.format(resolver=resolver, port=port))
    return n, dns, a, b, port


def message(n):
    return n.get("/")[1].get("x-message", "")


def test_failover_follows_the_name(nginx_factory, tmp_path):
    n, dns, a, b, port = start(tmp_path, nginx_factory, True)
    try:
        # the configuration-time address (127.0.0.1) fails: resolved again
        wait_for(lambda: message(n) == "from A", timeout=10 * LATENCY_FACTOR,
                 what="the name's address from the resolver")
        assert "(now 127.0.0.2:%d)" % port in n.log_text()

        # failover: the name moves, then the old primary goes away
        dns.set_ip("127.0.0.3")
        a.stop()
        wait_for(lambda: message(n) == "from B", timeout=10 * LATENCY_FACTOR,
                 what="the poller follows the name to 127.0.0.3")
        assert "(now 127.0.0.3:%d)" % port in n.log_text()

        # and pushes come from the new address too
        wait_for(lambda: n.log_text().count("pushes changes of") >= 1,
                 timeout=5, what="push")
        b.cli("SET", "outage:site", "B again")
        wait_for(lambda: message(n) == "B again", timeout=5, what="B again")
        assert n.bad_log_lines() == []
    finally:
        for x in (a, b, dns):
            x.stop()


def test_immediate_connect_failure_asks_the_name_again(nginx_factory,
                                                       tmp_path):
    """The name first resolves to 127.255.255.255, the loopback network's
    broadcast address: connect() fails at once there (ENETUNREACH, no
    packet sent), not later through the event loop.  That failure too must
    make the name be asked again (it was not: the poller stayed on the dead
    address until the next reload)."""
    n, dns, a, b, port = start(tmp_path, nginx_factory, True,
                               ip="127.255.255.255")

    def asked():
        with open(os.path.join(str(tmp_path), "dns.log")) as f:
            return f.read().count("localhost 1 -> ")

    try:
        wait_for(lambda: "connect failed: Network is unreachable"
                 in n.log_text(), timeout=10 * LATENCY_FACTOR,
                 what="an immediate failure at the name's first answer")
        before = asked()
        dns.set_ip("127.0.0.2")
        wait_for(lambda: message(n) == "from A", timeout=10 * LATENCY_FACTOR,
                 what="the name asked again after the immediate failure")
        assert asked() > before
        assert "(now 127.0.0.2:%d)" % port in n.log_text()
        assert n.bad_log_lines() == []
    finally:
        for x in (a, b, dns):
            x.stop()


def test_without_resolver_the_name_is_resolved_once(nginx_factory, tmp_path):
    n, dns, a, b, port = start(tmp_path, nginx_factory, False)
    try:
        wait_for(lambda: n.status_json()["redis"]["errors"] >= 5,
                 timeout=10 * LATENCY_FACTOR, what="failed polls")
        assert message(n) == ""                # never reached A or B
        assert "connect failed: Connection refused" in n.log_text()
        assert "(now " not in n.log_text()
        # the fake DNS was never asked
        with open(os.path.join(str(tmp_path), "dns.log")) as f:
            assert "localhost" not in f.read()
    finally:
        for x in (a, b, dns):
            x.stop()


def test_resolver_failure_is_logged_once(nginx_factory, tmp_path):
    """The name is unknown to the resolver: one line for that, one for the
    connection, however many retries; the known address is still tried;
    the name is asked again with a backoff (2 s, 4 s...), not at every
    failed poll (nginx's resolver logs an error per refused query)."""
    n, dns, a, b, port = start(tmp_path, nginx_factory, True, ip=None)

    def asked():
        with open(os.path.join(str(tmp_path), "dns.log")) as f:
            return f.read().count("localhost 1 -> NXDOMAIN")

    try:
        wait_for(lambda: asked() >= 2, timeout=10 * LATENCY_FACTOR,
                 what="the name asked again")
        errors = n.status_json()["redis"]["errors"]
        assert errors >= 8, errors      # a poll every 200 ms meanwhile
        assert asked() <= 3, asked()
        log = n.log_text()
        errors = [ln for ln in log.splitlines() if "[error]" in ln]
        assert len(errors) == 2, errors
        assert sum("cannot resolve the name: Host not found" in ln
                   for ln in errors) == 1, errors
        assert sum("connect failed: Connection refused" in ln
                   for ln in errors) == 1, errors
        assert "(now " not in log
    finally:
        for x in (a, b, dns):
            x.stop()


def test_ip_addresses_are_not_resolved(nginx_factory, tmp_path):
    """With a resolver, an address given as an IP is never sent to it."""
    port = free_port()
    dns = Dns(tmp_path, "127.0.0.2")
    try:
        n = nginx_factory(CONF.format(
            resolver="resolver 127.0.0.1:%d ipv6=off;" % dns.port,
            port=port).replace("localhost:", "127.0.0.1:"))
        wait_for(lambda: n.status_json()["redis"]["errors"] >= 5,
                 timeout=10 * LATENCY_FACTOR, what="failed polls")
        errors = [ln for ln in n.log_text().splitlines() if "[error]" in ln]
        assert len(errors) == 1, errors
        assert "connect failed: Connection refused" in errors[0]
        with open(os.path.join(str(tmp_path), "dns.log")) as f:
            assert f.read() == ""
    finally:
        dns.stop()


HOLE_CONF = """
    resolver 127.0.0.1:%d ipv6=off valid=1s; resolver_timeout 8s;
    outage_redis localhost:%d interval=300ms timeout=300ms
                 connect_timeout=300ms push=off;
    server {
        listen 127.0.0.1:{port} reuseport;
        location / {
            add_header X-Message $outage_message always;
            return 200 "ok\\n";
        }
        location = /outage/status { outage_status; }
    }
"""


def test_a_silent_resolver_does_not_stop_polling(nginx_factory, redis):
    """The resolver never answers (8 s resolver_timeout): after the poll
    link drops, polling goes on at the address known meanwhile (it stopped
    until the lookup timed out)."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    try:
        n = nginx_factory(HOLE_CONF % (hole.getsockname()[1], redis.port),
                          workers=1)
        wait_for(lambda: n.status_json()["redis"]["up"], what="first poll")
        redis.cli("CLIENT", "KILL", "TYPE", "normal")
        redis.cli("SET", "outage:site", "during the lookup")
        t0 = time.monotonic()
        wait_for(lambda: n.get("/")[1].get("x-message") == "during the lookup",
                 timeout=20, interval=0.05, what="change seen")
        took = time.monotonic() - t0
        assert took < 3 * LATENCY_FACTOR, took
    finally:
        hole.close()


# nginx -t: a resolver that outage_redis does not use is said, not guessed
WARNING = ('[warn]', '"outage_redis" localhost:6379: a "resolver" in a server '
           'or location is not used for it, the name is resolved only when '
           'the configuration is read; set "resolver" at the http level to '
           'follow its address')

RESOLVER_CONF = """
    {http}
    outage_redis {addr};
    server {{
        listen 127.0.0.1:{{port}};
        {server}
        location / {{
            {location}
            location /inner/ {{ {inner} return 200; }}
        }}
        location ~ ^/re/ {{ {regex} return 200; }}
        location @named {{ {named} return 200; }}
    }}
    server {{
        listen 127.0.0.1:{{port}};
        server_name other;
    }}
"""

RES = "resolver 127.0.0.1:53 ipv6=off;"


@pytest.mark.parametrize("where,addr,warned", [
    ("server", "localhost:6379", True),
    ("location", "localhost:6379", True),
    ("inner", "localhost:6379", True),
    ("regex", "localhost:6379", True),
    ("named", "localhost:6379", True),
    ("http", "localhost:6379", False),          # used: nothing to say
    ("server http", "localhost:6379", False),
    ("server", "127.0.0.1:6379", False),        # no name to resolve
    ("server", "unix:/tmp/redis.sock", False),
    ("none", "localhost:6379", False),          # resolved once, by choice
])
def test_resolver_only_in_a_server_is_a_warning(nginx_factory, where, addr,
                                                warned):
    parts = {k: (RES if k in where.split() else "")
             for k in ("http", "server", "location", "inner", "regex",
                       "named")}
    n = nginx_factory(RESOLVER_CONF.format(addr=addr, **parts), start=False)
    ok, out = n.test_config()
    assert ok, out
    lines = [ln for ln in out.splitlines() if "outage_redis" in ln]
    if warned:
        assert len(lines) == 1, out
        assert WARNING[0] in lines[0] and WARNING[1] in lines[0], out
        # at the line of outage_redis, not at the end of http{}
        line = int(re.search(r" in \S+nginx\.conf:(\d+)$", lines[0]).group(1))
        with open(os.path.join(n.dir, "nginx.conf")) as f:
            conf_lines = f.read().splitlines()
        assert "outage_redis " in conf_lines[line - 1], (line, out)
    else:
        assert lines == [], out
