"""A reload that makes a down check another check says so (review s8/R1
LOW 5).

A check is known by its scope, URL, method and headers: a reload that
changes one of them (a query added to the URL, the scope renamed) makes
a new check that starts unknown, and the scope is not down by health
until that one fails "fall" times.  That is the documented rule
(docs/reliability.md#stale-state); what must not happen is that a real
outage ends without a line: the first worker of the new configuration
logs one notice naming how many down checks it does not probe, the
first one's scope and reason.  A reload that keeps the check (only its
interval changed) keeps it down and says nothing of the kind.
"""

import re

from harness import free_port, wait_for

NOTICE = re.compile(r'\[notice\].*outage: configuration \d+ does not probe '
                    r'(\d+) check\(s\) that were down under the running '
                    r'configuration \(the first: of scope "([^"]*)", '
                    r'"([^"]*)"\)')


def conf(dead, url="/health", scope="shop", interval="1s"):
    return """
outage_check %s http://127.0.0.1:%d%s interval=%s timeout=500ms fall=2 rise=2;
server {
    listen 127.0.0.1:{port};
    location / { outage_page %s; proxy_pass http://127.0.0.1:%d; }
    location = /outage/status { outage_status; }
}
""" % (scope, dead, url, interval, scope, dead)


def down(n):
    return any(c["health"] == "down" for c in n.status_json()["checks"])


def test_reload_that_changes_a_down_check_says_so(nginx_factory):
    dead = free_port()      # nothing listens: the application is dead
    n = nginx_factory(conf(dead))
    wait_for(lambda: down(n), timeout=15, what="the check down")

    # same check, another interval: kept down, no notice
    n.write_conf(conf(dead, interval="2s"))
    n.reload()
    assert down(n)
    assert not NOTICE.search(n.log_text())

    # a query added to the URL: another check, which starts unknown
    n.write_conf(conf(dead, url="/health?full=1", interval="2s"))
    n.reload()
    m = wait_for(lambda: NOTICE.search(n.log_text()), timeout=10,
                 what="the notice of the dropped down check")
    assert m.group(1) == "1"
    assert m.group(2) == "shop"
    assert m.group(3) == "check: connection refused"
    assert len(NOTICE.findall(n.log_text())) == 1

    # the new check goes down by itself, as the notice says
    wait_for(lambda: down(n), timeout=15, what="the new check down")
