"""Trust in passive detection and the all-checks-failing guard (review s5,
items 1, 2, 3 and 6), with real nginx, real backends and real traffic:

- passive evidence never pages on its own: the rule asks for an immediate
  probe, and the check goes down only when that probe fails too (reason
  "passive: ...; check: ...");
- the guard is built from probe verdicts of distinct targets (host:port)
  and never holds back a passive verdict;
- passive failures are charged to the check that probes the peer nginx
  tried, when one does;
- only the paged location's own upstream is judged (error_page to another
  upstream, X-Accel-Redirect, error_page 502 = @sorry);
- an upstream name that stops resolving counts ("cannot resolve").
"""

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import LATENCY_FACTOR, free_port, wait_for
from outage_fixtures import FakeDns
from passive_helpers import (PASSIVE_MIN, PASSIVE_WINDOW, app, checks_of,  # noqa: F401
                             down_lines, hammer_until, hammer_until_paged,
                             lines, resolver, scope, server, wait_up)


# ---- 1 and 2: passive evidence with a passing probe, the guard -------------

def test_slow_url_neither_pages_nor_hides_another_outage(nginx_factory,
                                                         backend, tmp_path,
                                                         app):
    # review item 1/2: checkout is healthy (its probe passes) but has a URL
    # slower than proxy_read_timeout; payments is really down.  Twelve
    # requests timing out together used to take checkout down, which made
    # "every check" fail and the guard then hid the payments outage.
    dead = free_port()
    conf = ("outage_check checkout http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            "outage_check payments http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            % (backend.health_port, dead)) + server("""
        location /checkout/ {
            outage_page checkout;
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:%d/;
        }
        location /payments/ {
            outage_page payments;
            proxy_pass http://127.0.0.1:%d/;
        }""" % (app.port, dead))
    n = nginx_factory(conf, workers=2)
    wait_for(lambda: [c["health"] for c in checks_of(n)] == ["up", "down"],
             timeout=10, what="checkout up, payments down")
    assert n.get("/payments/")[0] == 503

    with ThreadPoolExecutor(12) as pool:
        got = list(pool.map(lambda i: n.get("/checkout/slow?%d" % i)[0],
                            range(12)))
    assert set(got) <= {503, 504}, got
    # the rule fired, the probe it asked for passed: said once, not paged
    wait_for(lambda: lines(n, r'check "checkout" \(#0\): passive failures '
                              r'were seen \(upstream 504 \(timed out\)\) but '
                              r'the probe passes'),
             timeout=5, what="the probe-passes notice")
    c = checks_of(n)
    assert c[0]["health"] == "up" and c[0]["passive_failures"] >= 10, c
    assert n.status_json()["guard_active"] is False
    assert scope(n, "checkout")["state"] == "ok"
    assert scope(n, "payments")["state"] == "down"
    assert n.get("/checkout/")[0] == 200
    assert n.get("/payments/")[0] == 503
    assert [ln for ln in down_lines(n) if "checkout" in ln] == []

    # a second wave: a new streak, a new probe, still up; the notice is
    # rate-limited (once a minute)
    with ThreadPoolExecutor(12) as pool:
        list(pool.map(lambda i: n.get("/checkout/slow?b%d" % i)[0],
                      range(12)))
    wait_for(lambda: lines(n, r'check "checkout" \(#0\): passive: upstream '
                              r'504 \(timed out\).*probing now to confirm'),
             timeout=5)
    assert checks_of(n)[0]["health"] == "up"
    assert len(lines(n, r"passive failures were seen")) == 1
    assert scope(n, "payments")["state"] == "down"


