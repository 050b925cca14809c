"""The public status page (issue 17): outage_status_page renders, from the
same snapshot as the banner and the page, one row per public scope with its
state, as semantic HTML (checked with html5lib, a WHATWG parser) and as
Statuspage-style summary.json (checked against the field list documented in
docs/directives.md); internal scopes and health-check internals stay out;
Redis text is escaped; an unreadable Redis is said, not hidden."""

import json
import os
import re
import time

import html5lib
import pytest

from harness import REPO, free_port, wait_for

NS = "{http://www.w3.org/1999/xhtml}"

CONF = """
    outage_redis 127.0.0.1:{redis} interval=200ms timeout=200ms
                 connect_timeout=200ms;
    outage_scope_label checkout "Checkout & payments";
    outage_scope_label search "Search";
    outage_scopes internal;
    {extra_http}
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        outage_page checkout;
        outage_banner on;
        {extra_server}
        location / {{ proxy_pass http://127.0.0.1:{closed}; }}
        location /status {{
            outage_status_page "name=Example Shop" refresh=60s;
        }}
        location = /listed {{ outage_status_page search; }}
        location = /outage/status {{ outage_status; }}
    }}
"""


@pytest.fixture
def sp(nginx_factory, redis):
    def make(extra_http="", extra_server="", **kw):
        n = nginx_factory(CONF.format(redis=redis.port, extra_http=extra_http,
                                      extra_server=extra_server,
                                      closed=free_port()), **kw)
        wait_for(lambda: n.status_json()["redis"]["up"],
                 what="first redis poll")
        return n
    return make


def incident(redis, scope="checkout", **fields):
    redis.cli("DEL", "outage:" + scope)
    args = []
    for k, v in fields.items():
        args += [k, v]
    if args:
        redis.cli("HSET", "outage:" + scope, *args)


def page(n, path="/status", headers=None):
    st, h, body = n.get(path, headers=headers)
    assert st == 200, (st, body[:300])
    return h, body


def dom(body):
    return html5lib.parse(body, namespaceHTMLElements=True)


def text(el):
    return "".join(el.itertext()).strip()


def rows(doc):
    """{scope: (label, badge text, li element)} from the component list."""
    ul = [u for u in doc.iter(NS + "ul") if u.get("id") == "components"][0]
    out = {}
    for li in ul.findall(NS + "li"):
        h3 = li.find(".//" + NS + "h3")
        badge = [s for s in li.iter(NS + "span") if s.get("class") == "badge"]
        out[li.get("data-scope")] = (text(h3), text(badge[0]), li)
    return out


def overall(doc):
    return text([p for p in doc.iter(NS + "p")
                 if p.get("id") == "overall"][0])


def summary(n, path="/status.json"):
    h, body = page(n, path)
    assert h["content-type"] == "application/json"
    return json.loads(body)


def component(js, scope):
    return [c for c in js["components"] if c["id"] == scope][0]


def until_state(n, scope, state):
    """Waits for the module to have polled a change into the snapshot."""
    wait_for(lambda: [s for s in n.status_json()["scopes"]
                      if s["name"] == scope][0]["state"] == state,
             what="%s %s" % (scope, state))


# -- states -------------------------------------------------------------------

def test_all_operational_lists_only_public_scopes(sp):
    n = sp()
    h, body = page(n)
    assert h["content-type"] == "text/html; charset=utf-8"
    doc = dom(body)
    assert overall(doc) == "All systems operational"
    r = rows(doc)
    # labelled scopes, in label order; "internal" and "site" stay internal
    assert list(r) == ["checkout", "search"]
    assert r["checkout"][:2] == ("Checkout & payments", "Operational")
    assert r["search"][:2] == ("Search", "Operational")
    assert b"internal" not in body
    # the banner is not injected into the status page, and no script
    assert b"outage-banner" not in body
    assert doc.find(".//" + NS + "script") is None
    assert doc.find(".//" + NS + "h1") is not None
    assert text(doc.find(".//" + NS + "h1")) == "Example Shop"
    assert b'http-equiv="refresh" content="60"' in body
    assert b"prefers-color-scheme:dark" in body
    js = summary(n)
    assert js["status"] == {"indicator": "none",
                            "description": "All systems operational",
                            "stale": False,
                            "confirmed_at": js["status"]["confirmed_at"]}
    assert js["status"]["confirmed_at"]
    assert [c["status"] for c in js["components"]] == ["operational"] * 2
    assert js["incidents"] == [] and js["scheduled_maintenances"] == []


