#!/usr/bin/python3
"""Controllable HTTP/1.1 test backend for the ngx_outage_module test suite.

Usage::

    /usr/bin/python3 tests/support/backend.py --port N [--docroot DIR]
        [--pidfile FILE] [--health-port M] [--verbose]

Once every listener is up, the program prints ``READY <port>`` on stdout
(flushed).  SIGTERM or SIGINT makes it exit cleanly (exit status 0) and
removes the pidfile.  Only 127.0.0.1 is ever bound.  ``--port 0`` picks a free
port, and the READY line gives the port that was picked.

The server is a ``ThreadingHTTPServer`` (one daemon thread per connection)
speaking HTTP/1.1 with keep-alive.  Every response carries a Content-Length,
or uses chunked encoding (for HTTP/1.1 clients), or is closed after the body
(for HTTP/1.0 clients).  Clients that go away never kill the process.

Routes (GET; HEAD works the same way but sends no body)
-------------------------------------------------------
``/__ctl/stats``
    JSON ``{"counts": {path: n}, "total": n, "last_headers": {path: {name:
    value}}, "modes": {path: mode}, "port": n, "health_port": n|null}``.
    Each request is counted by its path (the query string is left out), and
    ``/__ctl/*`` requests are not counted.  Header names are lower-case.
``/__ctl/reset``
    Zeroes the counts and forgets ``last_headers``.  With ``?modes=1`` it also
    sets every health path back to ``ok``.
``/__ctl/health?mode=MODE[&path=/health]``
    Sets the mode of a health path (``/health`` by default).  Any path
    outside ``/__ctl/`` can be made a health path this way (a ``/__ctl/``
    path gets 400), and each path keeps its own mode.  Without
    ``mode`` the call only reports the current modes.  The answer is JSON
    ``{"ok": true, "modes": {...}}``.  The new mode is in force by the time
    the answer arrives.
``/health`` (and every path set through ``/__ctl/health``), by mode:
    ok            200, text/plain body ``OK``
    500           500, text/plain body ``ERROR``
    hang          no answer until the path's mode changes (the request then
                  gets the new mode's answer) or 60 s pass (then the
                  connection is closed without an answer).  Other requests
                  are not held up.
    refuse        the connection is closed at once, without an answer.  When
                  it is set on ``/health`` and ``--health-port`` was given,
                  the health listener socket itself is closed, so new
                  connections are refused.  Any other mode opens it again on
                  the same port (SO_REUSEADDR).
    slow          200, Content-Length 20; the body ``OK`` followed by 18
                  dots is sent one byte every 200 ms (4 s in all).
    reset         the status line, the headers (Content-Length: 100) and 50
                  of the 100 body bytes are sent, then the connection is
                  aborted with an RST (SO_LINGER 0).
    big           200, text/plain, a 20 MiB body streamed in 64 KiB pieces.
    redirect      302 with ``Location`` pointing at the same URL (a loop).
    body_mismatch 200, text/plain body ``NOPE``.
``/`` and ``/page``
    Without ``--docroot``: the shop page (see ``SHOP_HTML``) with ETag,
    Last-Modified and ``Accept-Ranges: bytes``.  ``If-None-Match`` and
    ``If-Modified-Since`` give 304, and a single byte ``Range`` gives 206 or
    416.
    With ``--docroot``: every path that is not a built-in route is served
    from that directory (``/`` and directories are served from their
    ``index.html``; ``.html`` is ``text/html; charset=utf-8``; conditional
    and range requests are handled the same way).  Anything else is 404,
    and ``/page`` is then served only when DIR holds a file by that name.
``/gzip``
    The shop page.  It is gzip-compressed (``Content-Encoding: gzip``) when
    Accept-Encoding lists gzip (or x-gzip) with a q-value above 0, and sent
    plain otherwise.  ``X-Backend-Gzipped: 1|0`` says which, and the answer
    also carries ``Vary: Accept-Encoding``.
``/split[?at=N][&delay_ms=M]``
    text/html ``<html><head><title>s</title></head><body class="x"><p>after
    </p></body></html>`` (no line break) sent in two chunks.  By default the
    first chunk ends right after ``<bo``; ``at`` moves the split to byte N.
    ``delay_ms`` (default 100) is the pause between the chunks.  TCP_NODELAY
    is set.  HTTP/1.0 clients get the same two writes without chunking, and
    the connection is closed after the body.
``/drip[?bytes=N][&delay_ms=M]``
    A text/html page of exactly N bytes (default: the length of the shop
    page).  It is sent one byte per write, with TCP_NODELAY and M ms
    (default 2) between the writes.
``/json``        application/json ``{"ok":true}``
``/image.png``   a valid 1x1 PNG (image/png)
``/status/NNN``  status NNN (200..599) with a small HTML body (none for 204
                 and 304)
``/close``       the connection is closed without an answer
``/sleep?ms=N``  waits N ms (default 1000, at most 120000), then 200
                 text/plain ``slept N ms``
``/big?kb=N``    a text/html page of exactly N KiB (default 100, at most
                 1048576) with ``<body class="big">`` in the first 100 bytes,
                 streamed
POST / PUT / PATCH / DELETE, any path
    The request body is read (Content-Length or chunked) and the answer is
    200 JSON ``{"ok": true, "method": M, "path": P, "bytes": n}``.
OPTIONS, any path
    204 with an ``Allow`` header.
"""

