"""A bannered page carries no caching field a CDN or a front nginx reads
instead of Cache-Control (RFC 9213 CDN-Cache-Control and its targeted
forms, Surrogate-Control, Edge-Control, X-Accel-Expires): else the CDN
keeps the banner for their max-age, long after the incident.
"""
import pytest

from outage_fixtures import ScriptedBackend, banner_nginx, response

PAGE = b"<!DOCTYPE html><html><head><title>s</title></head><body><p>shop</p></body></html>"
EDGE = [b"CDN-Cache-Control: max-age=3600",
        b"Cloudflare-CDN-Cache-Control: max-age=3600",
        b"Surrogate-Control: max-age=3600",
        b"Edge-Control: cache-maxage=3600s",
        b"X-Accel-Expires: 3600",
        # not caching fields: they stay
        b"X-CDN-Cache-Controlled: yes",
        b"MyCDN-Cache-Control: max-age=1"]


# with a Cache-Control, and with the CDN's fields alone
@pytest.mark.parametrize("cc", [[b"Cache-Control: no-cache"], []])
def test_bannered_page_carries_no_cdn_ttl(redis, nginx_factory, cc):
    up = ScriptedBackend(lambda c, name: c.sendall(response(
        PAGE, b"Content-Type: text/html", *(cc + EDGE))))
    try:
        n = banner_nginx(nginx_factory, redis,
                         "location / { proxy_pass http://127.0.0.1:%d; }"
                         % up.port, incident="Checkout is slow")
        st, hs, body = n.get("/", headers={"Accept": "text/html"})
    finally:
        up.stop()
    assert st == 200 and b"Checkout is slow" in body   # bannered
    assert hs.get("cache-control") == "no-store"
    left = {k: v for k, v in hs.items()
            if k in ("cdn-cache-control", "cloudflare-cdn-cache-control",
                     "surrogate-control", "edge-control", "x-accel-expires")}
    assert not left, "bannered page still tells the CDN to keep it: %s" % left
    assert hs.get("x-cdn-cache-controlled") == "yes"
    assert hs.get("mycdn-cache-control") == "max-age=1"
