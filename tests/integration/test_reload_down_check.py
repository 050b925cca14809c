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


def one_notice(n):
    """The notice, once: one check down of scope "shop", refused."""
    m = wait_for(lambda: NOTICE.search(n.log_text()), timeout=10,
                 what="the notice of the dropped down check")
    assert m.group(1) == "1"
    assert m.group(2) == "shop"
    assert m.group(3) == "check: connection refused"
    assert len(NOTICE.findall(n.log_text())) == 1


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
    one_notice(n)

    # the new check goes down by itself, as the notice says
    wait_for(lambda: down(n), timeout=15, what="the new check down")


def full_conf(dead, live, down_scope, down_url="/health"):
    """A full zone: 64 scopes ("site" and 63 named) and 64 checks.  The
    first check probes a dead port, the others a live server, rarely."""
    lines = ["outage_check %s http://127.0.0.1:%d%s interval=1s "
             "timeout=500ms fall=1 rise=2;" % (down_scope, dead, down_url)]
    lines += ["outage_check f%d http://127.0.0.1:%d/h%d interval=60s "
              "timeout=1s;" % (i, live, i) for i in range(1, 63)]
    lines += ["outage_check f1 http://127.0.0.1:%d/h0 interval=60s "
              "timeout=1s;" % live]
    return "\n".join(lines) + """
server {
    listen 127.0.0.1:{port};
    location / { outage_page %s; proxy_pass http://127.0.0.1:%d; }
    location = /outage/status { outage_status; }
}
""" % (down_scope, dead)


def test_full_zone_reload_that_takes_a_down_check_slot_says_so(
        nginx_factory):
    # review s8/R6 LOW 1: with every check and scope slot named by the
    # running configuration, the changed check takes the very slot of the
    # down one, and its renamed scope the old scope's: the notice still
    # counts it and names the old scope (before guard9: no notice at all)
    from passive_helpers import serve, stop_server
    live = serve()
    dead = free_port()
    try:
        n = nginx_factory(full_conf(dead, live.server_address[1], "shop"))
        wait_for(lambda: down(n), timeout=15, what="the check down")

        n.write_conf(full_conf(dead, live.server_address[1], "store"))
        n.reload()
        one_notice(n)
        assert re.search(r"reuses the slots of 2 scope\(s\) or check\(s\)",
                         n.log_text())
    finally:
        stop_server(live)


def test_removed_down_check_is_said_without_a_new_check(nginx_factory):
    # review s8/R6 INFO 2: a removed check has no "new check" to wait for
    dead, other = free_port(), free_port()
    n = nginx_factory(conf(dead))
    wait_for(lambda: down(n), timeout=15, what="the check down")
    n.write_conf(conf(other, scope="store"))
    n.reload()
    wait_for(lambda: NOTICE.search(n.log_text()), timeout=10,
             what="the notice of the removed down check")
    line = [ln for ln in n.log_text().splitlines() if NOTICE.search(ln)][0]
    assert "a check removed, or whose scope, URL, method or headers " \
           "changed, no longer keeps its scope down" in line, line
