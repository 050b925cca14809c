"""Helpers of the passive detection tests (test_passive*.py,
test_guard_trust.py): an application with a slow URL, a server that answers
200 to everything, the server block they share, the resolver line of a
FakeDns, and readers of the status endpoint and the error log."""

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import wait_for

# the documented defaults (docs/directives.md, outage_check)
PASSIVE_MIN = 10
PASSIVE_WINDOW = 5.0


class App:
    """An application: /slow answers after 3 s, /invoice/* hands the
    download to nginx (X-Accel-Redirect), /missing is a 404, anything else
    200."""

    def __init__(self):
        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                status, extra = 200, {}
                if self.path.startswith("/slow"):
                    time.sleep(3)
                elif self.path.startswith("/invoice/"):
                    extra["X-Accel-Redirect"] = "/_storage" + self.path
                elif self.path.startswith("/missing"):
                    status = 404
                body = b"app ok"
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass        # nginx gave up on /slow first: broken pipe

        ThreadingHTTPServer.allow_reuse_address = True
        self.srv = Server(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


class Ok(BaseHTTPRequestHandler):
    """200 "ok" to every GET: a management port, a live peer.  A subclass
    makes an answer late (a slow /health) in wait()."""
    protocol_version = "HTTP/1.1"

    def wait(self):
        pass

    def do_GET(self):
        self.wait()
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def serve(host="127.0.0.1", port=0, handler=Ok):
    """A threaded HTTP server on host:port (0: any free port), serving in
    the background; stop it with stop_server()."""
    ThreadingHTTPServer.allow_reuse_address = True
    srv = ThreadingHTTPServer((host, port), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def stop_server(srv):
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def app():
    a = App()
    yield a
    a.stop()


def server(locations):
    return """
    server {
        listen 127.0.0.1:{port} reuseport;
        %s
        location = /outage/status { outage_status; }
    }
""" % locations


def resolver(dns, valid="1s"):
    """The http{} lines that make nginx resolve with dns (a FakeDns); a
    short valid= so that a changed record is seen within the test."""
    return ("resolver 127.0.0.1:%d ipv6=off valid=%s;\n"
            "resolver_timeout 1s;\n" % (dns.port, valid))


def checks_of(n):
    return n.status_json()["checks"]


def scope(n, name):
    return [s for s in n.status_json()["scopes"] if s["name"] == name][0]


def lines(n, pattern):
    return [ln for ln in n.log_text().splitlines() if re.search(pattern, ln)]


def down_lines(n):
    return lines(n, r'outage: check "[a-z]+" \(#\d+\) is down: ')


def wait_up(n, timeout=10):
    """Waits for the first check's probes to say it is up."""
    wait_for(lambda: checks_of(n)[0]["health"] == "up", timeout=timeout,
             what="the check up")


def hammer_until(n, path, done, deadline, what):
    end = time.monotonic() + deadline
    sent = 0
    while not done():
        n.get(path)
        sent += 1
        assert time.monotonic() < end, "%s after %d requests: %r" % (
            what, sent, checks_of(n))
    return sent


def hammer_until_paged(n, path, name, deadline):
    """Requests path until scope name is down (paged); how many were
    sent."""
    return hammer_until(n, path, lambda: scope(n, name)["state"] == "down",
                        deadline, "no page")
