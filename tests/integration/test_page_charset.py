"""The module's own HTML (the 503 page, the status page) is UTF-8 and says
so to nginx the way a proxied "Content-Type: text/html; charset=utf-8"
does, so nginx's charset filter never takes the location's source_charset
for it (review s9 R0 F6): with "charset utf-8; source_charset koi8-r" the
body passes untouched, with "charset koi8-r; source_charset utf-8" it is
left alone too, as nginx leaves any response that names its charset,
and with "override_charset on" it is recoded to koi8-r (characters koi8-r
lacks as numeric references).  The
oracle is html5lib decoding the bytes with the charset of the response's
Content-Type, as a browser does.  Also what the page and the banner
variables say on such pages: scope labels, the CSP nonce, and an ASCII
$outage_message_html (review s9 R0 F9-F11, below)."""

import json
import re

import html5lib
import pytest

from harness import wait_for

LABEL = "Оплата"
MESSAGE = "Оплата недоступна — réessayez"

CONF = """
    include /etc/nginx/koi-utf;
    include /etc/nginx/win-utf;
    outage_redis 127.0.0.1:%(redis)d interval=200ms timeout=200ms
                 connect_timeout=200ms;
    outage_scopes checkout payments-db;
    outage_scope_label checkout "%(label)s";
    server {
        listen 127.0.0.1:{port};
        root %(www)s;
        location /plain/ { outage_page checkout; try_files /index.html =404; }
        location /u8koi/ {
            charset utf-8; source_charset koi8-r;
            outage_page checkout; try_files /index.html =404;
        }
        location /u8win/ {
            charset utf-8; source_charset windows-1251;
            outage_page checkout; try_files /index.html =404;
        }
        location /koiu8/ {
            charset koi8-r; source_charset utf-8;
            outage_page checkout; try_files /index.html =404;
        }
        location /koiover/ {
            charset koi8-r; override_charset on;
            outage_page checkout; try_files /index.html =404;
        }
        location = /st-plain { outage_status_page checkout; }
        location = /st-u8koi {
            charset utf-8; source_charset koi8-r;
            outage_status_page checkout format=html;
        }
        location = /st-koiu8 {
            charset koi8-r; source_charset utf-8;
            outage_status_page checkout format=html;
        }
        location = /st-koiover {
            charset koi8-r; override_charset on;
            outage_status_page checkout format=html;
        }
        location /jkoi/ {
            charset utf-8; source_charset koi8-r;
            charset_types text/html application/json application/problem+json;
            outage_page checkout; try_files /index.html =404;
        }
        location /jover/ {
            charset koi8-r; override_charset on;
            charset_types text/html application/json application/problem+json;
            outage_page checkout; try_files /index.html =404;
        }
        location = /st-jkoi {
            charset utf-8; source_charset koi8-r;
            charset_types text/html application/json;
            outage_status_page checkout format=json;
        }
        location = /st-jover {
            charset koi8-r; override_charset on;
            charset_types text/html application/json;
            outage_status_page checkout format=json;
        }
        location = /outage/status-jkoi {
            charset utf-8; source_charset koi8-r;
            charset_types application/json;
            outage_status;
        }
        location = /outage/prom {
            charset koi8-r; source_charset utf-8; charset_types *;
            outage_status prometheus;
        }
        location /ct/ {
            add_header X-CT $sent_http_content_type always;
            outage_page checkout; try_files /index.html =404;
        }
        location = /st-ct {
            add_header X-CT $sent_http_content_type always;
            outage_status_page checkout format=html;
        }
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


def text_as_a_browser_reads_it(headers, body):
    ctype = headers["content-type"]
    m = re.search(r";\s*charset=([\w-]+)", ctype)
    assert m, ctype
    doc = html5lib.parse(body, transport_encoding=m.group(1),
                         namespaceHTMLElements=False)
    return m.group(1).lower(), " ".join("".join(doc.itertext()).split())


@pytest.mark.parametrize("path, charset", [
    ("/plain/", "utf-8"),
    ("/u8koi/", "utf-8"),
    ("/u8win/", "utf-8"),
    ("/koiu8/", "utf-8"),
    ("/koiover/", "koi8-r"),
])
def test_page_text_survives_the_charset_filter(site, path, charset):
    st, headers, body = site.get(path)
    assert st == 503, body[:300]
    assert headers["content-type"].startswith("text/html;"), headers
    cs, text = text_as_a_browser_reads_it(headers, body)
    assert cs == charset
    assert MESSAGE in text, text[:600]
    if charset == "utf-8":
        # declared UTF-8 and left alone: the very bytes of the plain page
        assert MESSAGE.encode() in body
    else:
        # recoded: Cyrillic as koi8-r bytes, the rest as references
        assert LABEL.encode("koi8-r") in body
        assert b"&#" in body and MESSAGE.encode() not in body


@pytest.mark.parametrize("path, charset", [
    ("/st-plain", "utf-8"),
    ("/st-u8koi", "utf-8"),
    ("/st-koiu8", "utf-8"),
    ("/st-koiover", "koi8-r"),
])
def test_status_page_text_survives_the_charset_filter(site, path, charset):
    st, headers, body = site.get(path, headers={"Accept": "text/html"})
    assert st == 200, body[:300]
    cs, text = text_as_a_browser_reads_it(headers, body)
    assert cs == charset
    assert LABEL in text and MESSAGE in text, text[:600]


def test_problem_json_is_not_recoded(site):
    st, headers, body = site.get("/u8koi/",
                                 headers={"Accept": "application/json"})
    assert st == 503
    assert headers["content-type"] == "application/problem+json"
    assert MESSAGE in json.dumps(json.loads(body), ensure_ascii=False)


# Review s10 (R3 F6): JSON answers in a location whose charset_types list a
# JSON type were recoded from source_charset (mojibake), or with
# override_charset into koi8-r.  The module writes JSON in ASCII (non-ASCII
# as \u escapes), which every charset nginx knows leaves as it is: the
# bytes are the same wherever the answer is served, whatever nginx says in
# the Content-Type parameter, and a JSON parser reads the message.
@pytest.mark.parametrize("path, headers, key", [
    ("/jkoi/", {"Accept": "application/json"}, "detail"),
    ("/jover/", {"Accept": "application/json"}, "detail"),
    ("/st-jkoi", {}, None),
    ("/st-jover", {}, None),
    ("/outage/status-jkoi", {}, None),
])
def test_json_is_ascii_and_survives_the_charset_filter(site, path, headers,
                                                      key):
    st, h, body = site.get(path, headers=headers)
    assert st in (200, 503), body[:300]
    assert "json" in h["content-type"], h
    assert all(b < 0x80 for b in body), body[:300]
    doc = json.loads(body.decode("ascii"))
    flat = json.dumps(doc, ensure_ascii=False)
    assert MESSAGE in flat, flat[:600]
    if key:
        assert MESSAGE in doc[key]


# Review s10 (R3 F5): $sent_http_content_type keeps "; charset=utf-8" for
# the module's pages, as for a proxied page that says so.
@pytest.mark.parametrize("path", ["/ct/", "/st-ct"])
def test_sent_content_type_keeps_the_charset(site, path):
    st, h, body = site.get(path, headers={"Accept": "text/html"})
    assert st in (200, 503), body[:300]
    assert h["content-type"] == "text/html; charset=utf-8", h
    assert h["x-ct"] == "text/html; charset=utf-8", h


# Review s9 R0 F10, F11, F9: the 503 page names scopes by their
# outage_scope_label (HTML list, "label" in problem+json); its <style>
# carries the response's outage_banner_nonce; $outage_message_html is
# ASCII, so an outage_banner_html banner reads right on a Shift_JIS page.
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


# Review s10 R4 P3: under "charset_types *" the Prometheus answer said
# "charset=utf-8; charset=koi8-r"; its charset is now nginx's own field, so
# the header names one (Go's mime.ParseMediaType refuses duplicates).
def test_prometheus_type_has_one_charset(site):
    st, h, body = site.get("/outage/prom")
    assert st == 200, body[:200]
    assert h["content-type"] == "text/plain; version=0.0.4; charset=utf-8", h
    assert b"outage_scope_state" in body