STATES = [
    # redis fields, overall line, badge, component status, indicator
    ({"state": "degraded"}, "Some systems are degraded",
     "Degraded performance", "degraded_performance", "minor"),
    ({"state": "down"}, "Major outage", "Down", "major_outage", "major"),
    ({"state": "maintenance"}, "Under maintenance", "Under maintenance",
     "under_maintenance", "maintenance"),
]


@pytest.mark.parametrize("fields,line,badge,cstatus,indicator", STATES,
                         ids=["degraded", "down", "maintenance"])
def test_every_state(sp, redis, fields, line, badge, cstatus, indicator):
    n = sp()
    eta = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                        time.gmtime(time.time() + 3 * 3600))
    incident(redis, message="Card payments fail", eta=eta,
             link="https://status.example.com/i/42", **fields)
    until_state(n, "checkout", fields["state"])

    doc = dom(page(n)[1])
    assert overall(doc) == line
    label, b, li = rows(doc)["checkout"]
    assert b == badge
    assert "Card payments fail" in text(li)
    terms = [text(dt) for dt in li.iter(NS + "dt")]
    assert "Since" in terms and "Last confirmed" in terms
    assert "Expected back" in terms
    assert [a.get("href") for a in li.iter(NS + "a")] == \
        ["https://status.example.com/i/42"]
    assert rows(doc)["search"][1] == "Operational"

    js = summary(n)
    assert js["status"]["indicator"] == indicator
    assert js["status"]["description"] == line
    assert component(js, "checkout")["status"] == cstatus
    assert component(js, "checkout")["description"] == "Card payments fail"
    events = js["scheduled_maintenances" if indicator == "maintenance"
                else "incidents"]
    assert len(events) == 1
    assert events[0]["components"][0]["id"] == "checkout"
    assert events[0]["shortlink"] == "https://status.example.com/i/42"
    assert events[0]["incident_updates"][0]["body"] == "Card payments fail"


def test_all_down_is_critical(sp, redis):
    n = sp()
    incident(redis, "checkout", state="down")
    incident(redis, "search", state="down")
    until_state(n, "search", "down")
    assert summary(n)["status"]["indicator"] == "critical"


def test_scheduled_maintenance_shows_its_window(sp, redis):
    n = sp()
    now = int(time.time())
    starts, ends = now + 2 * 3600, now + 4 * 3600
    incident(redis, state="maintenance", starts=str(starts), ends=str(ends),
             message="Planned database upgrade")
    wait_for(lambda: rows(dom(page(n)[1]))["checkout"][1]
             == "Scheduled maintenance", what="announced window")
    doc = dom(page(n)[1])
    # ahead of its window a maintenance is news, not an outage
    assert overall(doc) == "All systems operational"
    li = rows(doc)["checkout"][2]
    times = [t.get("datetime") for t in li.iter(NS + "time")]
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(t))
    assert iso(starts) in times and iso(ends) in times
    assert "Window" in [text(dt) for dt in li.iter(NS + "dt")]

    js = summary(n)
    assert component(js, "checkout")["status"] == "operational"
    m = js["scheduled_maintenances"]
    assert len(m) == 1 and m[0]["status"] == "scheduled"
    assert m[0]["scheduled_for"] == iso(starts)
    assert m[0]["scheduled_until"] == iso(ends)
    assert m[0]["impact"] == "maintenance"


# -- Redis unreadable ---------------------------------------------------------

def test_stale_when_redis_is_stopped(sp, redis):
    n = sp()
    incident(redis, state="degraded", message="Slow search")
    until_state(n, "checkout", "degraded")
    assert b"may be out of date" not in page(n)[1]

    redis.stop()
    wait_for(lambda: b"Status may be out of date" in page(n)[1],
             what="stale notice")
    doc = dom(page(n)[1])
    alert = [p for p in doc.iter(NS + "p") if p.get("id") == "stale"][0]
    assert alert.get("role") == "alert"
    assert "last confirmed" in text(alert)
    # the last good state is kept, and said to be unconfirmed
    label, badge, li = rows(doc)["checkout"]
    assert badge == "Degraded performance"
    assert "may be out of date" in text(li)
    assert "may be out of date" in text(doc.find(".//" + NS + "title"))
    # not a green "all is well" line on top
    assert overall(doc) == "Last known: Some systems are degraded"

    js = summary(n)
    assert js["status"]["stale"] is True
    assert js["status"]["description"].endswith(
        "(status may be out of date)")
    assert component(js, "checkout")["stale"] is True


