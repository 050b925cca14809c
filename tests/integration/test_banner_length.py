"""Content-Length of bannered responses (issue 15, speed).

The banner filter holds the response header until the first body buffers
decide the banner's place, then sends it with the length the body has: the
upstream's (or the file's) plus the banner's bytes, or unchanged when the
page has no place for a banner.  Checked at the byte level (our own HTTP/1.1
parser below, not http.client, which would accept a wrong length on a
closing connection) and over HTTP/2 with curl; the failure cases (an
upstream that fails or stalls before its first body byte, proxy_buffering
off) must behave as without the module.
"""

import gzip
import io
import socket
import subprocess
import threading
import time

from harness import free_port, wait_for
from outage_fixtures import (ScriptedBackend, banner_nginx, declare,
                             response, www_dir)

MARK = b'class="outage-banner '

PAGE = (b'<!doctype html><html><head><title>t</title>'
        + b'<meta name="x" content="' + b'y' * 900 + b'">'
        + b'</head><body class="s"><p>page</p>' + b'z' * 6000
        + b'</body></html>\n')
NOBODY = b'<!doctype html><title>t</title><p>implied body</p>\n'
FRAMES = (b'<!doctype html><html><head><title>f</title></head>'
          b'<frameset><frame src="a"></frameset></html>\n')
SLOW = PAGE.replace(b"<title>t</title>", b"<title>slow</title>", 1)
HEADPART = SLOW[:SLOW.index(b"<meta")]
BIG = PAGE.replace(b"z" * 6000, b"z" * 200000)

LOCATIONS = """
        location /s/ {{ alias {www}/; }}
        location /thr/ {{ alias {www}/; aio threads; sendfile on; }}
        location /sf/ {{ alias {www}/; sendfile on; tcp_nopush on; }}
        location /thrgz/ {{ alias {www}/; aio threads; sendfile on;
                           gzip on; gzip_min_length 1;
                           gzip_types text/html; }}
        location /p/ {{ proxy_pass http://127.0.0.1:{be}/; }}
        location /pb/ {{
            proxy_pass http://127.0.0.1:{be}/;
            proxy_buffering off;
        }}
        location /gz/ {{ alias {www}/; gzip on; gzip_min_length 1;
                         gzip_types text/html; }}
        location /sfgz/ {{ alias {www}/; sendfile on; gzip on;
                           gzip_min_length 1; gzip_types text/html; }}
"""


