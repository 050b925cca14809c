"""What operators type into Redis at 3 a.m., read as they meant it.

- `echo down | redis-cli -x HSET key state` stores "down\n": still down; a
  time with the line end is still that time.
- `ends "$(date -u -d '+2 hours')"` is date(1)'s own format.
- Retry-After never sends clients past `ends` (the incident is over then).
"""
import json
import subprocess
import time

import pytest

from harness import wait_for
from outage_fixtures import banner_nginx, www_dir

CONF = """
    outage_redis 127.0.0.1:%d interval=200ms timeout=200ms
                 connect_timeout=200ms;
    outage_scopes checkout;
    server {
        listen 127.0.0.1:{port};
        location / { outage_page checkout; root {dir}; }
        location = /outage/status { outage_status; }
    }
"""


def scope(n):
    return [s for s in n.status_json()["scopes"]
            if s["name"] == "checkout"][0]


def cli_x(redis, stdin, *args):
    """redis-cli -x: the last argument read from stdin, as typed in a shell"""
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(redis.port),
                    "-x"] + list(args), input=stdin.encode(), check=True,
                   capture_output=True, timeout=10)


def test_state_from_redis_cli_x_pages(redis, nginx_factory):
    n = nginx_factory(CONF % redis.port, workers=1)
    wait_for(lambda: n.status_json()["redis"]["up"], what="polled")
    redis.cli("HSET", "outage:checkout", "message", "Checkout is down")
    cli_x(redis, "down\n", "HSET", "outage:checkout", "state")
    # read as "degraded" (an unknown state with a message) before the fix
    wait_for(lambda: scope(n)["state"] == "down", what="down from \"down\\n\"")
    assert n.get("/")[0] == 503


def test_ends_from_redis_cli_x_ends_the_page(redis, nginx_factory):
    n = nginx_factory(CONF % redis.port, workers=1)
    wait_for(lambda: n.status_json()["redis"]["up"], what="polled")
    redis.cli("HSET", "outage:checkout", "state", "down", "message",
              "Checkout is down")
    wait_for(lambda: scope(n)["state"] == "down", what="down")
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime(time.time() + 2))
    cli_x(redis, end, "HSET", "outage:checkout", "ends")
    # the window closes in 2 s: the page must go within a few
    wait_for(lambda: n.get("/")[0] != 503, timeout=6, what="page gone at ends")


def test_date_u_output_is_read_as_the_end(redis, nginx_factory):
    n = nginx_factory(CONF % redis.port, workers=1)
    wait_for(lambda: n.status_json()["redis"]["up"], what="polled")
    t = time.gmtime(time.time() + 7200)
    # exactly `LC_ALL=C date -u -d '+2 hours'`
    value = time.strftime("%a %b ", t) + "%2d" % t.tm_mday \
        + time.strftime(" %H:%M:%S UTC %Y", t)
    redis.cli("HSET", "outage:checkout", "state", "down", "message",
              "Checkout is down", "ends", value)
    wait_for(lambda: scope(n)["state"] == "down", what="down")
    s = scope(n)
    assert s["ends"] == time.strftime("%Y-%m-%dT%H:%MZ", t), (value, s)


def test_retry_after_never_points_past_ends(redis, nginx_factory):
    n = nginx_factory(CONF % redis.port, workers=1)
    wait_for(lambda: n.status_json()["redis"]["up"], what="polled")
    end = int(time.time()) + 20
    redis.cli("HSET", "outage:checkout", "state", "down", "message",
              "Checkout is down", "ends", str(end))
    wait_for(lambda: scope(n)["state"] == "down", what="down")
    st, hs, data = n.get("/", headers={"Accept": "application/json"})
    left = end - time.time()
    assert st == 503
    retry = int(hs["retry-after"])
    body = json.loads(data)
    # the key's expiry would cap it (EXPIRE 20 gives 19/20); ends must too
    assert retry <= left + 1, (retry, left, body.get("retry_after"))


def site(n):
    return [s for s in n.status_json()["scopes"] if s["name"] == "site"][0]


def test_a_json_string_is_refused_not_shown_raw(redis, nginx_factory,
                                                tmp_path):
    """Audit A5 F4: SET key '{"state":"down",...}' was shown raw to
    shoppers in a "degraded" banner, its "down" giving no page, with no
    warning.  JSON is not read: nothing applied, a warning in the status
    and one error line naming the fix (HSET)."""
    www = www_dir(tmp_path, {"p.html": b"<!doctype html><html><head>"
                             b"</head><body><p>shop</p></body></html>"})
    n = banner_nginx(nginx_factory, redis,
                     "location /s/ { alias %s/; }" % www)
    redis.cli("SET", "outage:site",
              '{"state":"down","message":"Database migration until 22:00"}')
    wait_for(lambda: "JSON" in (site(n).get("warning") or ""),
             what="the warning")
    st = site(n)
    assert st["state"] in ("ok", "none") and "HSET" in st["warning"], st
    _, _, body = n.get("/s/p.html")
    assert b"outage-banner" not in body and b"&quot;state" not in body
    wait_for(lambda: "JSON, which is not read" in n.log_text(),
             what="the log line")
    lines = [ln for ln in n.log_text().splitlines() if "JSON" in ln]
    assert len(lines) == 1 and "[error]" in lines[0] \
        and "HSET <key> state down" in lines[0], lines
    # the hash the line names works
    redis.cli("DEL", "outage:site")
    redis.cli("HSET", "outage:site", "state", "down", "message", "Migration")
    wait_for(lambda: site(n)["state"] == "down", what="the hash read")
    assert not site(n).get("warning")