def test_never_confirmed_is_not_all_well(nginx_factory):
    # Redis configured but never reachable: nothing has been confirmed
    n = nginx_factory(CONF.format(redis=free_port(), extra_http="",
                                  extra_server="", closed=free_port()))
    doc = dom(page(n)[1])
    alert = [p for p in doc.iter(NS + "p") if p.get("id") == "stale"][0]
    assert "not been confirmed yet" in text(alert)
    assert overall(doc) == "Status not confirmed yet"
    assert [r[1] for r in rows(doc).values()] == ["Unknown", "Unknown"]
    js = summary(n)
    assert js["status"]["stale"] is True
    assert js["status"]["description"] == "Status not confirmed yet"


# -- what must not be shown ---------------------------------------------------

def test_hidden_scopes_and_health_internals(nginx_factory, redis):
    closed = free_port()
    conf = CONF.format(
        redis=redis.port, extra_server="", closed=free_port(),
        extra_http="outage_check checkout http://127.0.0.1:%d/secret-health "
                   "interval=300ms timeout=200ms fall=1 rise=1;" % closed)
    n = nginx_factory(conf)
    incident(redis, "internal", state="down", message="db-7 replica lag")
    wait_for(lambda: [s for s in n.status_json()["scopes"]
                      if s["name"] == "checkout"][0]["state"] == "down",
             what="checkout down by health check")
    until_state(n, "internal", "down")

    for path in ("/status", "/status.json"):
        body = page(n, path)[1]
        for secret in (b"internal", b"db-7", b"secret-health",
                       str(closed).encode(), b"127.0.0.1", b"refused",
                       b"connect"):
            assert secret not in body, (path, secret)

    doc = dom(page(n)[1])
    assert overall(doc) == "Major outage"
    assert rows(doc)["checkout"][1] == "Down"
    inc = summary(n)["incidents"]
    assert [i["status"] for i in inc] == ["investigating"]

    # a location listing its scopes shows exactly those
    doc = dom(page(n, "/listed")[1])
    assert list(rows(doc)) == ["search"]
    assert overall(doc) == "All systems operational"


def test_redis_text_is_escaped(sp, redis):
    n = sp()
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)> & \'q\''
    incident(redis, state="down", message=evil, eta='</dd><b>soon</b>',
             link='https://example.com/"><script>x</script>')
    until_state(n, "checkout", "down")

    h, body = page(n)
    doc = dom(body)
    assert doc.find(".//" + NS + "script") is None
    assert doc.find(".//" + NS + "img") is None
    assert doc.find(".//" + NS + "b") is None
    li = rows(doc)["checkout"][2]
    assert evil in text(li)
    assert "</dd><b>soon</b>" in text(li)
    # the invalid link was refused by the module: no anchor at all
    assert list(li.iter(NS + "a")) == []

    raw = page(n, "/status.json")[1]
    assert b"<script" not in raw  # also inert if sniffed as HTML
    assert component(json.loads(raw), "checkout")["description"] == evil


# -- summary.json against its documentation ----------------------------------

def documented_fields():
    """Field paths of the summary.json table in docs/directives.md."""
    with open(os.path.join(REPO, "docs", "directives.md")) as f:
        doc = f.read()
    start = doc.index("<!-- summary.json fields -->")
    end = doc.index("<!-- /summary.json fields -->")
    fields = set(re.findall(r"^\| `([a-z_.\[\]]+)` \|", doc[start:end], re.M))
    assert len(fields) > 20
    # as the table says: an event's components are components, and a
    # scheduled maintenance has every field of an incident
    for f in list(fields):
        if f.startswith("components"):
            fields.add("incidents[]." + f)
    for f in list(fields):
        if f.startswith("incidents[]"):
            fields.add("scheduled_maintenances[]" + f[len("incidents[]"):])
    return fields


def json_paths(v, prefix=""):
    out = set()
    if isinstance(v, dict):
        for k, x in v.items():
            p = prefix + "." + k if prefix else k
            out.add(p)
            out |= json_paths(x, p)
    elif isinstance(v, list):
        for x in v:
            out |= json_paths(x, prefix + "[]")
    return out