def test_failed_confirming_probe_does_not_bypass_fall(nginx_factory,
                                                      backend, tmp_path, app):
    # review passive2 item 3: fall=3 because /health fails now and then.
    # A slow URL anyone can hit makes passive detection ask for a probe; one
    # failure of it used to page at once (fall bypassed).  Now the prober
    # probes again each tick until fall failures in a row (or a pass)
    conf = ("outage_check checkout http://127.0.0.1:%d/health "
            "interval=30s timeout=200ms fall=3 rise=2;\n"
            % backend.health_port) + server("""
        location /checkout/ {
            outage_page checkout;
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:%d/;
        }""" % app.port)
    backend.set_health("refuse")
    n = nginx_factory(conf, workers=2)
    with ThreadPoolExecutor(12) as pool:
        got = list(pool.map(lambda i: n.get("/checkout/slow?%d" % i)[0],
                            range(12)))
    fired = time.monotonic()
    assert set(got) <= {503, 504}, got
    wait_for(lambda: checks_of(n)[0]["health"] == "down", timeout=10,
             interval=0.01, what="down after fall confirming probes")
    # the documented bound: timeout + fall x (1 s + timeout) = 3.8 s
    took = time.monotonic() - fired
    assert took < 3.8 * LATENCY_FACTOR + 0.5, took
    c = checks_of(n)[0]
    assert c["consecutive_failures"] >= 3, c
    assert scope(n, "checkout")["reason"] == (
        "passive: upstream 504 (timed out); check: connection refused")
    got = down_lines(n)
    assert len(got) == 1 and "confirmed by a probe" in got[0], got


@pytest.mark.parametrize("hosts", [("127.0.0.1", "127.0.0.1"),
                                   ("localhost", "127.0.0.1")],
                         ids=["same-spelling", "two-spellings"])