def test_json_like_strings_are_refused_too(redis, nginx_factory, tmp_path):
    """Review R3 F2: only '{"' and '{}' were taken for JSON; a Python
    dict's repr, a JS literal, a JSON array and JSON after a UTF-8 BOM were
    shown raw in a degraded banner.  A string starting with "{" and ending
    with "}", or "[" then "{" ... "]", is refused; "{maintenance} until
    10pm" and "[EU] checkout slow" stay messages."""
    www = www_dir(tmp_path, {"p.html": b"<!doctype html><html><head>"
                             b"</head><body><p>shop</p></body></html>"})
    n = banner_nginx(nginx_factory, redis,
                     "location /s/ { alias %s/; }" % www)
    for value in ["{'state': 'down', 'message': 'Migration until 22:00'}",
                  '{state: "down", message: "Migration until 22:00"}',
                  '[{"state":"down","message":"Migration until 22:00"}]',
                  '\ufeff{"state":"down","message":"Migration"}\n']:
        redis.cli("SET", "outage:site", "Slow")
        wait_for(lambda: site(n).get("message") == "Slow"
                 and not site(n).get("warning"), what="a plain message")
        redis.cli("SET", "outage:site", value)
        wait_for(lambda: "JSON" in (site(n).get("warning") or ""),
                 what="the warning for %r" % value)
        assert site(n)["state"] in ("ok", "none"), value
        _, _, body = n.get("/s/p.html")
        assert b"outage-banner" not in body, value
    for value in ["{maintenance} until 10pm", "[EU] checkout slow [2]"]:
        redis.cli("SET", "outage:site", value)
        wait_for(lambda: site(n).get("message") == value, what=value)
        assert site(n)["state"] == "degraded"
        assert not site(n).get("warning")


def test_a_field_in_two_cases_does_not_depend_on_hgetall_order(
        redis, nginx_factory):
    """Audit A5 F5: of "State" and "state", "the first one" was used, and
    HGETALL's order is the order of writing only for a small hash (a
    hashtable's is seeded at each Redis start): a "down" could turn into
    an "ok" override.  Now the more severe state counts in any order,
    and the warning names both."""
    n = banner_nginx(nginx_factory, redis, "")
    # written "ok" first: HGETALL (a listpack) gives it first
    redis.cli("HSET", "outage:site", "state", "ok")
    redis.cli("HSET", "outage:site", "State", "down")
    wait_for(lambda: site(n)["state"] != "none", what="the key read")
    assert redis.cli("HGETALL", "outage:site").split("\n")[0] == "state"
    wait_for(lambda: site(n)["state"] == "down", timeout=3,
             what="the more severe state")
    w = site(n).get("warning") or ""
    assert "state, State" in w and "most severe" in w, w
    # a long message makes it a hashtable: the same whatever its order
    redis.cli("HSET", "outage:site", "message", "x" * 80)
    assert redis.cli("OBJECT", "ENCODING", "outage:site") == "hashtable"
    wait_for(lambda: site(n).get("message") == "x" * 80
             or "x" * 20 in json.dumps(site(n)), what="the message read")
    time.sleep(0.5)      # a few more polls: it must stay as it is
    assert site(n)["state"] == "down"
    assert "field given twice (names differ only in case)" in n.log_text()


TYPO_CONF = """
    outage_redis 127.0.0.1:{rp} interval=200ms timeout=500ms;
    outage_check checkout http://127.0.0.1:{hp}/health interval=200ms
                 timeout=150ms fall=2 rise=2;
    server {{
        listen 127.0.0.1:{{port}};
        location /checkout/ {{
            outage_page checkout;
            outage_passive off;
            outage_page_intercept off;
            proxy_pass http://127.0.0.1:{hp}/;
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""


@pytest.mark.parametrize("order", ["ok-first", "typo-first"])
def test_a_misspelt_state_variant_does_not_silence_a_failing_check(
        redis, nginx_factory, backend, order):
    """Review R3 F1: an old "state ok" next to "State dwon" (a typo, with a
    message) ranked the typo below "ok", so the override silenced a
    failing check.  A misspelt variant counts as it does alone: a degraded
    banner under which the check pages."""
    backend.set_health("ok", path="/health")
    n = nginx_factory(TYPO_CONF.format(rp=redis.port, hp=backend.port),
                      workers=1)
    wait_for(lambda: n.status_json()["checks"][0]["health"] == "up",
             timeout=10, what="check up")
    fields = [("state", "ok"), ("State", "dwon")]
    if order == "typo-first":
        fields.reverse()
    for f, v in fields:
        redis.cli("HSET", "outage:checkout", f, v)
    redis.cli("HSET", "outage:checkout", "message", "Checkout is down")
    backend.set_health("500", path="/health")
    wait_for(lambda: n.status_json()["checks"][0]["health"] == "down",
             timeout=10, what="check down")
    wait_for(lambda: scope(n)["state"] == "down", timeout=10,
             what="the check pages under the typo's banner")
    assert not scope(n).get("overrides")
    st, _, _ = n.get("/checkout/cart")
    assert st == 503
    assert '"state" given in several cases' in (scope(n).get("warning")
                                                or "")
