"""Shared pytest fixtures (imported by the conftest of tests/integration and
tests/deep): real redis-server, backends and nginx per test, stopped by PID.

A test fails if its nginx error log has [alert], [crit] or [emerg] lines
(unless it marks itself with @pytest.mark.allow_log_errors), and the error
log is printed when a test fails.

FakeDns (fixture fake_dns): tests/support/fake_dns.py as nginx's
"resolver", with a zone the test rewrites.

Also the builder the banner tests share (banner_nginx: the module polling
a test's Redis, one server with the banner on and the test's locations),
the incident helpers, and ScriptedBackend, a loopback upstream whose
answers are the test's own bytes.
"""

import os
import signal
import socket
import subprocess
import sys
import threading

import pytest

from harness import (PY, SUPPORT, Backend, Nginx, Redis, shard, stop_pid,
                     wait_for)

__all__ = ["pytest_configure", "pytest_collection_modifyitems",
           "pytest_runtest_makereport", "redis", "backend", "nginx_factory",
           "fake_dns", "busy_port"]


def pytest_configure(config):
    config.addinivalue_line("markers",
                            "allow_log_errors: emerg/alert lines are expected")


def pytest_collection_modifyitems(config, items):
    """OUTAGE_SHARD=k/n keeps every n-th test from the k-th: the long
    tests of a file, which sit together, are dealt to every shard."""
    k, n = shard()
    if n == 1:
        return
    keep = [it for i, it in enumerate(items) if i % n == k]
    config.hook.pytest_deselected(items=[it for i, it in enumerate(items)
                                         if i % n != k])
    items[:] = keep


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def redis(tmp_path):
    r = Redis(str(tmp_path))
    yield r
    r.stop()


@pytest.fixture
def backend(tmp_path):
    b = Backend(str(tmp_path), health_port=True)
    yield b
    b.stop()


@pytest.fixture
def nginx_factory(tmp_path, request):
    """nginx_factory(http_conf, workers=2, ...) -> started Nginx."""
    started = []

    def make(http_conf, **kw):
        n = Nginx(str(tmp_path / ("n%d" % len(started))), http_conf, **kw)
        started.append(n)
        return n

    yield make

    failed = getattr(request.node, "rep_call", None)
    failed = failed is not None and failed.failed
    for n in started:
        n.stop()
        bad = n.bad_log_lines()
        if failed:
            sys.stderr.write("\n--- nginx error log (%s) ---\n%s\n"
                             % (n.dir, n.log_text()[-20000:]))
        reports = n.sanitizer_reports()
        if reports:
            pytest.fail("sanitizer/valgrind reports involving the module:\n"
                        + "\n".join(reports[:5]))
        if bad and not request.node.get_closest_marker("allow_log_errors"):
            pytest.fail("nginx error log has alert/crit/emerg lines:\n"
                        + "\n".join(bad[:20]))


# -- the banner tests' nginx, incidents and upstreams -----------------------

BANNER_CONF = """
    outage_redis 127.0.0.1:%(redis)d interval=200ms timeout=200ms
                 connect_timeout=200ms;
    server {
        listen 127.0.0.1:{port}%(listen)s;
        outage_banner on;
        default_type text/html;
%(locations)s
        location = /outage/status { outage_status; }
    }
%(http)s
"""


def banner_nginx(nginx_factory, redis, locations, listen="", http="",
                 workers=1, incident=None):
    """nginx with the module polling "redis" every 200 ms and one server
    on {port} ("listen": its parameters) with "outage_banner on", the
    nginx text "locations" (server-level directives too) and the status
    at /outage/status; "http": more http-level text.  Returns once Redis
    has been polled; with "incident" (a message), once the site scope is
    degraded with it."""
    n = nginx_factory(BANNER_CONF % {"redis": redis.port, "listen": listen,
                                     "locations": locations, "http": http},
                      workers=workers)
    wait_for(lambda: n.status_json()["redis"]["up"], what="redis polled")
    if incident is not None:
        declare(n, redis, incident)
    return n


def scope_state(n, name="site"):
    return [s["state"] for s in n.status_json()["scopes"]
            if s["name"] == name][0]


