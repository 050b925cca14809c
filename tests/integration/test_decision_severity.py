"""A state declared in Redis and a failing health check of the same scope:
only "ok" silences the check (docs/directives.md, "Precedence").  A
"degraded" banner posted at the start of an incident (or a plain
`SET outage:checkout down`, which reads as a degraded banner saying
"down") must not take the maintenance page away once the check proves the
outage.  The oracles are the page a shopper gets and the status JSON."""

import json
import re

import pytest

from harness import wait_for
from guard_helpers import (T, apps, guard, prober_fails,  # noqa: F401
                           redis_shops, states)

CONF = """
    outage_redis 127.0.0.1:{rp} interval=200ms timeout=500ms;
    outage_check checkout http://127.0.0.1:{hp}/health interval=200ms
                 timeout=150ms fall=2 rise=2;
    server {{
        listen 127.0.0.1:{{port}};
        outage_banner on;
        location /checkout/ {{
            outage_page checkout;
            outage_passive off;
            outage_page_intercept off;
            proxy_pass http://127.0.0.1:{app}/;
        }}
        location = /home {{
            return 200 "<!DOCTYPE html><html><body><p>shop</p></body></html>";
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""


def scope(n):
    return [s for s in n.status_json()["scopes"] if s["name"] == "checkout"][0]


def paged(n):
    st, hd, _ = n.get("/checkout/cart")
    return st == 503 and hd.get("x-outage-page") == "paged"


def check(n):
    return n.status_json()["checks"][0]


@pytest.fixture
def shop(nginx_factory, redis, backend):
    backend.set_health("ok", path="/health")
    n = nginx_factory(CONF.format(rp=redis.port, hp=backend.port,
                                  app=backend.port), workers=2)
    wait_for(lambda: check(n)["health"] == "up", timeout=10, what="check up")
    return n


@pytest.mark.parametrize("declare", [
    ("HSET", "outage:checkout", "state", "degraded",
     "message", "Payments are a bit slow", "eta", "+30m"),
    ("SET", "outage:checkout", "down"),
], ids=["degraded-hash", "plain-string"])
def test_a_degraded_banner_never_hides_a_failing_check(shop, redis, backend,
                                                       declare):
    redis.cli(*declare)
    wait_for(lambda: scope(shop)["state"] == "degraded", timeout=10,
             what="the degraded banner read")
    assert not paged(shop)

    backend.set_health("500", path="/health")
    wait_for(lambda: scope(shop)["state"] == "down", timeout=10,
             what="the check's take-down shown despite the banner")

    # every worker agrees, and the page is served with the check's reason
    for _ in range(6):
        s = scope(shop)
        assert s["state"] == "down"
        assert s["source"] == "health"
        assert s["reason"] == "check: HTTP 500"
        st, hd, body = shop.get("/checkout/cart")
        assert st == 503 and hd.get("x-outage-page") == "paged", (st, hd)
        assert hd.get("retry-after") is not None
    # the page says the service is unavailable first; the operator's words
    # follow as the team's last update, in HTML and JSON alike, as the
    # banner says "Service disruption" before them (review s10/R5 F2)
    said = "Payments are a bit slow" if declare[0] == "HSET" else "down"
    lead = re.search(r'<p class="lead">(.*?)</p>', body.decode()).group(1)
    assert lead == ("Part of our service is unavailable. Our team is "
                    "working on a fix."), lead
    assert ('<p class="update">Last update from our team: %s</p>' % said
            in body.decode())
    st, _, js = shop.get("/checkout/cart",
                         headers={"Accept": "application/json"})
    doc = json.loads(js)
    assert st == 503 and doc["state"] == "down", doc
    # the two paragraphs as two members, never one joined string
    assert doc["detail"] == lead and doc["update"] == said, doc
    _, _, home = shop.get("/home")
    banner = re.search(r'<strong class="outage-banner__state">(.*?)</strong>'
                       r' <span class="outage-banner__message">(.*?)</span>',
                       home.decode())
    assert banner and banner.groups() == ("Service disruption", said), home

    # the check comes back: the banner the operator declared is shown again
    backend.set_health("ok", path="/health")
    wait_for(lambda: scope(shop)["state"] == "degraded", timeout=10,
             what="the banner back once the check passes")
    assert not paged(shop)


def test_a_custom_template_leads_as_the_built_in_page(nginx_factory, redis,
                                                      backend, tmp_path):
    """A branded page (outage_page_template) written for {{message}} alone
    does not lead a 503 with a note written for a slowdown: {{message}} is
    what the built-in page leads with, and {{update}} is the operator's
    word, shown only then (review s11 R1 D2)."""
    tpl = tmp_path / "page.html"
    tpl.write_text("<!doctype html><title>{{title}}</title>"
                   "<h1>{{title}}</h1><p id=m>{{message}}</p>"
                   "{{#update}}<p id=u>Latest: {{update}}</p>{{/update}}")
    conf = CONF.replace("outage_page_intercept off;",
                        "outage_page_intercept off; "
                        "outage_page_template %s;" % tpl)
    backend.set_health("ok", path="/health")
    n = nginx_factory(conf.format(rp=redis.port, hp=backend.port,
                                  app=backend.port), workers=1)
    wait_for(lambda: check(n)["health"] == "up", timeout=10, what="check up")
    redis.cli("HSET", "outage:checkout", "state", "degraded",
              "message", "Payments are <b>a bit</b> slow")
    wait_for(lambda: scope(n)["state"] == "degraded", timeout=10,
             what="the degraded banner read")
    backend.set_health("500", path="/health")
    wait_for(lambda: paged(n), timeout=10, what="paged by the check")

    st, _, body = n.get("/checkout/cart")
    page = body.decode()
    assert st == 503
    assert re.search(r"<p id=m>(.*?)</p>", page).group(1) == (
        "Part of our service is unavailable. Our team is working on a fix.")
    assert ("<p id=u>Latest: Payments are &lt;b&gt;a bit&lt;/b&gt; slow</p>"
            in page), page

    # Redis itself says down: its words lead, and there is no update
    redis.cli("HSET", "outage:checkout", "state", "down",
              "message", "Payments fail")
    wait_for(lambda: scope(n)["source"] == "redis", timeout=10,
             what="Redis's down read")
    st, _, body = n.get("/checkout/cart")
    assert st == 503
    assert "<p id=m>Payments fail</p>" in body.decode(), body
    assert "id=u" not in body.decode(), body


def test_ok_still_silences_a_failing_check(shop, redis, backend):
    """The operator's explicit "ok" keeps winning, and says what it hides."""
    redis.cli("SET", "outage:checkout", "ok")
    backend.set_health("500", path="/health")
    wait_for(lambda: check(shop)["health"] == "down", timeout=10,
             what="check down")
    wait_for(lambda: scope(shop)["overrides"] == "check: HTTP 500",
             timeout=10, what="overrides shown")
    s = scope(shop)
    assert s["state"] == "ok" and s["source"] == "redis"
    assert not paged(shop)


