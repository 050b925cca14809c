"""Foundation: the module loads into stock nginx, passes traffic through
unchanged when there is no incident, and nginx -t reports config errors."""

from harness import wait_for

BASE = """
    outage_redis 127.0.0.1:{redis} interval=200ms;
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        outage_banner on;
        location / {{ proxy_pass http://127.0.0.1:{backend}; }}
        location = /outage/status {{ outage_status; }}
    }}
"""


def test_passthrough_without_incident(nginx_factory, redis, backend):
    n = nginx_factory(BASE.format(redis=redis.port, backend=backend.port))
    wait_for(lambda: n.status_json()["redis"]["up"], what="redis polled")

    st, hdrs, body = n.get("/page")
    bst, bbody = backend.get("/page")
    assert st == 200 and bst == 200
    assert body == bbody
    assert hdrs.get("content-length") == str(len(bbody))
    assert "etag" in hdrs


def test_config_test_ok_and_misspelt_argument(nginx_factory, redis):
    n = nginx_factory(BASE.format(redis=redis.port, backend=1), start=False)
    ok, out = n.test_config()
    assert ok, out

    n.write_conf(BASE.format(redis=redis.port, backend=1)
                 .replace("interval=200ms", "intreval=200ms"))
    ok, out = n.test_config()
    assert not ok
    assert "outage_redis" in out and "intreval=200ms" in out, out

    n.write_conf(BASE.format(redis=redis.port, backend=1)
                 .replace("outage_banner on;", "outage_banner yes;"))
    ok, out = n.test_config()
    assert not ok and "outage_banner" in out, out
