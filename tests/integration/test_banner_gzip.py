"""The banner in gzip-encoded bodies (issue 15): inflated here, with bounded
memory, whatever the buffers the members and trailing bytes arrive in.

The upstreams are raw sockets written here, so the bytes and the points
where nginx's reads end are the test's: a pause between two writes of a
proxy_buffering-off upstream, or the copy filter reading a gzip_static file
in output_buffers-sized pieces.  The oracle for the bodies is Python's own
zlib/gzip and the page as the upstream meant it.
"""

import gzip
import socket
import threading
import time
import zlib

from harness import raw_request, wait_for
from outage_fixtures import (BANNER_CONF, ScriptedBackend, banner_nginx,
                             www_dir)

MARK = b'class="outage-banner '

PAGE = (b'<!doctype html><html><head><title>t</title></head>'
        b'<body class="s"><p>page</p>' + b'<p>more content here</p>' * 20
        + b'</body></html>\n')

LOCATIONS = """
        location /b/ {{ proxy_pass http://127.0.0.1:{be}/; }}
        location /u/ {{
            proxy_pass http://127.0.0.1:{be}/;
            proxy_buffering off;
        }}
        location /c/ {{
            proxy_pass http://127.0.0.1:{be}/;
            proxy_buffering off;
            proxy_http_version 1.1;
        }}
        location /g/ {{
            proxy_pass http://127.0.0.1:{be}/;
            gzip on;
            gzip_types text/html;
        }}
        {static}
"""


class RawBackend(ScriptedBackend):
    """Answers /NAME with routes[NAME] = [bytes, ...]: the status line and
    headers, then each piece of the body in a write of its own, 0.2 s
    apart (nginx reads them separately: proxy_buffering off passes each
    read on at once)."""

    def __init__(self, routes, pause=0.2):
        self.routes = routes
        self.pause = pause
        self.sent = {}
        super().__init__(threaded=True)

    def answer(self, c, name):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pieces = self.routes[name]
        body = b"".join(pieces)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                  b"Content-Encoding: gzip\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % len(body))
        for i, p in enumerate(pieces):
            if i:
                time.sleep(self.pause)
            c.sendall(p)
        self.sent[name] = self.sent.get(name, 0) + 1


def locations(be, static=""):
    return LOCATIONS.format(be=be.port, static=static)


def start(nginx_factory, redis, be, static="", workers=1):
    return banner_nginx(nginx_factory, redis, locations(be, static),
                        workers=workers, incident="Slow")


def unbanner(body):
    """The body without the banner (checked to be there once)."""
    assert body.count(MARK) == 1, body[:300]
    a = body.index(b"<style")
    b = body.index(b"</div></div>", a) + len(b"</div></div>")
    return body[:a] + body[b:]


def test_members_and_trailing_bytes_in_any_buffer(nginx_factory, redis):
    m1, m2 = gzip.compress(PAGE[:100]), gzip.compress(PAGE[100:])
    routes = {
        # a member ends exactly where a read ends: the next read starts one
        "split": [m1, m2],
        "one": [m1 + m2],
        # the magic of the second member cut between two reads
        "magic": [m1 + m2[:1], m2[1:]],
        "three": [m1, m2[:10], m2[10:] + gzip.compress(b"")],
        # what follows the last member is not gzip: ignored, like gzip -d
        "zeros": [m1 + m2 + b"\0\0\0\0"],
        "zeros_later": [m1 + m2, b"\0\0\0\0"],
        "junk_later": [m1, m2 + b"\x1f", b"junk after the stream"],
    }
    be = RawBackend(routes)
    n = start(nginx_factory, redis, be)
    for loc in ("/u/", "/b/"):
        for name in routes:
            # http.client raises on a body cut before its terminating chunk
            st, h, body = n.get(loc + name)
            assert st == 200 and "content-encoding" not in h, (loc, name)
            assert unbanner(body) == PAGE, (loc, name)
    text = open(n.error_log).read()
    assert text.count("bytes after the end of the upstream's gzip body "
                      "ignored") == 2 * 3
    assert "[error]" not in text
    be.stop()


