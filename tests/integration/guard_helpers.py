"""Helpers of the all-checks-failing guard's tests (test_guard_trust.py,
test_guard_status.py, test_decision_severity.py): an application whose
/health can fail or hang, the fixture that makes them, two-shop and two-box
configurations, the two shops with Redis and a prober whose every probe
fails, and readers of the scopes' states, the status' guard object and its
metrics."""

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import LATENCY_FACTOR, wait_for
from passive_helpers import PASSIVE_WINDOW, checks_of, server  # noqa: F401

T = 10 * LATENCY_FACTOR


class App:
    """An application on host:port.  hang: every request blocks (a hung
    shared database); health500: /health answers health_code (500; 401:
    the probes' credentials, the prober's side) while pages are fine
    (the prober's side breaking every probe); /slow answers after 3 s.
    health_hits: the /health requests received so far.
    HTTP/1.1, so a client's connection is kept alive."""

    def __init__(self, host="127.0.0.1"):
        self.hang = False
        self.health_hits = 0
        self.health500 = False
        self.health_code = 500
        self.release = threading.Event()
        me = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                if self.path.startswith("/health"):
                    me.health_hits += 1
                if me.hang:
                    me.release.wait(30)
                if self.path.startswith("/slow"):
                    time.sleep(3)
                status = 200
                if me.health500 and self.path.startswith("/health"):
                    status = me.health_code
                body = b"app ok"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *a):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024       # like gunicorn/uvicorn

            def handle_error(self, request, client_address):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.srv = Server((host, 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop_accepting(self):
        """The accept loop dies; the listening socket (its backlog) and the
        connections already accepted stay."""
        self.srv.shutdown()

    def stop(self):
        self.release.set()
        try:
            self.srv.shutdown()
        except Exception:
            pass
        self.srv.server_close()


@pytest.fixture
def apps():
    made = []

    def make(host="127.0.0.1"):
        a = App(host)
        made.append(a)
        return a

    yield make
    for a in made:
        a.stop()


def states(n):
    return {s["name"]: s["state"] for s in n.status_json()["scopes"]
            if s["name"] != "site"}


AB_OPTS = "interval=500ms timeout=300ms fall=2"


def ab_conf(a, b, extra="", opts=AB_OPTS, b_opts=None):
    """shopa checked on app a, shopb on app b (b_opts: its own options),
    each paging its location /a/ or /b/ proxied to its app"""
    return ("outage_check shopa http://127.0.0.1:%d/health %s rise=2;\n"
            "outage_check shopb http://127.0.0.1:%d/health %s rise=2;\n"
            % (a.port, opts, b.port, b_opts or opts) + extra) + server("""
        location /a/ { outage_page shopa; proxy_pass http://127.0.0.1:%d/; }
        location /b/ { outage_page shopb; proxy_pass http://127.0.0.1:%d/; }
        """ % (a.port, b.port))


def check_lines(opts, *checks):
    """One outage_check line per (scope, port, path) on 127.0.0.1, each
    with the same options."""
    return "".join("outage_check %s http://127.0.0.1:%d%s %s;\n"
                   % (name, port, path, opts) for name, port, path in checks)


def redis_shops(nginx_factory, apps, redis):
    """ab_conf's two shops, with outage_redis on `redis`, two workers, both
    checks up: (nginx, app a, app b)"""
    a, b = apps(), apps()
    conf = ("outage_redis 127.0.0.1:%d interval=200ms timeout=500ms;\n"
            % redis.port) + ab_conf(a, b)
    n = nginx_factory(conf, workers=2)
    wait_for(lambda: [c["health"] for c in checks_of(n)] == ["up"] * 2,
             timeout=T, what="both checks up")
    return n, a, b


def prober_fails(n, *shops):
    """Every /health answers 401 (the probes' credentials: the prober's
    side), until the guard holds every check down."""
    for app in shops:
        app.health_code = 401
        app.health500 = True
    wait_for(lambda: guard(n)["state"] == "holding"
             and [c["health"] for c in checks_of(n)] == ["down"] * len(shops),
             timeout=T, what="the guard holding every check")


BOXES_OPTS = "interval=300ms timeout=200ms fall=2 rise=2"


def boxes_conf(box1, box2, opts=BOXES_OPTS, proxy=None):
    """Box 1 serves checkout (/health) and api (/), box 2 search: one
    target, two scopes, and another target.  /checkout/ is proxied to box
    1; with proxy=(p1, p2, p3) each scope's location to its port."""
    checks = check_lines(opts, ("checkout", box1, "/health"),
                         ("api", box1, "/"), ("search", box2, "/health"))
    if proxy is None:
        return checks + server("""
        location /checkout/ {
            outage_page checkout;
            proxy_pass http://127.0.0.1:%d/;
        }
        location /api/ { outage_page api; }
        location /search/ { outage_page search; }
        """ % box1)
    return checks + server("".join(
        "location /%s/ { outage_page %s; proxy_pass http://127.0.0.1:%d; }\n"
        % (name, name, port)
        for name, port in zip(("checkout", "api", "search"), proxy)))


def guard(n):
    return n.status_json()["guard"]


def metric_states(n):
    st, _, body = n.get("/outage/status?format=prometheus")
    assert st == 200
    text = body.decode()
    return {m.group(1): m.group(2) for m in
            re.finditer(r'^outage_guard_state\{state="(\w+)"\} (\d)$', text,
                        re.M)}, text
