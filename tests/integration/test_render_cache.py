"""The per-worker renderings of the banner and the maintenance page.

Each worker renders a location's banner (and each kind of page) once per
snapshot generation and second, and every request sends those bytes in
place.  These tests prove the cache is never stale: a new message in Redis
shows on every worker from the next poll on, relative times ("in 3 min")
move on, per-request parts (the CSP nonce, Retry-After) stay per request,
and a slow client still receives the banner it was given while the cache
has moved on to newer text.
"""

import json
import os
import re
import socket
import time

from harness import wait_for

INTERVAL = 0.2
MARK = b'class="outage-banner '
SHOP_TAG = b'<body class="shop">'

CONF = """
    outage_redis 127.0.0.1:{redis} interval=200ms timeout=200ms
                 connect_timeout=200ms;
    outage_scopes checkout;
    server {{
        listen 127.0.0.1:{{port}} reuseport;
        outage_banner on;
        add_header X-Pid $pid always;

        location /static/ {{
            alias {www}/;
            types {{ text/html html; }}
        }}
        location /nonce/ {{
            outage_banner_nonce $request_id;
            add_header X-Pid $pid always;
            add_header X-Nonce $request_id always;
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location /tplnonce/ {{
            outage_banner_template {tpl};
            outage_banner_nonce $request_id;
            add_header X-Pid $pid always;
            add_header X-Nonce $request_id always;
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location /checkout/ {{
            outage_banner off;
            outage_page checkout;
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location /api/checkout/ {{
            outage_banner off;
            outage_page checkout;
            outage_page_format json;
            proxy_pass http://127.0.0.1:{backend}/;
        }}
        location / {{ proxy_pass http://127.0.0.1:{backend}; }}
        location = /outage/status {{ outage_status; }}
    }}
"""

NONCE_TEMPLATE = (b'<aside class="outage-banner x" data-nonce="{{nonce}}">'
                  b'{{message}}<script nonce="{{nonce}}">1</script></aside>')


def start(nginx_factory, redis, backend, tmp_path, **kw):
    www = tmp_path / "www"
    www.mkdir(exist_ok=True)
    (www / "index.html").write_bytes(
        b'<!doctype html><html><head><title>t</title></head>\n'
        b'<body class="shop">\n<p>static</p></body></html>\n')
    tpl = tmp_path / "nonce.tpl"
    tpl.write_bytes(NONCE_TEMPLATE)
    return nginx_factory(CONF.format(redis=redis.port, backend=backend.port,
                                     www=www, tpl=tpl), **kw)


def state_of(n, scope):
    for s in n.status_json()["scopes"]:
        if s["name"] == scope:
            return s["state"]
    raise KeyError(scope)


def banner_of(body, marker=SHOP_TAG):
    """The bytes inserted right after marker (one banner, exactly)."""
    assert body.count(MARK) == 1, body[:300]
    k = body.index(marker) + len(marker)
    end = body.index(b"</div></div>", k) + len(b"</div></div>")
    return body[k:end]


def every_worker(n, path, check, requests=40):
    """Runs check(status, headers, body) on responses until both workers
    answered; returns the workers seen."""
    pids = set()
    for _ in range(requests):
        st, h, body = n.get(path)
        check(st, h, body)
        pids.add(h["x-pid"])
    assert len(pids) == n.workers, pids
    return pids


# -- an announced incident is worded by its declared state -------------------

def test_announced_incident_is_worded_by_its_state(nginx_factory, redis,
                                                   backend, tmp_path):
    """A window ahead is announced in the words of the state declared for
    it: "Scheduled maintenance" for maintenance, "Planned service
    disruption" for down (not maintenance), on every worker from the poll
    that changed it; neither is in effect (no page, $outage_state
    "scheduled")."""
    n = start(nginx_factory, redis, backend, tmp_path)
    starts = time.strftime("%Y-%m-%dT%H:%MZ",
                           time.gmtime(time.time() + 3 * 3600))
    redis.cli("HSET", "outage:checkout", "state", "maintenance", "message",
              "Payments move", "starts", starts)
    redis.cli("HSET", "outage:site", "state", "maintenance", "message",
              "Site move", "starts", starts)

    def scheduled(st, h, body):
        b = banner_of(body)
        assert b"outage-banner--scheduled" in b and b"Scheduled maintenance" in b

    wait_for(lambda: b"Site move" in n.get("/page")[2], what="announced")
    every_worker(n, "/page", scheduled)

    for state, label in (("down", b"Planned service disruption"),
                         ("degraded", b"Planned degraded performance")):
        redis.cli("HSET", "outage:site", "state", state)

        def planned(st, h, body):
            b = banner_of(body)
            assert st == 200 and b"outage-banner--scheduled" in b, b
            text = b.split(b"</style>")[-1]      # the CSS names all states
            assert label in text and b"aintenance" not in text, text

        wait_for(lambda: label in n.get("/page")[2], timeout=5,
                 interval=0.01, what=state)
        every_worker(n, "/page", planned)
        scope = [s for s in n.status_json()["scopes"]
                 if s["name"] == "site"][0]
        assert scope["state"] == "maintenance" and scope["scheduled"], scope

    # the page of an announced down is not served yet
    redis.cli("HSET", "outage:checkout", "state", "down", "message",
              "Payments off later")

    def checkout():
        return [s for s in n.status_json()["scopes"]
                if s["name"] == "checkout"][0]

    wait_for(lambda: checkout()["message"] == "Payments off later",
             timeout=5, what="down announced")
    assert checkout()["scheduled"] is True
    assert n.get("/checkout/page")[0] == 200       # the backend, no page