def test_identity_body_labelled_gzip(nginx_factory, redis):
    """Not gzip at all: the body goes on as it came, without a banner (and
    without the wrong label a browser would fail to decode it by)."""
    odd = b"\x1f<html><body>not gzip</body></html>"
    routes = {"plain": [PAGE], "plain_split": [PAGE[:1], PAGE[1:]],
              "odd": [odd[:1], odd[1:]], "one": [b"\x1f"]}
    be = RawBackend(routes)
    n = start(nginx_factory, redis, be)
    skips = n.status_json()["counters"]["banner_skips"]
    for loc in ("/u/", "/b/"):
        for name, pieces in routes.items():
            st, h, body = n.get(loc + name)
            assert st == 200 and body == b"".join(pieces), (loc, name)
            assert "content-encoding" not in h
    assert n.status_json()["counters"]["banner_skips"] == skips + 8
    assert "labelled gzip but is not" in open(n.error_log).read()
    be.stop()


def test_gzip_static_any_buffer_boundary(nginx_factory, redis, tmp_path):
    """The copy filter reads a gzip_static file in output_buffers pieces:
    members ending on, and one byte around, every boundary."""
    m1, m2 = gzip.compress(PAGE[:100]), gzip.compress(PAGE[100:])
    www = tmp_path / "www"
    www.mkdir()
    static = []
    sizes = sorted({len(m1) - 1, len(m1), len(m1) + 1, 7, 64})
    for size in sizes:
        (www / ("m%d.html" % size)).write_bytes(b"stale, not sent")
        (www / ("m%d.html.gz" % size)).write_bytes(m1 + m2 + b"\0" * 3)
        static.append("location = /s/m%d.html { alias %s/m%d.html; "
                      "gzip_static on; output_buffers 1 %d; }"
                      % (size, www, size, size))
    be = RawBackend({})
    n = start(nginx_factory, redis, be, static="\n".join(static))
    for size in sizes:
        st, h, body = n.get("/s/m%d.html" % size,
                            headers={"Accept-Encoding": "gzip"})
        assert st == 200 and "content-encoding" not in h, size
        assert unbanner(body) == PAGE, size
    be.stop()


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def quiet(pid):
    """Polls until the worker has used no CPU for 0.3 s: it has done all it
    will do for now."""
    last = [cpu_ticks(pid), time.monotonic()]

    def settled():
        t = cpu_ticks(pid)
        if t != last[0]:
            last[:] = [t, time.monotonic()]
            return False
        return time.monotonic() - last[1] >= 0.3

    wait_for(settled, timeout=30, interval=0.05, what="worker idle")


def test_gzip_bomb_with_a_stalled_client_is_bounded(nginx_factory, redis):
    """32 KB of gzip that inflates to 32 MB, to a client that does not read:
    the worker must not inflate what it cannot send (before: +32 MB of RSS
    per connection)."""
    big = (b"<html><head></head><body><p>x</p><!--"
           + b"a" * (32 << 20) + b"--></body></html>")
    z = gzip.compress(big, 9)
    be = RawBackend({"bomb": [z]})
    n = start(nginx_factory, redis, be)
    pid = n.worker_pids()[0]

    for loc in ("/b/", "/u/", "/g/"):
        sent = be.sent.get("bomb", 0)
        quiet(pid)
        before = proc_status(pid, "VmRSS")
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", n.port))
        s.sendall(("GET %sbomb HTTP/1.1\r\nHost: t\r\n"
                   "Accept-Encoding: gzip\r\n\r\n" % loc).encode())
        wait_for(lambda: be.sent.get("bomb", 0) > sent, timeout=10,
                 what="the upstream sent it all")
        quiet(pid)
        grown = proc_status(pid, "VmRSS") - before
        s.close()
        assert grown < 6 * 1024, (loc, grown)     # kB

    # a client that reads gets all of it, banner and all
    for loc in ("/b/", "/u/"):
        st, h, body = n.get(loc + "bomb", timeout=60)
        assert st == 200 and unbanner(body) == big, loc
    st, h, body = n.get("/g/bomb", headers={"Accept-Encoding": "gzip"},
                        timeout=60)
    assert h["content-encoding"] == "gzip"
    assert unbanner(gzip.decompress(body)) == big
    be.stop()


