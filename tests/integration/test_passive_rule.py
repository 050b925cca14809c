"""What traffic evidence may take a check down WITHOUT a confirming probe
(review s6/A items 1, 3, 8 and 11), with real nginx, a real resolver
(tests/support/fake_dns.py), real backends and real traffic:

- "cannot resolve" pages directly only for a name this nginx saw answering
  through the check, when it is the only name seen (a constant upstream
  name) or the check's own host; a name built from request data (a bogus
  Host, a map that passes a header through, a name that answered once
  among others) asks for a probe, which passes;
- a refused peer pages directly only when a check of the scope probes that
  very host:port; another port of a probed host (an image proxy next to
  the shop, or the application behind a probed management port: review
  s8/R1 HIGH 1) and a dead secondary upstream on another host (127.0.0.3)
  ask for a probe; the log lines name the peer (the status endpoint shows
  no addresses);
- nginx's "no live upstreams" (peers marked failed by read timeouts) is its
  own class and asks for a probe, unless it follows refusals of the
  check's own dependency with no answer since;
- a passive take-down that Redis' "ok" keeps silent logs at warn with the
  probe path's "; silenced: ..." suffix.
"""

import threading

import pytest

from harness import Redis, free_port, wait_for
from outage_fixtures import FakeDns
from passive_helpers import (App, PASSIVE_MIN, PASSIVE_WINDOW, app,  # noqa: F401
                             checks_of, down_lines, hammer_until,
                             hammer_until_paged, lines, resolver, scope,
                             serve, server, stop_server, wait_up)

PASSES = r"passive failures were seen \(upstream %s\) but the probe passes"


@pytest.fixture
def app2():
    a = App()
    yield a
    a.stop()


def never_down_while(n, name, send, done, deadline, what):
    """Sends requests until done(); the scope must never be down."""
    wait_for(lambda: (send(), scope(n, name)["state"] == "down" or done())[1],
             timeout=deadline, what=what)
    assert scope(n, name)["state"] != "down", (scope(n, name), checks_of(n))
    assert down_lines(n) == [], down_lines(n)


# ---- item 1: a name that comes from the request ---------------------------

@pytest.mark.parametrize("how", ["host", "map"])
def test_visitor_chosen_upstream_name_never_pages(nginx_factory, tmp_path,
                                                  app, how):
    dns = FakeDns(tmp_path, {"acme.shop.test": "127.0.0.1"})
    if how == "host":
        upstream, header = "$host.shop.test", "Host"
        extra = ""
    else:
        # a map whose default passes the request's value through
        upstream, header = "$tenant.shop.test", "X-Tenant"
        extra = "map $http_x_tenant $tenant { default $http_x_tenant; }\n"
    try:
        conf = (resolver(dns, valid="30s") + extra
                + "outage_check shop http://127.0.0.1:%d/health "
                  "interval=1s timeout=500ms fall=2 rise=2;\n" % app.port
                + server("""
        location / {
            outage_page shop;
            proxy_pass http://%s:%d;
        }""" % (upstream, app.port)))
        n = nginx_factory(conf, workers=1)
        wait_up(n)
        assert n.get("/", headers={header: "acme"})[0] == 200

        sent = [0]

        def bogus():
            sent[0] += 1
            st = n.get("/", headers={header: "nosuch%d" % sent[0]})[0]
            assert st in (502, 503), st

        never_down_while(
            n, "shop", bogus,
            lambda: lines(n, PASSES % r"502 \(cannot resolve\)"),
            PASSIVE_WINDOW + 15, "the confirming probe's verdict")
        assert sent[0] >= PASSIVE_MIN
        assert checks_of(n)[0]["passive_failures"] >= PASSIVE_MIN
        assert n.get("/", headers={header: "acme"})[0] == 200
    finally:
        dns.stop()


def test_name_seen_once_then_unresolvable_never_pages(nginx_factory,
                                                      tmp_path, app):
    # review s7/R1 #4: a catch-all host-routing server.  An attacker points
    # its own domain at the site, sends one request (any answer records
    # the name), deletes the record and sends a burst: one of several
    # request-chosen names failing is about that name, not the dependency.
    # The confirming probe passes: no tenant is paged
    dns = FakeDns(tmp_path, {"acme.test": "127.0.0.1",
                             "evil.test": "127.0.0.1"})
    try:
        conf = ("resolver 127.0.0.1:%d ipv6=off valid=1s;\n"
                "resolver_timeout 1s;\n"
                "outage_check shop http://127.0.0.1:%d/health "
                "interval=1s timeout=500ms fall=2 rise=2;\n"
                % (dns.port, app.port)) + server("""
        location / {
            outage_page shop;
            proxy_pass http://$host:%d;
        }""" % app.port)
        n = nginx_factory(conf, workers=1)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=10)
        assert n.get("/", headers={"Host": "acme.test"})[0] == 200
        assert n.get("/", headers={"Host": "evil.test"})[0] == 200
        dns.set({"acme.test": "127.0.0.1"})
        # nginx's cache (valid=1s) lets go of evil.test
        wait_for(lambda: n.get("/", headers={"Host": "evil.test"})[0]
                 in (502, 503), timeout=10, what="evil.test unresolvable")

        def evil():
            st = n.get("/", headers={"Host": "evil.test"})[0]
            assert st in (502, 503), st

        never_down_while(
            n, "shop", evil,
            lambda: lines(n, PASSES % r"502 \(cannot resolve\)"),
            PASSIVE_WINDOW + 15, "the confirming probe's verdict")
        assert n.get("/", headers={"Host": "acme.test"})[0] == 200
    finally:
        dns.stop()


