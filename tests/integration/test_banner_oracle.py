"""The banner's place, checked by an HTML5 parser through real nginx.

tests/oracle/oracle.py checks thousands of documents against the pure
scanner; this runs a slice of the same corpus through the module in nginx,
delivered three ways: a static file (sendfile), the same file read by the
copy filter into 16-byte buffers (every tag cut somewhere), proxied
unbuffered from a backend that writes it in small chunks, and gzip_static's
.gz of it (inflated by the filter, sent plain to a client without gzip).  For each:
DOM(response) == DOM(document) with the banner first in <body>, or the
bytes unchanged where the scanner has no place (counted in banner_skips).
"""

import gzip
import os
import random
import socket
import sys
import threading
import time

import pytest

from harness import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))

oracle = pytest.importorskip("oracle")  # needs python3-html5lib

MARK = b'class="outage-banner '

CONF = """
    outage_redis 127.0.0.1:{redis} interval=200ms timeout=200ms
                 connect_timeout=200ms;
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        outage_banner on;
        outage_banner_types text/html application/octet-stream;
        default_type text/html;

        location /s/ {{ alias {www}/; sendfile on; }}
        location /m/ {{ alias {www}/; sendfile off; output_buffers 2 16; }}
        location /g/ {{ alias {www}/; gzip_static always; }}
        location /p/ {{
            proxy_pass http://127.0.0.1:{backend}/;
            proxy_buffering off;
            proxy_http_version 1.1;
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""


class ChunkedBackend(threading.Thread):
    """Serves docs[name] with chunked coding in small pieces."""

    def __init__(self, docs):
        super().__init__(daemon=True)
        self.docs = docs
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(4096)
                if not d:
                    return
                data += d
            path = data.split(b" ", 2)[1].decode().lstrip("/")
            doc = self.docs[path]
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                      b"Transfer-Encoding: chunked\r\nConnection: close\r\n"
                      b"\r\n")
            rng = random.Random(path)
            i = 0
            while i < len(doc):
                n = rng.randint(1, 24)
                piece = doc[i:i + n]
                c.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                i += n
                # let nginx read the pieces one by one most of the time
                time.sleep(0.0005)
            c.sendall(b"0\r\n\r\n")
        finally:
            c.close()


def corpus(count):
    rng = random.Random(1515)
    docs = []
    for doc, _ in oracle.generate(rng, count):
        if doc:
            docs.append(doc)
        if len(docs) >= count:
            break
    return docs


def test_dom_through_nginx(nginx_factory, redis, tmp_path):
    docs = corpus(int(os.environ.get("OUTAGE_ORACLE_NGINX_DOCS", "150")))
    www = tmp_path / "www"
    www.mkdir()
    names = {}
    for i, doc in enumerate(docs):
        name = "d%04d.html" % i
        (www / name).write_bytes(doc)
        # several gzip members: the filter must read them all
        half = len(doc) // 2
        (www / (name + ".gz")).write_bytes(
            gzip.compress(doc[:half], mtime=0)
            + gzip.compress(doc[half:], mtime=0))
        names[name] = doc
    (www / "probe.html").write_bytes(b"<body>")
    backend = ChunkedBackend(names)
    backend.start()

    n = nginx_factory(CONF.format(redis=redis.port, www=www,
                                  backend=backend.port), workers=1)
    redis.cli("SET", "outage:site", "Slow")
    wait_for(lambda: MARK in n.get("/s/probe.html")[2], timeout=5,
             what="banner due")
    banner = n.get("/s/probe.html")[2][len(b"<body>"):]
    banner_nodes = oracle.body_of(oracle.dom(b"<body>" + banner))[3]

    skips0 = n.status_json()["counters"]["banner_skips"]
    nones = 0
    checked = 0
    failures = []
    for name, doc in names.items():
        bodies = {}
        for prefix in ("/s/", "/m/", "/p/", "/g/"):
            st, h, body = n.get(prefix + name)
            assert st == 200, (prefix, name)
            bodies[prefix] = body
        if len(set(bodies.values())) != 1:
            failures.append((doc, "deliveries differ: %r" % (bodies,)))
            continue
        out = bodies["/s/"]
        if MARK not in out:
            nones += 1
            if out != doc:
                failures.append((doc, "no banner but bytes changed"))
            continue
        if b"<template" in doc.lower():
            continue  # html5lib 1.1 has no <template> (see oracle.py)
        expected = oracle.with_banner(oracle.dom(doc), banner_nodes)
        if expected is None:
            continue  # frameset after an implied body (oracle.py)
        checked += 1
        if oracle.dom(out) != expected:
            failures.append((doc, "DOM differs: %r" % out[:200]))

    print("oracle through nginx: %d documents, %d checked, %d without a "
          "place" % (len(names), checked, nones))
    assert not failures, failures[:5]
    assert checked > len(names) // 2
    # each document without a place was counted on each of 4 deliveries
    assert n.status_json()["counters"]["banner_skips"] - skips0 == 4 * nones
    backend.stop = True
    backend.sock.close()
