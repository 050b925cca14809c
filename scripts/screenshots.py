#!/usr/bin/python3
"""Screenshots of the demo shop for the docs: `make screenshots`.

Starts the demo (scripts/demo.sh, detached, in a temporary DEMO_DIR on free
loopback ports), puts it in each state with redis-cli, checks that nginx
really shows that state (the status endpoint, then the banner element or
the 503 page), takes the shot with headless Chromium into
docs/screenshots/, and stops the demo.

A shot whose feature is missing from this build (for example no banner in
the HTML yet) is skipped with a message rather than saved showing the
wrong thing; the exit status is then 1.

    /usr/bin/python3 scripts/screenshots.py [--out DIR] [--only NAME ...]
"""

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DEMO_SH = os.path.join(REPO, "scripts", "demo.sh")

DESKTOP = (1280, 900)
MOBILE = (390, 844)

SITE_MESSAGE = "Payments are slow right now, we're on it"
CHECKOUT_MESSAGE = ("Checkout is unavailable while we fix a payment "
                    "provider issue")
MAINTENANCE_MESSAGE = "Planned payment system upgrade"


def utc_in(seconds):
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(time.time() + seconds))


# name, path, window size, Redis commands, (scope, wanted state), proof
SHOTS = [
    ("shop", "/", DESKTOP, [], None, "normal"),
    ("product", "/products/ridgeline-shell-jacket/", DESKTOP, [], None,
     "normal"),
    ("banner-degraded", "/", DESKTOP,
     [["SET", "outage:site", SITE_MESSAGE]],
     ("site", {"state": "degraded"}), "banner"),
    ("checkout-down", "/checkout/", DESKTOP,
     [["HSET", "outage:checkout", "state", "down", "message",
       CHECKOUT_MESSAGE, "eta", lambda: utc_in(30 * 60)]],
     ("checkout", {"state": "down"}), "page"),
    ("maintenance-announced", "/", DESKTOP,
     [["HSET", "outage:payments", "state", "maintenance", "message",
       MAINTENANCE_MESSAGE, "starts", lambda: utc_in(3600),
       "ends", lambda: utc_in(7200)]],
     ("payments", {"state": "maintenance", "scheduled": True}), "banner"),
    ("mobile-shop", "/", MOBILE, [], None, "normal"),
    ("mobile-banner-degraded", "/", MOBILE,
     [["SET", "outage:site", SITE_MESSAGE]],
     ("site", {"state": "degraded"}), "banner"),
    ("mobile-checkout-down", "/checkout/", MOBILE,
     [["HSET", "outage:checkout", "state", "down", "message",
       CHECKOUT_MESSAGE, "eta", lambda: utc_in(30 * 60)]],
     ("checkout", {"state": "down"}), "page"),
    ("status-operational", "/status", DESKTOP, [], None, "status"),
    ("status-outage", "/status", DESKTOP,
     [["SET", "outage:site", SITE_MESSAGE],
      ["HSET", "outage:checkout", "state", "down", "message",
       CHECKOUT_MESSAGE, "eta", lambda: utc_in(30 * 60)]],
     ("checkout", {"state": "down"}), "status"),
    ("status-maintenance", "/status", DESKTOP,
     [["HSET", "outage:payments", "state", "maintenance", "message",
       MAINTENANCE_MESSAGE, "starts", lambda: utc_in(3600),
       "ends", lambda: utc_in(7200)]],
     ("payments", {"state": "maintenance", "scheduled": True}), "status"),
    # then Redis is paused: the module's polls time out, the page says so
    ("status-stale", "/status", DESKTOP,
     [["HSET", "outage:payments", "state", "degraded", "message",
       "Card payments are slower than usual"]],
     ("payments", {"state": "degraded"}), "stale"),
    # "dark-": the browser prefers a dark colour scheme
    ("dark-mobile-status-outage", "/status", MOBILE,
     [["SET", "outage:site", SITE_MESSAGE],
      ["HSET", "outage:checkout", "state", "down", "message",
       CHECKOUT_MESSAGE, "eta", lambda: utc_in(30 * 60)]],
     ("checkout", {"state": "down"}), "status"),
    ("mobile-status-outage", "/status", MOBILE,
     [["SET", "outage:site", SITE_MESSAGE],
      ["HSET", "outage:checkout", "state", "down", "message",
       CHECKOUT_MESSAGE, "eta", lambda: utc_in(30 * 60)]],
     ("checkout", {"state": "down"}), "status"),
]

