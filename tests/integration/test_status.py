"""The status handler: JSON snapshot and Prometheus text exposition."""

import json
import re

from harness import wait_for

CONF = """
    outage_redis 127.0.0.1:{redis} interval=200ms;
    outage_check checkout http://127.0.0.1:{health}/health interval=300ms timeout=200ms fall=2 rise=2;
    server {{
        listen 127.0.0.1:{{port}};
        outage_banner on;
        location / {{ proxy_pass http://127.0.0.1:{backend}; }}
        location /checkout/ {{
            outage_page checkout;
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location = /outage/status {{ outage_status; }}
        location = /outage/metrics {{ outage_status prometheus; }}
    }}
"""

METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)'
    r'(?:\{(?P<labels>[^}]*)\})?'
    r' (?P<value>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|NaN|[-+]Inf)'
    r'(?: -?\d+)?$')
LABEL = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"$')


def parse_exposition(text):
    """Validate Prometheus text format 0.0.4; returns {family: [samples]}.

    Checks: every line is a HELP/TYPE comment or a sample; TYPE comes before
    a family's samples and once; a family's samples are contiguous; names and
    label pairs are well formed; counters are named *_total; no duplicate
    series; the text ends with a newline.
    """
    assert text.endswith("\n")
    families, types, seen, order = {}, {}, set(), []
    current = None
    for line in text.splitlines():
        assert line, "empty line in exposition"
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert METRIC.match(name), line
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            assert METRIC.match(name), line
            assert typ in ("counter", "gauge", "untyped", "histogram",
                           "summary"), line
            assert name not in types, "TYPE twice for " + name
            types[name] = typ
            current = name
            order.append(name)
            continue
        assert not line.startswith("#"), line
        m = SAMPLE.match(line)
        assert m, "bad sample line: %r" % line
        name = m.group("name")
        assert name == current, "sample %s outside its family" % name
        labels = m.group("labels") or ""
        pairs = [p for p in re.findall(r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"',
                                       labels)]
        assert ",".join(pairs) == labels, "bad labels: %r" % line
        for p in pairs:
            assert LABEL.match(p), p
        key = (name, labels)
        assert key not in seen, "duplicate series %r" % (key,)
        seen.add(key)
        families.setdefault(name, []).append((labels, float(m.group("value"))))
    for name, typ in types.items():
        if typ == "counter":
            assert name.endswith("_total"), name
    return families


def test_prometheus_output_parses(nginx_factory, redis, backend):
    n = nginx_factory(CONF.format(redis=redis.port, backend=backend.port,
                                  health=backend.health_port))
    redis.cli("SET", "outage:site", 'quote " and \\ backslash')
    wait_for(lambda: n.status_json()["scopes"][0]["state"] == "degraded")
    n.get("/page")                                 # one banner

    st, h, body = n.get("/outage/metrics")
    assert st == 200
    assert h["content-type"].startswith("text/plain; version=0.0.4")
    fam = parse_exposition(body.decode())

    state = dict(fam["outage_scope_state"])
    assert state['scope="site",state="degraded"'] == 1
    assert state['scope="site",state="ok"'] == 0
    assert state['scope="checkout",state="ok"'] == 1
    assert dict(fam["outage_redis_up"])[""] == 1
    assert dict(fam["outage_banners_injected_total"])[""] >= 1
    assert 'scope="checkout",check="0"' in dict(fam["outage_check_up"])
    for name in ("outage_scope_source", "outage_scope_transitions_total",
                 "outage_check_latency_seconds", "outage_check_probes_total",
                 "outage_check_failures_total",
                 "outage_redis_last_success_age_seconds",
                 "outage_redis_polls_total", "outage_redis_errors_total",
                 "outage_pages_served_total", "outage_bypasses_total",
                 "outage_intercepts_total"):
        assert name in fam, name

    # the same data through the query argument on the JSON location
    st, _, body2 = n.get("/outage/status?format=prometheus")
    assert st == 200 and parse_exposition(body2.decode())


def test_status_json_and_methods(nginx_factory, redis, backend):
    n = nginx_factory(CONF.format(redis=redis.port, backend=backend.port,
                                  health=backend.health_port))
    wait_for(lambda: n.status_json()["checks"][0]["health"] == "up",
             timeout=5)
    st = n.status_json()
    assert st["redis"]["configured"] and st["redis"]["up"]
    assert [s["name"] for s in st["scopes"]] == ["site", "checkout"]
    text = json.dumps(st)
    # no backend address or check URL leaks into the status output
    assert str(backend.health_port) not in text and "/health" not in text
    for method in ("POST", "PUT", "DELETE"):
        assert n.request(method, "/outage/status")[0] == 405
    status, h, body = n.request("HEAD", "/outage/status")
    assert status == 200 and body == b""