import argparse
import email.utils
import gzip
import hashlib
import json
import mimetypes
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"

SHOP_HTML = (b'<!doctype html><html><head><title>Shop</title></head>'
             b'<body class="shop"><h1>Shop</h1><p>Welcome</p></body></html>')
SHOP_ETAG = '"shop-%s"' % hashlib.md5(SHOP_HTML).hexdigest()[:16]

SPLIT_HTML = (b'<html><head><title>s</title></head>'
              b'<body class="x"><p>after</p></body></html>')
SPLIT_DEFAULT_AT = len(b'<html><head><title>s</title></head><bo')

HEALTH_MODES = ("ok", "500", "hang", "refuse", "slow", "reset", "big",
                "redirect", "body_mismatch")
HANG_MAX_SECONDS = 60.0
SLOW_BODY = b"OK" + b"." * 18          # 20 bytes, 1 byte / 200 ms = 4 s
SLOW_INTERVAL = 0.2
RESET_BODY_LEN = 100                   # announced length; half is sent
BIG_HEALTH_SIZE = 20 * 1024 * 1024     # 20 MiB
STREAM_PIECE = 64 * 1024

FILLER = (b"<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, "
          b"sed do eiusmod tempor incididunt ut labore.</p>\n")

START_TIME = time.time()


def _make_png():
    """Build a valid 1x1 RGBA PNG (with correct CRCs) at import time."""
    def chunk(tag, data):
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1x1, 8 bit, RGBA
    raw = b"\x00" + b"\xff\x00\x00\xff"                  # filter 0, one red pixel
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


PNG_1X1 = _make_png()


def sized_page_parts(total, title, body_class):
    """Return (head, filler_len, tail) for an HTML page of exactly `total` bytes.

    The head holds ``<body class=...>`` so that the body tag is near the top.
    When `total` is smaller than head + tail, the page is cut short (the
    caller then sends only the first `total` bytes of head + tail).
    """
    head = ('<!doctype html><html><head><title>%s</title></head>'
            '<body class="%s">\n' % (title, body_class)).encode()
    tail = b"</body></html>\n"
    return head, max(0, total - len(head) - len(tail)), tail