def dechunk(body):
    out, pos = [], 0
    while True:
        eol = body.index(b"\r\n", pos)
        size = int(body[pos:eol].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(body[eol + 2:eol + 2 + size])
        pos = eol + 2 + size + 2


STALL_LOCATIONS = """
        send_timeout 8s;
        gzip on;
        gzip_min_length 0;
        location /b/ {{ proxy_pass http://127.0.0.1:{be}/; }}
        location /u/ {{
            proxy_pass http://127.0.0.1:{be}/;
            proxy_buffering off;
        }}
        location /s/ {{ alias {www}/; gzip_static on; }}
"""


def test_slow_client_gets_the_whole_regzipped_page(nginx_factory, redis,
                                                   tmp_path):
    """A bannered gzip body re-compressed by nginx's gzip filter, to a
    client that reads only after the worker has stopped writing: the empty
    calls nginx's writer makes once the socket drains must reach the gzip
    filter, which holds the tail (before: the response stalled and was cut
    off at send_timeout, without the terminating chunk)."""
    import random
    rnd = random.Random(1)
    words = ["%x" % rnd.getrandbits(40) for _ in range(4000)]
    page = (b"<!doctype html><html><head><title>t</title></head><body><p>"
            + " ".join(rnd.choice(words) for _ in range(120000)).encode()
            + b"</p></body></html>\n")
    z = gzip.compress(page, 6)
    www = www_dir(tmp_path, {"p.html": page, "p.html.gz": z})
    be = RawBackend({"big": [z]})
    n = banner_nginx(nginx_factory, redis,
                     STALL_LOCATIONS.format(be=be.port, www=www),
                     listen=" sndbuf=8k", workers=2, incident="Slow")
    pid = n.worker_pids()[0]

    for path in ("/b/big", "/u/big", "/s/p.html"):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", n.port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                   "Accept-Encoding: gzip\r\n\r\n" % path).encode())
        # the socket buffers are full and the worker waits for the client
        quiet(pid)
        deadline = time.monotonic() + 6      # less than send_timeout
        s.settimeout(0.5)
        data = []
        while time.monotonic() < deadline:
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            if not d:
                break
            data.append(d)
        s.close()
        raw = b"".join(data)
        head, _, body = raw.partition(b"\r\n\r\n")
        assert body.endswith(b"\r\n0\r\n\r\n"), (path, len(raw))
        assert b"content-encoding: gzip" in head.lower(), path
        assert unbanner(gzip.decompress(dechunk(body))) == page, path
    be.stop()


def test_memory_does_not_grow_with_the_inflated_length(nginx_factory, redis):
    """512 MB inflated from 0.5 MB of gzip, to a client that reads: the
    worker's memory stays flat (before: a chain link per 8 KB inflated, and
    its pool grew by about 1 MB for the response)."""
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    z = co.compress(b"<html><body><p>x</p><!--")
    chunk = b"a" * (1 << 20)
    for _ in range(512):
        z += co.compress(chunk)
    z += co.compress(b"--></body></html>") + co.flush()
    be = RawBackend({"big": [z]})
    n = start(nginx_factory, redis, be)
    pid = n.worker_pids()[0]

    def peak_growth():
        before = proc_status(pid, "VmRSS")
        s = socket.create_connection(("127.0.0.1", n.port))
        s.sendall(b"GET /b/big HTTP/1.1\r\nHost: t\r\n"
                  b"Connection: close\r\n\r\n")
        s.settimeout(60)
        total, peak = 0, before
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            total += len(d)
            if total % (8 << 20) < len(d):
                peak = max(peak, proc_status(pid, "VmRSS"))
        s.close()
        assert total > 512 << 20
        return peak - before

    peak_growth()          # the worker's own first-use growth
    grown = peak_growth()
    assert grown < 400, grown     # kB
    be.stop()


class ChunkedGzipBackend(ScriptedBackend):
    """Answers with a chunked gzip body: the chunks of "pieces" in one
    write, then, once "release" is set, the last one."""

    def __init__(self, pieces, last):
        self.pieces, self.last = pieces, last
        self.release = threading.Event()
        super().__init__()

    def answer(self, c, name):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                  b"Content-Encoding: gzip\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n"
                  + b"".join(b"%x\r\n%s\r\n" % (len(p), p)
                             for p in self.pieces))
        self.release.wait(60)
        c.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(self.last), self.last))
        self.release.clear()


