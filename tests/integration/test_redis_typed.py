"""What operators type into Redis at 3 a.m., read as they meant it.

- `echo down | redis-cli -x HSET key state` stores "down\n": still down; a
  time with the line end is still that time.
- `ends "$(date -u -d '+2 hours')"` is date(1)'s own format.
- Retry-After never sends clients past `ends` (the incident is over then).
"""
import json
import subprocess
import time

from harness import wait_for

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
