"""Shared state across reloads, crashes and stalls (issue 12).

A reload that fails after nginx has read the new configuration (a `listen`
on a busy port) must leave the running workers deciding exactly as before,
respawned ones included; workers of older configurations and a lease holder
that stalled past its lease never write; the generation that makes every
worker copy the state moves only when a decision can change.
"""

import json
import os
import re
import signal
import time

import pytest

import harness
from harness import free_port, wait_for
from outage_fixtures import failed_reload

CHECK = ("outage_check {scope} http://127.0.0.1:{hp}/health "
         "interval={interval} timeout={timeout} fall={fall} rise=1;")

SERVER = """
    {http}
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        {listen}
        location / {{
            add_header X-Pid $pid always;
            return 200 "ok\\n";
        }}
        location /checkout/ {{
            outage_page checkout;
            add_header X-Pid $pid always;
            proxy_pass http://127.0.0.1:{bp}/;
        }}
        location /payments/ {{
            outage_page payments;
            add_header X-Pid $pid always;
            proxy_pass http://127.0.0.1:{bp}/;
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""


def conf(backend, checks, listen="", http=""):
    return SERVER.format(http=http + "\n" + "\n".join(checks), listen=listen,
                         bp=backend.port)


def check_line(backend, scope, interval="300ms", timeout="200ms", fall=2):
    return CHECK.format(scope=scope, hp=backend.health_port,
                        interval=interval, timeout=timeout, fall=fall)


def answers_by_worker(n, path, rounds=200):
    """Fresh connections until every worker answered: {pid: status}."""
    seen = {}
    workers = set(n.worker_pids())
    for _ in range(rounds):
        st, h, _ = n.get(path)
        seen[int(h["x-pid"])] = st
        if set(seen) >= workers:
            break
    assert set(seen) >= workers, "not every worker answered: %r" % seen
    return seen


def every_worker_answers(n, path, status):
    return all(st == status for st in answers_by_worker(n, path).values())


def status(n):
    # short: under SIGSTOP a connection can queue at the stopped worker
    st, _, body = n.get("/outage/status", timeout=2)
    assert st == 200, body
    return json.loads(body)


def check_health(n, i=0):
    return status(n)["checks"][i]["health"]


VARIANTS = {
    # the check now belongs to another scope
    "moved": lambda b: conf(b, [check_line(b, "payments")]),
    # the check is gone
    "removed": lambda b: conf(b, []),
    # the same scopes and checks, named in another order
    "reordered": lambda b: conf(b, [check_line(b, "payments", fall=3),
                                    check_line(b, "checkout")],
                                http="outage_scopes payments search;"),
    # another zone size: a new segment is made, then thrown away
    "zone_size": lambda b: conf(b, [check_line(b, "payments")],
                                http="outage_zone_size 2m;"),
}


@pytest.mark.allow_log_errors
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_failed_reload_keeps_detection(nginx_factory, backend, busy_port,
                                       variant):
    n = nginx_factory(conf(backend, [check_line(backend, "checkout")]),
                      workers=2)
    wait_for(lambda: check_health(n) == "up", what="check up")
    assert every_worker_answers(n, "/checkout/", 200)

    new = VARIANTS[variant](backend)
    failed_reload(n, new.replace(
        "reuseport;\n", "reuseport;\n        listen 127.0.0.1:%d;\n"
        % busy_port, 1))

    # the running workers still probe, decide and show the page
    backend.set_health("500")
    wait_for(lambda: check_health(n) == "down", what="check down")
    wait_for(lambda: every_worker_answers(n, "/checkout/", 503),
             what="every worker shows the page")
    assert every_worker_answers(n, "/payments/", 200)

    # a worker that crashes comes back with the running configuration
    victim = n.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in n.worker_pids()
             and len(n.worker_pids()) == 2, what="worker respawned")
    assert every_worker_answers(n, "/checkout/", 503)
    assert every_worker_answers(n, "/payments/", 200)

    # and the check still comes back up
    backend.set_health("ok")
    wait_for(lambda: every_worker_answers(n, "/checkout/", 200),
             what="every worker lets checkout through again")

    bad = [ln for ln in n.bad_log_lines()
           if "bind()" not in ln and "exited on signal 9" not in ln]
    assert not bad, bad


def test_reloads_that_move_checks_keep_answers_right(nginx_factory,
                                                      backend):
    a = conf(backend, [check_line(backend, "checkout")])
    b = conf(backend, [check_line(backend, "payments")])
    n = nginx_factory(a, workers=2)
    backend.set_health("500")
    wait_for(lambda: every_worker_answers(n, "/checkout/", 503),
             what="checkout down")

    for i in range(4):
        n.write_conf(b)
        n.reload()
        # the check belongs to payments now: checkout has nothing against it
        assert every_worker_answers(n, "/checkout/", 200), i
        wait_for(lambda: every_worker_answers(n, "/payments/", 503),
                 what="payments down (%d)" % i)
        st = n.status_json()
        assert [c["scope"] for c in st["checks"]] == ["payments"]
        assert st["configuration"]["newest"] is True

        n.write_conf(a)
        n.reload()
        # the checkout check kept its state: no window where it looks up
        assert every_worker_answers(n, "/checkout/", 503), i
        assert every_worker_answers(n, "/payments/", 200), i

    assert not n.bad_log_lines()


def test_generation_still_while_probes_change_nothing(nginx_factory,
                                                      backend):
    backend.set_health("ok", path="/ok")
    checks = [check_line(backend, "checkout"),
              check_line(backend, "payments").replace("/health", "/ok")]
    n = nginx_factory(conf(backend, checks), workers=2)
    wait_for(lambda: all(c["health"] == "up"
                         for c in n.status_json()["checks"]),
             what="both checks up")

    def window():
        s0 = n.status_json()
        time.sleep(2.0)     # the measurement window itself, not a wait
        s1 = n.status_json()
        probes = [c1["probes"] - c0["probes"]
                  for c0, c1 in zip(s0["checks"], s1["checks"])]
        assert min(probes) >= 3, probes
        return s0["generation"], s1["generation"]

    g0, g1 = window()
    assert g0 == g1, "probes that change nothing moved the generation"

    # a check that is down and keeps failing changes nothing either
    backend.set_health("500")
    wait_for(lambda: n.status_json()["checks"][0]["health"] == "down",
             what="check down")
    g2, g3 = window()
    assert g2 > g1, "the transition to down must move the generation"
    assert g2 == g3, "failures of a check already down moved it"


# ---- a lease holder that stalls --------------------------------------------

def tcp_inodes_to(port):
    """Inodes of established loopback TCP sockets whose peer is `port`."""
    found = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            rem_port = int(parts[2].split(":")[1], 16)
            if rem_port == port and parts[3] == "01":
                found.add(parts[9])
    return found


def pids_connected_to(pids, port):
    inodes = tcp_inodes_to(port)
    out = []
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            m = re.match(r"socket:\[(\d+)\]", link)
            if m and m.group(1) in inodes:
                out.append(pid)
                break
    return out


def test_stalled_prober_never_writes_after_takeover(nginx_factory, backend):
    # long timeouts: a probe is in flight most of the time
    # one shared listening socket: a stopped worker takes no connections
    n = nginx_factory(conf(backend, [check_line(backend, "checkout",
                                                interval="1s",
                                                timeout="900ms",
                                                fall=50)])
                      .replace(" reuseport;", ";"), workers=2)
    wait_for(lambda: check_health(n) == "up", what="check up")

    # "hang": each probe waits for an answer until it times out (900 ms)
    backend.set_health("hang")
    for attempt in range(10):
        backend.reset()
        # a probe just arrived: it is in flight for the next ~900 ms
        wait_for(lambda: backend.count("/health") >= 1, interval=0.005,
                 what="a probe arrives")
        t0 = time.monotonic()
        holders = pids_connected_to(n.worker_pids(), backend.health_port)
        if len(holders) != 1:
            continue
        holder = holders[0]
        os.kill(holder, signal.SIGSTOP)
        if time.monotonic() - t0 < 0.4:
            break
        os.kill(holder, signal.SIGCONT)
    else:
        raise AssertionError("never caught a probe in flight")

    try:
        # the stalled probe is answered while its worker cannot run
        backend.set_health("500")
        backend.set_health("ok")
        # the other worker takes the lease over and probes "ok"
        wait_for(lambda: status(n)["checks"][0]
                 ["consecutive_successes"] >= 2,
                 timeout=15, what="another worker probes")
    finally:
        os.kill(holder, signal.SIGCONT)

    # the holder, back, handles its late answer and steps aside
    wait_for(lambda: not pids_connected_to([holder], backend.health_port)
             or status(n)["health"]["late_results_dropped"] >= 1,
             timeout=10, what="the late answer is handled")
    c = n.status_json()["checks"][0]
    assert c["consecutive_failures"] == 0 and c["last_error"] == "", c
    st = n.status_json()
    assert st["health"]["late_results_dropped"] >= 1, st["health"]
    assert st["health"]["prober_pid"] != holder
    assert re.search(r"outage: worker %d stopped renewing its lease .* "
                     r"runs the health checks" % holder, n.log_text())
    assert re.search(r"dropped a late probe result of check \"checkout\"",
                     n.log_text())


REDIS_CONF = """
    outage_redis 127.0.0.1:{rp} interval=1s timeout=900ms
                 connect_timeout=200ms;
    server {{
        listen 127.0.0.1:{{port}};
        location / {{
            add_header X-Pid $pid always;
            add_header X-Message $outage_message always;
            return 200 "ok\\n";
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""


def unread_by(port):
    """Bytes queued, unread, at the listening side of `port`'s sockets."""
    total = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            if int(parts[1].split(":")[1], 16) == port and parts[3] == "01":
                total += int(parts[4].split(":")[1], 16)
    return total


def test_stalled_poller_never_writes_after_takeover(nginx_factory, redis):
    n = nginx_factory(REDIS_CONF.format(rp=redis.port), workers=2)
    redis.cli("SET", "outage:site", "first")
    wait_for(lambda: status(n)["redis"]["up"]
             and n.get("/")[1]["x-message"] == "first", what="polled")

    for attempt in range(10):
        # Redis paused: the next poll is sent and waits for its answer
        redis.pause()
        try:
            wait_for(lambda: unread_by(redis.port) > 0, interval=0.005,
                     what="a poll in flight")
            pollers = pids_connected_to(n.worker_pids(), redis.port)
            holder = pollers[0] if len(pollers) == 1 else None
            if holder:
                os.kill(holder, signal.SIGSTOP)
        finally:
            redis.resume()
        if holder:
            break
    else:
        raise AssertionError("never caught a poll in flight")

    try:
        redis.cli("SET", "outage:site", "second")
        # the other worker takes the lease over and polls
        wait_for(lambda: n.get("/", timeout=2)[1]["x-message"] == "second",
                 timeout=15, what="another worker polls")
        before = status(n)["redis"]
    finally:
        os.kill(holder, signal.SIGCONT)

    # the holder, back, gives up its stale poll and its connection
    wait_for(lambda: not pids_connected_to([holder], redis.port),
             what="the stalled poller lets go")
    after = status(n)["redis"]
    # the holder wrote no error since it stalled.  Not "no error at all":
    # Redis stays paused until the test has found the poller, and on a
    # loaded machine that can outlast timeout= (a true "no reply within
    # timeout" of that poll, before the stall; last_error keeps the last
    # failure)
    assert after["errors"] == before["errors"], (before, after)
    assert after["up"], after
    assert (after["last_error"], after["last_error_time"]) \
        == (before["last_error"], before["last_error_time"]), (before, after)
    assert after["poller_pid"] != holder
    for _ in range(20):
        assert n.get("/")[1]["x-message"] == "second"
    assert re.search(r"outage: worker %d stopped renewing its lease .* "
                     r"polls Redis" % holder, n.log_text())


# ---- one view per request ----------------------------------------------------

PIN_CONF = """
    outage_redis 127.0.0.1:{rp} interval=200ms timeout=150ms
                 connect_timeout=150ms;
    server {{
        listen 127.0.0.1:{{port}};
        location / {{
            add_header X-Message $outage_message always;
            return 200 "ok\\n";
        }}
        location = /sleep {{
            # read in the rewrite phase, and again when the answer comes
            set $early "$outage_message";
            add_header X-Early $early always;
            add_header X-Late "$outage_message|$outage_state" always;
            proxy_pass http://127.0.0.1:{bp};
        }}
    }}
"""


def test_one_request_sees_one_state(nginx_factory, redis, backend):
    import threading
    n = nginx_factory(PIN_CONF.format(rp=redis.port, bp=backend.port),
                      workers=1)
    redis.cli("SET", "outage:site", "first")
    wait_for(lambda: n.get("/")[1]["x-message"] == "first", what="polled")

    backend.reset()
    result = {}

    def slow():
        result["r"] = n.get("/sleep?ms=3000", timeout=15)

    t = threading.Thread(target=slow)
    t.start()
    try:
        # the request is past its rewrite phase, waiting for the backend
        wait_for(lambda: backend.count("/sleep") >= 1, what="request sent")
        redis.cli("DEL", "outage:site")
        redis.cli("HSET", "outage:site", "state", "down", "message",
                  "a second, much longer message than the first one")
        wait_for(lambda: n.get("/")[1]["x-message"].startswith("a second"),
                 what="the new state is polled")
    finally:
        t.join()

    st, h, _ = result["r"]
    assert st == 200
    assert h["x-early"] == "first", h
    assert h["x-late"] == "first|degraded", h


def test_max_stale_dropping_incidents_is_said_once(nginx_factory, redis):
    conf = REDIS_CONF.replace("connect_timeout=200ms;",
                              "connect_timeout=200ms max_stale=2s;") \
        .replace("interval=1s timeout=900ms", "interval=300ms timeout=200ms")
    n = nginx_factory(conf.format(rp=redis.port), workers=2)
    redis.cli("SET", "outage:site", "old news")
    wait_for(lambda: n.get("/")[1]["x-message"] == "old news", what="polled")
    redis.pause()
    try:
        wait_for(lambda: "more than max_stale" in n.log_text(), timeout=10,
                 what="the drop is logged")
        wait_for(lambda: n.get("/", timeout=2)[1].get("x-message", "") == "",
                 what="the stale incident is dropped")
        lines = [ln for ln in n.log_text().splitlines()
                 if "more than max_stale" in ln]
        assert len(lines) == 1, lines
        assert re.search(r"the 1 states declared in Redis are ignored",
                         lines[0]), lines
    finally:
        redis.resume()
    wait_for(lambda: n.get("/")[1]["x-message"] == "old news",
             what="back once Redis answers")


# the acceptance's 100 reloads take ~20 s on an idle 2-core machine;
# OUTAGE_RELOADS=N runs another number
RELOADS = int(os.environ.get("OUTAGE_RELOADS", "100"))


def test_reloads_under_load_answer_per_configuration(nginx_factory,
                                                      backend, redis):
    """Reloads cycling through three configurations that move the check
    between scopes and name the scopes in other orders (so each takes
    another position in each configuration), while two clients keep
    asking: every answer must be the one the answering worker's
    configuration gives (its marker header, and a pid that answers for one
    configuration only), and nothing worse than a notice is logged.  The
    "search" scope is down in Redis throughout: its state must follow its
    name through the zone, never a position."""
    import threading

    redis_line = ("outage_redis 127.0.0.1:%d interval=200ms timeout=150ms "
                  "connect_timeout=150ms;" % redis.port)

    def marked(text, mark):
        text = text.replace('add_header X-Pid $pid always;',
                            'add_header X-Pid $pid always; '
                            'add_header X-Conf %s always;' % mark)
        return text.replace(
            "location = /outage/status",
            "location /search/ { outage_page search; "
            "add_header X-Pid $pid always; add_header X-Conf %s always; "
            "proxy_pass http://127.0.0.1:%d/; }\n"
            "        location = /outage/status" % (mark, backend.port))

    confs = {
        # scopes: site, checkout, payments, search
        "a": marked(conf(backend, [check_line(backend, "checkout")],
                         http=redis_line), "a"),
        # site, payments, checkout, search
        "b": marked(conf(backend, [check_line(backend, "payments")],
                         http=redis_line), "b"),
        # site, search, payments, checkout
        "c": marked(conf(backend, [check_line(backend, "payments")],
                         http=redis_line
                         + " outage_scopes search payments checkout;"),
                    "c"),
    }
    # what each configuration must answer while /health fails
    expect = {("a", "/checkout/"): 503, ("a", "/payments/"): 200,
              ("b", "/checkout/"): 200, ("b", "/payments/"): 503,
              ("c", "/checkout/"): 200, ("c", "/payments/"): 503}
    for mark in "abc":
        expect[(mark, "/search/")] = 503

    backend.set_health("500")
    redis.cli("HSET", "outage:search", "state", "down", "message",
              "search is down")
    n = nginx_factory(confs["a"], workers=2)
    wait_for(lambda: every_worker_answers(n, "/search/", 503),
             what="search down")
    wait_for(lambda: every_worker_answers(n, "/checkout/", 503),
             what="checkout down")
    # warm up: the payments check gets its first failures once
    n.write_conf(confs["b"])
    n.reload()
    wait_for(lambda: every_worker_answers(n, "/payments/", 503),
             what="payments down")

    stop = threading.Event()
    wrong, count, conf_of_pid = [], [0], {}

    def load():
        while not stop.is_set():
            for path in ("/checkout/", "/payments/", "/search/"):
                try:
                    st, h, _ = n.get(path, timeout=5)
                except Exception as exc:  # noqa: BLE001
                    wrong.append(repr(exc))
                    continue
                count[0] += 1
                mark, pid = h.get("x-conf"), h.get("x-pid")
                if st != expect.get((mark, path)):
                    wrong.append((mark, pid, path, st))
                if conf_of_pid.setdefault(pid, mark) != mark:
                    wrong.append(("pid %s answered for %s and %s"
                                  % (pid, conf_of_pid[pid], mark)))

    order = "abcb"
    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(RELOADS):
            n.write_conf(confs[order[i % len(order)]])
            n.reload()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not wrong, wrong[:10]
    # every reload's workers answered (2 per reload), and more
    assert len(conf_of_pid) >= RELOADS, len(conf_of_pid)
    assert count[0] > 2 * RELOADS
    assert not n.bad_log_lines()


# ---- a variable read twice while the state changes ----------------------------

RACE_CONF = """
    outage_redis 127.0.0.1:{rp} interval=200ms timeout=150ms
                 connect_timeout=150ms;
    server {{
        listen 127.0.0.1:{{port}};
        location = /race {{
            # nginx reads the variable for the length, then for the copy
            set $x "[$outage_message]";
            return 200 "$x\\n";
        }}
    }}
"""


@pytest.mark.skipif(os.environ.get("OUTAGE_RACE_HOOK") != "1",
                    reason="needs the race hook of make build-asan "
                           "(make integration-asan)")
def test_state_change_between_length_and_copy(nginx_factory, redis):
    """The race hook (ASan test build only) publishes the request's
    X-Outage-Race text as the message right after each read of the variable:
    between the length and the copy pass of `set`.  The copy must still be
    the length pass's message: a longer one would be written past the
    buffer (ASan fails the test), a shorter one would leave bytes unset."""
    n = nginx_factory(RACE_CONF.format(rp=redis.port), workers=1)
    redis.cli("SET", "outage:site", "short")
    wait_for(lambda: n.get("/race")[2] == b"[short]\n", what="polled")

    long_text = "L" * 500
    seen = set()
    for i in range(40):
        race = long_text if i % 2 == 0 else "x"
        st, _, body = n.get("/race", headers={"X-Outage-Race": race})
        assert st == 200
        # before this request's hook, the zone held "short" (polled back
        # from Redis), or the previous request's text
        assert body in (b"[short]\n", b"[x]\n",
                        b"[" + long_text.encode() + b"]\n"), body[:80]
        seen.add(body)
    # the hook really ran: some request started from a text it published
    assert len(seen) >= 2, seen
    assert "race hook" in n.log_text()
    assert not n.sanitizer_reports()


# ---- loaded but unused ---------------------------------------------------------

UNUSED_CONF = """
    gzip on;
    gzip_min_length 1;
    gzip_types text/plain;
    etag on;
    server {{
        listen 127.0.0.1:{{port}};
        root {root};
        location / {{ }}
        location /proxied/ {{ proxy_pass http://127.0.0.1:{bp}/; }}
        location = /vars {{ return 200 "$uri|$args\\n"; }}
    }}
"""

UNUSED_REQUESTS = [
    b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"HEAD /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: x\r\nRange: bytes=3-40\r\n"
    b"Connection: close\r\n\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n"
    b"Connection: close\r\n\r\n",
    b"GET /notes.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
    b"Connection: close\r\n\r\n",
    b"GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /vars?a=1 HTTP/1.0\r\n\r\n",
    b"GET /proxied/page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
]


def shared_mappings(pid):
    """Shared anonymous mappings of a process: nginx's zones."""
    with open("/proc/%d/maps" % pid) as f:
        return sum(1 for ln in f if "/dev/zero" in ln or "SYSV" in ln)


@pytest.mark.skipif(not harness.MODULE,
                    reason="the module is compiled into OUTAGE_NGINX")
def test_loaded_but_unused_changes_nothing(nginx_factory, backend,
                                           tmp_path):
    """No outage directive: no zone, no phase handler, no filter; every
    answer byte for byte the one of the same nginx without the module."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_bytes(
        b"<!doctype html><html><head><title>t</title></head>"
        b"<body><p>hello</p></body></html>\n")
    (root / "notes.txt").write_bytes(b"plain text, compressed by gzip\n" * 20)
    http = UNUSED_CONF.format(root=root, bp=backend.port)

    with_module = nginx_factory(http, workers=1)
    without = nginx_factory(http, workers=1, start=False)
    with open(without.conf_path) as f:
        text = f.read()
    assert harness.LOAD_MODULE in text
    with open(without.conf_path, "w") as f:
        f.write(text.replace(harness.LOAD_MODULE, ""))
    without.start()

    def answers(n):
        etag = n.get("/index.html")[1]["etag"].encode()
        out = []
        for req in UNUSED_REQUESTS:
            raw = harness.raw_request(n.port, req.replace(b"{etag}", etag))
            out.append(re.sub(rb"\r\nDate: [^\r]*", b"\r\nDate: -", raw))
        return out

    got, want = answers(with_module), answers(without)
    for req, g, w in zip(UNUSED_REQUESTS, got, want):
        assert g == w, (req, g[:400], w[:400])
    # the requests did what they say (a sanity check of the oracle)
    assert want[2].startswith(b"HTTP/1.1 206 ")
    assert want[3].startswith(b"HTTP/1.1 304 ")
    assert b"Content-Encoding: gzip" in want[4]

    # no zone was made: as many shared mappings as nginx has on its own
    assert shared_mappings(with_module.worker_pids()[0]) \
        == shared_mappings(without.worker_pids()[0])
    assert shared_mappings(with_module.proc.pid) \
        == shared_mappings(without.proc.pid)


@pytest.mark.parametrize("directive", [
    "outage_banner off;",                       # the default, said aloud
    "server { listen 127.0.0.1:{port}; location /a { location /a/b { "
    "outage_status; } } }",                     # only in a nested location
    "outage_zone_size 2m;",
    "outage_check_guard on;",
    "outage_scopes site;",                      # a name that always exists
])
def test_any_directive_makes_the_zone(nginx_factory, directive):
    base = """
        server {{
            listen 127.0.0.1:{{port}};
            location = /v {{ return 200 "[$outage_message|$outage_state]"; }}
        }}
    """
    unused = nginx_factory(base.format(), workers=1)
    # variables alone use nothing: empty, "ok", no zone
    assert unused.get("/v")[2] == b"[|ok]"
    n = nginx_factory(base.format() + directive.replace(
        "{port}", str(free_port())), workers=1)
    assert shared_mappings(n.worker_pids()[0]) \
        == shared_mappings(unused.worker_pids()[0]) + 1
    assert n.get("/v")[2] == b"[|ok]"