def test_one_target_checked_twice_never_trips_the_guard(nginx_factory,
                                                        tmp_path, app, hosts):
    # review item 1 (r1d): one dependency, two checks of it, nothing else
    # checked: its outage is one target failing, not "every check".
    # Review passive2 item 4: "localhost" and "127.0.0.1" are one target
    # too (compared by address, not by spelling)
    dead = free_port()
    conf = ("outage_check payments http://%s:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            "outage_check payments http://%s:%d/ready "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            % (hosts[0], dead, hosts[1], dead)) + server("""
        location /pay/ {
            outage_page payments;
            proxy_pass http://127.0.0.1:%d/;
        }""" % app.port)
    n = nginx_factory(conf, workers=1)
    wait_for(lambda: [c["health"] for c in checks_of(n)] == ["down", "down"],
             timeout=10)
    assert n.status_json()["guard_active"] is False
    assert scope(n, "payments")["state"] == "down"
    assert n.get("/pay/")[0] == 503
    assert lines(n, r"every health check fails") == []


def test_guard_never_holds_back_a_passive_verdict(nginx_factory, tmp_path,
                                                  app):
    # review item 1: two targets, both probes fail; checkout's traffic
    # failed first (passive, confirmed by its probe), so not every target
    # is down by probe alone: no guard, both scopes down.  (Before that
    # traffic, checkout had no verdict yet but failing probes: review
    # s7/R1 #1, no evidence against the guard, which may engage then)
    dead_a = free_port()
    dead_b = free_port()
    conf = ("outage_check payments http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            "outage_check checkout http://127.0.0.1:%d/health "
            "interval=30s timeout=200ms fall=1000 rise=2;\n"
            % (dead_a, dead_b)) + server("""
        location /checkout/ {
            outage_page checkout;
            proxy_pass http://127.0.0.1:%d/;
        }
        location /payments/ {
            outage_page payments;
            proxy_pass http://127.0.0.1:%d/;
        }""" % (dead_b, app.port))
    n = nginx_factory(conf, workers=2)
    wait_for(lambda: checks_of(n)[0]["health"] == "down", timeout=10)
    hammer_until_paged(n, "/checkout/", "checkout", PASSIVE_WINDOW + 5)
    s = scope(n, "checkout")
    assert s["reason"] == "passive: upstream 502 (cannot connect)", s
    assert n.status_json()["guard_active"] is False
    assert scope(n, "payments")["state"] == "down"
    assert n.get("/payments/")[0] == 503
    assert n.get("/checkout/")[0] == 503
    assert len([ln for ln in down_lines(n) if '"checkout"' in ln]) == 1


def test_guard_names_the_scopes_it_keeps_up(nginx_factory, tmp_path):
    # both targets' probes fail (the prober's network, say): the guard holds
    # them back and its one log line names the scopes it keeps up
    dead_a = free_port()
    dead_b = free_port()
    conf = ("outage_check payments http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            "outage_check checkout http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            % (dead_a, dead_b)) + server("""
        location /checkout/ { outage_page checkout; return 200 "ok\\n"; }""")
    n = nginx_factory(conf, workers=1)
    wait_for(lambda: n.status_json()["guard_active"], timeout=10)
    assert scope(n, "checkout")["state"] == "ok"
    got = lines(n, r"every health check fails \(2 of 2 targets\)")
    assert len(got) == 1, got
    assert re.search(r'scopes kept up: "(payments", "checkout|checkout", '
                     r'"payments)"$', got[0]), got[0]


def test_traffic_failing_like_the_probes_clears_the_guard(nginx_factory,
                                                          tmp_path):
    # review passive2 item 1: the box behind both targets dies; both probes
    # fail, so the guard holds both scopes back ("the prober's network is
    # broken").  Real traffic from the same nginx cannot connect either:
    # that disproves the guard, and both scopes are paged
    dead_a = free_port()
    dead_b = free_port()
    conf = ("outage_check checkout http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            "outage_check payments http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            % (dead_a, dead_b)) + server("""
        location /checkout/ {
            outage_page checkout;
            proxy_pass http://127.0.0.1:%d/;
        }
        location /payments/ {
            outage_page payments;
            proxy_pass http://127.0.0.1:%d/;
        }""" % (dead_a, dead_b))
    n = nginx_factory(conf, workers=2)
    wait_for(lambda: n.status_json()["guard_active"], timeout=10,
             what="the guard")
    # the guard may engage while one check has failing probes but no
    # verdict yet (review s7/R1 #1): traffic then takes it down directly,
    # which disproves the guard too; here both are down by probe first
    wait_for(lambda: [c["health"] for c in checks_of(n)] == ["down"] * 2,
             timeout=10, what="both checks down by probe")
    assert n.status_json()["guard_active"] is True
    assert scope(n, "checkout")["state"] == "ok"
    hammer_until(n, "/checkout/",
                 lambda: scope(n, "checkout")["state"] == "down",
                 PASSIVE_WINDOW + 5, "the guard still hides the outage")
    assert scope(n, "checkout")["reason"] == (
        "passive: upstream 502 (cannot connect); check: connection refused")
    assert n.status_json()["guard_active"] is False
    # the guard's premise is gone for every check, not only the one the
    # traffic went to
    assert scope(n, "payments")["state"] == "down"
    assert scope(n, "payments")["reason"] == "check: connection refused"
    got = lines(n, r'check "checkout" \(#0\) is down: passive: upstream 502 '
                   r'\(cannot connect\); check: connection refused \(real '
                   r'traffic fails like the probes')
    assert len(got) == 1, got


def test_passive_charges_the_check_of_the_failed_peer(nginx_factory,
                                                      backend, tmp_path):
    # review item 1 (r1c): one scope, the app's check and a healthy
    # sidecar's; the app dies: only the app's check is charged and taken
    # down, the sidecar's stays up and no guard hides the outage
    dead = free_port()
    conf = ("outage_check checkout http://127.0.0.1:%d/health "
            "interval=30s timeout=200ms fall=1000 rise=2;\n"
            "outage_check checkout http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            % (dead, backend.health_port)) + server("""
        location /checkout/ {
            outage_page checkout;
            proxy_pass http://127.0.0.1:%d/;
        }""" % dead)
    n = nginx_factory(conf, workers=1)
    wait_for(lambda: checks_of(n)[1]["health"] == "up", timeout=10)
    hammer_until_paged(n, "/checkout/", "checkout", PASSIVE_WINDOW + 5)
    c = checks_of(n)
    assert c[0]["health"] == "down" and c[0]["passive_failures"] >= 10, c
    assert c[1]["health"] == "up" and c[1]["passive_failures"] == 0, c
    assert n.status_json()["guard_active"] is False
    assert scope(n, "checkout")["reason"] == (
        "passive: upstream 502 (cannot connect)")
    assert len(down_lines(n)) == 1


def test_dead_app_port_behind_a_passing_sidecar_probe_asks_a_probe(
        nginx_factory, backend, tmp_path):
    # review item 4: the check probes a health/management port that still
    # passes while the application's own port (another port of the same
    # address) is dead.  That port could as well be an optional service
    # next to the application (review s8/R1 HIGH 1), so nginx's refusals
    # ask for a confirming probe, which passes: not paged (the documented
    # price of probing another port than the traffic uses), one [warn]
    dead = free_port()
    conf = ("outage_check checkout http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            % backend.health_port) + server("""
        location /checkout/ {
            outage_page checkout;
            proxy_pass http://127.0.0.1:%d/;
        }""" % dead)
    n = nginx_factory(conf, workers=2)
    wait_up(n)
    end = time.monotonic() + PASSIVE_WINDOW + 10
    while not lines(n, r"passive failures were seen \(upstream 502 "
                       r"\(cannot connect\)\) but the probe passes"):
        assert time.monotonic() < end, n.status_json()
        n.get("/checkout/")
        assert scope(n, "checkout")["state"] == "ok", n.status_json()
    assert down_lines(n) == []
    assert n.status_json()["guard_active"] is False


# ---- 3: only the paged location's own upstream ----------------------------

def test_error_page_fallback_upstream_is_not_judged(nginx_factory, backend,
                                                    tmp_path, app):
    # review item 3a: a 404 of the healthy app goes to @fallback, whose
    # upstream is dead: the app answered, nothing counts against checkout
    dead = free_port()
    conf = ("outage_check checkout http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            % backend.health_port) + server("""
        location /checkout/ {
            outage_page checkout;
            proxy_intercept_errors on;
            error_page 404 = @fallback;
            proxy_pass http://127.0.0.1:%d/;
        }
        location @fallback { proxy_pass http://127.0.0.1:%d; }""" % (
        app.port, dead))
    n = nginx_factory(conf, workers=1)
    wait_up(n)
    for i in range(2 * PASSIVE_MIN):
        assert n.get("/checkout/missing/%d" % i)[0] in (502, 503)
    c = checks_of(n)[0]
    assert c["passive_failures"] == 0 and c["health"] == "up", c
    assert lines(n, r"probing now to confirm") == []
    assert n.get("/checkout/")[0] == 200