def iter_filler(n):
    """Yield exactly `n` bytes of HTML filler in pieces of at most STREAM_PIECE."""
    block = FILLER * (STREAM_PIECE // len(FILLER) + 1)
    while n > 0:
        piece = block[:min(n, STREAM_PIECE)]
        n -= len(piece)
        yield piece


def sized_page(total, title, body_class):
    """An HTML page of exactly `total` bytes, built in memory (small pages only)."""
    head, fill, tail = sized_page_parts(total, title, body_class)
    page = head + b"".join(iter_filler(fill)) + tail
    return page[:total]


def http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


class State:
    """State shared by every handler thread: request statistics and health modes."""

    def __init__(self, port=None):
        self.port = port
        self.stats_lock = threading.Lock()
        self.counts = {}
        self.last_headers = {}
        self.total = 0
        # Health modes; `cond` is notified on every change so that requests
        # in "hang" mode can wake up.
        self.cond = threading.Condition()
        self.modes = {"/health": "ok"}
        self.health_listener = None   # HealthListener or None

    def record(self, path, headers):
        """Count one request and remember its (lower-cased) request headers."""
        hdrs = {}
        for name, value in headers.items():
            name = name.lower()
            hdrs[name] = hdrs[name] + ", " + value if name in hdrs else value
        with self.stats_lock:
            self.counts[path] = self.counts.get(path, 0) + 1
            self.total += 1
            self.last_headers[path] = hdrs

    def reset_stats(self):
        with self.stats_lock:
            self.counts.clear()
            self.last_headers.clear()
            self.total = 0

    def stats(self):
        with self.stats_lock:
            out = {"counts": dict(self.counts), "total": self.total,
                   "last_headers": {p: dict(h) for p, h in self.last_headers.items()}}
        out["modes"] = self.get_modes()
        out["port"] = self.port
        hl = self.health_listener
        out["health_port"] = hl.port if hl else None
        return out

    def is_health_path(self, path):
        with self.cond:
            return path in self.modes

    def get_mode(self, path):
        with self.cond:
            return self.modes.get(path, "ok")

    def get_modes(self):
        with self.cond:
            return dict(self.modes)

    def set_mode(self, path, mode):
        """Set a health path's mode, wake hanging requests, open/close the health port."""
        with self.cond:
            self.modes[path] = mode
            self.cond.notify_all()
        hl = self.health_listener
        if hl is not None and path == "/health":
            if mode == "refuse":
                hl.close()
            else:
                hl.open()

    def reset_modes(self):
        with self.cond:
            paths = list(self.modes)
        for path in paths:
            self.set_mode(path, "ok")

    def wait_while_hanging(self, path):
        """Block while `path` is in hang mode (at most 60 s).

        Returns the mode in force afterwards, or None if it is still "hang"
        after the time limit.
        """
        deadline = time.monotonic() + HANG_MAX_SECONDS
        with self.cond:
            while self.modes.get(path, "ok") == "hang":
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.cond.wait(remaining)
            return self.modes.get(path, "ok")


class BackendServer(ThreadingHTTPServer):
    """A threaded HTTP server on 127.0.0.1 that keeps errors to itself."""

    daemon_threads = True          # hanging handler threads never block exit
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address, handler, state, docroot=None, verbose=False):
        self.state = state
        self.docroot = docroot
        self.verbose = verbose
        super().__init__(address, handler)

    def server_bind(self):
        # Skip HTTPServer.server_bind's getfqdn(): it can do a DNS look-up.
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        # A client that goes away (or sends rubbish) is not an error worth
        # printing a traceback for, unless --verbose was given.
        if self.verbose:
            super().handle_error(request, client_address)


class HealthListener:
    """The second listener (--health-port), which can really be closed and reopened."""

    def __init__(self, port, state, verbose):
        self.port = port
        self.state = state
        self.verbose = verbose
        self.lock = threading.Lock()
        self.server = None

    def open(self):
        with self.lock:
            if self.server is not None:
                return
            deadline = time.monotonic() + 5.0
            while True:
                try:
                    srv = BackendServer((HOST, self.port), HealthHandler,
                                        self.state, verbose=self.verbose)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            self.port = srv.server_address[1]   # fixes the port if 0 was given
            self.server = srv
            threading.Thread(target=srv.serve_forever,
                             kwargs={"poll_interval": 0.05},
                             name="health-listener", daemon=True).start()

    def close(self):
        # Stop accepting and close the listening socket: new connects are
        # refused from now on.  Connections already open stay open (their
        # requests get the refuse behaviour, i.e. are closed unanswered).
        with self.lock:
            srv, self.server = self.server, None
            if srv is not None:
                srv.shutdown()
                srv.server_close()