class Upstream(ScriptedBackend):
    """/page, /nobody, /frames: whole responses with Content-Length;
    /chunked: the page chunked; /fail: a header promising 5000 bytes, then
    a close; /stall: a header and HEADPART, then the rest once "go" is
    set."""

    def __init__(self):
        self.go = threading.Event()
        super().__init__(threaded=True)

    def answer(self, c, name):
        ct = b"Content-Type: text/html"
        if name in ("page", "nobody", "frames"):
            body = {"page": PAGE, "nobody": NOBODY, "frames": FRAMES}[name]
            c.sendall(response(body, ct))
        elif name == "chunked":
            c.sendall(b"HTTP/1.1 200 OK\r\n" + ct + b"\r\n"
                      b"Transfer-Encoding: chunked\r\nConnection: close\r\n"
                      b"\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(PAGE), PAGE))
        elif name == "fail":
            c.sendall(b"HTTP/1.1 200 OK\r\n" + ct + b"\r\nContent-Length: "
                      b"5000\r\nConnection: close\r\n\r\n")
        elif name == "stall":
            c.sendall(b"HTTP/1.1 200 OK\r\n" + ct + b"\r\nContent-Length: "
                      b"%d\r\nConnection: close\r\n\r\n%s"
                      % (len(SLOW), HEADPART))
            self.go.wait(30)
            c.sendall(SLOW[len(HEADPART):])


def start(nginx_factory, redis, tmp_path, http2_port=None):
    be = Upstream()
    www = www_dir(tmp_path, {"page.html": PAGE, "nobody.html": NOBODY,
                             "frames.html": FRAMES, "big.html": BIG})
    n = banner_nginx(nginx_factory, redis,
                     LOCATIONS.format(www=www, be=be.port),
                     http=("server { listen 127.0.0.1:%d http2; "
                           "outage_banner on; location /s/ { alias %s/; } }"
                           % (http2_port, www) if http2_port else ""))
    declare(n, redis, "Slow")
    return n, be


def read_response(f):
    """One HTTP/1.1 response from the file f: (status, headers, body,
    complete).  The body is read as the headers frame it: Content-Length,
    chunked (complete only with the last chunk) or to the close."""
    line = f.readline()
    if not line:
        return None, {}, b"", False
    status = int(line.split()[1])
    headers = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        k, v = h.split(b":", 1)
        assert k.lower().decode() not in headers, "two %s headers" % k
        headers[k.lower().decode()] = v.strip().decode()
    if "content-length" in headers:
        n = int(headers["content-length"])
        body = f.read(n)
        return status, headers, body, len(body) == n
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            size = f.readline()
            if not size.endswith(b"\r\n"):
                return status, headers, body, False
            size = int(size.split(b";")[0], 16)
            if size == 0:
                f.readline()
                return status, headers, body, True
            chunk = f.read(size + 2)
            body += chunk[:size]
            if len(chunk) < size + 2:
                return status, headers, body, False
    return status, headers, f.read(), True


def get(port, path, method=b"GET", extra=b"", close=True):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(method + b" " + path + b" HTTP/1.1\r\nHost: t\r\n" + extra
                  + (b"Connection: close\r\n" if close else b"") + b"\r\n")
        f = s.makefile("rb")
        r = read_response(f)
        if close and "content-length" in r[1]:
            # exactly the promised bytes, nothing after them
            assert f.read() == b""
        return r


def unbannered(body):
    """The body without the banner (and the <body> it may imply)."""
    i = body.index(b"<style")
    j = body.index(b"</div></div>", i) + len(b"</div></div>")
    return body[:i] + body[j:]


def test_bannered_pages_have_an_exact_content_length(nginx_factory, redis,
                                                     tmp_path):
    n, be = start(nginx_factory, redis, tmp_path)
    for path, page in ((b"/s/page.html", PAGE), (b"/p/page", PAGE),
                       (b"/thr/page.html", PAGE), (b"/sf/page.html", PAGE),
                       (b"/s/nobody.html", NOBODY), (b"/p/nobody", NOBODY)):
        st, h, body, complete = get(n.port, path)
        assert st == 200 and complete, path
        assert "transfer-encoding" not in h, path
        assert int(h["content-length"]) == len(body), path
        assert body.count(MARK) == 1, path
        if page is PAGE:
            assert unbannered(body) == page, path
        else:
            # the implied <body> is added, and counted
            assert unbannered(body).replace(b"<body>", b"", 1) == page, path
    be.stop()


def test_keepalive_pipelined_requests_stay_in_step(nginx_factory, redis,
                                                   tmp_path):
    """Three pipelined requests on one connection: a wrong length would
    shift the next response into the body of this one."""
    n, be = start(nginx_factory, redis, tmp_path)
    req = b"".join(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % p
                   for p in (b"/s/page.html", b"/p/page", b"/s/frames.html"))
    with socket.create_connection(("127.0.0.1", n.port), timeout=10) as s:
        s.sendall(req + b"GET /s/page.html HTTP/1.1\r\nHost: t\r\n"
                        b"Connection: close\r\n\r\n")
        f = s.makefile("rb")
        for i in range(4):
            st, h, body, complete = read_response(f)
            assert st == 200 and complete, i
            assert int(h["content-length"]) == len(body), i
            assert body.count(MARK) == (0 if i == 2 else 1), i
        assert f.read() == b""
    be.stop()


def test_no_place_keeps_the_original_length(nginx_factory, redis, tmp_path):
    n, be = start(nginx_factory, redis, tmp_path)
    skips = n.status_json()["counters"]["banner_skips"]
    for path in (b"/s/frames.html", b"/p/frames", b"/thr/frames.html"):
        st, h, body, complete = get(n.port, path)
        assert st == 200 and complete and body == FRAMES, path
        assert h["content-length"] == str(len(FRAMES)), path
    assert n.status_json()["counters"]["banner_skips"] == skips + 3
    be.stop()


def test_chunked_upstream_and_gzip_stay_without_length(nginx_factory, redis,
                                                       tmp_path):
    n, be = start(nginx_factory, redis, tmp_path)
    st, h, body, complete = get(n.port, b"/p/chunked")
    assert st == 200 and complete and h["transfer-encoding"] == "chunked"
    assert "content-length" not in h and unbannered(body) == PAGE
    # nginx's gzip after the banner: its own chunked framing, as before;
    # with aio threads too (gzip wants the file bytes the copy filter reads
    # for the banner: asked for after the held header went out)
    # and with sendfile (no aio): gzip asks the copy filter for the file's
    # bytes in its header filter, which must run before the first body call
    for path, page in ((b"/gz/page.html", PAGE), (b"/thrgz/page.html", PAGE),
                       (b"/thrgz/big.html", BIG), (b"/sfgz/page.html", PAGE),
                       (b"/sfgz/big.html", BIG)):
        st, h, body, complete = get(n.port, path,
                                    extra=b"Accept-Encoding: gzip\r\n")
        assert st == 200 and complete and h["content-encoding"] == "gzip"
        assert "content-length" not in h
        assert unbannered(gzip.decompress(body)) == page, path
    # and without gzip the rest of the big file goes by sendfile; a client
    # that takes no gzip keeps the length in a gzip location
    for path in (b"/thr/big.html", b"/sf/big.html", b"/sfgz/big.html"):
        st, h, body, complete = get(n.port, path)
        assert st == 200 and complete and unbannered(body) == BIG, path
        assert int(h["content-length"]) == len(body), path
    be.stop()


def test_head_and_range(nginx_factory, redis, tmp_path):
    """HEAD: no body decides the length, RFC 9110 9.3.2 lets HEAD omit
    it; a Range request gets the whole bannered page, with its length."""
    n, be = start(nginx_factory, redis, tmp_path)
    st, h, body, _ = get(n.port, b"/s/page.html", method=b"HEAD")
    assert st == 200 and body == b"" and "content-length" not in h
    st, h, body, complete = get(n.port, b"/s/page.html",
                                extra=b"Range: bytes=0-9\r\n")
    assert st == 200 and complete and "content-range" not in h
    assert int(h["content-length"]) == len(body) and unbannered(body) == PAGE
    be.stop()


def test_upstream_failing_before_the_body_promises_nothing(
        nginx_factory, redis, tmp_path):
    """The upstream promises 5000 bytes and closes: the client gets the
    header (as without the module) and a body it can tell is cut, never
    a Content-Length the body then does not fill."""
    n, be = start(nginx_factory, redis, tmp_path)
    for path in (b"/p/fail", b"/pb/fail"):
        st, h, body, complete = get(n.port, path)
        assert st == 200, path
        assert not complete, path
        assert "content-length" not in h or int(h["content-length"]) \
            == 5000, path
    wait_for(lambda: "prematurely closed" in n.log_text(), timeout=5,
             what="nginx's own error line")
    # the worker is fine afterwards
    assert get(n.port, b"/p/page")[3]
    be.stop()


def test_stalled_upstream_is_not_stalled_further(nginx_factory, redis,
                                                 tmp_path):
    """With proxy_buffering off the upstream sends its header and part of
    <head>, then waits: the client gets the header and those bytes while
    it waits, then the whole bannered page.  (Buffered, nginx itself sends
    nothing before a buffer fills, header included: its write filter
    postpones a header shorter than postpone_output; then only the end
    result is checked.)"""
    n, be = start(nginx_factory, redis, tmp_path)
    for path, early in ((b"/pb/stall", True), (b"/p/stall", False)):
        be.go.clear()
        with socket.create_connection(("127.0.0.1", n.port),
                                      timeout=10) as s:
            s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: t\r\n"
                      b"Connection: close\r\n\r\n")
            got = b""
            deadline = time.monotonic() + 10
            while early and b"<title>slow</title>" not in got:
                assert time.monotonic() < deadline, (path, got)
                d = s.recv(65536)
                assert d, (path, got)
                got += d
            if early:
                assert got.startswith(b"HTTP/1.1 200"), path
                # undecided when the header went out: no length to promise
                assert b"\r\ncontent-length:" not in got.lower(), path
            be.go.set()
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += d
        st, h, body, complete = read_response(io.BytesIO(got))
        assert st == 200 and complete and unbannered(body) == SLOW, path
    be.stop()


def test_http2_length(nginx_factory, redis, tmp_path):
    h2 = free_port()
    n, be = start(nginx_factory, redis, tmp_path, http2_port=h2)
    out = subprocess.run(
        ["curl", "-s", "--http2-prior-knowledge", "--max-time", "10",
         "-D", "-", "http://127.0.0.1:%d/s/page.html" % h2],
        capture_output=True, check=True).stdout
    head, body = out.split(b"\r\n\r\n", 1)
    lines = head.lower().split(b"\r\n")
    assert lines[0].startswith(b"http/2 200")
    # not held on HTTP/2 (its HEADERS frame goes out at once, as without
    # the module): no length, DATA frames carry the whole bannered page
    cl = [x for x in lines if x.startswith(b"content-length:")]
    assert cl == [] and unbannered(body) == PAGE
    be.stop()
