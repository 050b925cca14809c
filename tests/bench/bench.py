#!/usr/bin/python3
"""`make bench`: ngx_outage_module side by side with its peers, in one run.

    /usr/bin/python3 tests/bench/bench.py [--quick | --smoke] [--json FILE]
        [--rounds N] [--duration S] [--connections N] [--require-features]
        [--cases 1,2]

Every process runs on 127.0.0.1 on free ports in a temporary directory and is
stopped by its own PID.  Each case is its own stock /usr/sbin/nginx with
`worker_processes 1` (pinned to one CPU with taskset), fed by `wrk` pinned to
the other CPU; every module or Lua case polls its own redis-server (also on
the client's CPU), so INFO commandstats deltas belong to one case.

The throughput cases run in interleaved rounds (round-robin, the order
rotated each round); a case's value is its median over rounds, its ratio
that median divided by case 1's, and its spread half the interquartile
range over rounds: the noise of this run.  Beside req/s the table gives the CPU time the nginx
worker spent per request (from /proc/PID/schedstat), which other work on a
shared machine disturbs much less, and its ratio to case 1.

Before timing, and before and after every timed run, each case's answer is
checked against the exact bytes it must send: the plain page, the page with
the banner inserted after <body ...>, the 503 page.  A module feature that is
not there yet (the response is the untouched page) is reported as
"feature missing: ..." instead of numbers; any other wrong answer, a peer
that does not insert its banner, or wrk errors stop the bench with exit
status 1.  Missed targets do not change the exit status (timing is never a
test); --require-features makes missing features fatal.

--smoke runs each case once for 1 s (wrk counts whole seconds), one trial of
each latency measurement and a few requests under callgrind: it proves the
harness still works (tests/integration/test_bench_smoke.py).  --quick takes
about a minute, the default about eight.
"""

import argparse
import glob
import http.client
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from harness import (MODULE, NGINX, Backend, Redis, free_port,  # noqa: E402
                     port_open, stop_pid, wait_for)
import push_fanout  # noqa: E402  (issue 14: 3 nginx, one Redis, push)

CONF_DIR = os.path.join(HERE, "conf")
LUA_DIR = os.path.join(HERE, "lua")
STOCK_MODULES = "/usr/lib/nginx/modules"
NDK_SO = os.path.join(STOCK_MODULES, "ndk_http_module.so")
LUA_SO = os.path.join(STOCK_MODULES, "ngx_http_lua_module.so")
RESTY_REDIS = "/usr/share/lua/5.1/nginx/redis.lua"

BODY_TAG = b'<body class="shop">'
BANNER_MSG = "Payments are slow right now, we are on it"
PAGE_MSG = "Checkout is unavailable"
# the page by name: "/" would be an internal redirect to index.html, which
# runs access_by_lua twice (two Redis GETs per request for peer 5a)
PAGE_PATH = "/index.html"
PAGE_ETA = "2026-11-22T15:30Z"
INTERVAL = 1.0                      # outage_redis interval= and Lua timer
# the banner the peers insert when the module's own is not available
DEFAULT_BANNER = (b'<div class="outage-banner" role="status" style="'
                  b'background:#8a1c1c;color:#fff;padding:.75em 1em;'
                  b'font:600 1rem/1.4 system-ui,sans-serif;'
                  b'text-align:center">', b'</div>')
ADMIN_COMMANDS = {"info", "set", "del", "hset", "ping", "command", "client",
                  "config"}

MODES = {
    # many short interleaved runs: a burst of other work on the machine
    # then hits every case alike instead of one case's long run
    "full": dict(rounds=8, duration=4, connections=16, idle=3.0,
                 set_trials=10, health_trials=5, cg_requests=2000,
                 sc_requests=500),
    "quick": dict(rounds=4, duration=1, connections=16, idle=2.0,
                  set_trials=10, health_trials=2, cg_requests=300,
                  sc_requests=200),
    "smoke": dict(rounds=1, duration=1, connections=4, idle=1.5,
                  set_trials=1, health_trials=1, cg_requests=10,
                  sc_requests=20),
}


class Wrong(Exception):
    """A case answered something it must not: the bench itself is broken."""


class Missing(Exception):
    """A module feature is not implemented (yet) on this build."""


T0 = time.monotonic()


def log(msg):
    sys.stderr.write("bench [%5.1fs]: %s\n" % (time.monotonic() - T0, msg))
    sys.stderr.flush()


# -- content -----------------------------------------------------------------

def shop_page(min_bytes, title):
    """A deterministic shop page of at least min_bytes."""
    head = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, '
        'initial-scale=1">\n<title>%s</title>\n'
        '<link rel="preload" href="/static/app.css" as="style">\n'
        '<style>\n'
        ':root{--fg:#1d2330;--muted:#5b6475;--accent:#0b6bcb;'
        '--bg:#f6f7f9}\n'
        'body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",'
        'Roboto,sans-serif;color:var(--fg);background:var(--bg)}\n'
        'header{display:flex;align-items:center;justify-content:'
        'space-between;padding:1rem 2rem;background:#fff;border-bottom:'
        '1px solid #e3e6eb}\n'
        'nav a{margin-left:1.25rem;color:var(--fg);text-decoration:none}\n'
        '.grid{display:grid;grid-template-columns:repeat(auto-fill,'
        'minmax(220px,1fr));gap:1.5rem;padding:2rem}\n'
        '.card{background:#fff;border-radius:8px;padding:1rem;box-shadow:'
        '0 1px 2px rgba(0,0,0,.06)}\n'
        '.card h3{font-size:1rem;margin:.5rem 0}\n'
        '.price{font-weight:700;color:var(--accent)}\n'
        '.muted{color:var(--muted);font-size:.875rem}\n'
        'footer{padding:2rem;color:var(--muted);font-size:.875rem}\n'
        '</style>\n'
        '<script>window.dataLayer=window.dataLayer||[];'
        'function track(e){dataLayer.push(e)}</script>\n'
        '</head>\n' % title)
    top = (
        '<body class="shop">\n<header><a class="logo" href="/">'
        'Outage Demo Shop</a><nav><a href="/new/">New</a>'
        '<a href="/sale/">Sale</a><a href="/account/">Account</a>'
        '<a href="/checkout/">Cart (2)</a></nav></header>\n'
        '<main>\n<h1>Autumn collection</h1>\n<section class="grid">\n')
    tail = (
        '</section>\n</main>\n<footer><p>&copy; 2026 Outage Demo Shop. '
        'Free returns within 30 days. <a href="/help/">Help</a> '
        '<a href="/privacy/">Privacy</a></p></footer>\n'
        '<script src="/static/app.js" defer></script>\n</body>\n</html>\n')
    items = []
    n = 0
    while len(head) + len(top) + sum(map(len, items)) + len(tail) \
            < min_bytes:
        n += 1
        items.append(
            '<article class="card"><a href="/p/%d/"><img src="/img/%d.jpg" '
            'alt="Product %d" width="220" height="220" loading="lazy"></a>'
            '<h3><a href="/p/%d/">Merino wool sweater no. %d</a></h3>'
            '<p class="muted">Soft, warm and machine washable.</p>'
            '<p class="price">%d.%02d EUR</p><button onclick="track('
            '{event:\'add\',id:%d})">Add to cart</button></article>\n'
            % (n, n, n, n, n, 39 + n % 50, (n * 37) % 100, n))
    return (head + top + "".join(items) + tail).encode()


def insert_after_body(page, banner):
    i = page.index(BODY_TAG) + len(BODY_TAG)
    return page[:i] + banner + page[i:]


def maintenance_body(size):
    """A static maintenance page of exactly size bytes, safe in a quoted
    nginx string (no quote, backslash or $)."""
    head = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<title>Down for maintenance</title><style>body{font:16px/1.5 '
            'system-ui,sans-serif;max-width:40em;margin:4em auto;padding:'
            '0 1em}</style></head><body><h1>Checkout is unavailable</h1>'
            '<p>We are working on it. Please try again in a few minutes.'
            '</p>')
    tail = '</body></html>\n'
    fill = max(0, size - len(head) - len(tail))
    filler = ""
    if fill:
        filler = "<!--" + "." * max(0, fill - 7) + "-->"
        filler = filler[:fill]
    return (head + filler + tail).encode()


def static_503_subst(body, chunk=3000):
    """plain.conf.in's placeholders for a return-503 text of any size."""
    if len(body) <= chunk:
        return {"STATIC_503_SET": "", "STATIC_503": nginx_str(body)}
    parts = [body[i:i + chunk] for i in range(0, len(body), chunk)]
    return {"STATIC_503_SET": "\n".join(
                "        set $maint_%d '%s';" % (i, nginx_str(p))
                for i, p in enumerate(parts)),
            "STATIC_503": "".join("$maint_%d" % i
                                  for i in range(len(parts)))}


