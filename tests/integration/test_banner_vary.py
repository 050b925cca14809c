"""Vary: Sec-Fetch-Dest on every response whose banner decision read that
header, bannered or not: a front cache (nginx's own proxy_cache is the
oracle) must not give the copy without a banner an <iframe> or a fetch()
got to a page load, nor a kept 304 validate the wrong copy."""

import re

from harness import raw_request, wait_for

MARK = b'class="outage-banner '

PAGE = (b"<!doctype html><html><head><title>t</title></head>"
        b"<body><p>page</p></body></html>\n")

CONF = """
    outage_redis 127.0.0.1:{redis} interval=200ms timeout=200ms
                 connect_timeout=200ms;
    proxy_cache_path {cache} keys_zone=vary:1m;
    server {{
        listen 127.0.0.1:{{port}};
        location /app/ {{
            outage_banner on;
            alias {www}/;
            expires 60s;
        }}
        location /cdn/ {{
            proxy_pass http://127.0.0.1:{{port}}/app/;
            proxy_cache vary;
            add_header X-Cache $upstream_cache_status always;
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""


def get(n, path, headers=""):
    raw = raw_request(n.port, ("GET %s HTTP/1.1\r\nHost: t\r\n"
                               "Connection: close\r\n%s\r\n"
                               % (path, headers)).encode(), 10)
    head, _, body = raw.partition(b"\r\n\r\n")
    head = head.decode("latin-1")
    varies = [v.strip().lower() for line in
              re.findall(r"(?im)^vary:(.*)$", head) for v in line.split(",")]
    return head, varies, body


def test_vary_on_every_response_the_header_decided(nginx_factory, redis,
                                                    tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "p.html").write_bytes(PAGE)
    n = nginx_factory(CONF.format(redis=redis.port, www=www,
                                  cache=tmp_path / "cache"))
    wait_for(lambda: n.status_json()["redis"]["up"], what="redis polled")
    redis.cli("SET", "outage:site", "Slow")
    wait_for(lambda: [s["state"] for s in n.status_json()["scopes"]
                      if s["name"] == "site"][0] == "degraded",
             what="incident")

    head, varies, body = get(n, "/app/p.html", "Sec-Fetch-Dest: document\r\n")
    assert body.count(MARK) == 1 and "sec-fetch-dest" in varies
    head, varies, body = get(n, "/app/p.html", "Sec-Fetch-Dest: empty\r\n")
    assert body == PAGE and "sec-fetch-dest" in varies, head

    # a kept 304 (an image request) carries the Vary of what it validates
    lm = re.search(r"(?im)^last-modified:(.*)$", head).group(1).strip()
    head, varies, body = get(n, "/app/p.html",
                             "Sec-Fetch-Dest: image\r\n"
                             "If-Modified-Since: %s\r\n" % lm)
    assert head.split()[1] == "304" and "sec-fetch-dest" in varies, head

    # the front cache stores the iframe's copy: a page load must not get it
    head, varies, body = get(n, "/cdn/p.html", "Sec-Fetch-Dest: iframe\r\n")
    assert body == PAGE and "x-cache: miss" in head.lower(), head
    for _ in range(2):
        head, varies, body = get(n, "/cdn/p.html",
                                 "Sec-Fetch-Dest: document\r\n"
                                 "Accept: text/html\r\n")
        assert body.count(MARK) == 1, head
    head, varies, body = get(n, "/cdn/p.html", "Sec-Fetch-Dest: iframe\r\n")
    assert body == PAGE and "x-cache: hit" in head.lower(), head

    # no incident: no Vary added
    redis.cli("DEL", "outage:site")
    wait_for(lambda: [s["state"] for s in n.status_json()["scopes"]
                      if s["name"] == "site"][0] == "ok", what="calm")
    head, varies, body = get(n, "/app/p.html", "Sec-Fetch-Dest: empty\r\n")
    assert body == PAGE and "sec-fetch-dest" not in varies, head


TIERS = """
    outage_redis 127.0.0.1:{redis} interval=200ms timeout=200ms
                 connect_timeout=200ms;
    server {{
        listen 127.0.0.1:{{port}};
        outage_banner on;
        location /app/ {{ alias {www}/; }}
        location /own/ {{
            alias {www}/;
            add_header Vary "Accept-Encoding ,SEC-FETCH-DEST";
        }}
        location /star/ {{ alias {www}/; add_header Vary "*"; }}
        location /front/ {{
            rewrite ^/front/(.*)$ /app/$1 break;
            proxy_pass http://127.0.0.1:$server_port;
        }}
        location /frontown/ {{
            rewrite ^/frontown/(.*)$ /own/$1 break;
            proxy_pass http://127.0.0.1:$server_port;
        }}
        location = /outage/status {{ outage_status; }}
    }}
"""


def test_two_tiers_vary_once(nginx_factory, redis, tmp_path):
    """Review s7/R5 L4: a front tier running the module repeated the
    "Vary: Sec-Fetch-Dest" of the app tier behind it; neither tier adds
    the token when a Vary lists it already (any case, among others, or
    "*")."""
    www = tmp_path / "www"
    www.mkdir()
    (www / "p.html").write_bytes(PAGE)
    n = nginx_factory(TIERS.format(redis=redis.port, www=www))
    wait_for(lambda: n.status_json()["redis"]["up"], what="redis polled")
    redis.cli("SET", "outage:site", "Slow")
    wait_for(lambda: [s["state"] for s in n.status_json()["scopes"]
                      if s["name"] == "site"][0] == "degraded",
             what="incident")

    for path in ("/app/p.html", "/front/p.html", "/own/p.html",
                 "/frontown/p.html"):
        for dest, bannered in (("document", 1), ("iframe", 0)):
            head, varies, body = get(n, path,
                                     "Sec-Fetch-Dest: %s\r\n" % dest)
            assert body.count(MARK) == bannered, (path, dest, head)
            assert varies.count("sec-fetch-dest") == 1, (path, dest, head)
        head, varies, _ = get_head(n, path)
        assert varies.count("sec-fetch-dest") == 1, (path, "HEAD", head)

    # "*" varies on everything: nothing to add
    head, varies, body = get(n, "/star/p.html", "Sec-Fetch-Dest: document\r\n")
    assert body.count(MARK) == 1 and varies == ["*"], head


def get_head(n, path):
    raw = raw_request(n.port, ("HEAD %s HTTP/1.1\r\nHost: t\r\n"
                               "Connection: close\r\n\r\n" % path).encode(),
                      10)
    head = raw.partition(b"\r\n\r\n")[0].decode("latin-1")
    varies = [v.strip().lower() for line in
              re.findall(r"(?im)^vary:(.*)$", head) for v in line.split(",")]
    return head, varies, b""
