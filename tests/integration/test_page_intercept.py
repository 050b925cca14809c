"""outage_page_intercept (review s8/R1 #6): with every scope of the location
up, a 503 the application sent itself (its error code, its Retry-After)
passes untouched; nginx's own error (a peer that refuses, times out) and a
502/504 of a proxy in between become the maintenance page.  With a scope of the
location affected, every failed answer becomes the page about that scope."""

import json
import time
from http.server import BaseHTTPRequestHandler

from harness import free_port, wait_for
from passive_helpers import serve, stop_server

import pytest

APP_BODY = json.dumps({"error": "payment provider busy, retry in 5 s",
                       "code": "PSP_BUSY"}).encode()


class Psp(BaseHTTPRequestHandler):
    """A checkout API: /pay is its own 503 (JSON, Retry-After: 5),
    /status/NNN its own NNN, /slow answers after 2 s, anything else 200."""
    protocol_version = "HTTP/1.1"

    def _answer(self):
        if self.path.startswith("/slow"):
            time.sleep(2)
        if self.path.startswith("/pay"):
            status, body, ctype = 503, APP_BODY, "application/json"
        elif self.path.startswith("/status/"):
            status = int(self.path[len("/status/"):])
            body, ctype = b'{"code":"APP_%d"}' % status, "application/json"
        else:
            status, body, ctype = 200, b"ok", "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if status == 503:
            self.send_header("Retry-After", "5")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self._answer()

    def do_HEAD(self):
        self._answer()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()

    def log_message(self, *a):
        pass



CONF = """
    outage_redis 127.0.0.1:%(redis)d interval=200ms timeout=200ms
                 connect_timeout=200ms;
    outage_scopes checkout;
    server {
        listen 127.0.0.1:{port};
        outage_page checkout;
        location / { proxy_pass http://127.0.0.1:%(app)d; }
        location /closed/ { proxy_pass http://127.0.0.1:%(closed)d; }
        location /slow/ {
            proxy_read_timeout 300ms;
            proxy_pass http://127.0.0.1:%(app)d;
        }
        location = /outage/status { outage_status; }
    }
"""


@pytest.fixture
def psp():
    srv = serve(handler=Psp)
    yield srv.server_address[1]
    stop_server(srv)


@pytest.fixture
def shop(nginx_factory, redis, psp):
    n = nginx_factory(CONF % {"redis": redis.port, "app": psp,
                              "closed": free_port()}, workers=2)
    wait_for(lambda: n.status_json()["redis"]["up"], what="first redis poll")
    return n


def intercepts(n):
    return n.status_json()["counters"]["intercepts"]


def test_application_error_passes_while_scopes_are_up(shop):
    n = shop
    for accept in ("application/json", "text/html", "*/*"):
        st, h, body = n.request("POST", "/pay", body=b'{"card":"x"}',
                                headers={"Accept": accept,
                                         "Content-Type": "application/json"})
        assert st == 503, accept
        assert body == APP_BODY, (accept, body[:200])
        assert h["content-type"] == "application/json", accept
        assert h["retry-after"] == "5", accept
    st, h, body = n.request("HEAD", "/pay")
    assert st == 503 and h["retry-after"] == "5" and body == b""
    assert intercepts(n) == 0
    assert "serving the maintenance page" not in n.log_text()

    # nginx's own errors are still replaced: a refused connection (502)
    # and a read timeout (504); so are a 502 and a 504 that came with a
    # header: a proxy in between (a load balancer) saying its upstream
    # failed (RFC 9110 15.6.3, 15.6.5)
    for path in ("/closed/", "/slow/", "/status/502", "/status/504"):
        st, h, body = n.get(path, headers={"Accept": "text/html"})
        assert st == 503, (path, st)
        assert b"This page is temporarily unavailable" in body, path
        assert b"<center>nginx" not in body and b"APP_" not in body, path
        assert h["retry-after"] == "120", path
    assert intercepts(n) == 4
    log = n.log_text()
    assert ('backend answered 502, serving the maintenance page instead: '
            'scope "checkout" is up, the backend itself failed') in log, log
    assert 'backend answered 504, serving the maintenance page' in log, log


def test_a_proxy_in_between_for_a_dead_application(nginx_factory, redis,
                                                   psp):
    """front nginx (the page) -> a plain proxy (another nginx, as a load
    balancer) -> a dead application: the proxy's own 502 (refused) and 504
    (timed out) become the page, as nginx's own would."""
    dead = free_port()
    lb = nginx_factory("""
        server {
            listen 127.0.0.1:{port};
            location / { proxy_pass http://127.0.0.1:%d; }
            location /slow/ {
                proxy_read_timeout 200ms;
                proxy_pass http://127.0.0.1:%d;
            }
        }""" % (dead, psp), workers=1)
    n = nginx_factory(CONF % {"redis": redis.port, "app": lb.port,
                              "closed": free_port()}, workers=1)
    wait_for(lambda: n.status_json()["redis"]["up"], what="first redis poll")
    for path, method in (("/cart", "GET"), ("/cart", "HEAD"),
                         ("/slow/x", "GET")):
        st, h, body = n.request(method, path, headers={"Accept": "text/html"})
        assert st == 503, (path, method, st, body[:200])
        assert h["retry-after"] == "120"
        assert b"<center>nginx" not in body
    assert intercepts(n) == 3


def test_application_error_becomes_the_page_of_an_affected_scope(shop,
                                                                 redis):
    n = shop
    redis.cli("HSET", "outage:checkout", "state", "degraded",
              "message", "Card payments are slow")
    wait_for(lambda: [s for s in n.status_json()["scopes"]
                      if s["name"] == "checkout"][0]["state"] == "degraded",
             what="degraded seen")
    # a degraded scope does not take the location down ...
    assert n.get("/")[0] == 200
    # ... but a failed answer of its backend is the page about it
    st, h, body = n.request("POST", "/pay", body=b"{}",
                            headers={"Accept": "application/json"})
    doc = json.loads(body)
    assert st == 503 and doc["scope"] == "checkout", doc
    assert doc["state"] == "degraded"
    assert "Card payments are slow" in body.decode()
    assert "PSP_BUSY" not in body.decode()
    # the Retry-After of the scope's page, not the application's
    assert h["retry-after"] == "120"
    assert intercepts(n) == 1
    assert ('backend answered 503, serving the maintenance page instead: '
            'scope "checkout" is degraded') in n.log_text()
