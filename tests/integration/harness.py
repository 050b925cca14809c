"""Real-process test harness for ngx_outage_module.

Every integration test starts its own redis-server, stock nginx with the
built module (load_module), and test backends, each on a free loopback port
in its own temporary directory; waits for readiness with a deadline (never a
fixed sleep); and stops them by their own PIDs.  Only 127.0.0.1 is used.
"""

import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SUPPORT = os.path.join(REPO, "tests", "support")
PY = "/usr/bin/python3"
NGINX = os.environ.get("OUTAGE_NGINX", "/usr/sbin/nginx")
# OUTAGE_MODULE_SO= (set, empty) means OUTAGE_NGINX has the module compiled
# in (a static build): no load_module line
MODULE = os.environ.get(
    "OUTAGE_MODULE_SO",
    os.path.join(REPO, "build", "modules", "ngx_http_outage_module.so"))
LOAD_MODULE = "load_module %s;" % MODULE if MODULE else ""

# check-deep runs the suite with the module built under ASan/UBSan (runtime
# preloaded into the stock nginx) or under valgrind; latency bounds scale.
PRELOAD = os.environ.get("OUTAGE_PRELOAD", "")
VALGRIND = os.environ.get("OUTAGE_VALGRIND", "") == "1"
LATENCY_FACTOR = 20.0 if VALGRIND else (3.0 if PRELOAD else 1.0)