class Handler(BaseHTTPRequestHandler):
    """Request handler for the main listener (every route)."""

    protocol_version = "HTTP/1.1"
    # Error answers to unparsable request lines get a status line too.
    default_request_version = "HTTP/1.0"
    server_version = "OutageTestBackend/1.0"
    sys_version = ""
    timeout = 300          # idle keep-alive connections are dropped after this
    health_only = False    # True for the --health-port listener

    # ---- plumbing ---------------------------------------------------------

    def handle(self):
        # A client vanishing (EPIPE, ECONNRESET, ...) ends this connection
        # only.  ValueError comes from writing to a file closed by _rst().
        try:
            super().handle()
        except (OSError, ValueError):
            self.close_connection = True

    def version_string(self):
        return self.server_version   # no trailing Python version

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("backend: %s - %s\n" % (self.address_string(), fmt % args))

    @property
    def state(self):
        return self.server.state

    def _is_head(self):
        return self.command == "HEAD"

    def _end_headers(self):
        """Add the Connection header the request calls for, then end the headers."""
        if self.close_connection:
            self.send_header("Connection", "close")
        elif self.request_version == "HTTP/1.0":
            self.send_header("Connection", "keep-alive")
        self.end_headers()

    def _write(self, data):
        if data and not self._is_head():
            self.wfile.write(data)

    def _send(self, status, body=b"", ctype="text/html; charset=utf-8", headers=None):
        """Send a complete response with Content-Length (no body for HEAD/204/304)."""
        self.send_response(status)
        no_body = status in (204, 304)
        if ctype and not no_body:
            self.send_header("Content-Type", ctype)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if not no_body:
            self.send_header("Content-Length", str(len(body)))
        self._end_headers()
        if not no_body:
            self._write(body)

    def _send_json(self, obj, status=200):
        self._send(status, json.dumps(obj, sort_keys=True).encode(), "application/json")

    def _nodelay(self):
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def _drop(self):
        """Close the connection without sending anything (FIN)."""
        self.close_connection = True

    def _rst(self):
        """Abort the connection with an RST (SO_LINGER 0, then close)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        # The fd is only really closed once rfile (a makefile) and the socket
        # object are both closed.
        for closer in (self.wfile.close, self.rfile.close, self.connection.close):
            try:
                closer()
            except (OSError, ValueError):
                pass

    def _query(self):
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)

    @staticmethod
    def _qint(query, name, default, lo, hi):
        """An integer query argument clamped to [lo, hi]; `default` if absent or bad."""
        try:
            value = int(query[name][0])
        except (KeyError, IndexError, ValueError):
            return default
        return max(lo, min(hi, value))

    def _read_exact_discard(self, n):
        """Read and discard n bytes of request body; return n."""
        left = n
        while left > 0:
            data = self.rfile.read(min(left, STREAM_PIECE))
            if not data:
                raise ConnectionError("client closed during request body")
            left -= len(data)
        return n

    def _consume_body(self):
        """Read the whole request body (Content-Length or chunked); return its size.

        Reading it keeps a keep-alive connection in step even for GETs that
        carry a body.  Raises ValueError on bad framing.
        """
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            total = 0
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("client closed during chunked body")
                size = int(line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while True:   # optional trailers end with an empty line
                        line = self.rfile.readline(65537)
                        if line in (b"\r\n", b"\n", b""):
                            return total
                total += self._read_exact_discard(size)
                self.rfile.readline(3)   # CRLF after the chunk data
        length = self.headers.get("Content-Length")
        if length is None:
            return 0
        n = int(length)
        if n < 0:
            raise ValueError("negative Content-Length")
        return self._read_exact_discard(n)

    # ---- method entry points ---------------------------------------------

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    do_PUT = do_PATCH = do_DELETE = do_POST

    def do_OPTIONS(self):
        self._dispatch()

    def _dispatch(self):
        path = urllib.parse.urlsplit(self.path).path or "/"
        if not path.startswith("/__ctl/"):
            self.state.record(path, self.headers)
        try:
            nbytes = self._consume_body()
        except ValueError:
            self.close_connection = True
            self._send(400, b"<html><body>bad request body</body></html>")
            return

        if self.command in ("POST", "PUT", "PATCH", "DELETE"):
            self._send_json({"ok": True, "method": self.command, "path": path,
                             "bytes": nbytes})
            return
        if self.command == "OPTIONS":
            self._send(204, headers={"Allow": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"})
            return

        if self.state.is_health_path(path):
            self._health(path)
            return
        if self.health_only:
            self._send(404, b"<html><body>health port: not a health path</body></html>")
            return
        self._route(path)

    # ---- GET / HEAD routes -----------------------------------------------

    def _route(self, path):
        if path.startswith("/__ctl/"):
            return self._ctl(path)
        simple = {
            "/gzip": self._gzip,
            "/split": self._split,
            "/drip": self._drip,
            "/json": lambda: self._send(200, b'{"ok":true}', "application/json"),
            "/image.png": lambda: self._send(200, PNG_1X1, "image/png"),
            "/close": self._drop,
            "/sleep": self._sleep,
            "/big": self._big,
        }
        if path in simple:
            return simple[path]()
        if path.startswith("/status/"):
            return self._status(path[len("/status/"):])
        if self.server.docroot:
            return self._docroot(path)
        if path in ("/", "/page"):
            return self._entity(SHOP_HTML, "text/html; charset=utf-8", SHOP_ETAG, START_TIME)
        self._not_found()

    def _not_found(self):
        self._send(404, b"<!doctype html><html><head><title>404</title></head>"
                        b"<body><h1>Not Found</h1></body></html>")

    def _ctl(self, path):
        query = self._query()
        if path == "/__ctl/stats":
            return self._send_json(self.state.stats())
        if path == "/__ctl/reset":
            self.state.reset_stats()
            if query.get("modes", ["0"])[0] not in ("0", ""):
                self.state.reset_modes()
            return self._send_json({"ok": True})
        if path == "/__ctl/health":
            target = query.get("path", ["/health"])[0] or "/health"
            if not target.startswith("/"):
                target = "/" + target
            if target.startswith("/__ctl/"):
                return self._send_json({"ok": False, "error": "control paths cannot be health paths"}, 400)
            if "mode" in query:
                mode = query["mode"][0]
                if mode not in HEALTH_MODES:
                    return self._send_json({"ok": False, "error": "unknown mode %r" % mode,
                                            "modes_known": list(HEALTH_MODES)}, 400)
                try:
                    self.state.set_mode(target, mode)
                except OSError as exc:   # health port could not be reopened
                    return self._send_json({"ok": False, "error": str(exc)}, 500)
            return self._send_json({"ok": True, "modes": self.state.get_modes()})
        self._not_found()

    # -- health

    def _health(self, path):
        mode = self.state.wait_while_hanging(path)
        if mode is None:                 # hung for 60 s: give up silently
            return self._drop()
        if mode == "ok":
            return self._send(200, b"OK", "text/plain")
        if mode == "500":
            return self._send(500, b"ERROR", "text/plain")
        if mode == "refuse":
            return self._drop()
        if mode == "body_mismatch":
            return self._send(200, b"NOPE", "text/plain")
        if mode == "redirect":
            return self._send(302, b"<html><body>redirect loop</body></html>",
                              headers={"Location": self.path})
        if mode == "slow":
            self._nodelay()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(SLOW_BODY)))
            self._end_headers()
            if not self._is_head():
                for i in range(len(SLOW_BODY)):
                    time.sleep(SLOW_INTERVAL)
                    self.wfile.write(SLOW_BODY[i:i + 1])
            return
        if mode == "reset":
            self._nodelay()
            head = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    "Content-Length: %d\r\n\r\n" % RESET_BODY_LEN).encode()
            body = (b"OK" + b"-" * RESET_BODY_LEN)[:RESET_BODY_LEN]
            self.wfile.write(head + body[:RESET_BODY_LEN // 2])
            time.sleep(0.05)   # let the data leave before the RST discards it
            return self._rst()
        if mode == "big":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(BIG_HEALTH_SIZE))
            self._end_headers()
            if not self._is_head():
                piece = b"OK" + b"x" * (STREAM_PIECE - 2)
                left = BIG_HEALTH_SIZE
                while left > 0:
                    n = min(left, STREAM_PIECE)
                    self.wfile.write(piece[:n])
                    left -= n
            return
        self._drop()   # not reached: modes are checked when set

    # -- pages

    def _not_modified(self, etag, mtime):
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            bare = etag[2:] if etag.startswith("W/") else etag
            return any(t == "*" or (t[2:] if t.startswith("W/") else t) == bare for t in tags)
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return False
            return int(mtime) <= int(since)
        return False

    @staticmethod
    def _parse_range(value, size):
        """Parse one ``bytes=`` range: (start, end) inclusive, "bad" if unsatisfiable, None to ignore."""
        value = value.strip()
        if not value.startswith("bytes=") or "," in value:
            return None       # several ranges or another unit: send it all
        spec = value[len("bytes="):].strip()
        first, sep, last = spec.partition("-")
        if not sep:
            return None
        try:
            if first == "":
                n = int(last)
                if n <= 0:
                    return "bad"
                return (max(0, size - n), size - 1) if size else "bad"
            start = int(first)
            end = int(last) if last else size - 1
        except ValueError:
            return None
        if start >= size or start > end:
            return "bad"
        return start, min(end, size - 1)

    def _entity(self, body, ctype, etag, mtime):
        """Send a static entity with validators, 304 and single-range support."""
        validators = {"ETag": etag, "Last-Modified": http_date(mtime),
                      "Accept-Ranges": "bytes"}
        if self._not_modified(etag, mtime):
            return self._send(304, headers=validators)
        rng = self.headers.get("Range")
        if rng and self.command == "GET":
            parsed = self._parse_range(rng, len(body))
            if parsed == "bad":
                hdrs = dict(validators, **{"Content-Range": "bytes */%d" % len(body)})
                return self._send(416, b"", ctype, hdrs)
            if parsed:
                start, end = parsed
                hdrs = dict(validators, **{"Content-Range": "bytes %d-%d/%d"
                                           % (start, end, len(body))})
                return self._send(206, body[start:end + 1], ctype, hdrs)
        self._send(200, body, ctype, validators)

    def _docroot(self, path):
        root = os.path.realpath(self.server.docroot)
        rel = urllib.parse.unquote(path).lstrip("/")
        full = os.path.realpath(os.path.join(root, rel))
        if full != root and not full.startswith(root + os.sep):
            return self._not_found()            # ../ escape attempt
        if os.path.isdir(full):
            full = os.path.join(full, "index.html")
        try:
            with open(full, "rb") as fh:
                body = fh.read()
            st = os.stat(full)
        except OSError:
            return self._not_found()
        if full.endswith((".html", ".htm")):
            ctype = "text/html; charset=utf-8"
        else:
            ctype = mimetypes.guess_type(full)[0] or "application/octet-stream"
        etag = '"%x-%x"' % (int(st.st_mtime), st.st_size)
        self._entity(body, ctype, etag, st.st_mtime)

    def _gzip(self):
        accept = self.headers.get("Accept-Encoding", "")
        wants = False
        for token in accept.split(","):
            coding, _, params = token.strip().partition(";")
            if coding.strip().lower() not in ("gzip", "x-gzip"):
                continue
            q = 1.0
            params = params.strip().replace(" ", "")
            if params.lower().startswith("q="):
                try:
                    q = float(params[2:])
                except ValueError:
                    q = 1.0
            wants = q > 0
        if wants:
            body = gzip.compress(SHOP_HTML, mtime=0)
            hdrs = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding",
                    "X-Backend-Gzipped": "1"}
        else:
            body = SHOP_HTML
            hdrs = {"Vary": "Accept-Encoding", "X-Backend-Gzipped": "0"}
        self._send(200, body, "text/html; charset=utf-8", hdrs)

    def _split(self):
        query = self._query()
        at = self._qint(query, "at", SPLIT_DEFAULT_AT, 0, len(SPLIT_HTML))
        delay = self._qint(query, "delay_ms", 100, 0, 60000) / 1000.0
        parts = [p for p in (SPLIT_HTML[:at], SPLIT_HTML[at:]) if p]
        self._nodelay()
        chunked = self.request_version != "HTTP/1.0"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.close_connection = True   # HTTP/1.0: the body ends at close
        self._end_headers()
        if self._is_head():
            return
        for i, part in enumerate(parts):
            if i:
                time.sleep(delay)
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            else:
                self.wfile.write(part)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _drip(self):
        query = self._query()
        size = self._qint(query, "bytes", len(SHOP_HTML), 0, 10 * 1024 * 1024)
        delay = self._qint(query, "delay_ms", 2, 0, 10000) / 1000.0
        body = sized_page(size, "Drip", "drip")
        self._nodelay()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self._end_headers()
        if self._is_head():
            return
        for i in range(len(body)):
            self.wfile.write(body[i:i + 1])
            if delay:
                time.sleep(delay)

    def _status(self, code_text):
        try:
            code = int(code_text)
        except ValueError:
            code = 0
        if not 200 <= code <= 599:
            return self._send(400, b"<html><body>status must be 200..599</body></html>")
        reason = self.responses.get(code, ("Status",))[0]
        body = ("<!doctype html><html><head><title>%d</title></head>"
                "<body><h1>%d %s</h1></body></html>" % (code, code, reason)).encode()
        self._send(code, body)

    def _sleep(self):
        ms = self._qint(self._query(), "ms", 1000, 0, 120000)
        time.sleep(ms / 1000.0)
        self._send(200, b"slept %d ms" % ms, "text/plain")

    def _big(self):
        kb = self._qint(self._query(), "kb", 100, 0, 1024 * 1024)
        total = kb * 1024
        head, fill, tail = sized_page_parts(total, "Big", "big")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(total))
        self._end_headers()
        if self._is_head():
            return
        if total < len(head) + len(tail):
            self.wfile.write((head + tail)[:total])
            return
        self.wfile.write(head)
        for piece in iter_filler(fill):
            self.wfile.write(piece)
        self.wfile.write(tail)


class HealthHandler(Handler):
    """Handler for the --health-port listener: health paths only, everything else 404."""

    health_only = True


class _Stop(Exception):
    """Raised from the signal handler to leave the main loop."""


def _on_signal(signo, frame):
    raise _Stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Controllable HTTP/1.1 test backend.")
    ap.add_argument("--port", type=int, required=True,
                    help="port to listen on (127.0.0.1); 0 picks a free one")
    ap.add_argument("--docroot", help="directory to serve files from")
    ap.add_argument("--pidfile", help="write the PID here (removed on exit)")
    ap.add_argument("--health-port", type=int, default=None,
                    help="extra listener for /health that mode=refuse really closes")
    ap.add_argument("--verbose", action="store_true",
                    help="log requests and handler errors to stderr")
    args = ap.parse_args(argv)

    if args.docroot and not os.path.isdir(args.docroot):
        ap.error("--docroot %s is not a directory" % args.docroot)

    # Signals are held back until every listener thread runs, so that the
    # clean-up never waits for a serve_forever() loop that was not started.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    servers = []   # servers whose serve_forever() thread has been started
    state = State()
    main_srv = None
    try:
        try:
            main_srv = BackendServer((HOST, args.port), Handler, state,
                                     docroot=args.docroot, verbose=args.verbose)
        except OSError as exc:
            sys.stderr.write("backend: cannot listen on %s:%d: %s\n" % (HOST, args.port, exc))
            return 1
        state.port = main_srv.server_address[1]
        if args.health_port is not None:
            state.health_listener = HealthListener(args.health_port, state, args.verbose)
            try:
                state.health_listener.open()
            except OSError as exc:
                sys.stderr.write("backend: cannot listen on %s:%d: %s\n"
                                 % (HOST, args.health_port, exc))
                return 1
        threading.Thread(target=main_srv.serve_forever, kwargs={"poll_interval": 0.1},
                         name="main-listener", daemon=True).start()
        servers.append(main_srv)
        if args.pidfile:
            with open(args.pidfile, "w") as fh:
                fh.write("%d\n" % os.getpid())
        sys.stdout.write("READY %d\n" % state.port)
        sys.stdout.flush()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)  # may raise _Stop
        while True:
            time.sleep(3600)
    except _Stop:
        pass
    finally:
        # No second signal may interrupt the clean-up.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if state.health_listener is not None:
            try:
                state.health_listener.close()   # its thread starts inside open()
            except OSError:
                pass
        for srv in servers:
            try:
                srv.shutdown()
                srv.server_close()
            except OSError:
                pass
        if main_srv is not None and main_srv not in servers:
            main_srv.server_close()
        if args.pidfile:
            try:
                os.unlink(args.pidfile)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
