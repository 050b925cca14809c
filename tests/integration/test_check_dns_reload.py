"""A DNS failure at the moment of a reload must not page a healthy
dependency until the next reload (audit A2 F2).

Without an http-level `resolver` a check's host name is resolved only when
the configuration is read.  A reload during a resolver hiccup (certbot's
nightly reload, a config-management run) used to leave a check that had
addresses with none: every probe failed "cannot resolve" and the scope was
paged until someone reloaded again.  The check keeps probing the addresses
it had, and says so once; a check that never had addresses still fails
"cannot resolve" as documented.

nginx runs in a mount namespace of its own (tests/support/nginx_hosts_ns.sh)
with a private /etc/hosts the test rewrites in place; the host's file is
never touched.  Names under ".invalid" never resolve through DNS (RFC
6761): only that hosts file makes this one resolve.
"""

import os
import shutil
import time

import pytest

import harness
from harness import LATENCY_FACTOR, SUPPORT, wait_for

T = 10 * LATENCY_FACTOR

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare(1) for a private /etc/hosts")

SERVER = """
    server {
        listen 127.0.0.1:{port} reuseport;
        location / { return 200 "ok\\n"; }
        # no content of its own: 404 unless the page answers (a "return"
        # would answer before the page is decided)
        location /payments/ { outage_page payments; }
        location = /outage/status { outage_status; }
    }
"""

# a second healthy check keeps the all-checks-failing guard out of it
CHECKS = """
    outage_check payments http://payments.dns.invalid:%d/pay-health
                 interval=300ms timeout=200ms fall=2 rise=2;
    outage_check checkout http://127.0.0.1:%d/health interval=300ms
                 timeout=200ms;
"""

GOOD = "127.0.0.1 localhost\n::1 localhost\n127.0.0.1 payments.dns.invalid\n"
GONE = "127.0.0.1 localhost\n::1 localhost\n"

KEPT = ('"payments.dns.invalid" did not resolve when the configuration was '
        'read; probing the addresses the check had before: 127.0.0.1')


def write_in_place(path, text):
    # the same inode: the bind mount goes on showing this file
    with open(path, "r+") as f:
        f.seek(0)
        f.write(text)
        f.truncate()


@pytest.fixture
def hosts_nginx(nginx_factory, backend, tmp_path, monkeypatch):
    """make(hosts_text) -> nginx with CHECKS, whose /etc/hosts is the
    returned path's file."""
    hosts = str(tmp_path / "hosts")
    monkeypatch.setenv("OUTAGE_HOSTS", hosts)
    monkeypatch.setattr(harness, "NGINX",
                        os.path.join(SUPPORT, "nginx_hosts_ns.sh"))

    def make(text):
        backend.set_health("ok", path="/pay-health")
        with open(hosts, "w") as f:
            f.write(text)
        hp = backend.health_port
        return nginx_factory(CHECKS % (hp, hp) + SERVER, workers=1), hosts

    return make


def payments(n):
    return n.status_json()["checks"][0]


def scope(n):
    return [s for s in n.status_json()["scopes"]
            if s["name"] == "payments"][0]