def test_json_shape_matches_documented_fields(sp, redis):
    n = sp()
    now = int(time.time())
    incident(redis, "checkout", state="down", message="m",
             link="https://example.com/x")
    incident(redis, "search", state="maintenance", starts=str(now + 3600),
             ends=str(now + 7200))
    until_state(n, "checkout", "down")
    wait_for(lambda: summary(n)["scheduled_maintenances"],
             what="maintenance listed")
    js = summary(n)
    documented = documented_fields()
    got = json_paths(js)
    assert got - documented == set(), "undocumented: %s" % (got - documented)
    assert documented - got == set(), "missing: %s" % (documented - got)
    # types a Statuspage client relies on
    assert js["status"]["indicator"] in ("none", "minor", "major",
                                         "critical", "maintenance")
    for c in js["components"]:
        assert c["status"] in ("operational", "degraded_performance",
                               "partial_outage", "major_outage",
                               "under_maintenance")
        assert isinstance(c["position"], int)
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    assert stamp.match(js["page"]["updated_at"])
    assert stamp.match(js["incidents"][0]["created_at"])


# -- HTTP -----------------------------------------------------------------------

def test_format_choice(sp):
    n = sp()
    for path, hdrs, want in (
            ("/status", {}, "text/html"),
            ("/status", {"Accept": "application/json"}, "application/json"),
            ("/status", {"Accept": "text/html,application/json;q=0.9"},
             "text/html"),
            ("/status?format=json", {}, "application/json"),
            ("/status.json", {}, "application/json"),
            ("/status.json?format=html", {}, "text/html")):
        st, h, body = n.get(path, headers=hdrs)
        assert st == 200 and h["content-type"].startswith(want), (path, hdrs)
        assert h["vary"] == "Accept"
    st, h, _ = n.get("/status.json")
    assert h["access-control-allow-origin"] == "*"
    st, _, _ = n.request("POST", "/status", body=b"x")
    assert st == 405


def test_validators_and_head(sp, redis):
    n = sp()
    st, h, body = n.get("/status")
    assert h["cache-control"] == "max-age=10"
    etag = h["etag"]
    assert re.match(r'^"[0-9a-f]+"$', etag)

    # the body (and its tag) can change when a minute turns: retry then
    def revalidated():
        tag = n.get("/status")[1]["etag"]
        st, h2, body2 = n.get("/status", headers={"If-None-Match": tag})
        if st == 304:
            assert body2 == b"" and h2["etag"] == tag
            assert h2["cache-control"] == "max-age=10"
            return tag
        assert st == 200 and h2["etag"] != tag
        return None
    etag = wait_for(revalidated, what="a 304 for the current ETag")
    st, _, _ = n.get("/status", headers={"If-None-Match": '"0"'})
    assert st == 200

    st, h3, body3 = n.request("HEAD", "/status")
    assert st == 200 and body3 == b""
    assert int(h3["content-length"]) > 1000

    incident(redis, state="down")
    until_state(n, "checkout", "down")
    st, h4, body4 = n.get("/status", headers={"If-None-Match": etag})
    assert st == 200 and h4["etag"] != etag and b"Major outage" in body4

    # JSON and HTML have their own tags
    assert n.get("/status.json")[1]["etag"] != h4["etag"]


def test_survives_server_wide_maintenance_page(sp, redis):
    n = sp()
    incident(redis, state="maintenance", message="Back at noon")
    until_state(n, "checkout", "maintenance")
    assert n.get("/")[0] == 503
    h, body = page(n)
    assert b"Under maintenance" in body and b"Back at noon" in body


def test_nonce_for_csp(sp):
    n = sp(extra_server="outage_banner_nonce $request_id;")
    st, h, body = n.get("/status")
    m = re.search(rb'<style nonce="([0-9a-f]{32})">', body)
    assert m, body[:600]
    # a nonce must not be replayed from a cache
    assert h["cache-control"] == "no-store" and "etag" not in h
    other = n.get("/status")[2]
    assert re.search(rb'<style nonce="([0-9a-f]{32})">', other).group(1) \
        != m.group(1)
    assert len(dom(body).findall(".//" + NS + "style")) == 1


