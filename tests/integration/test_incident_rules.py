"""When a Redis incident is in effect: starts/ends for every state, times as
people and tools write them, and a time nobody can read never escalates
(docs/redis.md, "Times").  Each test drives a real redis-server and nginx;
the module's status JSON and the page a visitor gets are the oracles."""

import calendar
import time

import pytest

from harness import free_port, wait_for

CONF = """
    outage_redis 127.0.0.1:{rp} interval=200ms timeout=500ms;
    {check}
    server {{
        listen 127.0.0.1:{{port}};
        outage_banner on;
        location /checkout/ {{
            outage_page checkout;
            proxy_pass http://127.0.0.1:{app}/;
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""

SCHEDULED = b"outage-banner outage-banner--scheduled\""


def start(nginx_factory, redis, backend, check="", workers=1, redis_extra=""):
    """nginx polling `redis` (every 200 ms) for scope checkout, whose page
    proxies to `backend`; shared with test_redis_expiry.py."""
    conf = CONF
    if redis_extra:
        conf = conf.replace("timeout=500ms;", redis_extra + ";")
    return nginx_factory(conf.format(rp=redis.port, app=backend.port,
                                     check=check), workers=workers)


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def minute(ts):
    """How the status JSON writes a time."""
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(ts))


def scope(n, name="checkout"):
    return [s for s in n.status_json()["scopes"] if s["name"] == name][0]


def declare(n, redis, *fields):
    """Replace the incident and wait until two polls have read it."""
    redis.cli("DEL", "outage:checkout")
    if fields:
        redis.cli("HSET", "outage:checkout", *fields)
    polls = n.status_json()["redis"]["polls"]
    wait_for(lambda: n.status_json()["redis"]["polls"] >= polls + 2,
             timeout=10, what="two polls after the write")


@pytest.mark.parametrize("state", ["maintenance", "down"])
@pytest.mark.parametrize("bad", ["tomorrow 02:00", "2026-13-07 02:18 UTC",
                                 "07/12/2026 02:18", "1999-12-31T23:00Z"])
def test_unreadable_starts_is_announced_never_in_effect(
        nginx_factory, redis, backend, state, bad):
    n = start(nginx_factory, redis, backend)
    declare(n, redis, "state", state, "message", "Planned DB upgrade",
            "starts", bad, "ends", iso(time.time() + 7200))

    st, _, body = n.get("/checkout/")
    assert st == 200, body[:300]                 # no page: not in effect
    assert SCHEDULED in body and b"Planned DB upgrade" in body
    s = scope(n)
    assert s["scheduled"] is True and s["state"] == "maintenance", s
    assert s["starts"] is None, s
    assert ('starts unparseable, the incident is only announced: "%s"'
            % bad) in s["warning"], s

    lines = [ln for ln in n.log_text().splitlines()
             if 'redis key "outage:checkout"' in ln]
    assert len(lines) == 1, lines
    assert 'unparseable "starts" time' in lines[0], lines


def test_warning_value_is_escaped_and_cut(nginx_factory, redis, backend):
    n = start(nginx_factory, redis, backend)
    bad = '"},"state":"ok" <script>\x07' + "x" * 100
    declare(n, redis, "state", "maintenance", "starts", bad)
    assert n.get("/checkout/")[0] == 200
    s = scope(n)          # json.loads: the JSON stays well-formed
    w = s["warning"]
    assert w.startswith('starts unparseable, the incident is only '
                        'announced: ""},"state":"ok" <script>'), w
    # one ellipsis (the cut's), not "\u2026..."
    assert "\x07" not in w and w.endswith('\u2026"') and len(w) < 150, w
    assert "..." not in w, w
    assert s["state"] == "maintenance" and s["scheduled"] is True


def read_a_window_in_6_hours(nginx_factory, redis, backend, fmt):
    """Declares a maintenance from 6 h to 7 h from now with both times in
    fmt; the window must be read to the minute, with no warning, and not
    yet in effect.  Returns the nginx."""
    n = start(nginx_factory, redis, backend)
    t = (int(time.time()) // 60 + 6 * 60) * 60          # in 6 h, whole minute
    declare(n, redis, "state", "maintenance", "message", "upgrade",
            "starts", fmt(t), "ends", fmt(t + 3600))
    st, _, body = n.get("/checkout/")
    assert st == 200 and SCHEDULED in body
    s = scope(n)
    assert s["starts"] == minute(t) and s["ends"] == minute(t + 3600), s
    assert s["warning"] == "" and s["scheduled"] is True, s
    return n


@pytest.mark.parametrize("fmt", [
    lambda t: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t)),
    lambda t: time.strftime("%Y-%m-%d %H:%M:%S GMT", time.gmtime(t)),
    lambda t: time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(t)),
    lambda t: time.strftime("%A, %d-%b-%y %H:%M:%S GMT", time.gmtime(t)),
    lambda t: time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(t)),
    lambda t: str(t * 1000),
    lambda t: time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime(t)),
], ids=["utc", "gmt", "imf-fixdate", "rfc850", "asctime", "epoch-ms",
        "rfc3339-nanoseconds"])
def test_common_time_forms_are_read(nginx_factory, redis, backend, fmt):
    n = read_a_window_in_6_hours(nginx_factory, redis, backend, fmt)

    # and the same form opens the window when its time has come
    t = int(time.time()) - 120
    declare(n, redis, "state", "maintenance", "message", "upgrade",
            "starts", fmt(t), "ends", fmt(t + 7200))
    assert n.get("/checkout/")[0] == 503
    assert scope(n)["scheduled"] is False


def test_unusable_ends_is_announced_never_in_effect(nginx_factory, redis,
                                                    backend):
    """An end nobody can read, or not after the start, never keeps a
    working service behind a 503 page (docs/redis.md, "Times")."""
    n = start(nginx_factory, redis, backend)
    declare(n, redis, "state", "maintenance", "message", "upgrade",
            "starts", iso(time.time() - 60), "ends", "in two hours")
    st, _, body = n.get("/checkout/")
    assert st == 200 and SCHEDULED in body, body[:300]
    s = scope(n)
    assert s["ends"] is None and s["scheduled"] is True, s
    assert s["warning"] == ('ends unparseable, the incident is only '
                            'announced: "in two hours"'), s
    lines = [ln for ln in n.log_text().splitlines()
             if 'redis key "outage:checkout"' in ln]
    assert len(lines) == 1 and 'unparseable "ends" time' in lines[0], lines
    assert "[error]" in lines[0], lines

    # ends typed a day early: both in the past, so it is over, whatever
    # starts says
    now = time.time()
    declare(n, redis, "state", "maintenance", "message", "upgrade",
            "starts", iso(now - 7200), "ends", iso(now - 86400 - 3600))
    st, _, body = n.get("/checkout/")
    assert st == 200 and b"upgrade" not in body, body[:300]
    assert scope(n)["source"] != "redis"

    # an end before a future start: announced, never in effect
    declare(n, redis, "state", "down", "starts",
            iso(now + 7200), "ends", iso(now + 3600))
    assert n.get("/checkout/")[0] == 200
    s = scope(n)
    assert s["scheduled"] is True, s
    assert "ends not after starts" in s["warning"], s

    # a start already passed and an end before it still to come: the
    # window is unusable, so no page
    declare(n, redis, "state", "maintenance", "starts",
            iso(now - 60), "ends", iso(now - 60))
    assert n.get("/checkout/")[0] == 200
    lines = [ln for ln in n.log_text().splitlines()
             if '"ends" is not after "starts"' in ln]
    assert lines and "[error]" in lines[-1], lines


@pytest.mark.parametrize("bad", ["06:00", "in two hours"])
def test_unreadable_ends_without_starts_is_ignored_in_effect(
        nginx_factory, redis, backend, bad):
    """A state declared now (no starts), at night, for a failure no check
    sees: a typo in its end must not hide it (review s6 A10).  In effect
    with no end, said once at [error] and in the status."""
    n = start(nginx_factory, redis, backend)
    declare(n, redis, "state", "down", "message", "Payment provider outage",
            "ends", bad)
    st, _, body = n.get("/checkout/")
    assert st == 503 and b"Payment provider outage" in body, body[:300]
    s = scope(n)
    assert s["state"] == "down" and s["scheduled"] is False, s
    assert s["ends"] is None and s["starts"] is None, s
    assert s["warning"] == ('ends unparseable, ignored: in effect until the '
                            'key changes: "%s"' % bad), s
    lines = [ln for ln in n.log_text().splitlines()
             if 'redis key "outage:checkout"' in ln]
    assert len(lines) == 1, lines
    assert "[error]" in lines[0] and 'unparseable "ends" time' in lines[0]
    assert "in effect until the key changes" in lines[0], lines


@pytest.mark.parametrize("fmt", [
    lambda t: time.strftime("%Y-%m-%dT%H:%M", time.gmtime(t + 3600))
    + " +01:00",
    lambda t: time.strftime("%Y-%m-%d %H:%M", time.gmtime(t - 5400))
    + " -0130",
    lambda t: "%d.%d" % (t, 5),
], ids=["space-offset", "space-offset-date-space", "epoch-fraction"])
def test_times_scripts_write_are_read(nginx_factory, redis, backend, fmt):
    read_a_window_in_6_hours(nginx_factory, redis, backend, fmt)


@pytest.mark.parametrize("state", ["down", "degraded", "maintenance"])
def test_window_applies_to_every_state(nginx_factory, redis, backend, state):
    n = start(nginx_factory, redis, backend)
    now = time.time()
    paged = state != "degraded"

    # past its end: over
    declare(n, redis, "state", state, "message", "DB migration",
            "ends", iso(now - 60))
    st, _, body = n.get("/checkout/")
    assert st == 200 and b"DB migration" not in body, body[:300]
    assert scope(n)["source"] != "redis"

    # before its start: announced, not in effect
    declare(n, redis, "state", state, "message", "DB migration",
            "starts", iso(now + 86400))
    st, _, body = n.get("/checkout/")
    assert st == 200 and SCHEDULED in body and b"DB migration" in body
    s = scope(n)
    assert s["scheduled"] is True and s["starts"] == minute(now + 86400), s

    # inside the window: the declared state
    declare(n, redis, "state", state, "message", "DB migration",
            "starts", iso(now - 60), "ends", iso(now + 3600))
    st, _, body = n.get("/checkout/")
    assert st == (503 if paged else 200)
    assert b"DB migration" in body and SCHEDULED not in body
    s = scope(n)
    assert s["state"] == state and s["scheduled"] is False, s


def test_ok_before_its_start_leaves_the_check_in_charge(nginx_factory, redis,
                                                       backend):
    dead = free_port()
    n = start(nginx_factory, redis, backend,
              check="outage_check checkout http://127.0.0.1:%d/health "
                    "interval=300ms timeout=200ms fall=1 rise=1;" % dead)
    wait_for(lambda: scope(n)["state"] == "down", timeout=10)
    declare(n, redis, "state", "ok", "starts", iso(time.time() + 3600))
    assert n.get("/checkout/")[0] == 503
    assert scope(n)["source"] == "health"


def test_announcement_does_not_hide_a_failing_check(nginx_factory, redis,
                                                    backend):
    dead = free_port()
    n = start(nginx_factory, redis, backend,
              check="outage_check checkout http://127.0.0.1:%d/health "
                    "interval=300ms timeout=200ms fall=1 rise=1;" % dead)
    wait_for(lambda: scope(n)["state"] == "down", timeout=10)
    declare(n, redis, "state", "maintenance", "message", "tomorrow",
            "starts", iso(time.time() + 86400))
    assert n.get("/checkout/")[0] == 503
    s = scope(n)
    assert s["state"] == "down" and s["source"] == "health", s
    assert s["scheduled"] is False


def test_ok_override_shows_what_it_silences(nginx_factory, redis, backend):
    backend.set_health("refuse")
    n = start(nginx_factory, redis, backend,
              check="outage_check checkout http://127.0.0.1:%d/health "
                    "interval=300ms timeout=200ms fall=1 rise=1;"
                    % backend.health_port)
    wait_for(lambda: scope(n)["state"] == "down", timeout=10)
    assert scope(n)["overrides"] == ""
    redis.cli("SET", "outage:checkout", "ok", "EX", "3600")
    wait_for(lambda: scope(n)["source"] == "redis", timeout=10)

    # the operator's word stands, and the scope says what it overrides
    assert n.get("/checkout/")[0] == 200
    s = scope(n)
    assert s["state"] == "ok" and s["reason"] == "", s
    assert s["overrides"].startswith("check: "), s
    assert "refused" in s["overrides"], s

    # the silenced check changing state is said once per change, at warn
    backend.set_health("ok")
    wait_for(lambda: scope(n)["overrides"] == "", timeout=10)
    backend.set_health("refuse")
    wait_for(lambda: scope(n)["overrides"] != "", timeout=10)
    lines = [ln for ln in n.log_text().splitlines() if "silenced:" in ln]
    assert len(lines) == 2, lines
    assert all("[warn]" in ln and 'Redis says "ok"' in ln for ln in lines)
    assert "is up again" in lines[0] and "is down" in lines[1], lines
    assert n.get("/checkout/")[0] == 200


def test_ok_ignored_while_redis_stale_silences_nothing(nginx_factory, redis,
                                                       backend):
    """An "ok" the decision ignores (Redis stale past max_stale) must not
    make the log say "no banner or page" while the page is served."""
    n = nginx_factory(CONF.replace(
        "timeout=500ms;", "timeout=500ms connect_timeout=200ms max_stale=2s;").format(
            rp=redis.port, app=backend.port,
            check="outage_check checkout http://127.0.0.1:%d/health "
                  "interval=300ms timeout=200ms fall=1 rise=1;"
                  % backend.health_port), workers=1)
    wait_for(lambda: scope(n)["state"] == "ok", timeout=10)
    redis.cli("SET", "outage:checkout", "ok", "EX", "3600")
    wait_for(lambda: scope(n)["source"] == "redis", timeout=10)
    redis.kill()
    wait_for(lambda: scope(n)["source"] == "health", timeout=15,
             what="Redis stale, health decides")

    backend.set_health("refuse")
    wait_for(lambda: scope(n)["state"] == "down", timeout=10)
    assert n.get("/checkout/")[0] == 503
    lines = [ln for ln in n.log_text().splitlines()
             if 'check "checkout"' in ln and "is down" in ln]
    assert len(lines) == 1, lines
    assert "[error]" in lines[0] and "silenced" not in lines[0], lines
