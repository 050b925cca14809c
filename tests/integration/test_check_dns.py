"""A dependency's DNS failure must not stop nginx (review s5 item 5).

An outage_check or outage_redis host name that does not resolve when the
configuration is read is a warning, not an error: nginx starts and reloads,
the check fails its probes with kind "dns" (the dependency really is
unreachable for us), and with nginx's `resolver` the name is resolved again
at run time (never by curl), so that it recovers when the name resolves and
follows addresses that move.

Names under ".invalid" never resolve through the system (RFC 6761), so the
configuration-time lookup fails; the fake DNS (tests/support/fake_dns.py),
used as nginx's `resolver`, answers for them once a test says so.  The
backend listens on 127.0.0.1 only: 127.0.0.2 on its port refuses.
"""

import os
import socket
import time

from harness import LATENCY_FACTOR, wait_for
from outage_fixtures import FakeDns as Dns

T = 10 * LATENCY_FACTOR

SERVER = """
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        location / {{
            add_header X-Message $outage_message always;
            return 200 "ok\\n";
        }}
        location /payments/ {{
            # no content of its own: 404 unless the page answers (a
            # "return" would answer before the page is decided)
            outage_page payments;
            add_header X-State $outage_state always;
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""

# a second, healthy check: one failing check alone would trip the
# all-checks-failing guard, which suspects the prober's own network
CHECKS = """
    {resolver}
    outage_check payments http://{host}:{hp}/health interval=200ms
                 timeout=150ms fall=2 rise=2;
    outage_check checkout http://127.0.0.1:{hp}/health interval=200ms
                 timeout=150ms;
