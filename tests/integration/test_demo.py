"""The `make run` demo: scripts/demo.sh and the lines it prints under "Try:".

One demo is started for the module (DEMO_DETACH=1, free ports, its own
DEMO_DIR), the way a user would start it, and the lines of its try.txt are
run with bash, in order, exactly as printed.  Each test_step_* runs one line
(or a pair) and then checks what a user would see over HTTP.  In each step
the checks that need only what is on main (Redis poller, status, variables)
come first; the banner, page and health-check assertions follow and are
written against the documented behaviour:

  banner       an element with class "outage-banner" right after <body>
  page         status 503 with Retry-After (problem+json for JSON clients)
  health down  the scope's state is "down" in /outage/status

Other tests cover the storefront itself, the port-in-use error, Ctrl-C in
the foreground and "demo.sh stop".
"""

import html
import http.client
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

import pytest

from harness import PRELOAD, REPO, VALGRIND, free_port, port_open, wait_for

# the demo runs the regular build through scripts/demo.sh, without the
# sanitizer runtime or valgrind: it belongs to the plain runs only
pytestmark = pytest.mark.skipif(bool(PRELOAD) or VALGRIND,
                                reason="demo runs the plain build only")

DEMO_SH = os.path.join(REPO, "scripts", "demo.sh")
COMPONENTS = ("nginx", "redis", "shop", "checkout")

# the story try.txt tells, in order: kind -> pattern of its line
LOCAL = r"http://127\.0\.0\.1:\d+"
STEPS = [
    ("site_set", r"^redis-cli -p \d+ SET outage:site "),
    ("site_del", r"^redis-cli -p \d+ DEL outage:site$"),
    ("checkout_down",
     r"^redis-cli -p \d+ HSET outage:checkout state down .* eta "),
    ("checkout_headers", r"^curl -s -o /dev/null -D - %s/checkout/$" % LOCAL),
    ("api_json", r"^curl -s -H 'Accept: application/json' %s/api/" % LOCAL),
    ("staff_login", r"^curl -s -c \S+ %s/outage/staff-login$" % LOCAL),
    ("staff_checkout",
     r"^curl -s -o /dev/null -D - -b \S+ %s/checkout/$" % LOCAL),
    ("checkout_del", r"^redis-cli -p \d+ DEL outage:checkout$"),
    ("maintenance", r"^redis-cli -p \d+ HSET outage:payments "
                    r"state maintenance .* starts .* ends "),
    ("maintenance_del", r"^redis-cli -p \d+ DEL outage:payments$"),
    ("health_break", r'^curl -s "%s/__ctl/health\?mode=500"$' % LOCAL),
    ("health_fix", r'^curl -s "%s/__ctl/health\?mode=ok"$' % LOCAL),
    ("status", r"^curl -s %s/outage/status( |$)" % LOCAL),
    ("metrics", r"^curl -s %s/outage/metrics$" % LOCAL),
]

BANNER_RE = re.compile(r"<[a-zA-Z][^>]*\bclass=(\"[^\"]*\"|'[^']*'|[^\s>]+)")
BODY_RE = re.compile(rb"<body(\s[^>]*)?>", re.I)


def free_ports(n):
    ports = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


def alive(pid):
    """Running (a zombie nobody reaped does not count)."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def with_workers(pids):
    """The PIDs plus the nginx master's children (its workers)."""
    out = dict(pids)
    if "nginx" in pids:
        kids = subprocess.run(["pgrep", "-P", str(pids["nginx"])],
                              capture_output=True, text=True).stdout.split()
        for i, kid in enumerate(kids):
            out["nginx worker %d" % i] = int(kid)
    return out