def test_dead_app_behind_a_runtime_name_pages(nginx_factory, tmp_path, app):
    # review s7/R1 #7: the check probes the application by a name only
    # nginx's resolver knows (service discovery), the traffic goes to its
    # address.  The peer is matched against the addresses the probes were
    # handed at run time, as with a check by address: when the
    # application dies, paged directly (before the probes reach fall)
    dns = FakeDns(tmp_path, {"app.test": "127.0.0.1"})
    try:
        conf = ("resolver 127.0.0.1:%d ipv6=off valid=1s;\n"
                "resolver_timeout 1s;\n"
                "outage_check shop http://app.test:%d/health "
                "interval=3s timeout=500ms fall=3 rise=2;\n"
                % (dns.port, app.port)) + server("""
        location / {
            outage_page shop;
            proxy_pass http://127.0.0.1:%d;
        }""" % app.port)
        n = nginx_factory(conf, workers=1)
        wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=10)
        assert n.get("/x")[0] == 200
        app.stop()
        hammer_until(n, "/x", lambda: scope(n, "shop")["state"] == "down",
                     PASSIVE_WINDOW + 8, "no page")
        assert scope(n, "shop")["reason"] in (
            "passive: upstream 502 (cannot connect)",
            "passive: upstream 502 (cannot connect); check: "
            "connection refused"), scope(n, "shop")
        assert lines(n, r"\); peer: 127\.0\.0\.1:%d" % app.port)
    finally:
        dns.stop()


def test_dead_optional_service_on_the_shop_host_never_pages(nginx_factory):
    # review s8/R1 HIGH 1: one box, the shop's application on 127.0.0.1:A
    # (probed, serving every page) and an image proxy on 127.0.0.1:D (not
    # checked) under the server-level outage_page.  The image proxy dies;
    # visitors load pages of 12 thumbnails: the refusals of another port
    # of the probed address are not the shop's, nothing is paged (c9200e5
    # paged the whole shop at once).  The shop's own traffic reaches the
    # probed host:port, so they count for no check: no confirming probe,
    # one [warn] naming the peer (guard9; before, a probe that passed)
    shop = serve("127.0.0.1")
    try:
        dead = free_port()
        conf = ("outage_check shop http://127.0.0.1:%d/health "
                "interval=1s timeout=500ms fall=3 rise=2;\n"
                % shop.server_address[1]) + server("""
        outage_page shop;
        location / { proxy_pass http://127.0.0.1:%d; }
        location /img/ { proxy_pass http://127.0.0.1:%d; }
        """ % (shop.server_address[1], dead))

        def visitor():
            assert n.get("/product/1")[0] == 200
            for i in range(12):
                n.get("/img/%d.jpg" % i)

        n = nginx_factory(conf, workers=2)
        wait_up(n)
        never_down_while(
            n, "shop", visitor,
            lambda: lines(n, r"upstream 502 \(cannot connect\); peer: "
                             r"127\.0\.0\.1:%d under a location paging "
                             r"\"shop\": no check of these scopes probes "
                             r"that host:port, so it counts for no check"
                             % dead),
            PASSIVE_WINDOW + 15, "the line of the evidence charged to none")
        assert not lines(n, r"probing now to confirm")
        assert checks_of(n)[0]["passive_failures"] == 0
        for _ in range(3):
            visitor()
        assert scope(n, "shop")["state"] == "ok", n.status_json()
        assert down_lines(n) == []
    finally:
        stop_server(shop)


# ---- item 3: a refused peer that no check probes --------------------------

