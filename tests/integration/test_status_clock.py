"""The status endpoint's Redis age when another worker polled.

redis_last_ok_ms is stored by the polling worker with its own cached
clock; the worker answering the status request may still be behind it
(timer_resolution makes that certain): the age is 0 then, never an
unsigned wrap ("584 million years") that fires every staleness alert.
"""
import re
import time

from harness import wait_for

CONF = """
    outage_redis 127.0.0.1:%d interval=100ms timeout=200ms
                 connect_timeout=200ms;
    server {
        listen 127.0.0.1:{port};
        location = /outage/status { outage_status; }
    }
"""


def test_redis_age_never_wraps(redis, nginx_factory):
    n = nginx_factory(CONF % redis.port, workers=2,
                      main_conf="timer_resolution 700ms;\n")
    wait_for(lambda: n.status_json()["redis"]["up"], what="polled")
    ages, prom = [], []
    deadline = time.time() + 6
    while time.time() < deadline:
        ages.append(n.status_json()["redis"]["age_seconds"])
        st, _, body = n.get("/outage/status?format=prometheus")
        m = re.search(rb"^outage_redis_last_success_age_seconds (\S+)", body, re.M)
        prom.append(int(m.group(1)))
        time.sleep(0.01)
    bad = [a for a in ages + prom if a > 3600]
    assert not bad, "Redis polled every 100 ms, age said: %s (of %d)" % (
        sorted(set(bad))[:3], len(ages + prom))