"""


def conf(backend, host, resolver=""):
    return CHECKS.format(resolver=resolver, host=host,
                         hp=backend.health_port) + SERVER.format()


def check(n):
    return n.status_json()["checks"][0]


def scope(n, name="payments"):
    for s in n.status_json()["scopes"]:
        if s["name"] == name:
            return s
    raise AssertionError("no scope %s" % name)


def test_unresolvable_check_host_starts_reloads_and_pages(nginx_factory,
                                                          backend):
    """Without a resolver: nginx -t warns, nginx starts and reloads, the
    check goes down with kind dns and the page shows."""
    n = nginx_factory(conf(backend, "payments.invalid"), start=False)
    ok, out = n.test_config()
    assert ok, out
    assert ('[warn] "outage_check": host "payments.invalid" of '
            '"http://payments.invalid:%d/health" does not resolve now'
            % backend.health_port) in out, out
    assert 'reports "cannot resolve payments.invalid" (kind dns)' in out
    assert ('without an http-level "resolver" a check\'s host name is '
            'resolved only when the configuration is read') in out
    assert "nginx.conf:" in out

    n.start()
    wait_for(lambda: check(n)["health"] == "down", timeout=T,
             what="check down by dns")
    c = check(n)
    assert c["error_kind"] == "dns", c
    assert scope(n)["reason"].startswith(
        "check: cannot resolve payments.invalid"), scope(n)
    st, h, body = n.get("/payments/")
    assert st == 503 and h["x-state"] == "down", (st, h)
    # the healthy check is up: the guard did not hide the outage
    assert n.status_json()["checks"][1]["health"] == "up"
    assert 'check "payments" (#0) is down: check: cannot resolve ' \
           'payments.invalid' in n.log_text()

    # a reload is not refused, and the check stays down through it
    pids = set(n.worker_pids())
    n.reload()
    wait_for(lambda: not (set(n.worker_pids()) & pids), timeout=T,
             what="new workers")
    assert check(n)["health"] == "down"
    assert n.get("/payments/")[0] == 503


def test_resolver_brings_the_check_up_when_the_name_resolves(
        nginx_factory, backend, tmp_path):
    dns = Dns(tmp_path)
    try:
        n = nginx_factory(conf(backend, "payments.invalid", dns.resolver()),
                          start=False)
        ok, out = n.test_config()
        assert ok, out
        assert ('reports "cannot resolve payments.invalid" (kind dns) until '
                'the resolver finds it') in out, out

        n.start()
        wait_for(lambda: check(n)["health"] == "down", timeout=T,
                 what="check down: NXDOMAIN")
        assert check(n)["error_kind"] == "dns"
        assert scope(n)["reason"] == \
            "check: cannot resolve payments.invalid: Host not found"
        assert n.get("/payments/")[0] == 503

        dns.set({"payments.invalid": "127.0.0.1"})
        wait_for(lambda: check(n)["health"] == "up", timeout=T,
                 what="check up once the name resolves")
        assert n.get("/payments/")[0] == 404
        assert '"payments.invalid" resolves again' in n.log_text()
        with open(os.path.join(str(tmp_path), "dns.log")) as f:
            assert "payments.invalid" in f.read()
    finally:
        dns.stop()


def test_resolver_follows_an_address_that_moves(nginx_factory, backend,
                                                tmp_path):
    """"localhost" resolves at configuration time (127.0.0.1, /etc/hosts);
    the resolver then moves it to 127.0.0.2 (nothing listens): the probe
    must follow, not keep using the old address or its kept-alive
    connection."""
    dns = Dns(tmp_path, {"localhost": "127.0.0.1"})
    try:
        n = nginx_factory(conf(backend, "localhost", dns.resolver()))
        wait_for(lambda: check(n)["health"] == "up", timeout=T, what="up")
        dns.set({"localhost": "127.0.0.2"})
        wait_for(lambda: check(n)["health"] == "down", timeout=T,
                 what="down at the new address")
        assert check(n)["error_kind"] == "refused"
        dns.set({"localhost": "127.0.0.1"})
        wait_for(lambda: check(n)["health"] == "up", timeout=T,
                 what="up again at the old address")
        assert "localhost:%d:127.0.0.2" % backend.health_port \
            in n.log_text()
    finally:
        dns.stop()


def test_several_addresses_in_any_order_are_one_answer(nginx_factory,
                                                       backend, tmp_path):
    """nginx's resolver rotates a name's addresses at each answer: the same
    set is not a move (no log line per probe)."""
    dns = Dns(tmp_path, {"localhost": "127.0.0.2 127.0.0.1 127.0.0.3"})
    try:
        n = nginx_factory(conf(backend, "localhost", dns.resolver()))
        wait_for(lambda: check(n)["health"] == "up", timeout=T, what="up")
        probes = check(n)["probes"]
        wait_for(lambda: check(n)["probes"] >= probes + 8, timeout=T,
                 what="more probes")
        # /etc/hosts gave 127.0.0.1 at start: the set moves once, then the
        # same set in any order is no move
        entry = "localhost:%d:127.0.0.1,127.0.0.2,127.0.0.3" \
            % backend.health_port
        assert n.log_text().count("localhost:%d:" % backend.health_port) \
            == 1 and entry in n.log_text(), n.log_text()[-3000:]
        assert check(n)["health"] == "up"
    finally:
        dns.stop()


def test_many_addresses_one_probed_never_frozen(nginx_factory, backend,
                                                tmp_path):
    """20 addresses, the backend on the lowest only (the others refuse):
    curl gets the 8 lowest of ALL of them, sorted, whatever the rotation,
    so the check is up, keeps probing, and one address line is logged
    (review items 2 and 3: 8 addresses froze the check with a probe in
    flight; a different window of 8 was logged at each probe)."""
    addrs = " ".join("127.0.0.%d" % i for i in range(20, 0, -1))
    dns = Dns(tmp_path, {"localhost": addrs})
    try:
        n = nginx_factory(conf(backend, "localhost", dns.resolver()))
        wait_for(lambda: check(n)["health"] == "up", timeout=T, what="up")
        probes = check(n)["probes"]
        wait_for(lambda: check(n)["probes"] >= probes + 15, timeout=T,
                 what="probes go on")
        c = check(n)
        assert c["health"] == "up", c
        log = n.log_text()
        # /etc/hosts gave 127.0.0.1 at start: the set moves once
        assert log.count("localhost:%d:" % backend.health_port) == 1, \
            log[-3000:]
        assert "localhost:%d:%s" % (backend.health_port, ",".join(
            "127.0.0.%d" % i for i in range(1, 9))) in log
    finally:
        dns.stop()


def test_a_failing_resolver_keeps_the_known_address(nginx_factory, backend,
                                                    tmp_path):
    """A resolver that stops answering says nothing about the dependency:
    the address known before is probed, the check stays up, one log line."""
    dns = Dns(tmp_path, {"localhost": "127.0.0.1"})
    try:
        n = nginx_factory(conf(backend, "localhost", dns.resolver()))
        wait_for(lambda: check(n)["health"] == "up", timeout=T, what="up")
        dns.stop()
        wait_for(lambda: "probing the addresses known before"
                 in n.log_text(), timeout=T, what="resolver failure logged")
        probes = check(n)["probes"]
        wait_for(lambda: check(n)["probes"] >= probes + 10, timeout=T,
                 what="more probes")
        assert check(n)["health"] == "up"
        assert check(n)["failures"] == 0
        assert n.log_text().count("probing the addresses known before") == 1
        # a failed resolver is asked again after 2 s, 4 s...: not at each
        # of the 10 probes (nginx logs every failed query)
        asked = n.log_text().count("while resolving")
        assert 1 <= asked <= 4, asked
    finally:
        dns.stop()


def test_a_silent_resolver_does_not_hold_probes_up(nginx_factory, backend):
    """A resolver that never answers (resolver_timeout 30s): with addresses
    known, each probe waits at most its own timeout for the answer, then
    probes them; probes keep their pace."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        resolver = ("resolver 127.0.0.1:%d ipv6=off; resolver_timeout 30s;"
                    % silent.getsockname()[1])
        n = nginx_factory(conf(backend, "localhost", resolver))
        wait_for(lambda: check(n)["probes"] >= 1, timeout=T, what="probe")
        probes = check(n)["probes"]
        # at 200 ms + 150 ms of waiting: about 15 in 5 s; 1 if each waited
        wait_for(lambda: check(n)["probes"] >= probes + 5, timeout=5,
                 what="probes at their pace")
        assert check(n)["health"] == "up"
        assert n.log_text().count("probing the addresses known before") == 1
    finally:
        silent.close()


