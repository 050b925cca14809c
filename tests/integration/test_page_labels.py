"""What the 503 page and the banner variables say to shoppers (review s9
R0 F10, F11, F9):

- the page names affected scopes by their outage_scope_label, as the
  status page does, in its HTML list and as "label" in problem+json;
- under a Content-Security-Policy that allows styles by nonce, the page's
  <style> carries the outage_banner_nonce value of that very response;
- $outage_message_html is ASCII (numeric character references), so an
  outage_banner_html banner reads right on a Shift_JIS page.

The oracles are html5lib (decoding with the response's charset, as a
browser does) and json."""

import json
import re

import html5lib
import pytest

from harness import wait_for

LABEL = "Checkout & payments"
MESSAGE = "決済は現在ご利用いただけません — réessayez"

CONF = """
    outage_redis 127.0.0.1:%(redis)d interval=200ms timeout=200ms
                 connect_timeout=200ms;
    outage_scopes checkout payments-db;
    outage_scope_label checkout "%(label)s";
    server {
        listen 127.0.0.1:{port};
        root %(www)s;
        location /shop/ {
            outage_page checkout payments-db;
            try_files /index.html =404;
        }
        location /csp/ {
            outage_banner_nonce $request_id;
            add_header X-Nonce $request_id always;
            outage_page checkout;
            try_files /index.html =404;
        }
        location /sjis/ {
            charset shift_jis;
            outage_banner on;
            outage_banner_html '<p id="m">$outage_message_html</p>';
            try_files /sjis.html =404;
        }
        location = /outage/status { outage_status; }
    }
"""


@pytest.fixture
def site(nginx_factory, redis, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_bytes(b"<p>shop</p>")
    (www / "sjis.html").write_bytes(
        "<!DOCTYPE html><html><head><title>店</title></head>"
        "<body><p>いらっしゃいませ</p></body></html>".encode("shift_jis"))
    n = nginx_factory(CONF % {"redis": redis.port, "label": LABEL,
                              "www": www}, workers=1)
    redis.cli("HSET", "outage:checkout", "state", "down",
              "message", MESSAGE)
    redis.cli("HSET", "outage:payments-db", "state", "down",
              "message", "db")
    wait_for(lambda: len([s for s in n.status_json()["scopes"]
                          if s["state"] == "down"]) == 2, what="incidents")
    return n


def parse(headers, body):
    m = re.search(r";\s*charset=([\w-]+)", headers["content-type"])
    return html5lib.parse(body, transport_encoding=m.group(1) if m else None,
                          namespaceHTMLElements=False)


def test_page_lists_scopes_by_their_label(site):
    st, h, body = site.get("/shop/", headers={"Accept": "text/html"})
    assert st == 503
    doc = parse(h, body)
    names = [" ".join("".join(e.itertext()).split())
             for e in doc.iter("span") if "name" in e.get("class", "")]
    # the label as written (no capitalising), unlabelled scopes by name
    assert LABEL in names, names
    assert "checkout" not in names, names
    assert "payments-db" in names, names
    label = [e for e in doc.iter("span") if "label" in e.get("class", "")]
    assert label and "".join(label[0].itertext()) == LABEL

    st, h, body = site.get("/shop/", headers={"Accept": "application/json"})
    assert st == 503
    doc = json.loads(body)
    comp = {c["scope"]: c for c in doc["components"]}
    assert comp["checkout"]["label"] == LABEL
    assert comp["payments-db"]["label"] is None
    assert doc["label"] == (LABEL if doc["scope"] == "checkout" else None)


def test_page_style_carries_the_response_nonce(site):
    seen = set()
    for _ in range(2):
        st, h, body = site.get("/csp/", headers={"Accept": "text/html"})
        assert st == 503
        assert int(h["content-length"]) == len(body)
        nonce = h["x-nonce"]
        assert re.fullmatch(r"[0-9a-f]{32}", nonce), nonce
        doc = parse(h, body)
        styles = list(doc.iter("style"))
        assert len(styles) == 1 and styles[0].get("nonce") == nonce, \
            body[:400]
        # the icon keeps its size without the stylesheet
        svg = [e for e in doc.iter() if str(e.tag).endswith("svg")][0]
        assert svg.get("width") == "48" and svg.get("height") == "48"
        seen.add(nonce)
    assert len(seen) == 2
    # HEAD: the same length, no body
    st, h, body = site.request("HEAD", "/csp/",
                               headers={"Accept": "text/html"})
    assert st == 503 and body == b"" and int(h["content-length"]) > 0


def test_message_html_reads_right_on_a_shift_jis_page(site):
    st, h, body = site.get("/sjis/")
    assert st == 200
    assert "shift_jis" in h["content-type"].lower(), h
    doc = parse(h, body)
    p = [e for e in doc.iter("p") if e.get("id") == "m"]
    assert p, body[:400]
    assert "".join(p[0].itertext()) == MESSAGE
    # and the shop's own text is untouched
    assert "いらっしゃいませ" in "".join(doc.itertext())