def declare(n, redis, message="Slow"):
    """SET outage:site "message", and wait until nginx shows it."""
    redis.cli("SET", "outage:site", message)
    wait_for(lambda: scope_state(n) == "degraded", what="incident")


def www_dir(tmp_path, files):
    """tmp_path/www with files {name: bytes}."""
    www = tmp_path / "www"
    www.mkdir()
    for name, data in files.items():
        (www / name).write_bytes(data)
    return www


class ScriptedBackend(threading.Thread):
    """A loopback upstream whose answers are the test's bytes: for each
    connection, the request head is read and answer(conn, name) writes
    the response, name being the path without its leading "/" (a thread
    per connection with threaded=True); with head=True, answer(conn, name,
    head) also gets the head's bytes.  Stopped by stop()."""

    def __init__(self, answer=None, threaded=False, head=False):
        super().__init__(daemon=True)
        if answer is not None:
            self.answer = answer
        self.head = head
        self.threaded = threaded      # subclasses: set yours before this
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.threaded:
                threading.Thread(target=self.serve, args=(c,),
                                 daemon=True).start()
            else:
                self.serve(c)

    def serve(self, c):
        try:
            with c:
                data = b""
                while b"\r\n\r\n" not in data:
                    d = c.recv(4096)
                    if not d:
                        return
                    data += d
                name = data.split(b" ", 2)[1].decode().lstrip("/")
                if self.head:
                    self.answer(c, name, data)
                else:
                    self.answer(c, name)
        except OSError:
            pass

    def stop(self):
        self.sock.close()


def response(body, *headers):
    """A whole HTTP/1.1 200 with "headers" (bytes, without CRLF), its
    Content-Length, and Connection: close."""
    return (b"HTTP/1.1 200 OK\r\n" + b"".join(h + b"\r\n" for h in headers)
            + b"Content-Length: %d\r\nConnection: close\r\n\r\n"
            % len(body) + body)


# -- a DNS server for "resolver" --------------------------------------------

class FakeDns:
    """tests/support/fake_dns.py on a free loopback port.  records:
    {name: "ip [ip...]"} answered (TTL 0), {name: "silent"} never answered;
    any other name is NXDOMAIN.  set() rewrites the zone (read again for
    every query); log() is what it was asked, also in tmp_path/dns.log."""

    def __init__(self, tmp_path, records=None):
        self.zone = os.path.join(str(tmp_path), "zone")
        self.path = os.path.join(str(tmp_path), "dns.log")
        self.set(records or {})
        self.err = open(self.path, "w")
        self.proc = subprocess.Popen(
            [PY, os.path.join(SUPPORT, "fake_dns.py"), "--port", "0",
             "--zone", self.zone],
            stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("READY"), line
        self.port = int(line.split()[1])

    def set(self, records):
        tmp = self.zone + ".tmp"
        with open(tmp, "w") as f:
            for name, ip in records.items():
                f.write("%s %s\n" % (name, ip))
        os.replace(tmp, self.zone)

    def resolver(self, timeout="1s"):
        return ("resolver 127.0.0.1:%d ipv6=off valid=1s; "
                "resolver_timeout %s;" % (self.port, timeout))

    def log(self):
        with open(self.path) as f:
            return f.read()

    def stop(self):
        stop_pid(self.proc)
        self.err.close()


@pytest.fixture
def fake_dns(tmp_path):
    d = FakeDns(tmp_path)
    yield d
    d.stop()


@pytest.fixture
def busy_port():
    """A loopback port held by the test: nginx cannot bind() it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    yield s.getsockname()[1]
    s.close()


def failed_reload(n, conf):
    """Writes a configuration nginx reads (the zones' init runs) but cannot
    apply (a busy_port in it), sends SIGHUP and waits for the failure: the
    running workers must stay."""
    old = n.worker_pids()
    n.write_conf(conf)
    os.kill(n.proc.pid, signal.SIGHUP)
    wait_for(lambda: "still could not bind()" in n.log_text(), timeout=30,
             what="the reload fails on bind()")
    assert n.worker_pids() == old