def http_get(port, path, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, hdrs, body
    finally:
        conn.close()


def banner_after_body(body):
    """The HTML from the banner element on, if an element with class
    outage-banner was inserted after <body>, ahead of the page's own first
    element (every demo page starts with <div class="promo">); else None.
    Whatever the banner needs before it (a <style>, a <link>) may come
    first."""
    m = BODY_RE.search(body)
    if not m:
        return None
    rest = body[m.end():].decode("utf-8", "replace")
    own = rest.find('<div class="promo">')
    for el in BANNER_RE.finditer(rest):
        if own >= 0 and el.start() > own:
            break
        if "outage-banner" in el.group(1).strip("\"'").split():
            return rest[el.start():]
    return None


def parse_time(value):
    """A time from the status JSON ("2026-11-22T15:30Z" and friends)."""
    if value is None:
        return None
    for fmt in ("%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Demo:
    """A demo started by scripts/demo.sh in its own DEMO_DIR."""

    def __init__(self, run_dir):
        self.dir = str(run_dir)
        (self.http_port, self.redis_port, self.shop_port,
         self.checkout_port) = free_ports(4)
        self.env = dict(os.environ, DEMO_DIR=self.dir,
                        DEMO_PORT=str(self.http_port),
                        DEMO_REDIS_PORT=str(self.redis_port),
                        DEMO_SHOP_PORT=str(self.shop_port),
                        DEMO_CHECKOUT_PORT=str(self.checkout_port))
        self.output = ""
        self.lines = []

    def script(self, *args, detach=True, timeout=90):
        env = dict(self.env, DEMO_DETACH="1" if detach else "0")
        return subprocess.run(["bash", DEMO_SH] + list(args), env=env,
                              capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def start(self):
        out = self.script("start")
        self.output = out.stdout + out.stderr
        assert out.returncode == 0, "demo.sh start failed:\n" + self.output
        with open(os.path.join(self.dir, "try.txt")) as fh:
            self.lines = [ln for ln in fh.read().splitlines() if ln.strip()]

    def stop(self):
        return self.script("stop")

    def pids(self):
        found = {}
        for name in COMPONENTS:
            try:
                with open(os.path.join(self.dir, name + ".pid")) as fh:
                    found[name] = int(fh.read().strip())
            except (OSError, ValueError):
                pass
        return found

    def ports(self):
        return (self.http_port, self.redis_port, self.shop_port,
                self.checkout_port)

    # ---- the lines ----------------------------------------------------

    def line(self, kind):
        pattern = dict(STEPS)[kind]
        found = [ln for ln in self.lines if re.search(pattern, ln)]
        assert len(found) == 1, "try.txt: %d lines for %s:\n%s" % (
            len(found), kind, "\n".join(self.lines))
        return found[0]

    def run(self, kind):
        """Runs the try.txt line of this kind with bash, as pasted."""
        line = self.line(kind)
        out = subprocess.run(["bash", "-c", line], capture_output=True,
                             text=True, timeout=30, cwd=self.dir,
                             stdin=subprocess.DEVNULL)
        assert out.returncode == 0, "%s\nexit %d\n%s%s" % (
            line, out.returncode, out.stdout, out.stderr)
        return out.stdout

    # ---- observing ----------------------------------------------------

    def get(self, path, headers=None):
        return http_get(self.http_port, path, headers)

    def status(self):
        st, _, body = self.get("/outage/status")
        assert st == 200, body
        return json.loads(body)

    def scope(self, name):
        for s in self.status()["scopes"]:
            if s["name"] == name:
                return s
        raise AssertionError("no scope %r in /outage/status" % name)

    def wait_scope(self, name, timeout=10, **want):
        def ok():
            s = self.scope(name)
            return s if all(s.get(k) == v for k, v in want.items()) else None
        try:
            return wait_for(ok, timeout=timeout,
                            what="scope %s %r" % (name, want))
        except AssertionError:
            raise AssertionError("scope %s is %r, wanted %r" % (
                name, self.scope(name), want)) from None

    def state_header(self, path):
        _, hdrs, _ = self.get(path)
        return hdrs.get("x-outage-state")

    def error_log(self):
        with open(os.path.join(self.dir, "nginx", "error.log"),
                  errors="replace") as fh:
            return fh.read()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = Demo(tmp_path_factory.mktemp("demo"))
    try:
        d.start()
        yield d
    finally:
        d.stop()


def redis_arg(line, after):
    """The argument that follows `after` in a redis-cli line, as bash
    would pass it (the line is run through bash for $(date ...))."""
    out = subprocess.run(["bash", "-c", "printf '%s\\n' " + line.split(
        " ", 3)[3]], capture_output=True, text=True, timeout=10)
    args = out.stdout.splitlines()
    return args[args.index(after) + 1]


# ---- the demo itself ---------------------------------------------------


def test_printed_urls_and_lines(demo):
    out = demo.output
    assert "http://127.0.0.1:%d/" % demo.http_port in out
    assert "http://127.0.0.1:%d/outage/status" % demo.http_port in out
    assert "http://127.0.0.1:%d/outage/metrics" % demo.http_port in out
    # every try.txt line is printed, verbatim, and nothing else is in it
    for line in demo.lines:
        assert line in out, line
        assert not line.lstrip().startswith("#"), line
    kinds = []
    for line in demo.lines:
        matched = [k for k, pat in STEPS if re.search(pat, line)]
        assert len(matched) == 1, "unexpected try.txt line: %s" % line
        kinds.append(matched[0])
        for m in re.finditer(r"redis-cli -p (\d+)", line):
            assert int(m.group(1)) == demo.redis_port, line
        for m in re.finditer(r"https?://([^/:\s\"']+):(\d+)", line):
            assert m.group(1) == "127.0.0.1", line
            assert int(m.group(2)) in (demo.http_port,
                                       demo.checkout_port), line
    assert kinds == [k for k, _ in STEPS]


def test_storefront_pages_and_assets(demo):
    """Every page and asset linked from the shop answers 200 through nginx
    with the right type; the shop needs nothing from outside."""
    seen, todo = set(), ["/", "/cart/", "/checkout/", "/help/"]
    types = {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        st, hdrs, body = demo.get(path)
        assert st == 200, (path, st)
        ctype = hdrs.get("content-type", "")
        types[path] = ctype
        if path.endswith(".css"):
            assert ctype.startswith("text/css"), (path, ctype)
            continue
        if path.endswith(".svg"):
            assert ctype.startswith("image/svg+xml"), (path, ctype)
            assert body.lstrip().startswith(b"<svg"), path
            continue
        assert ctype.startswith("text/html"), (path, ctype)
        text = body.decode("utf-8")
        assert BODY_RE.search(body), path
        assert '<meta name="viewport"' in text, path
        assert "Northwind Outfitters" in text, path
        for ref in re.findall(r'(?:href|src|action)="([^"]+)"', text):
            ref = html.unescape(ref)
            assert not re.match(r"(https?:)?//", ref), (
                "external reference %s in %s" % (ref, path))
            if ref.startswith("/"):
                todo.append(urllib.parse.urlsplit(ref).path)
    pages = [p for p, t in types.items() if t.startswith("text/html")]
    assert len(pages) >= 10, pages
    # every product of the catalog has its page, reachable from the shop
    with open(os.path.join(os.path.dirname(DEMO_SH), "..", "demo",
                           "catalog.json"), encoding="utf-8") as f:
        products = json.load(f)["products"]
    assert len(products) >= 6
    for p in products:
        path = "/products/%s/" % p["slug"]
        assert path in pages, path
        text = demo.get(path)[2].decode("utf-8")
        assert "<h1>%s</h1>" % p["name"] in text, path
        assert 'class="price">%s<' % p["price"] in text, path
    assert "/assets/shop.css" in types
    assert len([p for p in types if p.endswith(".svg")]) >= 6
    # the API behind the same page binding as checkout
    for path in ("/api/cart", "/api/products"):
        st, hdrs, body = demo.get(path, {"Accept": "application/json"})
        assert st == 200, path
        assert hdrs["content-type"].startswith("application/json"), path
        json.loads(body)


def test_nothing_declared_at_start(demo):
    for name in ("site", "checkout", "payments"):
        assert demo.scope(name)["state"] == "ok", name
    assert demo.status()["redis"]["up"] is True
    st, hdrs, body = demo.get("/")
    assert st == 200
    assert hdrs.get("x-outage-state") == "ok"
    assert banner_after_body(body) is None
    st, _, _ = demo.get("/checkout/")
    assert st == 200


# ---- the lines, in order -----------------------------------------------


def test_step_site_incident_shows_a_banner(demo):
    message = redis_arg(demo.line("site_set"), "outage:site")
    assert demo.run("site_set").strip() == "OK"
    s = demo.wait_scope("site", state="degraded")
    assert s["message"] == message
    assert s["source"] == "redis"
    assert demo.state_header("/") == "degraded"
    # the banner (feature "banner")
    for path in ("/", "/products/summit-32-daypack/"):
        st, _, body = demo.get(path)
        assert st == 200
        banner = banner_after_body(body)
        assert banner is not None, \
            "no outage-banner after <body> in %s (banner feature)" % path
        assert "Payments are slow right now" in banner[:4000], banner[:4000]


def test_step_site_clear_removes_the_banner(demo):
    assert demo.run("site_del").strip() == "1"
    demo.wait_scope("site", state="ok")
    assert demo.state_header("/") == "ok"
    st, _, body = demo.get("/")
    assert st == 200
    assert banner_after_body(body) is None
    assert b"outage-banner" not in body


def test_step_checkout_down_serves_the_page(demo):
    line = demo.line("checkout_down")
    message = redis_arg(line, "message")
    eta = parse_time(redis_arg(line, "eta"))
    now = datetime.now(timezone.utc)
    assert timedelta(minutes=25) < eta - now < timedelta(minutes=35)
    demo.run("checkout_down")
    s = demo.wait_scope("checkout", state="down")
    assert s["message"] == message
    assert parse_time(s["eta"]) == eta
    assert demo.state_header("/checkout/") == "down"
    st, _, _ = demo.get("/")
    assert st == 200, "the shop itself stays up"
    # the page (feature "page")
    st, hdrs, body = demo.get("/checkout/")
    assert st == 503, \
        "expected the maintenance page (page feature), got %d" % st
    assert int(hdrs["retry-after"]) > 0
    assert hdrs["content-type"].startswith("text/html")
    assert html.escape(message, quote=False).encode() in body


def test_step_checkout_headers_line_shows_503(demo):
    out = demo.run("checkout_headers")
    status_line = out.splitlines()[0]
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (ln.partition(":") for ln in out.splitlines()[1:] if ":" in ln)}
    assert headers.get("x-outage-state") == "down", out
    assert status_line.split()[1] == "503", "page feature:\n" + out
    assert "retry-after" in headers, out


def test_step_api_gets_problem_json(demo):
    out = demo.run("api_json")
    json.loads(out)
    path = demo.line("api_json").split()[-1].split(str(demo.http_port), 1)[1]
    st, hdrs, body = demo.get(path, {"Accept": "application/json"})
    assert hdrs.get("x-outage-state") == "down"
    assert st == 503, "expected problem+json (page feature), got %d" % st
    assert "json" in hdrs["content-type"], hdrs["content-type"]
    assert int(hdrs["retry-after"]) > 0
    doc = json.loads(body)
    assert doc.get("status") == 503, doc


def test_step_staff_bypass_cookie(demo):
    jar = shlex.split(demo.line("staff_login"))[3]
    demo.run("staff_login")
    # the bypass (feature "page"): a signed cookie, then checkout through
    assert os.path.exists(jar), "curl -c wrote no cookie jar"
    with open(jar) as fh:
        cookies = [ln.split("\t") for ln in fh.read().splitlines()
                   if ln.strip() and (not ln.startswith("#")
                                      or ln.startswith("#HttpOnly_"))]
    assert any(c[5] == "outage_bypass" for c in cookies if len(c) >= 7), \
        "no outage_bypass cookie (bypass login feature) in %r" % cookies
    out = demo.run("staff_checkout")
    assert out.splitlines()[0].split()[1] == "200", out
    assert re.search(r"(?im)^x-outage-bypass:", out), out
    st, _, _ = demo.get("/checkout/")
    assert st == 503, "without the cookie the page is still served"


def test_step_checkout_clear(demo):
    assert demo.run("checkout_del").strip() == "1"
    demo.wait_scope("checkout", state="ok")
    assert demo.state_header("/checkout/") == "ok"
    st, hdrs, body = demo.get("/checkout/")
    assert st == 200
    assert b"Place order" in body
    assert "retry-after" not in hdrs


def test_step_maintenance_is_announced(demo):
    line = demo.line("maintenance")
    message = redis_arg(line, "message")
    starts = parse_time(redis_arg(line, "starts"))
    now = datetime.now(timezone.utc)
    assert timedelta(minutes=55) < starts - now < timedelta(minutes=65)
    demo.run("maintenance")
    s = demo.wait_scope("payments", state="maintenance", scheduled=True)
    assert parse_time(s["starts"]) == starts
    assert parse_time(s["ends"]) - starts == timedelta(hours=1)
    assert demo.state_header("/") == "scheduled"
    st, _, _ = demo.get("/checkout/")
    assert st == 200, "no page before the window opens"
    # the banner (feature "banner") announces the window
    st, _, body = demo.get("/")
    banner = banner_after_body(body)
    assert banner is not None, "no outage-banner after <body> (banner feature)"
    assert html.escape(message, quote=False) in banner[:4000], banner[:4000]


def test_step_maintenance_clear(demo):
    assert demo.run("maintenance_del").strip() == "1"
    demo.wait_scope("payments", state="ok", scheduled=False)
    assert demo.state_header("/") == "ok"
    st, _, body = demo.get("/")
    assert banner_after_body(body) is None


def test_step_break_checkout_health(demo):
    out = json.loads(demo.run("health_break"))
    assert out["modes"]["/health"] == "500"
    st, _, _ = http_get(demo.checkout_port, "/health")
    assert st == 500
    # the active health check (feature "health"): down after fall=2
    checks = demo.status()["checks"]
    assert [c["scope"] for c in checks] == ["checkout"], \
        "no outage_check for checkout (health feature): %r" % checks
    s = demo.wait_scope("checkout", timeout=10, state="down")
    assert s["source"] == "health"
    wait_for(lambda: demo.get("/checkout/")[0] == 503, timeout=5,
             what="the checkout page")


def test_step_fix_checkout_health(demo):
    out = json.loads(demo.run("health_fix"))
    assert out["modes"]["/health"] == "ok"
    st, _, _ = http_get(demo.checkout_port, "/health")
    assert st == 200
    demo.wait_scope("checkout", timeout=10, state="ok")
    wait_for(lambda: demo.get("/checkout/")[0] == 200, timeout=5,
             what="checkout back")
    checks = demo.status()["checks"]
    assert [c["health"] for c in checks] == ["up"], \
        "no healthy outage_check for checkout (health feature): %r" % checks


def test_step_status_line(demo):
    doc = json.loads(demo.run("status"))
    assert doc["redis"]["up"] is True
    names = {s["name"]: s for s in doc["scopes"]}
    assert {"site", "checkout", "payments"} <= set(names)
    assert all(s["state"] == "ok" for s in names.values()), names
    # the story declared and cleared each of them
    for name in ("site", "checkout", "payments"):
        assert names[name]["transitions"] >= 2, names[name]


def test_step_metrics_line(demo):
    out = demo.run("metrics")
    for name in ("site", "checkout", "payments"):
        assert 'outage_scope_state{scope="%s",state="ok"} 1' % name in out
        assert 'outage_scope_state{scope="%s",state="down"} 0' % name in out
    assert re.search(r"(?m)^outage_redis_up 1$", out), out


# ---- starting and stopping ---------------------------------------------


def test_port_in_use_is_a_clear_error(tmp_path):
    d = Demo(tmp_path / "busy")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        busy = s.getsockname()[1]
        d.env["DEMO_SHOP_PORT"] = str(busy)
        out = d.script("start")
    assert out.returncode != 0
    assert "port %d (DEMO_SHOP_PORT) is already in use" % busy in out.stderr, \
        out.stderr
    assert d.pids() == {}
    for port in (d.http_port, d.redis_port, d.checkout_port):
        assert not port_open(port), port


def test_ctrl_c_stops_everything(tmp_path):
    d = Demo(tmp_path / "fg")
    env = dict(d.env, DEMO_DETACH="0")
    proc = subprocess.Popen(["bash", DEMO_SH, "start"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: os.path.exists(os.path.join(d.dir, "try.txt")),
                 timeout=60, what="the demo in the foreground")
        assert sorted(d.pids()) == sorted(COMPONENTS)
        pids = with_workers(d.pids())
        assert http_get(d.http_port, "/")[0] == 200
        # what a terminal does on Ctrl-C: SIGINT to the foreground group
        os.killpg(proc.pid, signal.SIGINT)
        rc = proc.wait(timeout=30)
        output = proc.stdout.read().decode()
        assert rc == 0, output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        d.stop()
    for name, pid in pids.items():
        assert not alive(pid), name
    assert d.pids() == {}
    for port in d.ports():
        assert not port_open(port), port


def test_second_start_refuses(demo):
    before = demo.pids()
    out = demo.script("start")
    assert out.returncode == 1
    assert "already running" in out.stderr, out.stderr
    assert demo.pids() == before
    assert demo.get("/")[0] == 200


def test_stop_stops_everything(demo):
    assert sorted(demo.pids()) == sorted(COMPONENTS)
    pids = with_workers(demo.pids())
    assert len(pids) == len(COMPONENTS) + 2, pids     # worker_processes 2
    log = demo.error_log()
    bad = [ln for ln in log.splitlines()
           if re.search(r"\[(alert|crit|emerg)\]", ln)]
    assert not bad, "\n".join(bad)
    out = demo.stop()
    assert out.returncode == 0, out.stderr
    deadline = time.monotonic() + 10
    for name, pid in pids.items():
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pid), name
    assert demo.pids() == {}
    for port in demo.ports():
        assert not port_open(port), port