def test_dead_secondary_upstream_on_another_host_never_pages(nginx_factory,
                                                             tmp_path, app):
    # "outage_page shop" for the whole server; /widgets/ proxies to an
    # optional service on another host (127.0.0.3) that is down
    dead = free_port()
    conf = ("outage_check shop http://127.0.0.1:%d/health "
            "interval=1s timeout=500ms fall=2 rise=2;\n" % app.port) + server(
        """
        outage_page shop;
        location / { proxy_pass http://127.0.0.1:%d; }
        location /widgets/ { proxy_pass http://127.0.0.3:%d/; }""" % (
            app.port, dead))
    n = nginx_factory(conf, workers=1)
    wait_up(n)

    never_down_while(
        n, "shop", lambda: n.get("/widgets/poll"),
        lambda: lines(n, PASSES % r"502 \(cannot connect\)"),
        PASSIVE_WINDOW + 15, "the confirming probe's verdict")
    assert lines(n, r"probing now to confirm; peer: 127\.0\.0\.3:%d" % dead)
    assert checks_of(n)[0]["passive_failures"] >= PASSIVE_MIN
    assert n.get("/")[0] == 200


def test_dead_app_port_behind_a_passing_management_probe_asks_a_probe(
        nginx_factory, tmp_path, app):
    # the same host (127.0.0.2) with a probed management port that passes
    # and a dead application port: another port of the probed address may
    # as well be an optional service (review s8/R1 HIGH 1), so the
    # refusals ask for a probe, which passes: not paged (the documented
    # price of probing another port than the traffic's), the peer named
    srv = serve("127.0.0.2")
    try:
        dead = free_port()
        conf = ("outage_check shop http://127.0.0.2:%d/health "
                "interval=1s timeout=500ms fall=2 rise=2;\n"
                % srv.server_address[1]) + server("""
        location / {
            outage_page shop;
            proxy_pass http://127.0.0.2:%d;
        }""" % dead)
        n = nginx_factory(conf, workers=1)
        wait_up(n)
        never_down_while(
            n, "shop", lambda: n.get("/"),
            lambda: lines(n, PASSES % r"502 \(cannot connect\)"),
            PASSIVE_WINDOW + 15, "the confirming probe's verdict")
        assert lines(n, r"probing now to confirm; peer: 127\.0\.0\.2:%d$"
                     % dead) or lines(n, r"probing now to confirm; peer: "
                                         r"127\.0\.0\.2:%d[ ,]" % dead)
    finally:
        stop_server(srv)


def test_visitor_chosen_address_of_the_probed_host_never_pages(
        nginx_factory, tmp_path, app):
    # proxy_pass http://$host:P: a visitor names the probed host's address
    # (127.0.0.2, where the management port passes and P is closed): a
    # refusal under a name never seen answering asks for a probe
    mgmt = serve("127.0.0.2")
    try:
        conf = ("outage_check shop http://127.0.0.2:%d/health "
                "interval=1s timeout=500ms fall=2 rise=2;\n"
                % mgmt.server_address[1]) + server("""
        location / {
            outage_page shop;
            proxy_pass http://$host:%d;
        }""" % app.port)
        n = nginx_factory(conf, workers=1)
        wait_up(n)
        assert n.get("/", headers={"Host": "127.0.0.1"})[0] == 200
        never_down_while(
            n, "shop", lambda: n.get("/", headers={"Host": "127.0.0.2"}),
            lambda: lines(n, PASSES % r"502 \(cannot connect\)"),
            PASSIVE_WINDOW + 15, "the confirming probe's verdict")
        assert n.get("/", headers={"Host": "127.0.0.1"})[0] == 200
    finally:
        stop_server(mgmt)


# ---- item 8: "no live upstreams" -------------------------------------------

def test_no_live_upstreams_after_read_timeouts_never_pages(nginx_factory,
                                                           tmp_path, app,
                                                           app2):
    # two slow requests time out on both servers; nginx's max_fails=1
    # marks both failed and answers "no live upstreams" for fail_timeout:
    # the applications and their probes are healthy
    conf = ("upstream app { server 127.0.0.1:%d fail_timeout=30s; "
            "server 127.0.0.1:%d fail_timeout=30s; }\n"
            "outage_check shop http://127.0.0.1:%d/health "
            "interval=1s timeout=500ms fall=2 rise=2;\n"
            "outage_check shop http://127.0.0.1:%d/health "
            "interval=1s timeout=500ms fall=2 rise=2;\n"
            % (app.port, app2.port, app.port, app2.port)) + server("""
        location / {
            outage_page shop;
            proxy_pass http://app;
            proxy_read_timeout 1s;
        }""")
    n = nginx_factory(conf, workers=1)
    wait_for(lambda: all(c["health"] == "up" for c in checks_of(n)),
             timeout=10)
    slow = [threading.Thread(target=n.get, args=("/slow",),
                             kwargs={"timeout": 10}) for _ in range(2)]
    for t in slow:
        t.start()
    for t in slow:
        t.join()
    assert lines(n, r"no live upstreams") or n.get("/")[0] != 200

    never_down_while(
        n, "shop", lambda: n.get("/"),
        lambda: lines(n, PASSES % r"502 \(no live upstreams\)"),
        PASSIVE_WINDOW + 15, "the confirming probe's verdict")
    assert lines(n, r"\[error\].*no live upstreams")