def test_x_accel_redirect_storage_is_not_judged(nginx_factory, backend,
                                                tmp_path, app):
    # review item 3 (r3b): the app hands the download to a dead storage
    dead = free_port()
    conf = ("outage_check checkout http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            % backend.health_port) + server("""
        location /checkout/ {
            outage_page checkout;
            proxy_pass http://127.0.0.1:%d/;
        }
        location /_storage/ {
            internal;
            proxy_pass http://127.0.0.1:%d/;
        }""" % (app.port, dead))
    n = nginx_factory(conf, workers=1)
    wait_up(n)
    for i in range(2 * PASSIVE_MIN):
        assert n.get("/checkout/invoice/%d.pdf" % i)[0] in (502, 503)
    c = checks_of(n)[0]
    assert c["passive_failures"] == 0 and c["health"] == "up", c
    assert n.get("/checkout/")[0] == 200


@pytest.mark.parametrize("level", ["location", "server"])
def test_error_page_sorry_keeps_the_paged_failures(nginx_factory, backend,
                                                   tmp_path, app, level):
    # review item 3b: the paged upstream refuses, @sorry (healthy upstream)
    # answers: the refusals count (and take the check down: nginx could not
    # connect).  With outage_page at the server level @sorry inherits
    # it: the first paged location whose upstream ran keeps the verdict.
    dead = free_port()
    page = "outage_page checkout; outage_page_intercept off;"
    conf = ("outage_check checkout http://127.0.0.1:%d/health "
            "interval=30s timeout=200ms fall=1000 rise=2;\n"
            % dead) + server("""
        %s
        location /checkout/ {
            %s
            error_page 502 504 = @sorry;
            proxy_pass http://127.0.0.1:%d/;
        }
        location @sorry { proxy_pass http://127.0.0.1:%d; }""" % (
        page if level == "server" else "",
        page if level == "location" else "", dead, app.port))
    n = nginx_factory(conf, workers=1)
    sent = hammer_until_paged(n, "/checkout/", "checkout", PASSIVE_WINDOW + 5)
    assert sent >= PASSIVE_MIN
    c = checks_of(n)[0]
    assert c["passive_failures"] >= PASSIVE_MIN, c
    assert scope(n, "checkout")["reason"] == (
        "passive: upstream 502 (cannot connect)")
    assert n.get("/checkout/")[0] == 503
    assert len(down_lines(n)) == 1


