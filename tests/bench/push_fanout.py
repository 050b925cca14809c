#!/usr/bin/python3
"""Redis change -> banner on every worker of three nginx (issue 14).

    /usr/bin/python3 tests/bench/push_fanout.py [--trials N] [--smoke]

Three nginx instances (2 workers each, the module loaded) poll one
redis-server every 1 s.  A trial writes the key with a raw RESP command and
then asks every instance on fresh connections until each of its workers
(X-Pid) has answered a page carrying the new banner (SET) or no banner (DEL);
the time to the last worker of the last instance is the trial's figure.
Three series:

- push: SET, then DEL (the default `push=on`, a Redis user allowed to track);
- refused: SET with a Redis user whose ACL refuses CLIENT TRACKING, so the
  module polls: bounded by the interval, not by push.

Prints p50/p90/p99/max per series; run by `make bench` (bench.py calls
run()) or alone.  Every process is started here and stopped by its PID.
"""

import argparse
import http.client
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import Nginx, Redis, wait_for  # noqa: E402

INTERVAL = 1.0
MSG = "Payments are slow right now, trial %d"

CONF = """
    outage_redis 127.0.0.1:%(port)d interval=1s user=%(user)s password=pw;
    outage_banner on;
    server {
        listen 127.0.0.1:{port} reuseport;
        location / {
            add_header X-Pid $pid always;
            return 200 "<!DOCTYPE html><html><head><title>t</title></head><body><p>shop</p></body></html>";
        }
    }
"""


def resp(port, *args):
    """One command over a raw socket: no redis-cli start-up in the figure."""
    data = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() for x in args))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        return s.recv(4096)


def page(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", "/")
        r = c.getresponse()
        return int(r.getheader("X-Pid")), r.read()
    finally:
        c.close()


def all_see(servers, want, limit):
    """Until every worker of every server shows `want` (bytes in the page,
    or None: no banner); returns the seconds it took."""
    t0 = time.monotonic()
    for n, pids in servers:
        pending = set(pids)
        while pending:
            pid, body = page(n.port)
            ok = (b"outage" not in body) if want is None else (want in body)
            if ok:
                pending.discard(pid)
            if time.monotonic() - t0 > limit:
                raise RuntimeError("not every worker saw the change within "
                                   "%.1f s" % limit)
    return time.monotonic() - t0


def series(redis, servers, trials, what, rng):
    samples = []
    for i in range(trials):
        msg = MSG % i
        if what == "del":
            resp(redis.port, "SET", "outage:site", msg)
            all_see(servers, msg.encode(), 3 * INTERVAL + 2)
        else:
            resp(redis.port, "DEL", "outage:site")
            all_see(servers, None, 3 * INTERVAL + 2)
        time.sleep(rng.uniform(0, INTERVAL))          # random poll phase
        if what == "del":
            resp(redis.port, "DEL", "outage:site")
            samples.append(all_see(servers, None, 3 * INTERVAL + 2))
        else:
            resp(redis.port, "SET", "outage:site", msg)
            samples.append(all_see(servers, msg.encode(), 3 * INTERVAL + 2))
    return samples


def figures(samples):
    s = sorted(samples)

    def pct(p):
        return s[min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1)]

    return {"trials": len(s), "p50_ms": round(statistics.median(s) * 1000, 1),
            "p90_ms": round(pct(90) * 1000, 1),
            "p99_ms": round(pct(99) * 1000, 1),
            "max_ms": round(s[-1] * 1000, 1)}


def run(trials=50, refused_trials=20, log=print):
    ws = tempfile.mkdtemp(prefix="push-fanout-")
    redis = Redis(ws)
    started = []
    results = {}
    rng = random.Random(14)
    try:
        redis.cli("ACL", "SETUSER", "push", "on", ">pw", "~outage:*",
                  "&__redis__:invalidate", "+get", "+hgetall", "+multi",
                  "+exec", "+client|id", "+client|tracking", "+subscribe")
        redis.cli("ACL", "SETUSER", "poll", "on", ">pw", "~outage:*",
                  "+get", "+hgetall", "+multi", "+exec")
        for user, key, n_trials, kinds in (
                ("push", "push", trials, ("set", "del")),
                ("poll", "refused", refused_trials, ("set",))):
            servers = []
            for k in range(3):
                n = Nginx(os.path.join(ws, "%s%d" % (user, k)),
                          CONF % {"port": redis.port, "user": user},
                          workers=2, log_level="notice")
                started.append(n)
                servers.append((n, n.worker_pids()))
            want = "pushes changes of" if user == "push" else \
                "refuses key tracking"
            for n, _ in servers:
                wait_for(lambda: want in n.log_text(), timeout=10,
                         what="%s: %s" % (key, want))
            for kind in kinds:
                name = "%s_%s" % (key, kind)
                results[name] = figures(series(redis, servers, n_trials,
                                               kind, rng))
                log("push fan-out %-12s %s" % (name, results[name]))
            for n, _ in servers:
                bad = n.bad_log_lines()
                if bad:
                    raise RuntimeError("nginx alert/crit lines: %s" % bad[:5])
                n.stop()
    finally:
        for n in started:
            n.stop()
        redis.stop()
        shutil.rmtree(ws, ignore_errors=True)
    return results


def report(results):
    print("\nRedis change -> banner on every worker of 3 nginx x 2 workers "
          "(interval 1 s; load average %.2f)" % os.getloadavg()[0])
    print("%-16s %6s %8s %8s %8s %8s" % ("series", "trials", "p50 ms",
                                          "p90 ms", "p99 ms", "max ms"))
    for name, f in results.items():
        print("%-16s %6d %8.1f %8.1f %8.1f %8.1f" % (
            name, f["trials"], f["p50_ms"], f["p90_ms"], f["p99_ms"],
            f["max_ms"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--refused-trials", type=int, default=20)
    ap.add_argument("--smoke", action="store_true", help="3 trials each")
    args = ap.parse_args()
    if args.smoke:
        args.trials = args.refused_trials = 3
    report(run(args.trials, args.refused_trials, log=lambda m: None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
