"""One request context for the snapshot, the page and the banner (issue 12).

The module keeps one context per main request (ngx_http_outage_ctx_t):
r->ctx points to it, and it lives in the pool's cleanup list so that it
survives internal redirects, which zero r->ctx.  Before, the page and the
snapshot pin each walked the cleanup list on every call.  Checked here
through the debug log of Debian's nginx (built --with-debug), request by
request:

- a request walks the list once at most, and once more per internal
  redirect (error_page to a named location);
- a request and its subrequests pin one snapshot.
"""

import os
import re

from harness import wait_for

# static files: "return" would answer in the rewrite phase, before the
# module's access handler
CONF = """
outage_scopes s other;
server {
    listen 127.0.0.1:{port};
    root {dir}/www;
    ssi on;
    location /plain/ { outage_page s; }
    location /none/ { }
    location /redir/ {
        outage_page s;
        outage_banner on;
        error_page 404 = @named;
    }
    location @named {
        outage_page s;
        outage_banner on;
        try_files /named.html =500;
    }
    location /ssi/ { outage_banner on; }
}
"""

FILES = {
    "plain/a": b"plain\n",
    "plain/b": b"plain\n",
    "none/x": b"none\n",
    "named.html": b"named\n",
    "ssi/page.html": b'<!--# include virtual="/plain/a" -->'
                      b'<!--# include virtual="/plain/b" -->',
}

FOUND_AGAIN = "outage: request context found again"
NONE_YET = "outage: no request context yet"
PINS = re.compile(r"outage: request pins snapshot (\S+) at")


class LogSlice:
    def __init__(self, n):
        self.n = n
        self.at = len(n.log_text())

    def text(self):
        return self.n.log_text()[self.at:]


def one(n, path, expect=200, headers=None):
    cut = LogSlice(n)
    st, _, body = n.get(path, headers=headers)
    assert st == expect, (path, st, body)
    # the request's last debug line is its pool's cleanup
    wait_for(lambda: "http close request" in cut.text(), timeout=5,
             what="the request is logged to its end")
    return cut.text(), body


def start(nginx_factory):
    n = nginx_factory(CONF, workers=1, log_level="debug", start=False)
    for name, data in FILES.items():
        path = os.path.join(n.dir, "www", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    n.start()
    return n


def test_one_walk_per_request_and_per_redirect(nginx_factory):
    n = start(nginx_factory)

    # (a URI ending in "/" would redirect internally to its index file)
    log, _ = one(n, "/plain/a")
    assert log.count(NONE_YET) == 1, log.count(NONE_YET)
    assert log.count(FOUND_AGAIN) == 0
    assert len(PINS.findall(log)) == 1

    # no outage directive: the filters look once, then r->ctx says "none"
    log, _ = one(n, "/none/x")
    assert log.count(NONE_YET) == 1, log.count(NONE_YET)
    assert len(PINS.findall(log)) == 0

    # error_page to a named location zeroes r->ctx: one walk finds the
    # context again, and the request keeps its one snapshot
    log, body = one(n, "/redir/missing")
    assert body == b"named\n"
    assert log.count(NONE_YET) == 1, log.count(NONE_YET)
    assert log.count(FOUND_AGAIN) == 1, log.count(FOUND_AGAIN)
    assert len(PINS.findall(log)) == 1


def test_filter_finalize_finds_the_context_again(nginx_factory):
    # a failed precondition is answered by ngx_http_filter_finalize_request()
    # (not_modified filter): it zeroes r->ctx without an internal redirect,
    # so the first look after it must walk too, or a second context pins a
    # second snapshot
    n = start(nginx_factory)
    log, _ = one(n, "/plain/a", expect=412,
                 headers={"If-Match": '"no-such-etag"'})
    assert log.count(FOUND_AGAIN) == 1, log.count(FOUND_AGAIN)
    assert len(PINS.findall(log)) == 1, PINS.findall(log)


def test_subrequests_share_the_main_request_snapshot(nginx_factory):
    n = start(nginx_factory)
    log, body = one(n, "/ssi/page.html")
    assert body == b"plain\nplain\n", body
    pins = PINS.findall(log)
    assert len(pins) == 1, pins
    assert log.count(NONE_YET) == 1, log.count(NONE_YET)