def test_checks_silenced_keeps_the_banner_and_no_page(shop, redis, backend):
    """A degraded hash with "checks silenced": the operator's deliberate
    choice (a banner while a check is known to fail) is still possible, and
    shown in overrides; a misspelt value silences nothing."""
    redis.cli("HSET", "outage:checkout", "state", "degraded", "message",
              "Card payments are unavailable, PayPal works",
              "checks", "Silenced")
    wait_for(lambda: scope(shop)["state"] == "degraded", timeout=10,
             what="the degraded banner read")
    backend.set_health("500", path="/health")
    wait_for(lambda: check(shop)["health"] == "down", timeout=10,
             what="check down")
    wait_for(lambda: scope(shop)["overrides"] == "check: HTTP 500",
             timeout=10, what="overrides shown")
    for _ in range(6):
        s = scope(shop)
        assert s["state"] == "degraded" and s["source"] == "redis", s
        assert not paged(shop)
    lines = [ln for ln in shop.log_text().splitlines()
             if 'check "checkout" (#0) is down' in ln]
    assert lines and all("[warn]" in ln and 'checks silenced' in ln
                         for ln in lines), lines

    # a typo never silences a check: the page comes, the warning says why
    redis.cli("HSET", "outage:checkout", "checks", "silent")
    wait_for(lambda: scope(shop)["state"] == "down", timeout=10,
             what="a misspelt checks value silences nothing")
    assert paged(shop)
    assert "checks" in scope(shop)["warning"], scope(shop)


def test_the_guard_names_a_degraded_scope_it_keeps_up(nginx_factory, apps,
                                                      redis):
    """A degraded scope whose check the all-checks-failing guard holds back
    is kept up by the guard, not by Redis: guard.held names it, so that it
    is not paged unnamed when the guard clears (review s10 R2-D1)."""
    n, a, b = redis_shops(nginx_factory, apps, redis)
    redis.cli("HSET", "outage:shopa", "state", "degraded", "message",
              "Payments are slow")
    wait_for(lambda: states(n)["shopa"] == "degraded", timeout=T)
    prober_fails(n, a, b)
    wait_for(lambda: "shopa" in guard(n)["held"], timeout=T,
             what="shopa listed as kept up by the guard")
    assert states(n)["shopa"] == "degraded"
    b.health500 = False
    wait_for(lambda: guard(n)["state"] == "off", timeout=T)
    wait_for(lambda: states(n)["shopa"] == "down", timeout=T,
             what="shopa paged once the guard cleared")
