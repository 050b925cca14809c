"""Self-test for the test-support programs backend.py and fake_redis.py.

Run with::

    /usr/bin/python3 -m pytest -q tests/support/test_support_selftest.py

Both programs are started as subprocesses on free 127.0.0.1 ports (found by
binding port 0).  The tests wait for the ``READY <port>`` line with a
deadline and talk to them only over sockets (http.client for HTTP, a small
RESP client for Redis).  Every process is stopped by its own PID (SIGTERM,
then SIGKILL if it does not exit) in a fixture finaliser.
"""

import gzip
import http.client
import json
import os
import select
import signal
import socket
import struct
import subprocess
import threading
import time
import zlib

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BACKEND = os.path.join(HERE, "backend.py")
FAKE_REDIS = os.path.join(HERE, "fake_redis.py")
PYTHON = "/usr/bin/python3"
HOST = "127.0.0.1"
READY_TIMEOUT = 15.0

SHOP_HTML = (b'<!doctype html><html><head><title>Shop</title></head>'
             b'<body class="shop"><h1>Shop</h1><p>Welcome</p></body></html>')
SPLIT_HTML = (b'<html><head><title>s</title></head>'
              b'<body class="x"><p>after</p></body></html>')


# ---- process management -------------------------------------------------------

_ISSUED_PORTS = set()


def free_port():
    """A port that was free a moment ago (bind 127.0.0.1:0 and let go),
    never the same one twice in a run: the kernel may hand a let-go port
    out again."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in _ISSUED_PORTS:
            _ISSUED_PORTS.add(port)
            return port


class Proc:
    """A started support program: its Popen, port and stderr log file."""

    def __init__(self, popen, port, stderr_path):
        self.popen = popen
        self.port = port
        self.stderr_path = stderr_path

    @property
    def pid(self):
        return self.popen.pid

    def stderr_text(self):
        with open(self.stderr_path, "r", errors="replace") as fh:
            return fh.read()

    def stop(self):
        """SIGTERM this process by PID; SIGKILL if it is still alive after 5 s."""
        p = self.popen
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        if p.stdout:
            p.stdout.close()
        return p.returncode


def start_proc(script, args, log_dir):
    """Start `script` with `args`, wait (with a deadline) for READY, return a Proc."""
    stderr_path = os.path.join(str(log_dir), "%s-%d.stderr" % (
        os.path.basename(script), time.monotonic_ns()))
    with open(stderr_path, "wb") as err:
        popen = subprocess.Popen([PYTHON, script] + [str(a) for a in args],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=err, bufsize=0)
    proc = Proc(popen, None, stderr_path)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        fd = popen.stdout.fileno()
        buf = b""
        while b"\n" not in buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no READY line within %.0f s" % READY_TIMEOUT)
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise AssertionError("process exited before READY: %s"
                                         % proc.stderr_text())
                buf += chunk
        line = buf.split(b"\n", 1)[0].decode()
        word, port = line.split()
        assert word == "READY", line
        proc.port = int(port)
        return proc
    except BaseException:
        proc.stop()
        raise


def wait_for(predicate, timeout=5.0, interval=0.02):
    """Poll `predicate` until it returns something true or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# ---- HTTP helpers -------------------------------------------------------------

def http_request(port, path, method="GET", headers=None, body=None, timeout=10):
    """One request on a fresh connection; returns (response, body bytes)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp, resp.read()
    finally:
        conn.close()


def ctl(port, path):
    resp, body = http_request(port, path)
    return resp.status, json.loads(body)


def raw_exchange(port, request, timeout=10):
    """Send raw bytes and read until EOF; returns (bytes, [arrival times])."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(request)
        data, times = b"", []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data, times
            data += chunk
            times.append((time.monotonic(), len(data)))


# ---- fixtures -------------------------------------------------------------------

@pytest.fixture(scope="module")
def backend_proc(request, tmp_path_factory):
    """One backend (no docroot) with a --health-port, shared by the module."""
    log_dir = tmp_path_factory.mktemp("backend")
    proc = start_proc(BACKEND, ["--port", free_port(), "--health-port", free_port()], log_dir)
    request.addfinalizer(proc.stop)
    status, stats = ctl(proc.port, "/__ctl/stats")
    proc.health_port = stats["health_port"]
    return proc