def test_dns_blip_at_reload_keeps_the_addresses(hosts_nginx):
    n, hosts = hosts_nginx(GOOD)
    wait_for(lambda: payments(n)["health"] == "up", timeout=T,
             what="payments up")

    # the name does not resolve for the moment of one reload only
    write_in_place(hosts, GONE)
    n.reload()
    write_in_place(hosts, GOOD)
    assert ('host "payments.dns.invalid" of "http://payments.dns.invalid:'
            in n.log_text())

    # healthy and resolvable all along: 10 probes after the blip ended
    probes = payments(n)["probes"]
    wait_for(lambda: payments(n)["probes"] >= probes + 10, timeout=T,
             what="10 probes after the blip")
    c = payments(n)
    assert c["health"] == "up" and c["failures"] == 0, c
    assert scope(n)["state"] != "down", scope(n)
    assert n.get("/payments/")[0] == 404
    assert n.log_text().count(KEPT) == 1, n.log_text()[-3000:]
    assert '"payments" (#0) is down' not in n.log_text()

    # a second reload during a blip keeps them too (this configuration's
    # probes kept them again), and one that resolves the name ends it
    write_in_place(hosts, GONE)
    n.reload()
    write_in_place(hosts, GOOD)
    probes = payments(n)["probes"]
    wait_for(lambda: payments(n)["probes"] >= probes + 4, timeout=T,
             what="probes after the second blip")
    assert payments(n)["health"] == "up", payments(n)
    assert n.log_text().count(KEPT) == 2
    n.reload()
    probes = payments(n)["probes"]
    wait_for(lambda: payments(n)["probes"] >= probes + 4, timeout=T,
             what="probes after a reload that resolves the name")
    assert payments(n)["health"] == "up", payments(n)
    assert n.log_text().count(KEPT) == 2


def test_the_kept_addresses_are_evidence(hosts_nginx, backend):
    """Kept addresses are probed, not a pass by default: a dependency that
    fails there is paged for what it answers, not for its name."""
    n, hosts = hosts_nginx(GOOD)
    wait_for(lambda: payments(n)["health"] == "up", timeout=T,
             what="payments up")
    write_in_place(hosts, GONE)
    n.reload()
    backend.set_health("500", path="/pay-health")
    wait_for(lambda: payments(n)["health"] == "down", timeout=T,
             what="down by what the kept address answers")
    c = payments(n)
    assert c["error_kind"] != "dns" and c["last_status"] == 500, c
    assert KEPT in n.log_text()


def test_a_name_that_never_resolved_fails_until_a_reload_finds_it(
        hosts_nginx):
    """The first start with the name gone: nothing is kept, the check fails
    "cannot resolve" through a reload that does not find it either, and
    comes up at the reload that does."""
    n, hosts = hosts_nginx(GONE)
    wait_for(lambda: payments(n)["health"] == "down", timeout=T,
             what="down by dns")
    assert payments(n)["error_kind"] == "dns"
    assert scope(n)["reason"] == ("check: cannot resolve payments.dns."
                                  "invalid: not found when the configuration "
                                  "was read"), scope(n)
    assert n.get("/payments/")[0] == 503

    n.reload()
    probes = payments(n)["probes"]
    wait_for(lambda: payments(n)["probes"] >= probes + 3, timeout=T,
             what="probes after the reload")
    assert payments(n)["health"] == "down"
    assert payments(n)["error_kind"] == "dns"
    assert "probing the addresses the check had before" not in n.log_text()

    write_in_place(hosts, GOOD)
    n.reload()
    wait_for(lambda: payments(n)["health"] == "up", timeout=T,
             what="up once a reload finds the name")
    assert n.get("/payments/")[0] == 404


def test_a_check_back_after_long_has_no_kept_addresses(hosts_nginx, backend):
    """review s11 R3 F2: a check taken out of the configuration for longer
    than its state is carried starts fresh, addresses included: its old
    address may belong to someone else by now."""
    n, hosts = hosts_nginx(GOOD)
    wait_for(lambda: payments(n)["health"] == "up", timeout=T,
             what="payments up")
    hp = backend.health_port
    only_checkout = CHECKS.split("outage_check checkout")[1]
    n.write_conf("outage_check checkout" + only_checkout % hp + SERVER)
    n.reload()
    # longer than a state is carried (NGX_HTTP_OUTAGE_CARRY_MIN, 10 s): the
    # time itself is the condition
    time.sleep(12)
    # the name is gone; its old address still answers 200
    write_in_place(hosts, GONE)
    n.write_conf(CHECKS % (hp, hp) + SERVER)
    n.reload()
    wait_for(lambda: payments(n)["health"] == "down", timeout=T,
             what="payments down: its name does not resolve")
    assert payments(n)["error_kind"] == "dns", payments(n)
    assert KEPT not in n.log_text()
