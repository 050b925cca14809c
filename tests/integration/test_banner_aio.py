"""The banner on static files under nginx's file-reading settings.

With "aio threads" the banner filter must not read files in the event
loop: the copy filter reads them in the thread pool for it, and stops once
the banner's place is known (the rest goes by sendfile, unread).  Checked
byte for byte against the same files served with the filter's own reads
("aio" off) and without the module's banner, and by nginx's debug log:
which thread issued each read, and how many reads there were.
"""

import os
import re
import subprocess

from harness import free_port, wait_for

MARK = b'class="outage-banner '
TAG = b'<body class="f">'
IMPLIED = b'<div class="f">'

CONF = """
    outage_redis 127.0.0.1:{redis} interval=200ms;
    sendfile on;
    tcp_nopush on;
    proxy_cache_path {{dir}}/cache keys_zone=aio:1m;
    server {{
        listen 127.0.0.1:{{port}};
        listen 127.0.0.1:{h2} http2;
        outage_banner on;
        location /pread/ {{ alias {www}/; }}
        location /thr/ {{ alias {www}/; aio threads; }}
        location /thrmem/ {{ alias {www}/; aio threads; sendfile off; }}
        location /thr1k/ {{ alias {www}/; aio threads; output_buffers 3 1k; }}
        location /dio/ {{ alias {www}/; directio 8k; }}
        location /thrdio/ {{ alias {www}/; aio threads; directio 8k; }}
        location /thrsub/ {{
            alias {www}/;
            aio threads;
            sub_filter_types text/html;
            sub_filter 'filler text' 'FILLER TEXT';
            sub_filter_once off;
        }}
        location /none/ {{ alias {www}/; aio threads; outage_banner off; }}
        location /up/ {{ alias {www}/; outage_banner off; }}
        location /cthr/ {{
            rewrite ^/cthr/(.*)$ /up/$1 break;
            proxy_pass http://127.0.0.1:$server_port;
            proxy_cache aio;
            proxy_cache_valid 200 1h;
            aio threads;
            add_header X-Cache $upstream_cache_status always;
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""

CAP = 256 * 1024


def page(size, tag_at, tag=TAG):
    head = b"<html><head><title>f</title><style>/*"
    tail = b"*/</style></head>"
    out = head + b"x" * (tag_at - len(head) - len(tail)) + tail + tag
    filler = b"<p>filler text for the page body</p>\n"
    out += filler * ((size - len(out)) // len(filler) + 1)
    out = out[:size - 15] + b"</body></html>\n"
    assert len(out) == size and out.index(tag) == tag_at
    return out


# name: (size, offset of the tag, tag, banner expected); "sendfile": a
# file sent by sendfile is scanned 256 KB at most (its reads are made for
# the scan only); without sendfile (sendfile off, directio) nginx reads all
# of it anyway and it is scanned like a proxied page
FILES = {
    "small.html": (10319, 1101, TAG, True),
    "mid.html": (70000, 40000, TAG, True),
    "big_early.html": (600000, 2000, TAG, True),
    "big_late.html": (600000, CAP - 100, TAG, True),
    "big_capped.html": (600000, CAP + 4000, TAG, "sendfile"),
    "implied.html": (50000, 32760, IMPLIED, True),
    "implied_1k.html": (5000, 1020, IMPLIED, True),
    "body_1k.html": (5000, 1017, TAG, True),
    "implied_big.html": (400000, 100, IMPLIED, True),
}


SENDFILE = ("pread", "thr", "thr1k", "thrsub")


def expected(name, original, body, loc="thr"):
    size, at, tag, banner = FILES[name]
    if banner == "sendfile":
        banner = loc not in SENDFILE
    if not banner:
        assert body == original, name
        return None
    assert body.count(MARK) == 1, name
    k = at + len(tag) if tag == TAG else at
    extra = len(body) - len(original)
    assert body[:k] == original[:k], name
    assert body[k + extra:] == original[k:], name
    ins = body[k:k + extra]
    assert ins.startswith(b"<body><style>" if tag == IMPLIED else b"<style>")
    return ins


def start(nginx_factory, redis, tmp_path, **kw):
    www = tmp_path / "www"
    www.mkdir()
    files = {}
    for name, (size, at, tag, _) in FILES.items():
        files[name] = page(size, at, tag)
        (www / name).write_bytes(files[name])
    h2 = free_port()
    n = nginx_factory(CONF.format(redis=redis.port, www=www, h2=h2),
                      workers=1, **kw)
    n.h2 = h2
    redis.cli("SET", "outage:site", "Slow")
    wait_for(lambda: MARK in n.get("/pread/small.html")[2], what="banner")
    return n, files


def log_since(n, offset):
    with open(n.error_log, "rb") as f:
        f.seek(offset)
        return f.read().decode("latin-1")


def test_banner_bytes_under_every_read_setting(nginx_factory, redis,
                                               tmp_path):
    n, files = start(nginx_factory, redis, tmp_path)
    skips0 = n.status_json()["counters"]["banner_skips"]
    for name, original in files.items():
        st, h, body = n.get("/none/" + name)
        assert st == 200 and body == original, name
        banners = set()
        for loc in ("pread", "thr", "thr1k", "thrmem", "dio", "thrdio"):
            st, h, body = n.get("/%s/%s" % (loc, name))
            assert st == 200, (loc, name)
            banners.add(expected(name, original, body, loc))
        banners.discard(None)
        assert len(banners) == 1, name
        st, h, body = n.get("/thrsub/" + name)
        assert st == 200
        expected(name, original.replace(b"filler text", b"FILLER TEXT"),
                 body, "thrsub")
    # HTTP/2 streams read by the thread pool too
    for name in ("small.html", "big_early.html", "implied_big.html"):
        out = subprocess.run(
            ["curl", "-s", "--http2-prior-knowledge", "--max-time", "10",
             "http://127.0.0.1:%d/thr/%s" % (n.h2, name)],
            capture_output=True, timeout=20)
        assert out.returncode == 0, out.stderr
        assert out.stdout == n.get("/thr/" + name)[2], name
    # the capped file, once per location with sendfile
    assert n.status_json()["counters"]["banner_skips"] - skips0 == 4


READ = re.compile(r"\[debug\] (\d+)#(\d+): \*\d+ read: (\d+), \S+, (\d+), (\d+)")
THREAD_READ = re.compile(r"\[debug\] (\d+)#(\d+): \*\d+ thread read: (\d+), "
                         r"\S+, (\d+), (\d+)")
HANDLER = re.compile(r"\[debug\] (\d+)#(\d+): thread read handler")


def test_aio_threads_reads_are_in_threads_and_few(nginx_factory, redis,
                                                  tmp_path):
    """With "aio threads" no read of a page is made by the worker's own
    thread (ngx_read_file's "read:" debug line), the reads are handed to
    the pool ("thread read:" from the worker, "thread read handler" from
    a pool thread), and a large file is read only as far as the banner's
    place: the rest is sent by sendfile unread."""
    n, files = start(nginx_factory, redis, tmp_path, log_level="debug")
    worker = n.worker_pids()[0]

    for name in ("small.html", "big_early.html", "big_late.html",
                 "big_capped.html", "implied_big.html"):
        off = os.path.getsize(n.error_log)
        st, h, body = n.get("/thr/" + name)
        assert st == 200
        expected(name, files[name], body)
        wait_for(lambda: "http close request" in log_since(n, off),
                 what="request logged")
        text = log_since(n, off)
        assert not READ.search(text), (name, READ.findall(text)[:3])
        # ngx_thread_read() logs when it posts the task and again when it
        # takes the result
        reads = set(THREAD_READ.findall(text))
        assert reads, name
        handlers = HANDLER.findall(text)
        assert len(handlers) == len(reads), name
        for pid, tid in handlers:
            assert int(pid) == worker and int(tid) != worker, (pid, tid)
        read_bytes = sum(int(r[3]) for r in reads)
        size, at, tag, _ = FILES[name]
        # what is read: up to the place (or the cap), in 32 KB buffers
        limit = min(at, CAP) + 32768 + len(tag)
        assert read_bytes <= min(size, limit + 32768), (name, read_bytes)
        if at < 30000:
            # the place is in the first buffer: one read, of that buffer
            assert read_bytes == min(size, 32768), (name, read_bytes)
        if size > limit + 32768:
            # the rest by sendfile (in the pool too, with aio threads)
            assert re.search(r"linux sendfile thread: \d+|sendfile: @",
                             text), name

    # proxy_cache: the MISS goes out of the temporary file the response is
    # buffered to, the HIT out of the cache file; both read in the pool
    for xc in ("MISS", "HIT"):
        off = os.path.getsize(n.error_log)
        st, h, body = n.get("/cthr/big_early.html")
        assert st == 200 and h["x-cache"] == xc
        expected("big_early.html", files["big_early.html"], body)
        wait_for(lambda: log_since(n, off).count("http close request") >= 2
                 if xc == "MISS" else "http close request" in
                 log_since(n, off), what="request logged")
        text = log_since(n, off)
        assert not READ.search(text), (xc, READ.findall(text)[:3])
        if xc == "HIT":
            assert THREAD_READ.search(text)

    # the old way, for contrast: the filter's own reads, in the worker
    off = os.path.getsize(n.error_log)
    assert n.get("/pread/big_early.html")[0] == 200
    wait_for(lambda: "http close request" in log_since(n, off),
             what="request logged")
    text = log_since(n, off)
    assert READ.search(text) and not THREAD_READ.search(text)