@pytest.fixture
def backend(backend_proc):
    """The shared backend with zeroed counters and every health mode back to ok."""
    status, _ = ctl(backend_proc.port, "/__ctl/reset?modes=1")
    assert status == 200
    yield backend_proc
    ctl(backend_proc.port, "/__ctl/reset?modes=1")


@pytest.fixture(scope="module")
def docroot_backend(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("docroot")
    (root / "index.html").write_bytes(b"<html><body>index</body></html>")
    (root / "a.html").write_bytes(b"<html><body>page a</body></html>")
    (root / "style.css").write_bytes(b"body { color: red }")
    (root / "sub").mkdir()
    (root / "sub" / "index.html").write_bytes(b"<html><body>sub</body></html>")
    proc = start_proc(BACKEND, ["--port", free_port(), "--docroot", root],
                      tmp_path_factory.mktemp("docroot-logs"))
    request.addfinalizer(proc.stop)
    return proc


@pytest.fixture
def redis_server(request, tmp_path):
    """Factory: redis_server(mode) starts a fake_redis, stopped at test end."""
    procs = []

    def finalize():
        for p in procs:
            p.stop()
    request.addfinalizer(finalize)

    def start(mode):
        proc = start_proc(FAKE_REDIS, ["--port", free_port(), "--mode", mode], tmp_path)
        procs.append(proc)
        return proc
    return start


# ---- backend: process life cycle and control routes -----------------------------

def test_backend_pidfile_and_clean_sigterm(tmp_path):
    pidfile = tmp_path / "backend.pid"
    proc = start_proc(BACKEND, ["--port", free_port(), "--pidfile", pidfile], tmp_path)
    try:
        assert int(pidfile.read_text()) == proc.pid
        resp, body = http_request(proc.port, "/json")
        assert resp.status == 200
    finally:
        rc = proc.stop()
    assert rc == 0
    assert not pidfile.exists()


def test_stats_counts_headers_and_reset(backend):
    for _ in range(2):
        http_request(backend.port, "/page?x=1", headers={"X-Test": "abc"})
    http_request(backend.port, "/json")
    status, stats = ctl(backend.port, "/__ctl/stats")
    assert status == 200
    assert stats["counts"] == {"/page": 2, "/json": 1}      # /__ctl/* not counted
    assert stats["total"] == 3
    assert stats["last_headers"]["/page"]["x-test"] == "abc"
    assert stats["last_headers"]["/page"]["host"] == "%s:%d" % (HOST, backend.port)
    ctl(backend.port, "/__ctl/reset")
    status, stats = ctl(backend.port, "/__ctl/stats")
    assert stats["counts"] == {} and stats["total"] == 0 and stats["last_headers"] == {}


def test_keepalive_and_http10(backend):
    conn = http.client.HTTPConnection(HOST, backend.port, timeout=5)
    try:
        conn.request("GET", "/json")
        resp = conn.getresponse()
        assert resp.read() == b'{"ok":true}'
        assert resp.getheader("Connection") is None and not resp.will_close
        first_sock = conn.sock
        conn.request("GET", "/page")
        resp = conn.getresponse()
        assert resp.read() == SHOP_HTML
        assert conn.sock is first_sock                     # same TCP connection
    finally:
        conn.close()
    # HTTP/1.0 without keep-alive: Content-Length, "Connection: close", then EOF.
    data, _ = raw_exchange(backend.port, b"GET /json HTTP/1.0\r\nHost: x\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Connection: close" in head and body == b'{"ok":true}'
    # Explicit "Connection: close" on HTTP/1.1.
    resp, body = http_request(backend.port, "/json", headers={"Connection": "close"})
    assert resp.getheader("Connection") == "close"


def test_bad_request_and_vanishing_client_do_not_kill_backend(backend):
    data, _ = raw_exchange(backend.port, b"\x00\x01 garbage \xff\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 400")
    # Start a 20 MB health body, read a little, then vanish.
    ctl(backend.port, "/__ctl/health?mode=big")
    s = socket.create_connection((HOST, backend.port), timeout=5)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(1000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()                                                  # RST mid-body
    resp, body = http_request(backend.port, "/json")
    assert resp.status == 200


# ---- backend: pages ---------------------------------------------------------------

def test_shop_page_validators_head_and_range(backend):
    for path in ("/", "/page"):
        resp, body = http_request(backend.port, path)
        assert resp.status == 200 and body == SHOP_HTML
        assert resp.getheader("Content-Type").startswith("text/html")
        assert resp.getheader("Accept-Ranges") == "bytes"
        etag, lm = resp.getheader("ETag"), resp.getheader("Last-Modified")
        assert etag and lm
    resp, body = http_request(backend.port, "/", headers={"If-None-Match": etag})
    assert resp.status == 304 and body == b"" and resp.getheader("ETag") == etag
    resp, body = http_request(backend.port, "/", headers={"If-None-Match": '"other"'})
    assert resp.status == 200
    resp, body = http_request(backend.port, "/", headers={"If-Modified-Since": lm})
    assert resp.status == 304
    resp, body = http_request(backend.port, "/", method="HEAD")
    assert resp.status == 200 and body == b""
    assert int(resp.getheader("Content-Length")) == len(SHOP_HTML)
    resp, body = http_request(backend.port, "/", headers={"Range": "bytes=0-9"})
    assert resp.status == 206 and body == SHOP_HTML[:10]
    assert resp.getheader("Content-Range") == "bytes 0-9/%d" % len(SHOP_HTML)
    resp, body = http_request(backend.port, "/", headers={"Range": "bytes=9999-"})
    assert resp.status == 416
    resp, body = http_request(backend.port, "/nope")
    assert resp.status == 404


def test_gzip(backend):
    resp, body = http_request(backend.port, "/gzip", headers={"Accept-Encoding": "br, gzip"})
    assert resp.getheader("Content-Encoding") == "gzip"
    assert resp.getheader("X-Backend-Gzipped") == "1"
    assert gzip.decompress(body) == SHOP_HTML
    resp, body = http_request(backend.port, "/gzip", headers={"Accept-Encoding": "identity"})
    assert resp.getheader("Content-Encoding") is None
    assert resp.getheader("X-Backend-Gzipped") == "0" and body == SHOP_HTML
    resp, body = http_request(backend.port, "/gzip", headers={"Accept-Encoding": "gzip;q=0"})
    assert resp.getheader("X-Backend-Gzipped") == "0"


def test_split_chunked_with_pause(backend):
    resp, body = http_request(backend.port, "/split")
    assert resp.getheader("Transfer-Encoding") == "chunked"
    assert resp.getheader("Content-Type").startswith("text/html")
    assert body == SPLIT_HTML
    # Raw: the two chunks arrive separately, about 100 ms apart.
    data, times = raw_exchange(backend.port, b"GET /split HTTP/1.1\r\nHost: x\r\n"
                                             b"Connection: close\r\n\r\n")
    assert b"\r\n26\r\n<html><head><title>s</title></head><bo\r\n" in data
    assert data.endswith(b'dy class="x"><p>after</p></body></html>\r\n0\r\n\r\n')
    t_first = next(t for t, n in times if data[:n].find(b"<bo\r\n") >= 0)
    t_last = times[-1][0]
    assert t_last - t_first >= 0.08
    # Split point and delay are adjustable.
    data, _ = raw_exchange(backend.port, b"GET /split?at=5&delay_ms=0 HTTP/1.1\r\n"
                                         b"Host: x\r\nConnection: close\r\n\r\n")
    assert b"\r\n5\r\n<html\r\n" in data
    # HTTP/1.0: no chunking, body delimited by close.
    data, _ = raw_exchange(backend.port, b"GET /split HTTP/1.0\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"chunked" not in head and body == SPLIT_HTML


def test_drip(backend):
    resp, body = http_request(backend.port, "/drip?bytes=60&delay_ms=1")
    assert resp.status == 200 and len(body) == 60
    assert resp.getheader("Content-Type").startswith("text/html")
    assert body.startswith(b"<!doctype html>")
    resp, body = http_request(backend.port, "/drip?delay_ms=0")
    assert len(body) == len(SHOP_HTML) and body.endswith(b"</html>\n")


def test_json_and_png(backend):
    resp, body = http_request(backend.port, "/json")
    assert resp.getheader("Content-Type") == "application/json"
    assert json.loads(body) == {"ok": True}
    resp, body = http_request(backend.port, "/image.png")
    assert resp.getheader("Content-Type") == "image/png"
    assert body.startswith(b"\x89PNG\r\n\x1a\n")
    pos = 8                                              # walk and CRC-check the chunks
    tags = []
    while pos < len(body):
        length, tag = struct.unpack(">I4s", body[pos:pos + 8])
        data = body[pos + 8:pos + 8 + length]
        crc, = struct.unpack(">I", body[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(tag + data) & 0xFFFFFFFF == crc
        tags.append(tag)
        pos += 12 + length
    assert tags == [b"IHDR", b"IDAT", b"IEND"]


def test_status_close_sleep_big(backend):
    resp, body = http_request(backend.port, "/status/418")
    assert resp.status == 418 and b"418" in body
    resp, body = http_request(backend.port, "/status/503")
    assert resp.status == 503 and resp.getheader("Content-Type").startswith("text/html")
    resp, body = http_request(backend.port, "/status/204")
    assert resp.status == 204 and body == b""
    resp, body = http_request(backend.port, "/status/abc")
    assert resp.status == 400
    with pytest.raises(http.client.RemoteDisconnected):
        http_request(backend.port, "/close")
    t0 = time.monotonic()
    resp, body = http_request(backend.port, "/sleep?ms=300")
    assert resp.status == 200 and time.monotonic() - t0 >= 0.28
    resp, body = http_request(backend.port, "/big?kb=64")
    assert resp.status == 200 and len(body) == 64 * 1024
    assert b'<body class="big">' in body[:100] and body.endswith(b"</html>\n")


def test_post_content_length_and_chunked(backend):
    conn = http.client.HTTPConnection(HOST, backend.port, timeout=5)
    try:
        conn.request("POST", "/submit", body=b"x" * 1000,
                     headers={"Content-Type": "application/octet-stream"})
        resp = conn.getresponse()
        reply = json.loads(resp.read())
        assert resp.status == 200 and reply["bytes"] == 1000 and reply["path"] == "/submit"
        conn.request("POST", "/upload", body=iter([b"a" * 10, b"b" * 20]),
                     encode_chunked=True)                   # chunked request body
        resp = conn.getresponse()
        assert json.loads(resp.read())["bytes"] == 30
        conn.request("GET", "/json")                        # same connection still in step
        assert conn.getresponse().read() == b'{"ok":true}'
    finally:
        conn.close()


# ---- backend: health modes ---------------------------------------------------------

def set_health(port, mode, path=None):
    query = "/__ctl/health?mode=%s" % mode + ("&path=%s" % path if path else "")
    status, reply = ctl(port, query)
    assert status == 200 and reply["ok"], reply
    return reply


def test_health_simple_modes(backend):
    resp, body = http_request(backend.port, "/health")
    assert (resp.status, body) == (200, b"OK")
    resp, body = http_request(backend.port, "/health", method="HEAD")
    assert resp.status == 200 and body == b""
    set_health(backend.port, "500")
    assert http_request(backend.port, "/health")[0].status == 500
    set_health(backend.port, "body_mismatch")
    resp, body = http_request(backend.port, "/health")
    assert (resp.status, body) == (200, b"NOPE")
    set_health(backend.port, "redirect")
    resp, body = http_request(backend.port, "/health?x=1")
    assert resp.status == 302 and resp.getheader("Location") == "/health?x=1"
    set_health(backend.port, "refuse")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        http_request(backend.port, "/health")
    status, reply = ctl(backend.port, "/__ctl/health?mode=bogus")
    assert status == 400 and not reply["ok"]


def test_health_per_path_modes(backend):
    reply = set_health(backend.port, "500", path="/health2")
    assert reply["modes"] == {"/health": "ok", "/health2": "500"}
    assert http_request(backend.port, "/health2")[0].status == 500
    assert http_request(backend.port, "/health")[0].status == 200
    set_health(backend.port, "body_mismatch", path="/health")
    assert http_request(backend.port, "/health")[1] == b"NOPE"
    assert http_request(backend.port, "/health2")[0].status == 500


def test_health_hang_does_not_block_and_releases(backend):
    set_health(backend.port, "hang")
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        http_request(backend.port, "/health", timeout=0.5)
    assert time.monotonic() - t0 < 3
    # A second hanging request stays pending while the control routes answer.
    result = {}

    def hung_request():
        try:
            resp, body = http_request(backend.port, "/health", timeout=10)
            result["reply"] = (resp.status, body)
        except Exception as exc:            # reported by the assertion below
            result["error"] = exc
    worker = threading.Thread(target=hung_request, daemon=True)
    worker.start()
    assert wait_for(lambda: ctl(backend.port, "/__ctl/stats")[1]["counts"].get("/health") == 2)
    t0 = time.monotonic()
    status, stats = ctl(backend.port, "/__ctl/stats")
    assert status == 200 and time.monotonic() - t0 < 0.5
    assert http_request(backend.port, "/json", timeout=0.5)[0].status == 200
    assert worker.is_alive()
    set_health(backend.port, "ok")                       # releases the hung request
    worker.join(5)
    assert result.get("reply") == (200, b"OK"), result


def test_health_slow(backend):
    set_health(backend.port, "slow")
    t0 = time.monotonic()
    resp, body = http_request(backend.port, "/health")
    elapsed = time.monotonic() - t0
    assert resp.status == 200 and body.startswith(b"OK") and len(body) == 20
    assert elapsed >= 3.5


def test_health_reset_sends_half_then_rst(backend):
    set_health(backend.port, "reset")
    with socket.create_connection((HOST, backend.port), timeout=5) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        data, reset = b"", False
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            reset = True
    assert reset, "expected an RST, got a clean close"
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 100" in head
    assert len(body) == 50


def test_health_big(backend):
    set_health(backend.port, "big")
    resp, body = http_request(backend.port, "/health", timeout=30)
    assert resp.status == 200 and len(body) == 20 * 1024 * 1024


def test_health_port_refuse_and_reopen(backend):
    hp = backend.health_port
    assert hp and hp != backend.port
    resp, body = http_request(hp, "/health")
    assert (resp.status, body) == (200, b"OK")
    assert http_request(hp, "/json")[0].status == 404     # health paths only
    set_health(backend.port, "500")
    assert http_request(hp, "/health")[0].status == 500    # same mode on both ports
    set_health(backend.port, "refuse")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, hp), timeout=2).close()
    set_health(backend.port, "ok")                        # reopened on the same port
    resp, body = http_request(hp, "/health")
    assert (resp.status, body) == (200, b"OK")
    status, stats = ctl(backend.port, "/__ctl/stats")
    assert stats["health_port"] == hp


# ---- backend with --docroot ------------------------------------------------------

def test_docroot(docroot_backend):
    port = docroot_backend.port
    resp, body = http_request(port, "/")
    assert resp.status == 200 and body == b"<html><body>index</body></html>"
    assert resp.getheader("Content-Type") == "text/html; charset=utf-8"
    resp, body = http_request(port, "/a.html")
    assert body == b"<html><body>page a</body></html>"
    etag = resp.getheader("ETag")
    assert http_request(port, "/a.html", headers={"If-None-Match": etag})[0].status == 304
    resp, body = http_request(port, "/style.css")
    assert resp.getheader("Content-Type") == "text/css" and body == b"body { color: red }"
    assert http_request(port, "/sub/")[1] == b"<html><body>sub</body></html>"
    for missing in ("/missing.html", "/page", "/../../etc/passwd",
                    "/%2e%2e/%2e%2e/etc/passwd"):
        assert http_request(port, missing)[0].status == 404, missing
    assert http_request(port, "/json")[1] == b'{"ok":true}'   # routes still work


# ---- fake_redis ----------------------------------------------------------------

class RespError(Exception):
    """An error reply (-...)."""


class Incomplete(Exception):
    """The peer stopped sending in the middle of a reply."""


class RespClient:
    """A minimal RESP2 client over a raw socket."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def send(self, *args):
        self.sock.sendall(self.encode(*args))

    def send_raw(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self._exact(n + 2)
            assert data.endswith(b"\r\n")
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        raise ValueError("not RESP: %r" % line)

    def call(self, *args):
        self.send(*args)
        return self.read_reply()


def fake_count(port):
    c = RespClient(port)
    try:
        c.send_raw(b"FAKECOUNT\r\n")                      # inline syntax
        return c.read_reply()
    finally:
        c.close()


def test_redis_ok_mode_roundtrip(redis_server):
    r = redis_server("ok")
    c = RespClient(r.port)
    try:
        assert c.call("AUTH", "secret") == "OK"
        assert c.call("SELECT", "0") == "OK"
        assert c.call("CLIENT", "SETNAME", "t") == "OK"
        assert c.call("PING") == "PONG"
        assert c.call("SET", "page", "<p>hi</p>") == "OK"
        assert c.call("HSET", "meta", "status", "503", "retry", "30") == 2
        assert c.call("MULTI") == "OK"
        assert c.call("GET", "page") == "QUEUED"
        assert c.call("HGETALL", "meta") == "QUEUED"
        assert c.call("GET", "missing") == "QUEUED"
        assert c.call("EXEC") == [b"<p>hi</p>", [b"status", b"503", b"retry", b"30"], None]
        err = c.call("GET", "meta")
        assert isinstance(err, RespError) and str(err).startswith("WRONGTYPE Operation against")
        err = c.call("HGETALL", "page")
        assert isinstance(err, RespError) and str(err).startswith("WRONGTYPE")
        assert c.call("HGETALL", "nothing") == []
        assert b"redis_version" in c.call("INFO")
        assert c.call("DEL", "page", "meta", "nothing") == 2
        assert c.call("GET", "page") is None
        assert isinstance(c.call("EXEC"), RespError)           # EXEC without MULTI
        assert isinstance(c.call("HELLO", "3"), RespError)      # RESP2 only
        # A bad command inside MULTI aborts the transaction.
        assert c.call("MULTI") == "OK"
        assert isinstance(c.call("NOSUCHCMD"), RespError)
        assert str(c.call("EXEC")).startswith("EXECABORT")
        # Pipelining: inline and multibulk mixed in one packet ...
        c.send_raw(b"PING\r\nSET k v\r\n" + c.encode("GET", "k") + b"ECHO hello\r\n")
        assert [c.read_reply() for _ in range(4)] == ["PONG", "OK", b"v", b"hello"]
        # ... and one command split over several packets.
        whole = c.encode("GET", "k")
        for i in range(len(whole)):
            c.send_raw(whole[i:i + 1])
        assert c.read_reply() == b"v"
    finally:
        c.close()


def test_redis_fakecount_and_stderr_log(redis_server):
    r = redis_server("ok")
    clients = [RespClient(r.port) for _ in range(3)]
    try:
        for c in clients:
            assert c.call("PING") == "PONG"
        assert fake_count(r.port) == 3            # the asking connection is not counted
        assert fake_count(r.port) == 3
    finally:
        for c in clients:
            c.close()
    log = wait_for(lambda: (lambda t: t if t.count("fake_redis: close ") >= 5 else "")(
        r.stderr_text()))
    assert log.count("fake_redis: accept ") == 5
    assert log.count("fake_redis: cmd ") == 5 and "PING" in log
    assert log.count("fake_redis: control ") == 2


def test_redis_many_connections_pipelined(redis_server):
    r = redis_server("ok")
    clients = [RespClient(r.port) for _ in range(100)]
    try:
        for c in clients:
            c.send_raw(b"PING\r\n" * 5)
        for c in clients:
            assert [c.read_reply() for _ in range(5)] == ["PONG"] * 5
        assert fake_count(r.port) == 100
    finally:
        for c in clients:
            c.close()


def test_redis_garbage(redis_server):
    r = redis_server("garbage")
    c = RespClient(r.port)
    try:
        c.send("AUTH", "x")
        assert c._line().startswith(b"@@!!garbage")
        c.send_raw(b"PING\r\n")                    # still open, still garbage
        assert c._line().startswith(b"@@!!garbage")
    finally:
        c.close()


def test_redis_half(redis_server):
    r = redis_server("half")
    c = RespClient(r.port, timeout=0.5)
    try:
        assert c.call("AUTH", "x") == "OK"
        assert c.call("MULTI") == "OK"
        assert c.call("GET", "k") == "QUEUED"
        assert c.call("HGETALL", "h") == "QUEUED"
        c.send("EXEC")
        with pytest.raises(TimeoutError):        # never completes, never closes
            while True:
                c._fill()
        # The first half of *2 [GET value, HGETALL array]: cut inside the array.
        assert c.buf.startswith(b"*2\r\n$79\r\n<p>value")
        assert c.buf.count(b"\r\n") < 8
        c.send("PING")                           # no answer anymore
        with pytest.raises(TimeoutError):
            c._fill()
    finally:
        c.close()


def test_redis_close(redis_server):
    r = redis_server("close")
    for _ in range(3):
        with socket.create_connection((HOST, r.port), timeout=2) as s:
            try:
                s.sendall(b"PING\r\n")
                assert s.recv(100) == b""
            except (ConnectionResetError, BrokenPipeError):
                pass
    assert wait_for(lambda: r.stderr_text().count("fake_redis: accept ") == 3)


def test_redis_huge(redis_server):
    r = redis_server("huge")
    c = RespClient(r.port)
    try:
        assert c.call("MULTI") == "OK"
        for cmd in (("GET", "a"), ("HGETALL", "a"), ("GET", "b"), ("HGETALL", "b")):
            assert c.call(*cmd) == "QUEUED"
        reply = c.call("EXEC")
        assert len(reply) == 4 and reply[1] == [] and reply[3] == []
        for big in (reply[0], reply[2]):
            assert len(big) == 1024 * 1024
            assert b"<script>" in big and b"\r\n" in big and b"\x00" in big
        assert len(c.call("GET", "x")) == 1024 * 1024
    finally:
        c.close()


def test_redis_wrongtypes(redis_server):
    r = redis_server("wrongtypes")
    c = RespClient(r.port)
    try:
        assert c.call("MULTI") == "OK"
        assert c.call("GET", "a") == "QUEUED"
        assert c.call("HGETALL", "a") == "QUEUED"
        assert c.call("EXEC") == [12345, [[b"f", b"v"], 7, []]]
    finally:
        c.close()


def test_redis_stall(redis_server):
    r = redis_server("stall")
    c = RespClient(r.port, timeout=0.5)
    try:
        c.send("PING")
        with pytest.raises(TimeoutError):
            c.read_reply()
        assert fake_count(r.port) == 1            # control commands still answered
    finally:
        c.close()


def test_redis_authfail(redis_server):
    r = redis_server("authfail")
    c = RespClient(r.port)
    try:
        assert str(c.call("AUTH", "bad")) == \
            "WRONGPASS invalid username-password pair or user is disabled"
        for cmd in (("PING",), ("MULTI",), ("GET", "k")):
            reply = c.call(*cmd)
            assert isinstance(reply, RespError) and str(reply) == "NOAUTH Authentication required."
    finally:
        c.close()


def test_redis_fakemode_switch_and_clean_exit(redis_server):
    r = redis_server("ok")
    c = RespClient(r.port)
    try:
        assert c.call("FAKEMODE", "wrongtypes") == "OK"
        assert c.call("GET", "k") == 12345
        assert c.call("FAKEMODE", "ok") == "OK"
        assert c.call("GET", "k") is None
    finally:
        c.close()
    assert r.stop() == 0                           # SIGTERM -> exit status 0
