#!/usr/bin/python3
"""Instructions per request of the X-Outage-Probe strip on an idle module.

Every main request passes ngx_http_outage_page_take_mark() (page.c),
which takes the fleet's probe mark out of the request's headers before
anything can copy them to an upstream.  This counts, under valgrind
--tool=callgrind on the worker of a stock nginx with the built module
(no incident: the module idle), what a browser request with 20 headers
costs from ngx_http_process_request() on (phases, content handler,
filters, finalization) and how much of it is the strip (the inclusive
cost of take_mark(): what a build without the walk would not spend).

    /usr/bin/python3 tests/bench/mark_ir.py [--requests N] [--max IR]

--max IR: exit 1 if the strip costs more than IR instructions per
request (tests/integration/test_mark_cost.py guards so).  Instruction
counts are deterministic: the machine's load does not change them.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import (LOAD_MODULE, NGINX, NGINX_MAIN,  # noqa: E402
                     free_port, port_open, stop_pid, wait_for)

# take_mark() is inlined into its one caller, the module's handler of
# both rewrite phases, which on this request does nothing else
TAKE = "ngx_http_outage_page_rewrite_handler"
SCOPE = "ngx_http_process_request"
KEEP = os.environ.get("MARK_IR_KEEP")

# what a current Chrome sends for a page load (20 headers), four of them
# 14 bytes long like "X-Outage-Probe"
BROWSER = [
    ("Host", "shop.example.com"),
    ("Connection", "keep-alive"),
    ("Cache-Control", "max-age=0"),
    ("sec-ch-ua", '"Chromium";v="124", "Google Chrome";v="124", '
                  '"Not-A.Brand";v="99"'),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", '"Linux"'),
    ("Upgrade-Insecure-Requests", "1"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                   "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,"
               "image/avif,image/webp,image/apng,*/*;q=0.8,"
               "application/signed-exchange;v=b3;q=0.7"),
    ("Sec-Fetch-Site", "same-origin"),
    ("Sec-Fetch-Mode", "navigate"),
    ("Sec-Fetch-User", "?1"),
    ("Sec-Fetch-Dest", "document"),
    ("Referer", "https://shop.example.com/men/sweaters/"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Accept-Language", "en-GB,en;q=0.9,de;q=0.8"),
    ("Cookie", "session=0123456789abcdef; cart=3; ab=pdp-b; "
               "consent=necessary,analytics"),
    ("Priority", "u=0, i"),
    ("If-None-Match", 'W/"65f0a1b2-2710"'),
    ("DNT", "1"),
]

# the module in use (a Redis nobody answers: no incident is known)
HTTP = """
    outage_redis 127.0.0.1:{redis} interval=1s;
    server {{
        listen 127.0.0.1:{port};
        outage_banner on;
        location / {{ return 200 "page\\n"; }}
    }}
"""


def request(extra=()):
    lines = ["GET /p/1234 HTTP/1.1"] + ["%s: %s" % h for h in BROWSER]
    lines += ["%s: %s" % h for h in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def exchange(sock, data):
    sock.sendall(data)
    got = b""
    while b"\r\n\r\npage\n" not in got:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("nginx closed the connection: %r" % got[-300:])
        got += chunk
    if not got.startswith(b"HTTP/1.1 200"):
        raise SystemExit("unexpected answer: %r" % got[:300])


def measure(tmp, requests, extra=()):
    d = tempfile.mkdtemp(prefix="mark-ir-", dir=tmp)
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        # the worker writes its callgrind file into d: as the master's user
        f.write(NGINX_MAIN.format(
            load_module=LOAD_MODULE, dir=d, workers=1, log_level="notice",
            user="user root;" if os.geteuid() == 0 else "",
            http=HTTP.format(port=port, redis=free_port())))
    out = os.path.join(d, "cg.%p")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--trace-children=yes",
         "--callgrind-out-file=" + out, "--collect-atstart=no",
         "--toggle-collect=" + SCOPE,
         NGINX, "-p", d, "-c", conf, "-e", os.path.join(d, "error.log"),
         "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: proc.poll() is not None or port_open(port),
                 timeout=120, what="nginx under valgrind listens")
        if proc.poll() is not None:
            raise SystemExit("nginx exited: %s" % proc.stderr.read()[-2000:])
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        data = request(extra)
        for _ in range(requests):
            exchange(sock, data)
        sock.close()
    finally:
        stop_pid(proc, signal.SIGQUIT, timeout=120)
    total = take = 0
    files = [os.path.join(d, x) for x in os.listdir(d) if x.startswith("cg.")]
    for path in files:
        with open(path) as f:
            m = re.search(r"^(?:totals|summary): (\d+)", f.read(), re.M)
        if not m or int(m.group(1)) == 0:
            continue
        total += int(m.group(1))
        p = subprocess.run(["callgrind_annotate", "--inclusive=yes",
                            "--threshold=100", path],
                           capture_output=True, text=True, check=True)
        # a function's lines by file and by "???" (parts without line
        # information): its whole inclusive cost is the largest
        take += max([int(line.split()[0].replace(",", ""))
                     for line in p.stdout.splitlines()
                     if re.search(r":%s( |$)" % TAKE, line)] or [0])
    KEEP or shutil.rmtree(d, ignore_errors=True)
    return total / requests, take / requests


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--max", type=float,
                    help="exit 1 if the strip costs more Ir per request")
    args = ap.parse_args()
    for tool in ("valgrind", "callgrind_annotate"):
        if not shutil.which(tool):
            raise SystemExit("%s is not installed" % tool)
    print("X-Outage-Probe strip, module idle, %d requests of %d headers "
          "on one keepalive connection (callgrind, worker, from %s)"
          % (args.requests, len(BROWSER), SCOPE))
    if KEEP:
        total, take = measure(tempfile.mkdtemp(prefix="mark-ir-"),
                              args.requests)
    else:
        with tempfile.TemporaryDirectory(prefix="mark-ir-") as tmp:
            total, take = measure(tmp, args.requests)
    print("Ir/request  request path %8.0f  strip (%s, inclusive) %6.0f  (%.2f %%)"
          % (total, TAKE, take, 100.0 * take / total if total else 0))
    if args.max is not None and take > args.max:
        print("the strip's %.0f Ir/request is above --max %.0f"
              % (take, args.max))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