def test_refused_servers_then_no_live_upstreams_still_page(nginx_factory,
                                                           tmp_path):
    # two servers on 127.0.0.2, the check probes the first one's own
    # host:port (a long interval: the traffic comes first).  Both die;
    # after the first requests nginx marks both failed and answers "no
    # live upstreams": that continues the refusals of the probed
    # host:port (no answer came through since), so it pages without a
    # probe
    first = serve("127.0.0.2")
    try:
        conf = ("upstream app { server 127.0.0.2:%d; server 127.0.0.2:%d; }\n"
                "outage_check shop http://127.0.0.2:%d/health "
                "interval=5s timeout=500ms fall=3 rise=2;\n"
                % (first.server_address[1], free_port(),
                   first.server_address[1])) + server(
            """
        location / {
            outage_page shop;
            proxy_pass http://app;
        }""")
        n = nginx_factory(conf, workers=1)
        wait_up(n)
        stop_server(first)
        first = None
        hammer_until_paged(n, "/", "shop", PASSIVE_WINDOW + 5)
        assert checks_of(n)[0]["health"] == "down"
        # directly, or confirmed at once when the second server's refusal
        # (another port: a probe) fired the rule first
        assert scope(n, "shop")["reason"] in (
            "passive: upstream 502 (no live upstreams)",
            "passive: upstream 502 (cannot connect)",
            "passive: upstream 502 (no live upstreams); check: connection "
            "refused",
            "passive: upstream 502 (cannot connect); check: connection "
            "refused"), scope(n, "shop")
        assert lines(n, r"\[error\].*no live upstreams")
        assert len(down_lines(n)) == 1, down_lines(n)
    finally:
        if first:
            stop_server(first)


def test_refusal_after_a_read_timeout_never_continues(nginx_factory, app):
    # review s7/R1 #8: one of two instances is dead (here the backup, so
    # the order is fixed); one request to a slow URL times out on the live
    # one, then is refused by the dead one.  Both are marked failed, and
    # "no live upstreams" follows for fail_timeout: the servers were marked
    # failed by the slow URL's timeout, not by refusals alone, so it asks
    # for a probe, which passes
    dead = free_port()
    conf = ("upstream app { server 127.0.0.1:%d max_fails=1 fail_timeout=30s;"
            " server 127.0.0.1:%d backup; }\n"
            "outage_check shop http://127.0.0.1:%d/health "
            "interval=1s timeout=500ms fall=2 rise=2;\n"
            % (app.port, dead, app.port)) + server("""
        location / {
            outage_page shop;
            proxy_pass http://app;
            proxy_read_timeout 1s;
        }""")
    n = nginx_factory(conf, workers=1)
    wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=10)
    assert n.get("/page")[0] == 200
    assert n.get("/slow")[0] in (502, 503, 504)
    never_down_while(
        n, "shop", lambda: n.get("/page"),
        lambda: lines(n, PASSES % r"502 \(no live upstreams\)"),
        PASSIVE_WINDOW + 15, "the confirming probe's verdict")


# ---- item 11: Redis says "ok" ----------------------------------------------

def test_passive_take_down_silenced_by_redis_logs_at_warn(nginx_factory,
                                                          backend, tmp_path):
    red = Redis(str(tmp_path))
    shop = serve("127.0.0.1")
    try:
        # the probed host:port dies (a long interval: the traffic first)
        conf = ("outage_redis 127.0.0.1:%d interval=200ms timeout=500ms;\n"
                "outage_check shop http://127.0.0.1:%d/health "
                "interval=5s timeout=500ms fall=3 rise=2;\n"
                % (red.port, shop.server_address[1])) + server("""
        location / {
            outage_page shop;
            proxy_pass http://127.0.0.1:%d;
        }""" % shop.server_address[1])
        n = nginx_factory(conf, workers=1)
        wait_up(n)
        stop_server(shop)
        shop = None
        red.cli("SET", "outage:shop", "ok", "EX", "3600")
        wait_for(lambda: scope(n, "shop").get("source") == "redis",
                 timeout=10)
        hammer_until(n, "/", lambda: checks_of(n)[0]["health"] == "down",
                     PASSIVE_WINDOW + 5, "no take-down")
        assert scope(n, "shop")["state"] == "ok", scope(n, "shop")
        got = down_lines(n)
        assert len(got) == 1, got
        assert "[warn]" in got[0] and "no probe needed); peer: " in got[0] \
            and ('; silenced: Redis says "ok" for this scope (or "checks '
                 'silenced" with a degraded banner), no page until that key '
                 'is deleted or expires') in got[0], got
    finally:
        red.stop()
        if shop:
            stop_server(shop)
