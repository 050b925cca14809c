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
        b"Akamai-Cache-Control: max-age=3600",
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
                         "location / { proxy_pass http://127.0.0.1:%d; "
                         # else nginx's proxy never passes it on
                         "proxy_pass_header X-Accel-Expires; }"
                         % up.port, incident="Checkout is slow")
        st, hs, body = n.get("/", headers={"Accept": "text/html"})
    finally:
        up.stop()
    assert st == 200 and b"Checkout is slow" in body   # bannered
    assert hs.get("cache-control") == "no-store"
    left = {k: v for k, v in hs.items()
            if k in ("cdn-cache-control", "cloudflare-cdn-cache-control",
                     "surrogate-control", "edge-control", "x-accel-expires",
                     "akamai-cache-control")}
    assert not left, "bannered page still tells the CDN to keep it: %s" % left
    assert hs.get("x-cdn-cache-controlled") == "yes"
    assert hs.get("mycdn-cache-control") == "max-age=1"


PRIVATE_PAGE = PAGE.replace(b"shop", b"hi")


# review s11 R3 F1: with outage_banner_nocache off, an upstream's marker that
# does not cover the banner makes the header walk run to replace it; it must
# not take the upstream's own "private, no-store" away with it
def test_nocache_off_keeps_upstream_cache_control(redis, nginx_factory):
    up = ScriptedBackend(lambda c, name: c.sendall(response(
        PRIVATE_PAGE, b"Content-Type: text/html",
        b"Cache-Control: private, no-store",
        b"Expires: Thu, 01 Jan 1970 00:00:00 GMT",
        b"X-Outage-Banner: nope")))
    try:
        n = banner_nginx(nginx_factory, redis,
                         "location / { outage_banner_nocache off;"
                         " proxy_pass http://127.0.0.1:%d; }" % up.port,
                         incident="Checkout is slow")
        st, hs, body = n.get("/", headers={"Accept": "text/html"})
    finally:
        up.stop()
    assert st == 200 and b"Checkout is slow" in body      # bannered
    assert hs.get("cache-control") == "private, no-store", hs
    assert hs.get("expires"), hs