# -- a new incident text reaches every worker at the next poll ---------------

def test_banner_text_follows_redis_on_every_worker(nginx_factory, redis,
                                                   backend, tmp_path):
    n = start(nginx_factory, redis, backend, tmp_path)
    redis.cli("SET", "outage:site", "First message")
    wait_for(lambda: state_of(n, "site") == "degraded", what="degraded")

    def first(st, h, body):
        assert st == 200 and b"First message" in banner_of(body)

    for path in ("/page", "/static/index.html"):
        every_worker(n, path, first)

    t0 = time.monotonic()
    redis.cli("SET", "outage:site", "Second message")
    wait_for(lambda: b"Second message" in n.get("/page")[2], timeout=5,
             interval=0.01, what="the new text")
    assert time.monotonic() - t0 <= INTERVAL + 0.5

    # from that poll on, no worker sends its old rendering any more
    def second(st, h, body):
        b = banner_of(body)
        assert b"Second message" in b and b"First message" not in b

    for path in ("/page", "/static/index.html"):
        every_worker(n, path, second)

    # and a state change re-renders the whole banner, not just the text
    down = b'class="outage-banner outage-banner--down"'
    redis.cli("DEL", "outage:site")
    redis.cli("HSET", "outage:site", "state", "down", "message", "Third")
    wait_for(lambda: down in n.get("/page")[2], timeout=5, interval=0.01,
             what="the down banner")

    def third(st, h, body):
        b = banner_of(body)
        assert down in b and b">Third<" in b
        assert b'outage-banner--degraded"' not in b and b"Second" not in b

    every_worker(n, "/page", third)

    redis.cli("DEL", "outage:site")
    wait_for(lambda: MARK not in n.get("/page")[2], timeout=5,
             interval=0.01, what="no banner")
    every_worker(n, "/page", lambda st, h, body: MARK not in body)


def test_page_text_follows_redis_on_every_worker(nginx_factory, redis,
                                                 backend, tmp_path):
    n = start(nginx_factory, redis, backend, tmp_path)
    redis.cli("HSET", "outage:checkout", "state", "down", "message",
              "Card payments failing")
    wait_for(lambda: n.get("/checkout/")[0] == 503, what="page shown")

    def html_has(text, gone):
        def check(st, h, body):
            assert st == 503 and text in body and gone not in body
            assert int(h["content-length"]) == len(body)
        return check

    def json_has(text, gone):
        def check(st, h, body):
            doc = json.loads(body)
            assert st == 503 and doc["detail"] == text, doc
            assert gone not in body
        return check

    every_worker(n, "/checkout/", html_has(b"Card payments failing", b"xyz"))
    every_worker(n, "/api/checkout/", json_has("Card payments failing",
                                               b"xyz"))
    # the HTML and JSON renderings of one location are kept apart
    st, h, body = n.get("/checkout/", headers={"Accept": "application/json"})
    assert h["content-type"] == "application/problem+json"
    assert json.loads(body)["detail"] == "Card payments failing"
    st, h, body = n.get("/checkout/")
    assert h["content-type"].startswith("text/html")

    t0 = time.monotonic()
    redis.cli("HSET", "outage:checkout", "message", "Back at noon")
    wait_for(lambda: b"Back at noon" in n.get("/checkout/")[2], timeout=5,
             interval=0.01, what="the new page text")
    assert time.monotonic() - t0 <= INTERVAL + 0.5

    every_worker(n, "/checkout/", html_has(b"Back at noon",
                                           b"Card payments failing"))
    every_worker(n, "/api/checkout/", json_has("Back at noon",
                                               b"Card payments failing"))

    redis.cli("DEL", "outage:checkout")
    wait_for(lambda: n.get("/checkout/")[0] == 200, timeout=5,
             interval=0.01, what="page gone")
    every_worker(n, "/checkout/", lambda st, h, body: st == 200)


# -- time moves on in the cached text ----------------------------------------