def test_x_accel_redirect_with_server_level_page(nginx_factory, backend,
                                                 tmp_path, app):
    # outage_page at the server level: the storage location inherits it,
    # but the app's answer (the first paged upstream that ran) decides
    dead = free_port()
    conf = ("outage_check checkout http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            % backend.health_port) + server("""
        outage_page checkout;
        location /checkout/ { proxy_pass http://127.0.0.1:%d/; }
        location /_storage/ {
            internal;
            proxy_pass http://127.0.0.1:%d/;
        }""" % (app.port, dead))
    n = nginx_factory(conf, workers=1)
    wait_up(n)
    for i in range(2 * PASSIVE_MIN):
        assert n.get("/checkout/invoice/%d.pdf" % i)[0] in (502, 503)
    c = checks_of(n)[0]
    assert c["passive_failures"] == 0 and c["health"] == "up", c


# ---- 6: an upstream name that stops resolving -----------------------------

def test_upstream_name_that_stops_resolving_counts(nginx_factory, backend,
                                                   tmp_path, app):
    dns = FakeDns(tmp_path, {"checkout.test": "127.0.0.1"})
    try:
        conf = (resolver(dns) +
                "outage_check checkout http://127.0.0.1:%d/health "
                "interval=1s timeout=200ms fall=1000 rise=2;\n"
                % backend.health_port) + server("""
        location /checkout/ {
            outage_page checkout;
            set $up checkout.test;
            proxy_pass http://$up:%d;
        }""" % app.port)
        n = nginx_factory(conf, workers=1)
        wait_up(n)
        assert n.get("/checkout/")[0] == 200

        # the record is deleted; the application is alive at its old
        # address, so the probe (by address) still passes (review item 2)
        dns.set({"other.test": "127.0.0.2"})
        hammer_until_paged(n, "/checkout/", "checkout", PASSIVE_WINDOW + 8)
        c = checks_of(n)[0]
        assert c["passive_failures"] >= PASSIVE_MIN, c
        assert scope(n, "checkout")["reason"] == (
            "passive: upstream 502 (cannot resolve)")
        assert len(down_lines(n)) >= 1
        assert lines(n, r"passive failures were seen") == []
    finally:
        dns.stop()


@pytest.mark.parametrize("level", ["location", "server"])
def test_error_page_sorry_keeps_a_failed_resolution(nginx_factory, backend,
                                                    tmp_path, app, level):
    # review passive item 6 (brief s6 item 2): the paged upstream's name
    # stops resolving and "error_page 502 = @sorry" (a healthy upstream)
    # answers instead: the failed resolutions still count.  The paged
    # upstream tried no peer, so its evidence is in the upstream itself,
    # not in $upstream_addr
    dns = FakeDns(tmp_path, {"checkout.test": "127.0.0.1"})
    page = "outage_page checkout; outage_page_intercept off;"
    try:
        conf = (resolver(dns) +
                "outage_check checkout http://127.0.0.1:%d/health "
                "interval=1s timeout=200ms fall=1000 rise=2;\n"
                % backend.health_port) + server("""
        %s
        location /checkout/ {
            %s
            error_page 502 = @sorry;
            set $up checkout.test;
            proxy_pass http://$up:%d;
        }
        location @sorry { proxy_pass http://127.0.0.1:%d; }""" % (
            page if level == "server" else "",
            page if level == "location" else "", app.port, app.port))
        n = nginx_factory(conf, workers=1)
        wait_up(n)
        assert n.get("/checkout/")[0] == 200

        dns.set({"other.test": "127.0.0.2"})
        hammer_until_paged(n, "/checkout/", "checkout", PASSIVE_WINDOW + 8)
        c = checks_of(n)[0]
        assert c["passive_failures"] >= PASSIVE_MIN, c
        assert scope(n, "checkout")["reason"] == (
            "passive: upstream 502 (cannot resolve)")
        assert len(down_lines(n)) == 1
    finally:
        dns.stop()


def test_error_page_chain_through_another_upstream_is_not_judged(
        nginx_factory, backend, tmp_path, app):
    # the resolution failed in /checkout/, but an upstream of a location in
    # between (@a) ran before @sorry's: which upstream the request brought
    # into @sorry is not the paged one, nothing is judged
    dns = FakeDns(tmp_path, {"other.test": "127.0.0.2"})
    dead = free_port()
    try:
        conf = (resolver(dns) +
                "outage_check checkout http://127.0.0.1:%d/health "
                "interval=1s timeout=200ms fall=1000 rise=2;\n"
                % backend.health_port) + server("""
        recursive_error_pages on;
        location /checkout/ {
            outage_page checkout;
            outage_page_intercept off;
            error_page 502 = @a;
            set $up checkout.test;
            proxy_pass http://$up:%d;
        }
        location @a {
            proxy_intercept_errors on;
            error_page 502 = @sorry;
            proxy_pass http://127.0.0.1:%d;
        }
        location @sorry { proxy_pass http://127.0.0.1:%d; }""" % (
            app.port, dead, app.port))
        n = nginx_factory(conf, workers=1)
        wait_up(n)
        for i in range(2 * PASSIVE_MIN):
            assert n.get("/checkout/%d" % i)[0] == 200
        c = checks_of(n)[0]
        assert c["passive_failures"] == 0 and c["health"] == "up", c
    finally:
        dns.stop()


def test_close_before_any_byte_on_one_url_does_not_page(nginx_factory,
                                                        backend, tmp_path):
    # brief s6 item 3: the upstream accepts, then closes without a byte
    # (nginx's 502, "no valid response").  A visitor can cause that on a
    # healthy service (a request that kills the application's worker), so
    # it asks for a probe, which passes: not paged, said once
    conf = ("outage_check checkout http://127.0.0.1:%d/health "
            "interval=300ms timeout=200ms fall=2 rise=2;\n"
            % backend.health_port) + server("""
        location /checkout/ {
            outage_page checkout;
            proxy_pass http://127.0.0.1:%d/;
        }""" % backend.port)
    n = nginx_factory(conf, workers=2)
    wait_up(n)
    for i in range(2 * PASSIVE_MIN):
        assert n.get("/checkout/close?%d" % i)[0] in (502, 503)
    wait_for(lambda: lines(n, r'check "checkout" \(#0\): passive failures '
                              r'were seen \(upstream 502 \(no valid '
                              r'response\)\) but the probe passes'),
             timeout=5, what="the probe-passes notice")
    c = checks_of(n)[0]
    assert c["health"] == "up" and c["passive_failures"] >= PASSIVE_MIN, c
    assert scope(n, "checkout")["state"] == "ok"
    assert n.get("/checkout/")[0] == 200
    assert down_lines(n) == []


def test_regular_probe_in_flight_answers_the_confirmation(nginx_factory,
                                                          backend, tmp_path,
                                                          app):
    # brief s6 item 5: the rule fires while a regular probe of a hanging
    # /health is in flight; that probe's failure makes fall=1.  It answers
    # the request (reason "passive: ...; check: ..."), within one timeout=
    # of the rule, and no confirmation is left pending on the down check
    conf = ("outage_check checkout http://127.0.0.1:%d/health "
            "interval=5s timeout=4s fall=1 rise=1;\n"
            % backend.health_port) + server("""
        location /checkout/ {
            outage_page checkout;
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:%d/;
        }""" % app.port)
    backend.set_health("hang")
    n = nginx_factory(conf, workers=1)
    seen = backend.count("/health")
    wait_for(lambda: backend.count("/health") > seen, timeout=10,
             interval=0.005, what="a regular probe in flight")
    with ThreadPoolExecutor(12) as pool:
        got = list(pool.map(lambda i: n.get("/checkout/slow?%d" % i)[0],
                            range(12)))
    fired = time.monotonic()
    assert set(got) <= {503, 504}, got
    wait_for(lambda: checks_of(n)[0]["health"] == "down", timeout=10,
             interval=0.01, what="down")
    took = time.monotonic() - fired
    assert scope(n, "checkout")["reason"] == (
        "passive: upstream 504 (timed out); check: timed out after 4000 ms")
    # the probe was about 1 s old when the requests timed out: 3 s more at
    # most (timeout= leaves the requests 3 s of a loaded machine's slack to
    # time out before the probe does, as the test needs)
    assert took < 3.0 + 0.5 * LATENCY_FACTOR, took
    assert checks_of(n)[0]["probes"] == 1
    got = down_lines(n)
    assert len(got) == 1 and "confirmed by a probe" in got[0], got