CLEAR = [["DEL", "outage:site", "outage:checkout", "outage:payments"]]


def log(msg):
    sys.stderr.write("screenshots: %s\n" % msg)


def free_ports(n):
    ports = set()
    while len(ports) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.add(s.getsockname()[1])
    return sorted(ports)


def chromium_binary():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium"
    log("Chromium is missing; installing it with apt-get")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-q",
                           "--no-install-recommends", "chromium"],
                   check=True, env=env)
    return "/usr/bin/chromium"


class Demo:
    def __init__(self, run_dir):
        self.dir = run_dir
        (self.http_port, self.redis_port, self.shop_port,
         self.checkout_port) = free_ports(4)
        self.env = dict(os.environ, DEMO_DETACH="1", DEMO_DIR=run_dir,
                        DEMO_PORT=str(self.http_port),
                        DEMO_REDIS_PORT=str(self.redis_port),
                        DEMO_SHOP_PORT=str(self.shop_port),
                        DEMO_CHECKOUT_PORT=str(self.checkout_port))

    def script(self, action):
        return subprocess.run(["bash", DEMO_SH, action], env=self.env,
                              capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)

    def start(self):
        out = self.script("start")
        if out.returncode != 0:
            raise SystemExit("screenshots: the demo did not start:\n"
                             + out.stdout + out.stderr)

    def stop(self):
        self.script("stop")

    def redis(self, *args):
        args = [a() if callable(a) else a for a in args]
        out = subprocess.run(["redis-cli", "-p", str(self.redis_port)]
                             + args, capture_output=True, text=True,
                             timeout=10)
        if out.returncode != 0 or out.stdout.startswith("(error)"):
            raise SystemExit("screenshots: redis-cli %s: %s%s"
                             % (" ".join(args), out.stdout, out.stderr))

    def get(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port,
                                          timeout=10)
        try:
            conn.request("GET", path, headers={"Accept": "text/html"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def scope(self, name):
        status, body = self.get("/outage/status")
        if status != 200:
            return None
        for s in json.loads(body)["scopes"]:
            if s["name"] == name:
                return s
        return None

    def wait_scope(self, name, want, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.scope(name)
            if s and all(s.get(k) == v for k, v in want.items()):
                return True
            time.sleep(0.2)
        return False


def has_banner(body):
    """An element with class outage-banner after <body>, ahead of the demo
    page's own first element (<div class="promo">)."""
    m = re.search(rb"<body(\s[^>]*)?>", body, re.I)
    if not m:
        return False
    rest = body[m.end():]
    own = rest.find(b'<div class="promo">')
    head = rest if own < 0 else rest[:own]
    return any(b"outage-banner" in cls.strip(b"\"'").split()
               for cls in re.findall(rb"<[a-zA-Z][^>]*\bclass=(\"[^\"]*\""
                                     rb"|'[^']*'|[^\s>]+)", head))


def proof_problem(demo, path, proof):
    """None if nginx shows what the shot is meant to show, else why not."""
    status, body = demo.get(path)
    if proof == "normal":
        if status != 200 or has_banner(body):
            return "expected the plain page, got %d%s" % (
                status, " with a banner" if has_banner(body) else "")
    elif proof == "banner":
        if status != 200 or not has_banner(body):
            return ("no element with class outage-banner after <body> "
                    "(status %d): the banner is not in this build" % status)
    elif proof == "status":
        if status != 200 or b'id="components"' not in body:
            return ("%s answered %d without the status page's component "
                    "list: the status page is not in this build"
                    % (path, status))
    elif proof == "stale":
        if status != 200 or b'id="stale"' not in body:
            return "%s answered %d without the stale notice" % (path, status)
    elif proof == "page":
        if status != 503:
            return ("%s answered %d, not the 503 page: the maintenance page "
                    "is not in this build" % (path, status))
    return None


def screenshot(chromium, url, size, dest, dark=False):
    profile = tempfile.mkdtemp(prefix="outage-chromium-")
    tmp = dest + ".tmp.png"
    try:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-quic", "--no-first-run",
               "--disable-background-networking",
               "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", "--user-data-dir=" + profile,
               "--screenshot=" + tmp, "--window-size=%d,%d" % size]
        if dark:
            cmd.append("--force-dark-mode")
        cmd.append(url)
        out = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=120, stdin=subprocess.DEVNULL)
        ok = False
        if os.path.exists(tmp):
            with open(tmp, "rb") as fh:
                ok = fh.read(8) == b"\x89PNG\r\n\x1a\n"
        if out.returncode != 0 or not ok:
            raise RuntimeError("chromium failed (exit %d):\n%s"
                               % (out.returncode, out.stderr[-2000:]))
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "docs", "screenshots"),
                    help="where the PNGs go (default docs/screenshots)")
    ap.add_argument("--only", nargs="+", metavar="NAME",
                    help="take only these shots: "
                         + ", ".join(s[0] for s in SHOTS))
    args = ap.parse_args()

    shots = SHOTS
    if args.only:
        unknown = set(args.only) - {s[0] for s in SHOTS}
        if unknown:
            ap.error("unknown shot(s): " + ", ".join(sorted(unknown)))
        shots = [s for s in SHOTS if s[0] in args.only]

    chromium = chromium_binary()
    os.makedirs(args.out, exist_ok=True)
    run_dir = tempfile.mkdtemp(prefix="outage-demo-")
    demo = Demo(run_dir)
    saved, skipped = [], []
    try:
        demo.start()
        for name, path, size, commands, want, proof in shots:
            for cmd in CLEAR:
                demo.redis(*cmd)
            for name_scope in ("site", "checkout", "payments"):
                if not demo.wait_scope(name_scope, {"state": "ok"}):
                    raise SystemExit("screenshots: %s did not clear"
                                     % name_scope)
            for cmd in commands:
                demo.redis(*cmd)
            if want and not demo.wait_scope(*want):
                skipped.append((name, "scope %s never reached %r"
                                % (want[0], want[1])))
                continue
            if proof == "stale":
                demo.redis("CLIENT", "PAUSE", "15000", "ALL")
            problem = proof_problem(demo, path, proof)
            deadline = time.monotonic() + 15
            while problem and proof == "stale" \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
                problem = proof_problem(demo, path, proof)
            if problem and proof == "stale":
                demo.redis("CLIENT", "UNPAUSE")
            if problem:
                skipped.append((name, problem))
                continue
            dest = os.path.join(args.out, name + ".png")
            screenshot(chromium, "http://127.0.0.1:%d%s"
                       % (demo.http_port, path), size, dest,
                       dark=name.startswith("dark-"))
            saved.append(dest)
            if proof == "stale":
                demo.redis("CLIENT", "UNPAUSE")
            log("saved " + (os.path.relpath(dest, REPO)
                            if dest.startswith(REPO + os.sep) else dest))
    finally:
        demo.stop()
        shutil.rmtree(run_dir, ignore_errors=True)

    for name, why in skipped:
        log("skipped %s: %s" % (name, why))
    if skipped:
        log("%d saved, %d skipped" % (len(saved), len(skipped)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