def test_relative_times_are_not_frozen(nginx_factory, redis, backend,
                                       tmp_path):
    n = start(nginx_factory, redis, backend, tmp_path)

    # "in 3 min" while 121..180 s are left, "in 2 min" from 120 s on
    eta = int(time.time()) + 125
    redis.cli("HSET", "outage:site", "state", "degraded", "message", "Slow",
              "eta", str(eta))
    redis.cli("HSET", "outage:checkout", "state", "down", "message",
              "Closed", "eta", str(eta))
    wait_for(lambda: state_of(n, "checkout") == "down", what="down")

    if eta - time.time() > 121.5:
        assert b"(in 3 min)" in banner_of(n.get("/page")[2])
        assert b"(in 3 min)" in n.get("/checkout/")[2]

    wait_for(lambda: eta - time.time() < 119.5, timeout=10,
             what="the minute to pass")

    def banner_moved(st, h, body):
        b = banner_of(body)
        assert b"(in 2 min)" in b and b"(in 3 min)" not in b

    def page_moved(st, h, body):
        assert st == 503 and b"(in 2 min)" in body
        assert b"(in 3 min)" not in body

    every_worker(n, "/page", banner_moved)
    every_worker(n, "/checkout/", page_moved)

    # Retry-After counts down to the ETA per request, and the JSON body,
    # rendered once a second, always says the same as the header
    seen = set()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5:
        st, h, body = n.get("/api/checkout/")
        assert st == 503
        assert json.loads(body)["retry_after"] == int(h["retry-after"])
        assert abs(int(h["retry-after"]) - (eta - time.time())) <= 2
        seen.add(int(h["retry-after"]))
        time.sleep(0.05)
    assert len(seen) >= 2, seen


# -- per-request parts stay per request ---------------------------------------

def test_nonce_is_per_request_around_the_cached_banner(nginx_factory, redis,
                                                       backend, tmp_path):
    n = start(nginx_factory, redis, backend, tmp_path)
    redis.cli("SET", "outage:site", "Slow <b>")
    wait_for(lambda: state_of(n, "site") == "degraded", what="degraded")

    # the built-in banner: a "<style nonce>" head, then the shared bytes
    rests = set()
    nonces = set()

    def default(st, h, body):
        nonce = h["x-nonce"].encode()
        head = b'<style nonce="%s">' % nonce
        k = body.index(SHOP_TAG) + len(SHOP_TAG)
        assert body[k:k + len(head)] == head
        rests.add(banner_of(body)[len(head):])
        nonces.add(nonce)

    every_worker(n, "/nonce/page", default)
    assert len(rests) == 1 and len(nonces) == 40
    rest = rests.pop()
    assert rest.startswith(b".outage-banner{") and b"Slow &lt;b&gt;" in rest
    assert b"nonce" not in rest

    # a template that shows the nonce itself is rendered per request
    def template(st, h, body):
        nonce = h["x-nonce"].encode()
        assert (b'<aside class="outage-banner x" data-nonce="%s">'
                b'Slow &lt;b&gt;<script nonce="%s">1</script></aside>'
                % (nonce, nonce)) in body
        assert body.count(b"nonce=") == 2

    every_worker(n, "/tplnonce/page", template)


# -- a slow client keeps the bytes it was given -------------------------------

def slow_get(port, path):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
              % path.encode())
    return s


def read_all(s, first):
    chunks = [first]
    while True:
        d = s.recv(65536)
        if not d:
            break
        chunks.append(d)
    s.close()
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        out = []
        while True:
            line, _, body = body.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                break
            out.append(body[:size])
            body = body[size + 2:]
        body = b"".join(out)
    return head, body


def test_slow_client_keeps_its_banner(nginx_factory, redis, backend,
                                      tmp_path):
    # one worker: the renderings the slow response holds are its worker's
    n = start(nginx_factory, redis, backend, tmp_path, workers=1)
    # a head far larger than the socket buffers: the banner is still
    # waiting in nginx while the client does not read
    page = (b"<!doctype html><html><head><title>big</title><style>/*"
            + b"x" * (12 * 1024 * 1024) + b"*/</style></head>"
            + b'<body class="shop">\n<p>end</p></body></html>\n')
    with open(os.path.join(str(tmp_path), "www", "big.html"), "wb") as f:
        f.write(page)

    redis.cli("SET", "outage:site", "Old text")
    wait_for(lambda: state_of(n, "site") == "degraded", what="degraded")
    old = banner_of(n.get("/static/index.html")[2])

    s = slow_get(n.port, "/static/big.html")
    first = s.recv(4096)

    # new text, re-rendered (same location: same cache) again and again
    # while the slow response still has to send the old one
    redis.cli("SET", "outage:site", "New text")
    wait_for(lambda: b"New text" in n.get("/static/index.html")[2],
             timeout=5, what="the new text")
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5:
        assert b"New text" in banner_of(n.get("/static/index.html")[2])
        time.sleep(0.05)

    head, body = read_all(s, first)
    assert head.startswith(b"HTTP/1.1 200")
    # the page with the banner as it was when the response was prepared
    k = page.index(SHOP_TAG) + len(SHOP_TAG)
    assert body[:k] == page[:k]
    assert body[k:k + len(old)] == old
    assert body[k + len(old):] == page[k:]
