"""How the banner filter reads sendfile'd files to find the insertion point.

A file whose rest fits in one 16 KB read is read whole and sent from
memory; a larger one is read a page, then 16 KB at a time, up to the
insertion point and sent by sendfile from the next page boundary on.  These
tests put the body tag on both sides of every boundary of that scheme and
check the response byte for byte, with sendfile on and off, and that no
response waits for a delayed ACK.
"""

import http.client
import os
import time

from harness import wait_for

MARK = b'class="outage-banner '
TAG = b'<body class="f">'

CONF = """
    outage_redis 127.0.0.1:{redis} interval=200ms;
    sendfile on;
    tcp_nopush on;
    server {{
        listen 127.0.0.1:{{port}};
        outage_banner on;
        location / {{ root {www}; }}
        location /mem/ {{ alias {www}/; sendfile off; output_buffers 2 4k; }}
        location = /outage/status {{ outage_status; }}
    }}
"""


def page(size, tag_at):
    """size bytes of HTML with the body tag starting at offset tag_at."""
    head = b"<html><head><title>f</title><style>/*"
    tail = b"*/</style></head>"
    pad = tag_at - len(head) - len(tail)
    assert pad >= 0
    out = head + b"x" * pad + tail + TAG
    filler = b"<p>filler text for the page body</p>\n"
    out += filler * ((size - len(out)) // len(filler) + 1)
    out = out[:size - 15] + b"</body></html>\n"
    assert len(out) == size and out.index(TAG) == tag_at
    return out


CASES = [(300, 60), (4095, 100), (4096, 4000), (4200, 4080), (8000, 4090),
         (16383, 16000), (16384, 4096), (16385, 100), (16385, 16300),
         (20480, 4070), (20481, 20400), (40000, 3000), (40000, 16380),
         (40000, 30000), (70000, 69000)]


def split(body, original):
    assert body.count(MARK) == 1, len(body)
    k = original.index(TAG) + len(TAG)
    assert body[:k] == original[:k]
    rest = len(original) - k
    assert body[len(body) - rest:] == original[k:]
    banner = body[k:len(body) - rest]
    assert banner.startswith(b"<style>") and banner.endswith(b"</div></div>")
    return banner


def test_every_read_boundary_is_byte_exact(nginx_factory, redis, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    pages = {}
    for size, at in CASES:
        name = "p%d_%d.html" % (size, at)
        pages[name] = page(size, at)
        (www / name).write_bytes(pages[name])
    n = nginx_factory(CONF.format(redis=redis.port, www=www), workers=1)
    redis.cli("SET", "outage:site", "Slow")
    wait_for(lambda: MARK in n.get("/" + name)[2], what="banner")

    banners = set()
    for name, original in pages.items():
        for prefix in ("/", "/mem/"):
            st, h, body = n.get(prefix + name)
            assert st == 200, (prefix, name)
            banners.add(split(body, original))
    assert len(banners) == 1


def test_small_files_do_not_wait_for_acks(nginx_factory, redis, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    for size, at in ((10319, 1101), (16384, 8000), (30000, 1000)):
        (www / ("s%d.html" % size)).write_bytes(page(size, at))
    n = nginx_factory(CONF.format(redis=redis.port, www=www), workers=1)
    redis.cli("SET", "outage:site", "Slow")
    wait_for(lambda: MARK in n.get("/s10319.html")[2], what="banner")

    for size in (10319, 16384, 30000):
        conn = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
        times = []
        for _ in range(30):
            t0 = time.monotonic()
            conn.request("GET", "/s%d.html" % size)
            body = conn.getresponse().read()
            times.append(time.monotonic() - t0)
            assert body.count(MARK) == 1
        conn.close()
        times.sort()
        # a delayed ACK would cost ~40 ms on most of them
        assert times[len(times) // 2] < 0.020, (size, times)


IMPLIED = b'<div class="f">'


def implied_page(size, tag_at):
    """No <body>: the div implies it; the banner goes before the div."""
    return page(size, tag_at).replace(TAG, IMPLIED + b" " * (len(TAG)
                                                              - len(IMPLIED)))


def test_implied_body_tag_cut_by_every_read_boundary(nginx_factory, redis,
                                                     tmp_path):
    """The tag that implies <body> starts a few bytes before a read
    boundary: the scanner holds those bytes back across the read and the
    banner ("<body>" + banner) goes before them, byte exact."""
    www = tmp_path / "www"
    www.mkdir()
    pages = {}
    for size in (40000, 70000):
        for boundary in (4096, 16384, 32768):
            for back in (1, 2, 5, 14):
                at = boundary - back
                if at + 100 > size:
                    continue
                name = "i%d_%d.html" % (size, at)
                pages[name] = implied_page(size, at)
                (www / name).write_bytes(pages[name])
    n = nginx_factory(CONF.format(redis=redis.port, www=www), workers=1)
    redis.cli("SET", "outage:site", "Slow")
    wait_for(lambda: MARK in n.get("/" + name)[2], what="banner")

    banners = set()
    for name, original in pages.items():
        k = original.index(IMPLIED)
        for prefix in ("/", "/mem/"):
            st, h, body = n.get(prefix + name)
            assert st == 200 and body.count(MARK) == 1, (prefix, name)
            extra = len(body) - len(original)
            assert body[:k] == original[:k], (prefix, name)
            assert body[k + extra:] == original[k:], (prefix, name)
            ins = body[k:k + extra]
            assert ins.startswith(b"<body><style>"), (prefix, name)
            banners.add(ins)
    assert len(banners) == 1