def test_ip_urls_never_ask_the_resolver(nginx_factory, backend, tmp_path):
    dns = Dns(tmp_path)
    try:
        n = nginx_factory(conf(backend, "127.0.0.1", dns.resolver()))
        wait_for(lambda: check(n)["probes"] >= 3, timeout=T, what="probes")
        assert check(n)["health"] == "up"
        with open(os.path.join(str(tmp_path), "dns.log")) as f:
            assert f.read() == ""
    finally:
        dns.stop()


def test_a_name_found_at_start_survives_no_such_name(nginx_factory,
                                                     backend, tmp_path):
    """ "localhost" comes from /etc/hosts when the configuration is read;
    nginx's resolver (which reads no /etc/hosts) says "no such name": the
    address known is probed, the check stays up, one log line (review
    item 1)."""
    dns = Dns(tmp_path)             # localhost: NXDOMAIN
    try:
        n = nginx_factory(conf(backend, "localhost", dns.resolver()))
        wait_for(lambda: check(n)["probes"] >= 3, timeout=T, what="probes")
        probes = check(n)["probes"]
        wait_for(lambda: check(n)["probes"] >= probes + 8, timeout=T,
                 what="more probes")
        c = check(n)
        assert c["health"] == "up" and c["failures"] == 0, c
        assert scope(n)["state"] != "down", scope(n)
        assert n.get("/payments/")[0] == 404
        assert n.log_text().count("probing the addresses known before") \
            == 1, n.log_text()[-3000:]
    finally:
        dns.stop()


def test_numeric_forms_are_addresses_not_names(nginx_factory, backend,
                                               tmp_path):
    """ "127.1" is 127.0.0.1 to the C library and curl, though not to
    nginx's ngx_inet_addr(): never sent to the resolver (review item 1)."""
    dns = Dns(tmp_path)
    try:
        n = nginx_factory(conf(backend, "127.1", dns.resolver()))
        wait_for(lambda: check(n)["probes"] >= 4, timeout=T, what="probes")
        c = check(n)
        assert c["health"] == "up" and c["failures"] == 0, c
        with open(os.path.join(str(tmp_path), "dns.log")) as f:
            assert f.read() == ""
    finally:
        dns.stop()


REDIS_CONF = """
    {resolver}
    outage_redis redis.invalid:{port} interval=200ms timeout=300ms
                 connect_timeout=300ms;
""" + SERVER