def test_flush_buffers_that_inflate_to_nothing_reuse_one_buffer(
        nginx_factory, redis):
    """proxy_buffering off makes each chunk of a chunked upstream a flush
    buffer; a streaming gzip upstream's sync-flush markers inflate to
    nothing.  The worker's memory stays flat however many of them come
    (before: a new empty buffer in the request's pool for each, +16 MB
    for 200,000 of them)."""

    def pieces(count):
        co = zlib.compressobj(6, zlib.DEFLATED, 31)
        out = [co.compress(b"<!doctype html><html><head></head><body>"
                           b"<p>start</p>") + co.flush(zlib.Z_SYNC_FLUSH)]
        # after a sync flush the stream is byte-aligned: an empty stored
        # block (what a streaming gzip upstream's flushes send) is these
        out += [b"\x00\x00\x00\xff\xff"] * count
        out.append(co.compress(b"<p>end</p>") + co.flush(zlib.Z_SYNC_FLUSH))
        return out, co.compress(b"</body></html>") + co.flush()

    def growth(count):
        body, last = pieces(count)
        be = ChunkedGzipBackend(body, last)
        n.write_conf(BANNER_CONF % {"redis": redis.port, "listen": "",
                                    "locations": locations(be), "http": ""})
        n.reload()
        pid = n.worker_pids()[0]
        before = proc_status(pid, "VmRSS")
        s = socket.create_connection(("127.0.0.1", n.port))
        s.sendall(b"GET /c/x HTTP/1.1\r\nHost: t\r\n"
                  b"Connection: close\r\n\r\n")
        s.settimeout(60)
        got = b""
        while b"end</p>" not in got:       # all flush markers inflated
            d = s.recv(65536)
            assert d, got[-300:]
            got += d
        quiet(pid)
        grown = proc_status(pid, "VmRSS") - before
        be.release.set()
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
        s.close()
        be.stop()
        assert got.count(MARK) == 1
        assert dechunk(got.split(b"\r\n\r\n", 1)[1]).endswith(
            b"</body></html>")
        return grown

    be0 = ChunkedGzipBackend(*pieces(1))
    n = start(nginx_factory, redis, be0)
    be0.stop()
    growth(1000)                    # the worker's own first-use growth
    grown = growth(200000)
    assert grown < 4000, grown      # kB


def test_a_page_browsers_render_is_not_lost_to_its_trailer(nginx_factory,
                                                           redis):
    """Audit A5 F3: browsers do not check the gzip trailer and show a
    stream that ends early (or turns corrupt) as far as it inflates.  With
    the banner due, such a page came out empty (a wrong CRC: the error came
    before the inflated bytes went on) or cut (no final block): now it is
    the page a browser shows, bannered, and a complete response."""
    def member(data, flush=zlib.Z_FINISH):
        co = zlib.compressobj(6, zlib.DEFLATED, 31)
        return co.compress(data) + co.flush(flush)

    whole = member(PAGE)
    m1, m2 = member(PAGE[:100]), member(PAGE[100:])
    routes = {
        "badcrc": [whole[:-8] + b"\0\0\0\0" + whole[-4:]],
        "badlen": [whole[:-4] + b"\1\0\0\0"],
        "notrailer": [whole[:-8]],
        "noend": [member(PAGE, zlib.Z_SYNC_FLUSH)],
        "noend_later": [member(PAGE, zlib.Z_SYNC_FLUSH)[:50],
                        member(PAGE, zlib.Z_SYNC_FLUSH)[50:]],
    }
    cut = {
        # the second member is corrupt: the first one is the page
        "corrupt_later": ([m1, m2[:10] + b"\xff" * 40], PAGE[:100]),
    }
    for name, (pieces, _) in cut.items():
        routes[name] = pieces
    be = RawBackend(routes)
    n = start(nginx_factory, redis, be)
    for loc in ("/u/", "/b/"):
        for name in routes:
            # http.client raises on a body cut before its terminating chunk
            st, h, body = n.get(loc + name)
            assert st == 200 and "content-encoding" not in h, (loc, name)
            want = cut[name][1] if name in cut else PAGE
            assert unbanner(body) == want, (loc, name, body[-100:])
    text = open(n.error_log).read()
    assert "[error]" not in text and "[alert]" not in text
    assert text.count("gzip body is corrupt (inflate() returned -3: "
                      "invalid block type): the page is sent up to there "
                      "and ended") == 2
    assert text.count("gzip body ends early (inside a gzip member): the "
                      "page is sent up to there and ended") == 2 * 3
    be.stop()


