"""A `since` ahead of nginx's clock (the incident tool's host runs fast, a
typo in the day) is shown as now on the 503 page and the status page, as
the banner does: an incident in effect never "starts in 3 days" (review s9
R0 F7).  The oracle is html5lib's text of the served pages."""

import time

import html5lib

from harness import wait_for

CONF = """
    outage_redis 127.0.0.1:%(redis)d interval=200ms timeout=200ms
                 connect_timeout=200ms;
    outage_scopes checkout;
    server {
        listen 127.0.0.1:{port};
        root %(www)s;
        location /shop/ { outage_page checkout; try_files /index.html =404; }
        location = /st { outage_status_page checkout format=html; }
        location = /outage/status { outage_status; }
    }
"""


def text(body):
    doc = html5lib.parse(body, namespaceHTMLElements=False)
    return " ".join("".join(doc.itertext()).split())


def test_future_since_is_shown_as_now(nginx_factory, redis, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_bytes(b"<p>shop</p>")
    n = nginx_factory(CONF % {"redis": redis.port, "www": www}, workers=1)
    ahead = int(time.time()) + 3 * 86400
    redis.cli("HSET", "outage:checkout", "state", "down",
              "message", "Payments are failing", "since", str(ahead))
    wait_for(lambda: [s for s in n.status_json()["scopes"]
                      if s["name"] == "checkout" and s["state"] == "down"],
             what="incident")

    st, _, body = n.get("/shop/")
    assert st == 503
    page = text(body)
    assert "Payments are failing" in page
    assert "Started" in page and "in 3 days" not in page, page
    assert "(just now)" in page or "min ago" in page, page

    st, _, body = n.get("/st")
    assert st == 200
    status = text(body)
    assert "Since" in status and "in 3 days" not in status, status