def lua_str(data):
    """bytes -> a Lua string literal, byte exact."""
    out = []
    for c in data:
        if 32 <= c < 127 and c not in (34, 92):
            out.append(chr(c))
        else:
            out.append("\\%03d" % c)
    return '"' + "".join(out) + '"'


def nginx_str(data):
    """bytes -> the inside of a single-quoted nginx string (complex value)."""
    s = data.decode("utf-8", "replace")
    return (s.replace("\\", "\\\\").replace("'", "\\'")
            .replace("$", "&#36;"))


# -- processes -----------------------------------------------------------------

def pin_argv(cpu):
    return ["taskset", "-c", str(cpu)] if cpu is not None else []


class Server:
    """One stock nginx (worker_processes 1) for one case."""

    def __init__(self, ws, name, template, subst, modules=(), single=False):
        self.name = name
        self.dir = os.path.join(ws, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.single = single
        self.proc = None
        self.conf_path = os.path.join(self.dir, "nginx.conf")
        self.error_log = os.path.join(self.dir, "error.log")
        with open(os.path.join(CONF_DIR, template)) as f:
            http = f.read()
        with open(os.path.join(CONF_DIR, "main.conf.in")) as f:
            main = f.read()
        if single:
            extra = "master_process off;"
        else:
            extra = "user root;" if os.geteuid() == 0 else ""
        values = dict(subst, PORT=str(self.port), DIR=self.dir,
                      LOAD_MODULES="\n".join("load_module %s;" % m
                                             for m in modules),
                      MAIN_EXTRA=extra)
        text = main.replace("@HTTP@", http)
        for k, v in values.items():
            text = text.replace("@%s@" % k, v)
        left = re.findall(r"@[A-Z0-9_]+@", text)
        if left:
            raise Wrong("%s: unrendered placeholders %s" % (template, left))
        with open(self.conf_path, "w") as f:
            f.write(text)

    def argv(self):
        return [NGINX, "-p", self.dir + "/", "-c", self.conf_path,
                "-e", self.error_log, "-g", "daemon off;"]

    def test_config(self):
        out = subprocess.run(
            [NGINX, "-t", "-p", self.dir + "/", "-c", self.conf_path,
             "-e", os.path.join(self.dir, "nginx-t.log")],
            capture_output=True, text=True, timeout=60)
        return out.returncode == 0, (out.stdout + out.stderr).strip()

    def start(self, cpu=None, wrapper=(), timeout=15):
        ok, out = self.test_config()
        if not ok:
            raise Wrong("%s: nginx -t failed:\n%s" % (self.name, out))
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "w")
        self.proc = subprocess.Popen(
            pin_argv(cpu) + list(wrapper) + self.argv(),
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        wait_for(lambda: self.proc.poll() is not None
                 or port_open(self.port), timeout=timeout,
                 what="%s listening" % self.name)
        if self.proc.poll() is not None:
            raise Wrong("%s exited at start:\n%s" % (self.name, self.logs()))
        return self

    def worker_pid(self):
        """The one worker process of this (master/worker) nginx."""
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.proc.pid and b"worker process" in cmd:
                return int(pid)
        raise Wrong("%s: no worker process" % self.name)

    def logs(self):
        out = []
        for p in (self.error_log, os.path.join(self.dir, "stderr.log")):
            try:
                with open(p, errors="replace") as f:
                    out.append(f.read()[-4000:])
            except OSError:
                pass
        return "\n".join(out)

    def stop(self, sig=signal.SIGQUIT, timeout=30):
        if self.proc is None:
            return
        if self.single and self.proc.poll() is None:
            # under valgrind the signal does not interrupt epoll_wait (no
            # timer is pending): a connection wakes the event loop up
            os.kill(self.proc.pid, sig)
            deadline = time.monotonic() + timeout
            while self.proc.poll() is None and time.monotonic() < deadline:
                port_open(self.port)
                try:
                    self.proc.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    pass
        stop_pid(self.proc, sig, timeout=timeout)
        self.stderr.close()
        self.proc = None

    def bad_log_lines(self):
        try:
            with open(self.error_log, errors="replace") as f:
                text = f.read()
        except OSError:
            return []
        return [ln for ln in text.splitlines()
                if "[alert]" in ln or "[emerg]" in ln or "[crit]" in ln]


def cg_scope(name):
    """The function callgrind counts for a run of Bench.callgrind()."""
    return ("ngx_process_events_and_timers" if name.startswith("proxied")
            else "ngx_http_process_request")


def spread(values):
    """Half the interquartile range relative to the median (half the range
    for fewer than four values): a burst of other work in one run does not
    make the whole case look noisy."""
    med = statistics.median(values)
    if len(values) >= 4:
        q = statistics.quantiles(values, n=4, method="inclusive")
        lo, hi = q[0], q[2]
    else:
        lo, hi = min(values), max(values)
    return (hi - lo) / 2 / med if med else 0.0


def cpu_us(run):
    """The nginx worker's CPU time per request of one timed run, in us."""
    return run["cpu_ns"] / run["requests"] / 1000


def cpu_ns(pid):
    """CPU time a process has run so far, in ns (scheduler accounting:
    unlike req/s it does not move when other work takes the CPU away)."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 10 ** 9 // \
            os.sysconf("SC_CLK_TCK")


def redis_totals(r):
    """(commands issued by nginx so far, MULTI calls) from INFO commandstats;
    the bench's own commands are left out."""
    info = r.cli("INFO", "commandstats")
    total = multi = 0
    for name, calls in re.findall(r"cmdstat_([a-z|_-]+):calls=(\d+)", info):
        if name in ADMIN_COMMANDS:
            continue
        total += int(calls)
        if name == "multi":
            multi = int(calls)
    return total, multi


def resp_command(port, *args):
    """One Redis command over a raw socket (no redis-cli start-up delay)."""
    req = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        req += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(req)
        reply = s.recv(4096)
    if reply.startswith(b"-"):
        raise Wrong("redis: %r" % reply)
    return reply


def fetch(port, path="/", conn=None):
    """GET -> (status, headers, body); reuses conn (keep-alive) if given."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, \
            body
    finally:
        if own:
            conn.close()


# -- what each case must answer ------------------------------------------------

class Expect:
    """Checks one response; returns the body, raises Wrong or Missing."""

    def __init__(self, status, body=None, module_feature=None,
                 untouched=None, message=None, frame=None):
        self.status = status
        self.body = body                  # exact bytes expected
        self.module_feature = module_feature
        self.untouched = untouched        # what "feature missing" looks like
        self.message = message            # must appear in the module's answer
        self.frame = frame                # (head, tail) around one insertion

    def check(self, what, status, body):
        if self.module_feature and self.untouched is not None \
                and body == self.untouched and status != self.status:
            raise Missing("%s not served" % self.module_feature)
        if self.module_feature and self.untouched is not None \
                and body == self.untouched:
            raise Missing("%s not present" % self.module_feature)
        if status != self.status:
            raise Wrong("%s: status %d, expected %d (body %r...)"
                        % (what, status, self.status, body[:200]))
        if self.body is not None and body != self.body:
            raise Wrong("%s: body differs from the expected %d bytes "
                        "(got %d bytes: %r...)"
                        % (what, len(self.body), len(body), body[:300]))
        if self.message is not None and self.message.encode() not in body:
            raise Wrong("%s: answer lacks %r (got %r...)"
                        % (what, self.message, body[:300]))
        if self.frame is not None and not (
                body.startswith(self.frame[0])
                and body.endswith(self.frame[1])
                and len(body) > sum(map(len, self.frame))):
            raise Wrong("%s: the page around the banner was changed (got "
                        "%d bytes: %r...)" % (what, len(body), body[:300]))
        return body


class Case:
    def __init__(self, key, label, server, path, expect, latency=False,
                 redis=None, module=False):
        self.key = key
        self.label = label
        self.server = server
        self.path = path
        self.expect = expect
        self.latency = latency            # 1 connection, p50/p99
        self.redis = redis                # its own redis-server, or None
        self.module = module              # polls: MULTI counts polls
        self.missing = None
        self.runs = []
        self.body_len = None

    def verify(self):
        st, _, body = fetch(self.server.port, self.path)
        self.expect.check("case %s (%s)" % (self.key, self.label), st, body)
        self.body_len = len(body)
        return body


# -- the bench ---------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.mode = "smoke" if args.smoke else "quick" if args.quick \
            else "full"
        p = dict(MODES[self.mode])
        for k in ("rounds", "duration", "connections"):
            if getattr(args, k) is not None:
                p[k] = getattr(args, k)
        self.p = p
        self.ws = tempfile.mkdtemp(prefix="outage-bench-")
        self.servers = []
        self.redises = {}
        self.backends = []
        self.results = {"mode": self.mode, "params": p}
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) >= 2 and not args.no_pin:
            self.client_cpu, self.nginx_cpu = cpus[0], cpus[1]
        else:
            self.client_cpu = self.nginx_cpu = None
        self.wrk_script = os.path.join(self.ws, "report.lua")
        with open(self.wrk_script, "w") as f:
            f.write(WRK_REPORT)

    # -- set-up ------------------------------------------------------------

    def redis(self, name):
        r = Redis(os.path.join(self.ws, "redis-" + name))
        if self.client_cpu is not None:
            os.sched_setaffinity(r.proc.pid, {self.client_cpu})
        self.redises[name] = r
        return r

    def server(self, name, template, subst, modules=(), start=True):
        s = Server(self.ws, name, template, subst, modules)
        self.servers.append(s)
        if start:
            s.start(self.nginx_cpu)
        return s

    def write_docroot(self):
        self.root = os.path.join(self.ws, "htdocs")
        os.makedirs(os.path.join(self.root, "checkout"))
        self.page = shop_page(10 * 1024, "Outage Demo Shop")
        self.big = shop_page(96 * 1024, "Outage Demo Shop: everything")
        self.checkout = shop_page(2 * 1024, "Checkout")
        for name, data in (("index.html", self.page),
                           ("big.html", self.big),
                           ("checkout/index.html", self.checkout)):
            with open(os.path.join(self.root, name), "wb") as f:
                f.write(data)
        assert self.page.count(BODY_TAG) == 1 and len(self.big) >= 65536
        self.results["page_bytes"] = len(self.page)
        self.results["big_bytes"] = len(self.big)

    def setup(self):
        for f in (NDK_SO, LUA_SO, RESTY_REDIS, MODULE):
            if not os.path.exists(f):
                raise Wrong("%s is missing: run `make bench` (it builds the "
                            "module and installs wrk, libnginx-mod-http-lua "
                            "and lua-nginx-redis)" % f)
        if not shutil.which("wrk"):
            raise Wrong("wrk is not installed: run `make bench`")
        self.write_docroot()
        interval = "%dms" % int(INTERVAL * 1000)
        # the upstream of the proxied cases runs on the client's CPU
        self.s_origin = self.server("origin", "origin.conf.in",
                                    dict(ROOT=self.root), start=False)
        self.s_origin.start(self.client_cpu)
        base = dict(ROOT=self.root, INTERVAL=interval,
                    ORIGIN_PORT=str(self.s_origin.port))

        # the module: idle (no incident), banner, maintenance page
        r_idle = self.redis("idle")
        r_banner = self.redis("banner")
        r_page = self.redis("page")
        r_banner.cli("SET", "outage:site", BANNER_MSG)
        r_page.cli("HSET", "outage:checkout", "state", "down", "message",
                   PAGE_MSG, "eta", PAGE_ETA)
        mod = [MODULE]
        self.s_idle = self.server("module-idle", "module.conf.in", dict(
            base, REDIS_PORT=str(r_idle.port)), mod)
        self.s_banner = self.server("module-banner", "module.conf.in", dict(
            base, REDIS_PORT=str(r_banner.port)), mod)
        self.s_page = self.server("module-page", "module_page.conf.in", dict(
            base, REDIS_PORT=str(r_page.port)), mod)

        # what the module does with them decides the peers' bytes
        self.probe_banner()
        self.probe_page()

        r_lget = self.redis("lua-get")
        r_lcache = self.redis("lua-cached")
        for r in (r_lget, r_lcache):
            r.cli("SET", "outage:site", BANNER_MSG)

        self.s_plain = self.server("plain", "plain.conf.in", dict(
            base, **static_503_subst(self.static_503)))
        self.s_sub = self.server("sub-filter", "sub_filter.conf.in", dict(
            base, BODY_TAG=nginx_str(BODY_TAG),
            BANNER=nginx_str(self.peer_banner)))
        luamods = [NDK_SO, LUA_SO]
        self.s_lget = self.lua_server("lua-get", "lua_get.conf.in", base,
                                      luamods, r_lget)
        self.s_lcache = self.lua_server("lua-cached", "lua_cached.conf.in",
                                        base, luamods, r_lcache)

        page_banner = Expect(200, insert_after_body(self.page,
                                                    self.peer_banner))
        # the limit of any inserter: a page that has the banner already
        self.pre = insert_after_body(self.page, self.peer_banner)
        with open(os.path.join(self.root, "pre.html"), "wb") as f:
            f.write(self.pre)
        mod_banner = Expect(200, None, "banner", untouched=self.page,
                            message=BANNER_MSG, frame=self.frame(self.page))
        mod_big = Expect(200, None, "banner", untouched=self.big,
                         message=BANNER_MSG, frame=self.frame(self.big))
        self.cases = [
            Case("1", "plain nginx, 10 KB page", self.s_plain, PAGE_PATH,
                 Expect(200, self.page)),
            Case("2", "module, no incident", self.s_idle, PAGE_PATH,
                 Expect(200, self.page), redis=r_idle, module=True),
            Case("3", "module, banner", self.s_banner, PAGE_PATH,
                 mod_banner,
                 redis=r_banner, module=True),
            Case("4", "sub_filter, same insertion", self.s_sub, PAGE_PATH,
                 page_banner),
            Case("5a", "Lua: Redis GET per request", self.s_lget,
                 PAGE_PATH,
                 page_banner, redis=r_lget),
            Case("5b", "Lua: shared dict + timer", self.s_lcache,
                 PAGE_PATH,
                 page_banner, redis=r_lcache),
            Case("6a", "module maintenance page (503)", self.s_page,
                 "/checkout/", Expect(503, None, "maintenance page",
                                      untouched=self.checkout,
                                      message=PAGE_MSG),
                 redis=r_page, module=True),
            Case("6b", "nginx return 503, static body", self.s_plain,
                 "/checkout/", Expect(503, self.static_503)),
            Case("6c", "module status page (same incident)", self.s_page,
                 "/status", Expect(200, None, "status page",
                                   untouched=self.page, message=PAGE_MSG),
                 redis=r_page, module=True),
            Case("7a", "96 KB sendfile page, plain, 1 conn", self.s_plain,
                 "/big.html", Expect(200, self.big), latency=True),
            Case("7b", "96 KB sendfile page, banner, 1 conn",
                 self.s_banner, "/big.html", mod_big, latency=True),
            # the pages shops serve: proxied from a keepalive upstream
            Case("P1", "proxied 10 KB page, plain proxy", self.s_plain,
                 "/p/index.html", Expect(200, self.page)),
            Case("P2", "proxied, module, no incident", self.s_idle,
                 "/p/index.html", Expect(200, self.page)),
            Case("P3", "proxied, module, banner", self.s_banner,
                 "/p/index.html", mod_banner),
            Case("P4", "proxied, sub_filter, same bytes", self.s_sub,
                 "/p/index.html", page_banner),
            Case("P5", "proxied page with the banner in it (limit)",
                 self.s_plain, "/p/pre.html", Expect(200, self.pre)),
        ]
        for c in self.cases:
            # the probes already gave the module one poll or more; the Lua
            # timer may still be on its first refresh
            try:
                c.verify()
                continue
            except Missing as e:
                c.missing = str(e)
                log("case %s: feature missing: %s" % (c.key, e))
                continue
            except (Wrong, OSError, http.client.HTTPException):
                pass
            try:
                wait_for(lambda: c.verify(), timeout=3 * INTERVAL + 5,
                         interval=0.05, what="case %s answers" % c.key)
            except AssertionError:
                c.verify()              # raises the real reason
        log("every case answers as expected%s" % (
            "" if not any(c.missing for c in self.cases)
            else " (except missing features)"))

    def frame(self, page):
        """What must surround the module's banner: the page's bytes before
        and after the insertion point, when the probe saw one insertion."""
        if not self.banner_single:
            return None
        i = page.index(BODY_TAG) + len(BODY_TAG)
        return page[:i], page[i:]

    def lua_server(self, name, template, base, mods, r):
        """A Lua peer reading its own redis-server (peer_conf.lua)."""
        conf_dir = os.path.join(self.ws, name + "-lua")
        os.makedirs(conf_dir)
        with open(os.path.join(conf_dir, "peer_conf.lua"), "w") as f:
            f.write("-- generated by bench.py\nreturn {\n"
                    "    host = \"127.0.0.1\",\n    port = %d,\n"
                    "    key = \"outage:site\",\n    interval = %s,\n"
                    "    prefix = %s,\n    suffix = %s,\n}\n"
                    % (r.port, INTERVAL, lua_str(self.peer_prefix),
                       lua_str(self.peer_suffix)))
        lua_path = ("%s/?.lua;%s/?.lua;/usr/share/lua/5.1/?.lua;;"
                    % (conf_dir, LUA_DIR))
        return self.server(name, template, dict(base, LUA_PATH=lua_path),
                           mods)

    def wait_polled(self, s, polls=2):
        """Until the module has read Redis (its status JSON counts polls)."""
        def polled():
            st, _, body = fetch(s.port, "/outage/status")
            return st == 200 and json.loads(body)["redis"]["polls"] >= polls
        wait_for(polled, timeout=(polls + 2) * INTERVAL + 5, interval=0.05,
                 what="%s: %d Redis polls" % (s.name, polls))

    def settle(self, s, path, for_s=0.5):
        """The answer once it stopped changing for a moment (a worker may
        see a fresh poll a little after the status counter moved)."""
        last = fetch(s.port, path)
        deadline = time.monotonic() + for_s
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = fetch(s.port, path)
            if now[0] != last[0] or now[2] != last[2]:
                deadline = time.monotonic() + for_s
                last = now
        return last

    def probe_banner(self):
        """Find the module's banner bytes; the peers insert the same."""
        self.peer_prefix, self.peer_suffix = DEFAULT_BANNER
        self.banner_single = False
        self.banner_probe = "module banner missing: peers insert a %d-byte " \
            "default banner" % (len(DEFAULT_BANNER[0] + DEFAULT_BANNER[1])
                                + len(BANNER_MSG))
        self.wait_polled(self.s_banner)
        st, _, body = self.settle(self.s_banner, PAGE_PATH)
        if body != self.page:
            if st != 200 or BANNER_MSG.encode() not in body:
                raise Wrong("module banner: status %d, body %r..."
                            % (st, body[:300]))
            extra = len(body) - len(self.page)
            i = self.page.index(BODY_TAG) + len(BODY_TAG)
            ins = body[i:i + extra]
            if extra > 0 and body == self.page[:i] + ins + self.page[i:] \
                    and ins.count(BANNER_MSG.encode()) == 1:
                j = ins.index(BANNER_MSG.encode())
                self.peer_prefix = ins[:j]
                self.peer_suffix = ins[j + len(BANNER_MSG):]
                self.banner_single = True
                self.banner_probe = ("peers insert the module's own %d "
                                     "banner bytes" % len(ins))
            else:
                self.banner_probe = ("module banner is not one insertion "
                                     "after <body>: peers insert a default "
                                     "banner")
        self.peer_banner = (self.peer_prefix + BANNER_MSG.encode()
                            + self.peer_suffix)
        self.results["banner_probe"] = self.banner_probe
        log(self.banner_probe)

    def probe_page(self):
        size = 2048
        self.wait_polled(self.s_page)
        st, _, body = self.settle(self.s_page, "/checkout/")
        if st == 503:
            size = len(body)
        self.static_503 = maintenance_body(size)
        self.results["page_503_bytes"] = size
        log("module maintenance page: %s; the return-503 peer sends %d "
            "bytes" % ("%d bytes" % size if st == 503 else "missing", size))

    # -- timing ------------------------------------------------------------

    def wrk(self, case, duration):
        conns = 1 if case.latency else self.p["connections"]
        url = "http://127.0.0.1:%d%s" % (case.server.port, case.path)
        argv = pin_argv(self.client_cpu) + [
            "wrk", "-t1", "-c%d" % conns, "-d%ds" % duration,
            "--timeout", "10s", "-s", self.wrk_script, url]
        out = subprocess.run(argv, capture_output=True, text=True,
                             timeout=duration + 60)
        m = re.search(r"^WRKJSON (\{.*\})$", out.stdout, re.M)
        if out.returncode != 0 or not m:
            raise Wrong("wrk failed for case %s: %s %s"
                        % (case.key, out.stdout, out.stderr))
        res = json.loads(m.group(1))
        res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
        return res

    def timed_run(self, case):
        case.verify()
        before = after = None
        if case.redis:
            before = redis_totals(case.redis)
        worker = case.server.worker_pid()
        cpu0 = cpu_ns(worker)
        res = self.wrk(case, self.p["duration"])
        res["cpu_ns"] = cpu_ns(worker) - cpu0
        if case.redis:
            after = redis_totals(case.redis)
            res["redis_cmds"] = after[0] - before[0]
            res["redis_multi"] = after[1] - before[1]
        case.verify()
        n = res["requests"]
        errs = res["connect"] + res["read"] + res["write"] + res["timeout"]
        if n == 0 or errs > max(2, n // 1000):
            raise Wrong("case %s: wrk saw %d socket errors in %d requests"
                        % (case.key, errs, n))
        want_status = n if case.expect.status >= 400 else 0
        if res["status"] != want_status:
            raise Wrong("case %s: %d error statuses in %d requests "
                        "(expected %d)" % (case.key, res["status"], n,
                                           want_status))
        per = res["bytes"] / n
        if not case.body_len - 32 <= per <= case.body_len + 1024:
            raise Wrong("case %s: %.0f bytes per response, the checked "
                        "answer has %d" % (case.key, per, case.body_len))
        case.runs.append(res)
        return res

    def rounds(self):
        timed = [c for c in self.cases if not c.missing]
        # polls only, no traffic: commands per poll of each module case
        # (idle >= 1.5 intervals, so at least one poll)
        snaps = {c.key: redis_totals(c.redis) for c in timed if c.module}
        time.sleep(self.p["idle"])
        self.per_poll = {}
        for c in timed:
            if c.module:
                t, m = redis_totals(c.redis)
                dt, dm = t - snaps[c.key][0], m - snaps[c.key][1]
                if not dm:              # no poll in the window: since start
                    dt, dm = t, m
                self.per_poll[c.key] = round(dt / dm) if dm else None
        self.results["redis_commands_per_poll"] = self.per_poll
        n = self.p["rounds"]
        for r in range(n):
            k = r % len(timed)
            order = timed[k:] + timed[:k]
            for c in order:
                res = self.timed_run(c)
                log("round %d/%d case %-2s %9.0f req/s%s" % (
                    r + 1, n, c.key, res["rps"],
                    "  p50 %d us p99 %d us" % (res["p50"], res["p99"])
                    if c.latency else ""))

    def set_to_banner(self):
        """redis SET -> first bannered response, polling a request loop."""
        c3 = self.case("3")
        if c3.missing:
            return {"missing": c3.missing}
        r = self.redises["banner"]
        limit = 3 * INTERVAL + 2
        samples = []
        conn = http.client.HTTPConnection("127.0.0.1", self.s_banner.port,
                                          timeout=10)
        msg = BANNER_MSG.encode()
        try:
            for _ in range(self.p["set_trials"]):
                resp_command(r.port, "DEL", "outage:site")
                wait_for(lambda: msg not in fetch(0, PAGE_PATH, conn)[2],
                         timeout=limit, interval=0.01,
                         what="banner gone after DEL")
                time.sleep(random.uniform(0, INTERVAL))   # random phase
                t0 = time.monotonic()
                resp_command(r.port, "SET", "outage:site", BANNER_MSG)
                while msg not in fetch(0, PAGE_PATH, conn)[2]:
                    if time.monotonic() - t0 > limit:
                        raise Wrong("banner did not come back %.1f s after "
                                    "SET" % limit)
                samples.append(time.monotonic() - t0)
        finally:
            conn.close()
            resp_command(r.port, "SET", "outage:site", BANNER_MSG)
        return {"samples_ms": [round(s * 1000, 1) for s in samples],
                "median_ms": statistics.median(samples) * 1000}

    def backend(self, attempts=3):
        """tests/support/backend.py; a port picked free can be taken by the
        time the backend binds it (wrk leaves thousands of sockets behind),
        so try again with new ports."""
        for i in range(attempts):
            try:
                b = Backend(self.ws, health_port=True)
            except AssertionError as e:
                logs = sorted(glob.glob(os.path.join(self.ws, "backend-*")),
                              key=os.path.getmtime)
                tail = ""
                if logs:
                    with open(logs[-1], errors="replace") as f:
                        tail = f.read()[-1500:]
                log("backend did not start (%s): %s" % (e, tail))
                if i == attempts - 1:
                    raise Wrong("backend did not start: %s" % tail)
                continue
            self.backends.append(b)
            return b

    def health_to_page(self):
        """backend health failure -> first maintenance page."""
        b = self.backend()
        s = Server(self.ws, "module-health", "health.conf.in", dict(
            ROOT=self.root, INTERVAL="%dms" % int(INTERVAL * 1000),
            REDIS_PORT=str(self.redises["idle"].port),
            HEALTH_PORT=str(b.health_port)), [MODULE])
        ok, out = s.test_config()
        if not ok:
            line = [ln for ln in out.splitlines() if "emerg" in ln]
            why = (line[0] if line else out).split("] ", 1)[-1]
            return {"missing": "outage_check: nginx -t: %s"
                    % re.sub(r" in \S+:\d+$", "", why)}
        self.servers.append(s)
        s.start(self.nginx_cpu)
        limit = 15.0
        samples = []
        try:
            wait_for(lambda: fetch(s.port, "/checkout/")[0] == 200,
                     timeout=limit, what="checkout healthy at start")
            for _ in range(self.p["health_trials"]):
                b.set_health("500")
                t0 = time.monotonic()
                while True:
                    st, _, body = fetch(s.port, "/checkout/")
                    if st == 503:
                        break
                    if time.monotonic() - t0 > limit:
                        return {"missing": "no maintenance page %.0f s after "
                                "the health check started failing" % limit}
                    time.sleep(0.01)
                samples.append(time.monotonic() - t0)
                b.set_health("ok")
                wait_for(lambda: fetch(s.port, "/checkout/")[0] == 200,
                         timeout=limit, what="checkout back after recovery")
        finally:
            b.set_health("ok")
        return {"samples_ms": [round(x * 1000) for x in samples],
                "median_ms": statistics.median(samples) * 1000}

    def callgrind(self):
        """Instructions per request in ngx_http_process_request (the whole
        request path after the header is read: phases, content handler,
        every filter, finalization) under valgrind, single process."""
        if not shutil.which("valgrind"):
            return {"missing": "valgrind not installed"}
        n = self.p["cg_requests"]
        base = dict(ROOT=self.root, INTERVAL="%dms" % int(INTERVAL * 1000),
                    ORIGIN_PORT=str(self.s_origin.port),
                    **static_503_subst(self.static_503))
        # (name, template, placeholders, modules, case, compared with)
        runs = [
            ("plain", "plain.conf.in", {}, [], self.case("1"), None),
            ("module, no incident", "module.conf.in",
             {"REDIS_PORT": str(self.redises["idle"].port)}, [MODULE],
             self.case("2"), "plain"),
            ("module, banner", "module.conf.in",
             {"REDIS_PORT": str(self.redises["banner"].port)}, [MODULE],
             self.case("3"), "plain"),
            ("sub_filter", "sub_filter.conf.in",
             {"BODY_TAG": nginx_str(BODY_TAG),
              "BANNER": nginx_str(self.peer_banner)}, [], self.case("4"),
             "plain"),
            ("return 503", "plain.conf.in", {}, [], self.case("6b"), None),
            ("module page", "module_page.conf.in",
             {"REDIS_PORT": str(self.redises["page"].port)}, [MODULE],
             self.case("6a"), "return 503"),
        ] + self.callgrind_proxied()
        if self.args.ir_proxied:
            runs = self.callgrind_proxied()
        out = {"requests": n, "ir": {}}
        for name, tpl, subst, mods, case, vs in runs:
            if case.missing:
                out["ir"][name] = {"missing": case.missing}
                continue
            s = Server(self.ws, "cg-" + re.sub(r"\W+", "-", name), tpl,
                       dict(base, **subst), mods, single=True)
            cg_out = os.path.join(s.dir, "callgrind.out")
            s.start(self.nginx_cpu, wrapper=[
                "valgrind", "--tool=callgrind", "--callgrind-out-file="
                + cg_out, "--collect-atstart=no",
                "--toggle-collect=" + cg_scope(name)], timeout=60)
            self.servers.append(s)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", s.port,
                                                  timeout=30)

                def good():
                    st, _, body = fetch(0, case.path, conn)
                    case.expect.check("callgrind " + name, st, body)
                    return True
                wait_for(good, timeout=3 * INTERVAL + 20, interval=0.1,
                         what="%s under valgrind answers" % name)
                warm = 1
                for _ in range(20):
                    good()
                    warm += 1
                zeroed = subprocess.run(
                    ["callgrind_control", "--zero", str(s.proc.pid)],
                    capture_output=True, timeout=30).returncode == 0
                for _ in range(n):
                    good()
                conn.close()
            finally:
                s.stop(signal.SIGTERM, timeout=60)
            with open(cg_out) as f:
                text = f.read()
            m = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
            if not m:
                raise Wrong("no totals in %s" % cg_out)
            reqs = n if zeroed else n + warm
            out["ir"][name] = {"per_request": int(m.group(1)) / reqs,
                               "vs": vs, "file": cg_out,
                               "scope": cg_scope(name)}
            log("callgrind %-20s %8.0f Ir/request" % (
                name, out["ir"][name]["per_request"]))
        return out

    def callgrind_failing(self):
        """Ir/request of requests that fail at their upstream while their
        scope is already down (passive evidence against a down check: no
        lock, no generation bump, so no snapshot copy), against the steady
        case of the same requests with passive detection off; and the
        status endpoint's generation before and after, which must not
        move.  As callgrind(), with the request's later events counted too."""
        if not shutil.which("valgrind"):
            return {"missing": "valgrind not installed"}
        n = self.p["cg_requests"]
        dead = free_port()
        out = {"requests": n, "ir": {}}
        for name, passive in (("steady, passive off", "off"),
                              ("failing, scope down", "on")):
            s = Server(self.ws, "cg-fail-" + passive, "failing.conf.in",
                       dict(ROOT=self.root, DEAD_PORT=str(dead),
                            PASSIVE=passive,
                            INTERVAL="%dms" % int(INTERVAL * 1000)),
                       [MODULE], single=True)
            cg_out = os.path.join(s.dir, "callgrind.out")
            s.start(self.nginx_cpu, wrapper=[
                "valgrind", "--tool=callgrind", "--callgrind-out-file="
                + cg_out, "--collect-atstart=no",
                # the upstream's answer (and the log phase that judges it)
                # comes in later events, outside ngx_http_process_request
                "--toggle-collect=ngx_http_process_request",
                "--toggle-collect=ngx_http_upstream_handler",
                "--toggle-collect=ngx_http_request_handler"], timeout=60)
            self.servers.append(s)

            def status():
                st, _, body = fetch(s.port, "/outage/status")
                if st != 200:
                    raise Wrong("%s: status endpoint answered %d" % (name, st))
                return json.loads(body)
            try:
                wait_for(lambda: status()["checks"][0]["health"] == "down",
                         timeout=3 * INTERVAL + 20, interval=0.2,
                         what="%s: the check is down" % name)
                conn = http.client.HTTPConnection("127.0.0.1", s.port,
                                                  timeout=30)

                def one():
                    st, h, _ = fetch(0, "/fail/x", conn)
                    if st != 502 or "x-outage-bypass" not in h:
                        raise Wrong("%s: /fail/ answered %d %r, expected a "
                                    "bypassed 502" % (name, st, h))
                for _ in range(20):
                    one()
                gen0 = status()["generation"]
                zeroed = subprocess.run(
                    ["callgrind_control", "--zero", str(s.proc.pid)],
                    capture_output=True, timeout=30).returncode == 0
                for _ in range(n):
                    one()
                conn.close()
                st = status()
                gen1 = st["generation"]
                counted = st["checks"][0]["passive_failures"]
            finally:
                s.stop(signal.SIGTERM, timeout=60)
            with open(cg_out) as f:
                m = re.search(r"^(?:totals|summary): (\d+)", f.read(), re.M)
            if not m:
                raise Wrong("no totals in %s" % cg_out)
            # not zeroed: the 20 warm-up requests and the status reads count
            reqs = n if zeroed else n + 22
            out["ir"][name] = {"per_request": int(m.group(1)) / reqs,
                               "generation": [gen0, gen1],
                               "passive_failures": counted}
            log("callgrind %-20s %8.0f Ir/request, generation %d -> %d, "
                "passive failures %d" % (name, out["ir"][name]["per_request"],
                                         gen0, gen1, counted))
            if gen1 != gen0:
                raise Wrong("%s: the generation moved (%d -> %d) while the "
                            "scope stayed down" % (name, gen0, gen1))
            if (counted >= n) != (passive == "on"):
                raise Wrong("%s: %d passive failures counted over %d "
                            "requests" % (name, counted, n))
        steady = out["ir"]["steady, passive off"]["per_request"]
        failing = out["ir"]["failing, scope down"]["per_request"]
        out["ratio"] = failing / steady
        log("callgrind failing/steady x%.3f (target: within 5%%)"
            % out["ratio"])
        return out

    def failing_rows(self):
        cg = self.results.get("callgrind_failing", {})
        if "missing" in cg or "ratio" not in cg:
            return []
        ir = cg["ir"]
        return [("", "Ir/request: " + name,
                 "%.0f" % v["per_request"], "", "",
                 "generation %d -> %d over %d requests" % (
                     v["generation"][0], v["generation"][1], cg["requests"]))
                for name, v in ir.items()] + [
            ("", "Ir/request: failing vs steady", "x%.3f" % cg["ratio"], "",
             "", "target: within 5% (no lock, no copy per failed request)")]
    def syscalls(self):
        """System calls per request of the nginx worker in the proxied
        cases (strace -c on the worker over sequential keep-alive
        requests), and how each answer is framed.  A system call costs
        one to two microseconds on this KVM guest (write_costs()), the
        time of thousands of instructions, and the kernel's share of a
        proxied request is about two thirds of its CPU time: one write
        more or less per response moves the CPU ratios more than a
        thousand instructions.  Counts, unlike CPU time, do not move with
        the load of the machine."""
        if not shutil.which("strace"):
            return {"missing": "strace not installed"}
        n = self.p["sc_requests"]
        out = {"requests": n, "cases": {}}
        for key in ("P1", "P2", "P3", "P4", "P5"):
            case = self.case(key)
            if case.missing and not case.missing.startswith("not selected"):
                out["cases"][key] = {"missing": "feature missing: %s"
                                     % case.missing}
                continue
            out["cases"][key] = v = self.strace_case(case, n)
            log("syscalls %-3s %s" % (key, v.get("per_request",
                                                 v.get("missing"))))
        return out

    def strace_case(self, case, n):
        conn = http.client.HTTPConnection("127.0.0.1", case.server.port,
                                          timeout=30)
        try:
            def get():
                conn.request("GET", case.path)
                resp = conn.getresponse()
                body = resp.read()
                case.expect.check("syscalls " + case.key, resp.status, body)
                return resp
            for _ in range(20):         # warm: keepalive upstream, renders
                resp = get()
            te = resp.getheader("Transfer-Encoding") or ""
            framing = ("chunked" if "chunked" in te.lower()
                       else "Content-Length %s"
                       % resp.getheader("Content-Length"))
            trace = os.path.join(self.ws, "strace-%s.txt" % case.key)
            st = subprocess.Popen(
                ["strace", "-c", "-o", trace, "-p",
                 str(case.server.worker_pid())],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                # strace says so on stderr once it traces the worker; a
                # machine that refuses ptrace (a container without
                # CAP_SYS_PTRACE) says why instead
                ready = select.select([st.stderr], [], [], 30)[0]
                line = st.stderr.readline() if ready else b"(no answer)"
                if b"attached" not in line:
                    return {"missing": "strace could not trace the worker: "
                            "%s" % line.decode(errors="replace").strip()}
                for _ in range(n):
                    get()
            finally:
                if st.poll() is None:
                    st.send_signal(signal.SIGINT)
                try:
                    st.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    st.kill()           # the kernel detaches its tracee
                    st.wait(timeout=30)
        finally:
            conn.close()
        calls = {}
        with open(trace) as f:
            for ln in f:
                m = re.match(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+"
                             r"(?:\d+\s+)?([a-z_0-9]+)\s*$", ln)
                if m and m.group(2) != "total":
                    calls[m.group(2)] = int(m.group(1))
        return {"framing": framing, "calls": calls,
                "per_request": round(sum(calls.values()) / n, 2)}

    def write_costs(self):
        """The kernel's price of the banner's bytes and of one more write
        (tests/bench/write_cost.c): the page as P1 sends it, the page as
        P3 sends it (header and banner included), and a 5-byte last chunk
        on its own, as sub_filter sends it.  With P1's CPU per request it
        bounds what any inserter of these bytes can reach: P1 plus the
        banner bytes' write, doing no work of its own."""
        exe = os.path.join(self.ws, "write_cost")
        cc = subprocess.run(
            ["cc", "-std=gnu99", "-O2", "-Wall", "-Wextra", "-pthread",
             "-o", exe, os.path.join(HERE, "write_cost.c")],
            capture_output=True, text=True, timeout=120)
        if cc.returncode != 0:
            return {"missing": "write_cost.c: %s" % cc.stderr.strip()[-300:]}
        sizes = {}
        for key in ("P1", "P3"):
            case = self.case(key)
            if case.missing and not case.missing.startswith("not selected"):
                return {"missing": "case %s: %s" % (key, case.missing)}
            st, headers, body = fetch(case.server.port, case.path)
            # status line, headers as sent, the blank line, the body
            sizes[key] = (len("HTTP/1.1 200 OK\r\n") + 2 + len(body)
                          + sum(len(k) + len(v) + 4
                                for k, v in headers.items()))
        cpus = [str(c if c is not None else -1)
                for c in (self.nginx_cpu, self.client_cpu)]
        run = subprocess.run(
            [exe] + cpus + [str(sizes["P1"]), str(sizes["P3"]), "5"],
            capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            raise Wrong("write_cost failed: %s" % run.stderr)
        rounds = [[float(x) for x in ln.split()[1:]]
                  for ln in run.stdout.split("\n") if ln.strip()]
        plain, banner, five, sys_ = rounds
        med = statistics.median
        # the banner's bytes paired by round (the same load), and half
        # the interquartile range of those differences
        extra = [b - a for a, b in zip(plain, banner)]
        q = statistics.quantiles(extra, n=4, method="inclusive")
        return {"sizes": sizes, "plain_ns": med(plain),
                "banner_ns": med(banner), "write_5_ns": med(five),
                "getppid_ns": med(sys_), "extra_ns": med(extra),
                "extra_iqr_ns": (q[2] - q[0]) / 2, "rounds": rounds}

    def write_rows(self):
        wc = self.results.get("write_costs")
        if not wc:
            return []
        if "missing" in wc:
            return [("", "kernel: write(2) costs", "-", "", "",
                     wc["missing"])]
        extra = wc["extra_ns"]
        rows = [
            ("", "kernel: one system call (getppid)",
             "%.1f us" % (wc["getppid_ns"] / 1000), "", "",
             "no work, no vDSO: the price of entering the kernel here"),
            ("", "kernel: one write more (5 B)",
             "%.1f us" % (wc["write_5_ns"] / 1000), "", "",
             "writer's CPU per write(2) to a loopback reader, median "
             "of 15 rounds"),
            ("", "kernel: the banner's bytes",
             "%+.2f us" % (extra / 1000), "", "",
             "a %d-byte response written against a %d-byte one, paired "
             "by round (+-%.2f; %.1f vs %.1f us)"
             % (wc["sizes"]["P3"], wc["sizes"]["P1"],
                wc["extra_iqr_ns"] / 1000, wc["banner_ns"] / 1000,
                wc["plain_ns"] / 1000))]
        p1, p4 = self.case("P1"), self.case("P4")
        if p1.runs and p4.runs:
            cpu1 = statistics.median(cpu_us(r) for r in p1.runs)
            cpu4 = statistics.median(cpu_us(r) for r in p4.runs)
            floor = cpu1 + max(0.0, extra) / 1000
            rows.append(("", "inserter floor: P1 + the banner's bytes",
                         "%.1f us/req" % floor, "", "",
                         "sub_filter / floor = %.3f: the most any inserter "
                         "of these bytes reaches by CPU in this run"
                         % (cpu4 / floor)))
        return rows

    def syscall_rows(self):
        sc = self.results.get("syscalls")
        if not sc:
            return []
        if "missing" in sc:
            return [("", "syscalls/request (strace)", "-", "", "",
                     sc["missing"])]
        rows = []
        for key, v in sc["cases"].items():
            label = "syscalls/request: %s" % key
            if "missing" in v:
                rows.append(("", label, "-", "", "", v["missing"]))
                continue
            n = sc["requests"]
            top = sorted(v["calls"].items(), key=lambda kv: (-kv[1], kv[0]))
            rows.append(("", label, "%.2f" % v["per_request"], "", "",
                         "%d requests; %s; %s" % (n, v["framing"], " ".join(
                             "%s %.2f" % (k, c / n) for k, c in top
                             if c / n >= 0.05))))
        return rows

    def callgrind_proxied(self):
        """The proxied cases P1/P3/P4/P5 for callgrind(): counted over
        ngx_process_events_and_timers (cg_scope), since the upstream's
        answer goes through the filters from the upstream's event handler,
        not from ngx_http_process_request."""
        redis = {"REDIS_PORT": str(self.redises["banner"].port)}
        sub = {"BODY_TAG": nginx_str(BODY_TAG),
               "BANNER": nginx_str(self.peer_banner)}
        return [
            ("proxied plain", "plain.conf.in", {}, [], self.case("P1"),
             None),
            ("proxied banner", "module.conf.in", redis, [MODULE],
             self.case("P3"), "proxied plain"),
            ("proxied sub_filter", "sub_filter.conf.in", sub, [],
             self.case("P4"), "proxied plain"),
            ("proxied pre-bannered", "plain.conf.in", {}, [],
             self.case("P5"), "proxied plain"),
        ]

    def case(self, key):
        return [c for c in self.cases if c.key == key][0]

    # -- report ------------------------------------------------------------

    def summarize(self):
        c1 = self.case("1")
        for c in self.cases:
            if c.missing or not c.runs:
                continue
            # medians per case: the table's value and ratio columns and
            # the "by medians" figures; the targets are judged by the
            # paired ratios (paired()), which a change of the machine's
            # load between rounds does not reach
            rps = [x["rps"] for x in c.runs]
            c.rps = statistics.median(rps)
            c.rps_spread = spread(rps)
            c.ratio = c.rps / statistics.median(x["rps"] for x in c1.runs)
            if c.latency:
                p50 = [x["p50"] for x in c.runs]
                c.p50 = statistics.median(p50)
                c.p99 = statistics.median(x["p99"] for x in c.runs)
                c.p50_spread = spread(p50)
            reqs = sum(x["requests"] for x in c.runs)
            cpu = [x["cpu_ns"] / x["requests"] for x in c.runs]
            c.cpu_us = statistics.median(cpu) / 1000
            c.cpu_spread = spread(cpu)
            c.cpu_ratio = statistics.median(
                x["cpu_ns"] / x["requests"] for x in c1.runs) / 1000 \
                / c.cpu_us
            if c.redis:
                cmds = sum(x["redis_cmds"] for x in c.runs)
                c.cmds_per_1000 = cmds / reqs * 1000
                if c.module:
                    pp = self.per_poll.get(c.key)
                    polls = sum(x["redis_multi"] for x in c.runs)
                    c.polls = polls
                    c.beyond = None if pp is None else cmds - polls * pp
                    c.per_poll = pp

    @staticmethod
    def paired(a, b, of):
        """The ratio of(b run) / of(a run) of each round, where both cases
        ran within one round (seconds to tens of seconds apart: the order
        rotates by one case per round), and its median and spread over
        the rounds.

        Rounds interleave the cases, so the load another process puts on
        the machine is about the same for both runs of a round, and mostly
        cancels out of their ratio; a ratio of medians over all rounds
        takes each median from different rounds whenever the load changed
        between them (docs/performance.md, "What is measured")."""
        ratios = [of(y) / of(x) for x, y in zip(a.runs, b.runs)]
        return statistics.median(ratios), spread(ratios), ratios

    def fmt_targets(self):
        """[(verdict, text, value)]; verdict MET / MISSED / n/a."""
        t = []

        def rps(x):
            return x["rps"]

        def cpu(x):
            return x["cpu_ns"] / x["requests"]

        def ratio_target(text, a, b, factor):
            ca, cb = self.case(a), self.case(b) if b else None
            for c in (ca, cb):
                if c is not None and c.missing:
                    t.append(("n/a", text, "feature missing: %s"
                              % c.missing))
                    return
            base = cb or self.case("1")
            # req/s of a over b's, paired by round: the verdict
            got, noise, _ = self.paired(base, ca, rps)
            v = "MET" if got >= factor else "MISSED"
            val = "paired %.3f vs %.3f (±%.1f%%)" % (got, factor,
                                                      noise * 100)
            if v == "MISSED" and (factor - got) / factor <= noise:
                val += " (within this run's noise)"
            # the same comparison by nginx CPU per request, which other
            # work on the machine disturbs much less
            by_cpu, cpu_noise, _ = self.paired(ca, base, cpu)
            val += "; by cpu/request paired %.3f (±%.1f%%)" % (
                by_cpu, cpu_noise * 100)
            # ratios of medians, as printed before the paired figures
            val += "; by medians %.3f vs %.3f, by cpu/request %.3f vs " \
                   "%.3f" % (ca.ratio, factor * (cb.ratio if cb else 1.0),
                             ca.cpu_ratio,
                             factor * (cb.cpu_ratio if cb else 1.0))
            t.append((v, text, val))

        ratio_target("no incident >= 0.99 x plain", "2", None, 0.99)
        ratio_target("banner >= 0.97 x plain", "3", None, 0.97)
        ratio_target("banner >= sub_filter", "3", "4", 1.0)
        ratio_target("banner >= 1.25 x Lua shared-dict variant", "3", "5b",
                     1.25)
        ratio_target("maintenance page >= 0.95 x return 503", "6a", "6b",
                     0.95)

        mods = [self.case(k) for k in ("2", "3", "6a")
                if not self.case(k).missing]
        text = "Redis commands per 1000 requests: 0 beyond the polls"
        if not mods or any(c.beyond is None for c in mods):
            t.append(("n/a", text, "no polls seen"))
        else:
            # a poll cut by a window edge counts at most one poll per run
            ok = all(abs(c.beyond) <= c.per_poll * len(c.runs)
                     for c in mods)
            t.append(("MET" if ok else "MISSED", text, ", ".join(
                "case %s %+d (%.3f/1000)" % (
                    c.key, c.beyond, c.beyond / sum(
                        x["requests"] for x in c.runs) * 1000)
                for c in mods)))

        sb = self.results.get("set_to_banner", {})
        text = "SET -> first banner <= one interval (%d ms)" % (
            INTERVAL * 1000)
        if "missing" in sb:
            t.append(("n/a", text, "feature missing: %s" % sb["missing"]))
        else:
            v = sb["median_ms"] <= INTERVAL * 1000
            t.append(("MET" if v else "MISSED", text,
                      "median %.0f ms" % sb["median_ms"]))

        t += self.proxied_targets()

        a, b = self.case("7a"), self.case("7b")
        text = "96 KB sendfile page: banner p50 <= 2 x plain p50"
        if b.missing:
            t.append(("n/a", text, "feature missing: %s" % b.missing))
        else:
            v = b.p50 <= 2 * a.p50
            t.append(("MET" if v else "MISSED", text, "%d us vs %d us" % (
                b.p50, 2 * a.p50)))
        return t

    def proxied_targets(self):
        """Issue 15 on the proxied page, judged by nginx CPU per request
        (throughput per CPU): the banner >= 1.1 x sub_filter inserting the
        same bytes and >= 0.97 x proxying the pre-bannered page."""
        t = []
        for text, other, factor in (
                ("proxied: banner >= 1.1 x sub_filter per CPU", "P4", 1.1),
                ("proxied: banner >= 0.97 x pre-bannered limit per CPU",
                 "P5", 0.97)):
            a, b = self.case("P3"), self.case(other)
            gone = [c.missing for c in (a, b) if c.missing]
            if gone:
                t.append(("n/a", text, "feature missing: %s" % gone[0]))
                continue
            # CPU per request of the other case over the banner's, paired
            # by round: the verdict
            got, noise, _ = self.paired(
                a, b, lambda x: x["cpu_ns"] / x["requests"])
            v = "MET" if got >= factor else "MISSED"
            val = "paired %.3f vs %.3f (±%.1f%%)" % (got, factor,
                                                      noise * 100)
            if v == "MISSED" and (factor - got) / factor <= noise:
                val += " (within this run's noise)"
            by_rps, _, _ = self.paired(b, a, lambda x: x["rps"])
            val += "; by req/s paired %.3f" % by_rps
            # ratios of medians, as printed before the paired figures
            val += "; by medians %.3f (%.1f vs %.1f us/req), by req/s " \
                   "%.3f" % (b.cpu_us / a.cpu_us, a.cpu_us, b.cpu_us,
                             a.rps / b.rps)
            t.append((v, text, val))
        return t

    def report(self):
        self.summarize()
        timed = [c for c in self.cases if not c.missing and not c.latency]
        rps_noise = statistics.median(c.rps_spread for c in timed)
        cpu_noise = statistics.median(c.cpu_spread for c in timed)
        rows = []
        for c in self.cases:
            if c.missing:
                rows.append((c.key, c.label, "-", "", "",
                             "feature missing: %s" % c.missing))
                continue
            if c.latency:
                val = "p50 %d us, p99 %d us" % (c.p50, c.p99)
                ratio = ""
                if c.key == "7b":
                    ratio = "p50 x%.2f of 7a" % (c.p50 / self.case("7a").p50)
            else:
                val = "%.0f req/s" % c.rps
                ratio = "%.3f" % c.ratio
            spread = "±%.1f%%" % (100 * (
                c.p50_spread if c.latency else c.rps_spread))
            note = ""
            if c.redis:
                note = "redis %.1f cmd/1000 req" % c.cmds_per_1000
                if c.module and c.beyond is not None:
                    note += " (%+d beyond %d polls)" % (c.beyond, c.polls)
            cpu_ratio = "%.3f" % c.cpu_ratio
            if c.latency:             # the 96 KB page: only 7b vs 7a
                cpu_ratio = ("x%.2f of 7a" % (c.cpu_us
                                              / self.case("7a").cpu_us)
                             if c.key == "7b" else "")
            rows.append((c.key, c.label, val, ratio, spread,
                         "%.1f" % c.cpu_us, cpu_ratio, note))

        sb = self.results["set_to_banner"]
        if "missing" in sb:
            rows.append(("", "redis SET -> first bannered response", "-",
                         "", "", "feature missing: %s" % sb["missing"]))
        else:
            rows.append(("", "redis SET -> first bannered response",
                         "median %.0f ms" % sb["median_ms"], "", "",
                         "%d trials, max %.0f ms, interval %d ms" % (
                             len(sb["samples_ms"]), max(sb["samples_ms"]),
                             INTERVAL * 1000)))
        hp = self.results["health_to_page"]
        if "missing" in hp:
            rows.append(("", "health failure -> first 503 page", "-", "",
                         "", "feature missing: %s" % hp["missing"]))
        else:
            rows.append(("", "health failure -> first 503 page",
                         "median %.0f ms" % hp["median_ms"], "", "",
                         "%d trials, max %.0f ms, interval=1s fall=2" % (
                             len(hp["samples_ms"]), max(hp["samples_ms"]))))
        cg = self.results["callgrind"]
        if "missing" in cg:
            rows.append(("", "instructions/request (callgrind)", "-",
                         "", "", cg["missing"]))
        else:
            for name, v in cg["ir"].items():
                if "missing" in v:
                    rows.append(("", "Ir/request: " + name, "-", "", "",
                                 "feature missing: %s" % v["missing"]))
                elif v["vs"] is None:
                    rows.append(("", "Ir/request: " + name,
                                 "%.0f" % v["per_request"], "", "",
                                 "in %s, %d requests"
                                 % (v.get("scope", "ngx_http_process_request"),
                                    cg["requests"])))
                elif "per_request" not in cg["ir"].get(v["vs"], {}):
                    # its reference was not measured (--cases left it out):
                    # the count alone, no difference to a missing value
                    rows.append(("", "Ir/request: " + name,
                                 "%.0f" % v["per_request"], "", "",
                                 "in %s, %d requests; %s not measured"
                                 % (v.get("scope", "ngx_http_process_request"),
                                    cg["requests"], v["vs"])))
                else:
                    ref = cg["ir"][v["vs"]]["per_request"]
                    rows.append(("", "Ir/request: " + name,
                                 "%+.0f vs %s" % (v["per_request"] - ref,
                                                  v["vs"]), "", "",
                                 "x%.3f of %s" % (v["per_request"] / ref,
                                                  v["vs"])))

        rows += self.failing_rows()
        rows += self.syscall_rows()
        rows += self.write_rows()
        head = ("#", "case", "value", "ratio to 1", "spread", "cpu us/req",
                "cpu ratio", "note")
        # the extra rows have no cpu columns
        rows = [r if len(r) == len(head) else r[:5] + ("", "") + r[5:]
                for r in rows]
        widths = [max(len(str(r[i])) for r in rows + [head])
                  for i in range(len(head))]
        line = "  ".join("%%-%ds" % w for w in widths)
        out = [line % head, line % tuple("-" * w for w in widths)]
        out += [line % r for r in rows]
        print("\nngx_outage_module bench (%s): %d round(s) x %d s, wrk -t1 "
              "-c%d (1 for case 7), nginx worker_processes 1%s"
              % (self.mode, self.p["rounds"], self.p["duration"],
                 self.p["connections"],
                 ", nginx on CPU %d, wrk+redis on CPU %d"
                 % (self.nginx_cpu, self.client_cpu)
                 if self.nginx_cpu is not None else ", not pinned"))
        print("page %d bytes; %s" % (len(self.page), self.banner_probe))
        print("value = median over rounds, ratio = median / case 1's "
              "median; spread = half the interquartile range over rounds "
              "(median over cases: req/s ±%.1f%%, cpu/request ±%.1f%%)"
              % (rps_noise * 100, cpu_noise * 100))
        print()
        print("\n".join(ln.rstrip() for ln in out))
        print()
        print("targets:")
        targets = self.fmt_targets()
        for v, text, val in targets:
            print("  %-6s  %-52s %s" % (v, text, val))
        sys.stdout.flush()
        self.results["table"] = [dict(zip(head, r)) for r in rows]
        self.results["targets"] = [dict(verdict=v, target=t, value=x)
                                   for v, t, x in targets]
        self.results["cases"] = {c.key: {
            "label": c.label, "missing": c.missing,
            "runs": c.runs} for c in self.cases}

    def run(self):
        t0 = time.monotonic()
        self.results["loadavg_start"] = os.getloadavg()
        self.setup()
        if self.args.syscalls:
            # system calls only: deterministic like --ir-proxied
            self.results["syscalls"] = self.syscalls()
            self.results["write_costs"] = self.write_costs()
            for row in self.syscall_rows() + self.write_rows():
                print("%-34s %-8s %s" % (row[1], row[2], row[5]))
            self.results["loadavg_end"] = os.getloadavg()
            return []
        if self.args.ir_proxied:
            # instructions only: deterministic, so one quick look at a
            # change does not need the timed rounds
            cg = self.results["callgrind"] = self.callgrind()
            for name, v in cg["ir"].items():
                print("Ir/request %-22s %s" % (
                    name, v.get("missing") or "%.0f" % v["per_request"]))
            self.results["loadavg_end"] = os.getloadavg()
            return []
        if self.args.cases:
            # a closer look at a few ratios: more rounds in the same time
            # case 1 always: every ratio is taken against it
            only = set(self.args.cases.split(",")) | {"1"}
            for c in self.cases:
                if c.key not in only and not c.missing:
                    c.missing = "not selected (--cases)"
        self.rounds()
        log("SET -> banner")
        self.results["set_to_banner"] = self.set_to_banner()
        log("health failure -> maintenance page")
        self.results["health_to_page"] = self.health_to_page()
        log("Redis change -> banner on 3 nginx (push_fanout.py)")
        self.results["push_fanout"] = push_fanout.run(
            *((3, 3) if self.args.smoke else (50, 20)), log=log)
        log("callgrind")
        self.results["callgrind"] = self.callgrind()
        log("callgrind: upstream failing, scope already down")
        self.results["callgrind_failing"] = self.callgrind_failing()
        log("system calls per request (strace)")
        self.results["syscalls"] = self.syscalls()
        log("write(2) costs")
        self.results["write_costs"] = self.write_costs()
        bad = [(s.name, ln) for s in self.servers for ln in s.bad_log_lines()]
        if bad:
            raise Wrong("nginx error logs have alert/crit/emerg lines:\n"
                        + "\n".join("%s: %s" % b for b in bad[:20]))
        self.results["loadavg_end"] = os.getloadavg()
        self.results["seconds"] = round(time.monotonic() - t0)
        self.report()
        push_fanout.report(self.results["push_fanout"])
        print("\n%d s; load average at start %.2f, at end %.2f (other work "
              "on this machine shows up as spread)" % (
                  self.results["seconds"], self.results["loadavg_start"][0],
                  self.results["loadavg_end"][0]))
        missing = {c.missing for c in self.cases if c.missing}
        for key in ("set_to_banner", "health_to_page"):
            if "missing" in self.results[key]:
                missing.add(self.results[key]["missing"])
        return sorted(missing)

    def cleanup(self):
        for s in self.servers:
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001 - keep stopping the rest
                log("stopping %s: %r" % (s.name, e))
        for b in self.backends:
            b.stop()
        for r in self.redises.values():
            r.stop()
        if self.args.keep:
            log("kept %s" % self.ws)
        else:
            shutil.rmtree(self.ws, ignore_errors=True)


WRK_REPORT = r"""
-- one JSON line for bench.py (latencies in microseconds)
done = function(s, lat, req)
    io.write(string.format(
        'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,'
        .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
        .. '"p50":%d,"p90":%d,"p99":%d,"mean":%.1f}\n',
        s.requests, s.duration, s.bytes, s.errors.connect, s.errors.read,
        s.errors.write, s.errors.status, s.errors.timeout,
        lat:percentile(50), lat:percentile(90), lat:percentile(99),
        lat.mean))
end
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="about a minute")
    g.add_argument("--smoke", action="store_true",
                   help="each case once: proves the harness works")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=int, help="seconds per timed run")
    ap.add_argument("--connections", type=int, help="wrk -c (cases 1-6)")
    ap.add_argument("--json", help="write every number to this file")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin nginx and wrk to different CPUs")
    ap.add_argument("--cases", help="time only these cases (e.g. 1,2); "
                    "the others are reported as not selected")
    ap.add_argument("--ir-proxied", action="store_true",
                    help="only the proxied cases' instructions per request "
                    "(callgrind), no timed rounds")
    ap.add_argument("--syscalls", action="store_true",
                    help="only the proxied cases' system calls per request "
                    "(strace), no timed rounds")
    ap.add_argument("--require-features", action="store_true",
                    help="exit 1 when a module feature is missing")
    args = ap.parse_args()
    if args.rounds is not None and args.rounds < 1:
        ap.error("--rounds must be at least 1")

    bench = Bench(args)
    status = 0
    try:
        missing = bench.run()
        if missing:
            print("features missing: %s" % "; ".join(missing))
            if args.require_features:
                status = 1
    except Wrong as e:
        sys.stderr.write("bench: FAILED: %s\n" % e)
        for s in bench.servers:
            if s.bad_log_lines():
                sys.stderr.write("--- %s error log ---\n%s\n"
                                 % (s.name, s.logs()))
        status = 1
    except KeyboardInterrupt:
        status = 130
    except Exception:                   # noqa: BLE001 - report, then clean
        traceback.print_exc()
        status = 1
    finally:
        bench.cleanup()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(bench.results, f, indent=1, default=str)
    return status


if __name__ == "__main__":
    sys.exit(main())