def test_redis_name_unresolvable_at_start(nginx_factory, redis, tmp_path):
    # without a resolver: an error that says what to do
    n0 = nginx_factory(REDIS_CONF.format(resolver="", port=redis.port),
                       start=False)
    ok, out = n0.test_config()
    assert not ok
    assert ('"outage_redis": host "redis.invalid:%d" not found, and without '
            'an http-level "resolver" it is never resolved again: add '
            '"resolver"' % redis.port) in out, out

    dns = Dns(tmp_path)
    try:
        n = nginx_factory(REDIS_CONF.format(resolver=dns.resolver(),
                                            port=redis.port), start=False)
        ok, out = n.test_config()
        assert ok, out
        assert ('"outage_redis": host "redis.invalid:%d" does not resolve '
                'now' % redis.port) in out, out

        n.start()
        redis.cli("SET", "outage:site", "from redis")
        wait_for(lambda: n.status_json()["redis"]["errors"] >= 2, timeout=T,
                 what="failed polls while the name does not resolve")
        assert n.get("/")[1].get("x-message", "") == ""

        dns.set({"redis.invalid": "127.0.0.1"})
        wait_for(lambda: n.get("/")[1].get("x-message") == "from redis",
                 timeout=4 * T, what="polls once the name resolves")
    finally:
        dns.stop()


# ---- a probe lasts at most its timeout=, the resolution included ----------

def test_a_silent_resolver_fails_an_unknown_name_within_the_timeout(
        nginx_factory, backend, tmp_path):
    """A resolver that never answers (resolver_timeout 30s) and a name with
    no address known: each probe fails with kind dns within its own
    timeout= (the resolver gets half of it), not after resolver_timeout,
    and the worker serves requests meanwhile (brief s6 items 4 and 5; on
    d061b66 the first probe waited 30 s)."""
    dns = Dns(tmp_path, {"payments.invalid": "silent"})
    slowest = [0.0]

    def down():
        t = time.monotonic()
        assert n.get("/")[0] == 200
        slowest[0] = max(slowest[0], time.monotonic() - t)
        return check(n)["health"] == "down"

    try:
        n = nginx_factory(conf(backend, "payments.invalid",
                               dns.resolver(timeout="30s")), workers=1)
        start = time.monotonic()
        # fall=2 probes every 200 ms, each failing within 150 ms
        wait_for(down, timeout=5 * LATENCY_FACTOR, what="down by dns")
        took = time.monotonic() - start
        c = check(n)
        assert c["error_kind"] == "dns", c
        assert scope(n)["reason"] == (
            "check: cannot resolve payments.invalid: Operation timed out")
        assert took < 3 * LATENCY_FACTOR, took
        assert slowest[0] < 1.0 * LATENCY_FACTOR, slowest
        assert "payments.invalid 1 -> (silent)" in dns.log()
    finally:
        dns.stop()


def test_a_probe_lasts_at_most_its_timeout_with_a_silent_resolver(
        nginx_factory, backend, tmp_path):
    """A name known from the configuration ("localhost"), a resolver that
    never answers, a target that hangs: the probe (resolver wait + curl)
    ends within timeout=1s, not 1 s of resolver wait plus 1 s of curl
    (2 s on d061b66), and its latency counts the resolver wait."""
    dns = Dns(tmp_path, {"localhost": "silent"})
    backend.set_health("hang")
    try:
        n = nginx_factory(dns.resolver(timeout="30s") + """
    outage_check payments http://localhost:%d/health interval=4s
                 timeout=1s fall=1 rise=1;
""" % backend.health_port + SERVER.format(), workers=1)
        asked = wait_for(lambda: "localhost 1 -> (silent)" in dns.log()
                         and time.monotonic(), timeout=T, interval=0.005,
                         what="the first probe asks the resolver")
        done = wait_for(lambda: check(n)["probes"] >= 1 and time.monotonic(),
                        timeout=T, interval=0.005, what="the first probe")
        c = check(n)
        assert c["last_error"] == "timed out after 1000 ms", c
        assert done - asked < 1.0 + 0.4 * LATENCY_FACTOR, done - asked
        assert 900 <= c["latency_ms"] <= 1000 + 400 * LATENCY_FACTOR, c
    finally:
        dns.stop()
