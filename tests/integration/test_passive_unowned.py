"""Passive evidence about an address no check probes (review s8/R5 #3):
failed traffic to a peer that no check of the location's scopes probes
exactly is not charged to a check whose own host:port traffic was seen
reaching.  Neither a confirming probe, nor a passive_failures count, nor a
line naming a check whose dependency was not involved; one [warn] line
(once a minute) says the traffic counted for no check, and names the peer
and scopes.  A check that probes a management port (traffic never reaches
its host:port) is still charged: test_passive.py.

Set-up of the reviewer's script (s2b): /checkout/ paged by "checkout
payments" with an address-autocomplete helper on another port under it.
(The guard variant, a widget disproving a hold, is
test_guard_trust::test_unprobed_widget_failing_like_the_probes_keeps_the_guard.)
"""

from harness import LATENCY_FACTOR, wait_for
from passive_helpers import (PASSIVE_MIN, checks_of, lines, serve, server,
                             stop_server)

T = 10 * LATENCY_FACTOR
UNOWNED = r"\[warn\].*outage: passive: upstream 502 \(%s\); peer: " \
          r"127\.0\.0\.1:%d under a location paging %s: no check of these " \
          r"scopes probes that host:port, so it counts for no check"


def test_a_dead_helper_no_check_probes_is_charged_to_no_check(nginx_factory):
    checkout, payments, helper = serve(), serve(), serve()
    hport = helper.server_address[1]
    conf = (
        "outage_check checkout http://127.0.0.1:%d/health interval=1s "
        "timeout=500ms fall=3 rise=2;\n"
        "outage_check payments http://127.0.0.1:%d/health interval=1s "
        "timeout=500ms fall=3 rise=2;\n"
        % (checkout.server_address[1], payments.server_address[1])
    ) + server("""
        location /checkout/ { outage_page checkout payments;
                              proxy_pass http://127.0.0.1:%d; }
        location /checkout/autocomplete/ { outage_page checkout payments;
                                           proxy_pass http://127.0.0.1:%d; }
        location /pay/ { outage_page payments;
                         proxy_pass http://127.0.0.1:%d; }""" % (
        checkout.server_address[1], hport, payments.server_address[1]))
    n = nginx_factory(conf, workers=1)
    try:
        wait_for(lambda: all(c["health"] == "up" for c in checks_of(n)),
                 timeout=T, what="both checks up")
        # the shop's own traffic reaches what each check probes
        assert n.get("/checkout/x")[0] == 200
        assert n.get("/pay/x")[0] == 200
        stop_server(helper)

        # one customer types an address: more than a passive streak
        for i in range(PASSIVE_MIN + 2):
            n.get("/checkout/autocomplete/?q=" + "x" * (i + 1))

        # a confirming probe, had one been asked, came within two rounds
        probes = sum(c["probes"] for c in checks_of(n))
        wait_for(lambda: sum(c["probes"] for c in checks_of(n))
                 >= probes + 4, timeout=T, what="two more probe rounds")

        # on old code: passive_failures 12 each, a confirming probe and an
        # [info]/[warn] naming payments, whose service was not involved
        checks = checks_of(n)
        assert [(c["scope"], c["health"], c["passive_failures"])
                for c in checks] == [("checkout", "up", 0),
                                     ("payments", "up", 0)], checks
        assert not lines(n, r"probing now to confirm|passive failures were "
                            r"seen|is down"), n.log_text()
        assert n.get("/pay/x")[0] == 200
        assert n.get("/checkout/x")[0] == 200
        unowned = UNOWNED % ("cannot connect", hport,
                             r'"checkout", "payments"')
        assert len(lines(n, unowned)) == 1, n.log_text()
        assert not n.bad_log_lines()
    finally:
        stop_server(checkout)
        stop_server(payments)