def test_config_errors(nginx_factory):
    bad = [
        ("location /s { outage_status_page; }", "shows no scope"),
        ("location /s { outage_status_page x refresh=soon; }",
         "invalid \"refresh=soon\""),
        ("location /s { outage_status_page x url=javascript:1; }",
         "not an absolute http or https URL"),
        ("location /s { outage_status_page x format=xml; }",
         "expected \"auto\", \"html\" or \"json\""),
    ]
    for loc, msg in bad:
        n = nginx_factory("server { listen 127.0.0.1:{port}; %s }" % loc,
                          start=False)
        ok, out = n.test_config()
        assert not ok and msg in out, out
    n = nginx_factory('outage_scope_label a "A"; outage_scope_label a "B";'
                      "server { listen 127.0.0.1:{port}; }", start=False)
    ok, out = n.test_config()
    assert not ok and 'scope "a" already has a label' in out, out

    # review s10 R4 P4: a url= on a port browsers refuse loaded before that
    # check: kept, with a warning that says why its links will not open
    n = nginx_factory("outage_scopes x; server { listen 127.0.0.1:{port}; "
                      "location /s { outage_status_page x "
                      "url=https://status.example.com:10080/; } }",
                      start=False)
    ok, out = n.test_config()
    assert ok and "browsers refuse to open" in out, out


def test_time_zone(sp, redis):
    n = sp(extra_http="outage_time_zone America/New_York;")
    since = 1795361400  # 2026-11-22T15:30:00Z, 10:30 EST
    incident(redis, state="degraded", since=str(since))
    until_state(n, "checkout", "degraded")
    doc = dom(page(n)[1])
    li = rows(doc)["checkout"][2]
    t = [x for x in li.iter(NS + "time")
         if x.get("datetime") == "2026-11-22T15:30:00Z"][0]
    # the oracle: Python's own tz database reading, not the module's
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo
    local = datetime.fromtimestamp(since, timezone.utc).astimezone(
        ZoneInfo("America/New_York"))
    assert text(t).endswith(local.strftime("%H:%M %Z")), text(t)
    assert "America/New_York time zone" in text(doc.find(".//" + NS +
                                                          "footer"))
    js = summary(n)
    assert js["page"]["time_zone"] == "America/New_York"
    # machine-readable times stay UTC
    assert js["incidents"][0]["created_at"] == "2026-11-22T15:30:00Z"


def test_time_zone_errors(nginx_factory):
    for value, msg in (("../../etc/passwd", "is not a time zone name"),
                       ("Mars/Olympus_Mons", "cannot open"),
                       ("zone.tab", "is not a time zone name")):
        n = nginx_factory("outage_time_zone %s; server { listen "
                          "127.0.0.1:{port}; }" % value, start=False)
        ok, out = n.test_config()
        assert not ok and msg in out, out
    # a file there that is not a zone file
    n = nginx_factory("outage_time_zone leapseconds; server { "
                      "listen 127.0.0.1:{port}; }", start=False)
    ok, out = n.test_config()
    assert not ok and "not a compiled time zone (TZif) file" in out, out


def test_template(sp, redis, tmp_path):
    tpl = tmp_path / "status.html"
    tpl.write_text(
        "<!DOCTYPE html><html><head><title>{{name}}</title>"
        '<link rel="stylesheet" href="/shop.css"></head><body>'
        '<h1 id="o" class="{{overall_class}}">{{overall}}</h1>'
        '{{#stale}}<p id="s">Unconfirmed since {{confirmed}}</p>{{/stale}}'
        "{{components|raw}}</body></html>")
    n = sp(extra_server="location /custom { outage_status_page "
                        '"name=A & B" template=%s; }' % tpl)
    incident(redis, state="down", message="<script>alert(1)</script>")
    until_state(n, "checkout", "down")
    h, body = page(n, "/custom")
    doc = dom(body)
    assert text(doc.find(".//" + NS + "title")) == "A & B"
    assert text([e for e in doc.iter(NS + "h1")][0]) == "Major outage"
    assert doc.find(".//" + NS + "script") is None
    r = rows(doc)
    assert r["checkout"][1] == "Down"
    assert "<script>alert(1)</script>" in text(r["checkout"][2])
    assert "etag" in h
    # JSON is the same summary.json with a template
    assert summary(n, "/custom.json")["status"]["indicator"] == "major"

    redis.stop()
    wait_for(lambda: b'id="s"' in page(n, "/custom")[1], what="stale")
    assert b"Last known: Major outage" in page(n, "/custom")[1]


def test_template_errors(nginx_factory, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<p>{{#stale}}x</p>")
    for param, msg in (("template=%s" % bad, "at byte"),
                       ("template=%s/none.html" % tmp_path, "cannot open")):
        n = nginx_factory("server { listen 127.0.0.1:{port}; location / { "
                          "outage_status_page a %s; } }" % param, start=False)
        ok, out = n.test_config()
        assert not ok and msg in out, out