def test_a_gzip_body_with_nothing_to_inflate_is_cut_at_info(nginx_factory,
                                                            redis):
    """Corrupt before the first byte of the page: its header went out
    without Content-Encoding, so nothing honest can follow; the response
    is cut (a browser fails to decode it without the module too), with an
    info line, not an error per request."""
    routes = {"bad": [gzip.compress(PAGE)[:10] + b"\xff" * 40],
              "short": [gzip.compress(PAGE)[:10]]}
    be = RawBackend(routes)
    n = start(nginx_factory, redis, be)
    for name in routes:
        resp = raw_request(n.port, b"GET /b/%s HTTP/1.1\r\nHost: x\r\n"
                           b"Connection: close\r\n\r\n" % name.encode())
        assert MARK not in resp and not resp.endswith(b"0\r\n\r\n"), resp
    wait_for(lambda: open(n.error_log).read().count(
        "before any byte of the page: the response is cut") == 2,
        timeout=5, what="the info lines")
    assert "[error]" not in open(n.error_log).read()
    be.stop()


class DyingBackend(ScriptedBackend):
    """Answers /NAME with a gzip page framed as NAME says, then closes:
    "close" (HTTP/1.0, no length: only the close ends it) and "cl"
    (Content-Length) cut in the middle of the stream, "whole" the complete
    stream close-delimited."""

    def __init__(self, z):
        self.z = z
        super().__init__(threaded=True)

    def answer(self, c, name):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = b"Content-Type: text/html\r\nContent-Encoding: gzip\r\n"
        if name == "cl":
            c.sendall(b"HTTP/1.1 200 OK\r\n" + head + b"Content-Length: %d"
                      b"\r\n\r\n" % len(self.z) + self.z[:len(self.z) // 2])
        elif name == "whole":
            c.sendall(b"HTTP/1.0 200 OK\r\n" + head + b"\r\n" + self.z)
        else:
            c.sendall(b"HTTP/1.0 200 OK\r\n" + head + b"\r\n"
                      + self.z[:len(self.z) // 2])
        time.sleep(0.2)


def test_an_upstream_dying_mid_page_without_a_length_is_cut(nginx_factory,
                                                             redis):
    """Review R3 F3: a body with no length (HTTP/1.0 proxying, uwsgi,
    scgi) ends with the connection, as does an application dying
    mid-page: the gzip stream ending unfinished is the only evidence of
    the cut.  What was inflated goes on (bannered) and the response is
    cut, never ended with a terminating chunk as if complete."""
    page = (b'<!doctype html><html><head><title>t</title></head><body>'
            + b"".join(b'<p>line %d of the price list</p>' % i
                       for i in range(400)) + b'</body></html>\n')
    be = DyingBackend(gzip.compress(page))
    n = start(nginx_factory, redis, be)
    for loc in ("/b/", "/u/"):
        for name in ("close", "cl", "whole"):
            resp = raw_request(n.port, b"GET %s%s HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n"
                               % (loc.encode(), name.encode()))
            assert resp.count(MARK) == 1, (loc, name, resp[:300])
            assert b"<p>line 1 of the price list</p>" in resp, (loc, name)
            assert resp.endswith(b"0\r\n\r\n") == (name == "whole"), \
                (loc, name, resp[-60:])
    wait_for(lambda: open(n.error_log).read().count(
        "ends early (inside a gzip member) and had no length: the page is "
        "sent up to there and the response is cut") == 2,
        timeout=5, what="the info lines")
    be.stop()