def latency_bound(seconds):
    """A bound on one request's latency: `seconds` on a quiet machine,
    scaled for ASan/valgrind and by the run queue per CPU, so that a
    2-core machine at load 12 (CI18, CI19: 0.10-0.20 s with no stall at
    all) does not fail a bound meant to catch a worker blocked on Redis
    or a probe for its whole timeout."""
    per_cpu = os.getloadavg()[0] / (os.cpu_count() or 1)
    return seconds * LATENCY_FACTOR * max(1.0, per_cpu)


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            lo, hi = (int(x) for x in fh.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


_EPHEMERAL_LO, _EPHEMERAL_HI = _ephemeral_range()
_ISSUED_PORTS = set()
_PORT_RNG = random.SystemRandom()


def shard():
    """(k, n) from OUTAGE_SHARD=k/n (scripts/integration.sh runs n pytest
    processes side by side, k from 0); (0, 1) when unset."""
    k, _, n = os.environ.get("OUTAGE_SHARD", "0/1").partition("/")
    k, n = int(k), int(n or 1)
    if not 0 <= k < n:
        raise ValueError("OUTAGE_SHARD=%s: want k/n with 0 <= k < n"
                         % os.environ.get("OUTAGE_SHARD"))
    return k, n


def free_port():
    """A port on 127.0.0.1 that is free now and that this process has never
    handed out before.

    bind(0) may give the same port twice once the first caller has let go
    of it: a test that asked for two ports then wrote the same one into
    two listen directives ("a duplicate listen", CI of c3606d6).  Ports are
    therefore picked below the kernel's ephemeral range, so neither a
    later bind(0) nor an outgoing connection takes one in between, and
    never twice in one run.  Processes run side by side (OUTAGE_SHARD)
    each pick from their own slice of that range: one cannot take a port
    another has checked and not yet bound.
    """
    lo = 10000
    hi = _EPHEMERAL_LO if _EPHEMERAL_LO - lo >= 4096 else None
    k, n = shard()
    if hi is not None and n > 1:
        step = (hi - lo) // n
        lo, hi = lo + k * step, lo + (k + 1) * step
    for _ in range(2000):
        if hi is not None:
            port = _PORT_RNG.randrange(lo, hi)
        else:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        if port in _ISSUED_PORTS:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ISSUED_PORTS.add(port)
        return port
    raise AssertionError("no free loopback port found")


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Poll predicate() until it returns a truthy value or the deadline."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - report the last one
            last_exc = exc
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last error: %r)"
                         % (timeout, what, last_exc))


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def stop_pid(proc, sig=signal.SIGTERM, timeout=10):
    """Stop a Popen by its own PID; escalate to SIGKILL after timeout."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGCONT)
        os.kill(proc.pid, sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


class Redis:
    """A private redis-server on a free loopback port."""

    def __init__(self, tmpdir, extra_args=()):
        self.dir = os.path.join(tmpdir, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir,
             "--logfile", os.path.join(self.dir, "redis.log")]
            + self.extra_args,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.cli("PING") == "PONG", what="redis-server ready")

    def cli(self, *args):
        """Run redis-cli; returns its stripped stdout."""
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p",
                              str(self.port), "--no-auth-warning"]
                             + [str(a) for a in args],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    def command_count(self, name):
        """Calls of one command so far, from INFO commandstats."""
        info = self.cli("INFO", "commandstats")
        m = re.search(r"cmdstat_%s:calls=(\d+)" % name.lower(), info)
        return int(m.group(1)) if m else 0

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self):
        stop_pid(self.proc, signal.SIGKILL)

    def stop(self):
        stop_pid(self.proc)


class Backend:
    """tests/support/backend.py on a free port."""

    def __init__(self, tmpdir, docroot=None, health_port=False):
        # a port found free may be taken by another process before the
        # backend binds it: try again with fresh ports
        for attempt in range(3):
            self.port = free_port()
            self.health_port = free_port() if health_port else None
            args = [PY, os.path.join(SUPPORT, "backend.py"), "--port",
                    str(self.port)]
            if docroot:
                args += ["--docroot", docroot]
            if self.health_port:
                args += ["--health-port", str(self.health_port)]
            self.log = open(os.path.join(tmpdir, "backend-%d.log"
                                         % self.port), "w")
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                         stderr=self.log, text=True)
            line = self.proc.stdout.readline()
            if line.startswith("READY"):
                return
            stop_pid(self.proc)
            self.log.close()
        raise AssertionError("backend did not start: %r (see %s)"
                             % (line, self.log.name))

    def get(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return resp.status, body

    def set_health(self, mode, path=None):
        q = "/__ctl/health?mode=%s" % mode
        if path:
            q += "&path=%s" % path
        assert self.get(q)[0] == 200

    def stats(self):
        return json.loads(self.get("/__ctl/stats")[1])

    def count(self, path):
        return self.stats()["counts"].get(path, 0)

    def reset(self):
        self.get("/__ctl/reset")

    def stop(self):
        stop_pid(self.proc)
        self.log.close()


NGINX_MAIN = """
{load_module}
{user}
worker_processes {workers};
error_log {dir}/error.log {log_level};
pid {dir}/nginx.pid;
lock_file {dir}/nginx.lock;
worker_shutdown_timeout 10s;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type text/html;
{http}
}}
"""


class Nginx:
    """The stock nginx binary with the module, as a foreground master."""

    def __init__(self, tmpdir, http_conf, workers=2, log_level="info",
                 main_conf="", start=True):
        self.dir = os.path.join(tmpdir, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.workers = workers
        self.log_level = log_level
        self.main_conf = main_conf
        self.conf_path = os.path.join(self.dir, "nginx.conf")
        self.error_log = os.path.join(self.dir, "error.log")
        self.proc = None
        self.write_conf(http_conf)
        if start:
            self.start()

    def write_conf(self, http_conf):
        text = NGINX_MAIN.format(
            load_module=LOAD_MODULE, dir=self.dir, workers=self.workers,
            log_level=self.log_level,
            user="user root;" if os.geteuid() == 0 else "",
            http=http_conf.replace("{port}", str(self.port))
            .replace("{dir}", self.dir))
        with open(self.conf_path, "w") as f:
            f.write(self.main_conf + text)

    def test_config(self):
        """nginx -t: returns (ok, output)."""
        out = subprocess.run([NGINX, "-t", "-p", self.dir, "-c",
                              self.conf_path, "-e",
                              os.path.join(self.dir, "nginx-t.log")],
                             capture_output=True, text=True, timeout=30,
                             env=self.test_env())
        return out.returncode == 0, out.stdout + out.stderr

    def env(self):
        env = dict(os.environ)
        if PRELOAD:
            env["LD_PRELOAD"] = PRELOAD
            env["ASAN_OPTIONS"] = ("log_path=%s/asan:detect_leaks=1:"
                                   "handle_segv=1" % self.dir)
            env["UBSAN_OPTIONS"] = ("log_path=%s/ubsan:print_stacktrace=1"
                                    % self.dir)
        return env

    def test_env(self):
        # nginx -t exits without running pool cleanups: nginx's own
        # allocations (e.g. PCRE2's compile context) would read as leaks
        env = self.env()
        if PRELOAD:
            env["ASAN_OPTIONS"] += ":detect_leaks=0"
        return env

    def start(self):
        env = self.env()
        cmd = [NGINX, "-p", self.dir, "-c", self.conf_path, "-e",
               self.error_log, "-g", "daemon off;"]
        if VALGRIND:
            cmd = ["valgrind", "--trace-children=yes", "--quiet",
                   "--num-callers=30", "--error-limit=no",
                   "--leak-check=full", "--show-leak-kinds=definite",
                   "--suppressions=%s/tests/valgrind.supp" % REPO,
                   "--log-file=%s/valgrind.%%p" % self.dir] + cmd
        self.proc = subprocess.Popen(cmd, env=env,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: self.proc.poll() is not None
                     or (port_open(self.port)
                         and len(self.worker_pids()) == self.workers),
                     timeout=60 if VALGRIND else 10,
                     what="nginx ready")
        except AssertionError:
            # never leave a half-started nginx behind: stop it by its PID
            kids = self.worker_pids()
            stop_pid(self.proc, signal.SIGKILL)
            for pid in kids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            raise
        finally:
            if self.proc.poll() is not None:
                raise AssertionError("nginx exited: %s\n%s" % (
                    self.proc.stderr.read(), self.log_text()))

    def worker_pids(self):
        """PIDs of this master's worker processes."""
        kids = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    stat = f.read()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            # under valgrind the title is not rewritten: every child of
            # this master is a worker (no cache manager in these configs)
            if ppid == self.proc.pid and (VALGRIND
                                          or b"worker process" in cmd):
                kids.append(int(pid))
        return sorted(kids)

    def fd_count(self, pid):
        return len(os.listdir("/proc/%d/fd" % pid))

    def reload(self, timeout=20):
        """SIGHUP the master; wait until the old workers have exited."""
        old = set(self.worker_pids())
        os.kill(self.proc.pid, signal.SIGHUP)

        def done():
            now = set(self.worker_pids())
            alive_old = [p for p in old if os.path.exists("/proc/%d" % p)]
            return (not alive_old and len(now) == self.workers
                    and not (now & old))
        wait_for(done, timeout=timeout, what="reload: old workers exit")

    def log_text(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sanitizer_reports(self):
        """ASan/UBSan/valgrind reports that involve the module."""
        import glob
        found = []
        for path in glob.glob(os.path.join(self.dir, "asan.*")) + \
                glob.glob(os.path.join(self.dir, "ubsan.*")) + \
                glob.glob(os.path.join(self.dir, "valgrind.*")):
            with open(path, errors="replace") as f:
                text = f.read()
            if not text.strip():
                continue
            # memory errors and undefined behaviour always count; leak
            # blocks only when a frame of the module allocated them (nginx
            # itself leaves its cycle pools to process exit)
            if re.search(r"ERROR: AddressSanitizer: (?!.*leak)", text) \
                    or "runtime error" in text:
                found.append("%s:\n%s" % (path, text[:4000]))
                continue
            for block in re.split(r"\n(?=(?:Direct|Indirect) leak|==\d+== \S)",
                                  text):
                if "ngx_http_outage" in block or "libhiredis" in block \
                        or "libcurl" in block and "outage" in block:
                    found.append("%s:\n%s" % (path, block[:4000]))
        return found

    def bad_log_lines(self):
        return [ln for ln in self.log_text().splitlines()
                if "[alert]" in ln or "[emerg]" in ln or "[crit]" in ln]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGQUIT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)

    # -- client helpers ----------------------------------------------------

    def request(self, method, path, headers=None, body=None, timeout=10,
                port=None):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port,
                                          timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, \
                data
        finally:
            conn.close()

    def get(self, path="/", headers=None, **kw):
        return self.request("GET", path, headers=headers, **kw)

    def status_json(self, path="/outage/status"):
        st, _, body = self.get(path)
        assert st == 200, body
        return json.loads(body)


def raw_request(port, data, timeout=5):
    """Send raw bytes, return everything the server sends until close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)


def rss_kb(pid):
    """The resident set size of process pid in KB; a zombie has none: a
    KeyError, never a 0 that would read as memory given back."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise KeyError("VmRSS of %d" % pid)
