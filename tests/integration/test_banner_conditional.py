"""Conditional page loads under an incident (issue 15): a response that
gets no banner answers as nginx answers without the module.

While a banner is due, a page load's If-None-Match and If-Modified-Since
are hidden from nginx's not_modified filter (a pre-incident copy must not
be revalidated into "no banner").  A response that then gets no banner
(a type other than text/html, a download, "outage_banner off" after an
internal redirect) is revalidated by the module as nginx would have.

The oracle is nginx itself: each request is sent once with no incident
declared (nginx's own not_modified filter decides) and once under the
incident; a response without a banner must come back with the same status
and headers (but Date, and the documented "Vary: Sec-Fetch-Dest").
"""

import gzip
import http.client
from email.utils import formatdate, parsedate_to_datetime

from harness import wait_for
from outage_fixtures import (ScriptedBackend, banner_nginx, declare,
                             scope_state, www_dir)

MARK = b'class="outage-banner '
PAGE_LOAD = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

PAGE = (b'<!doctype html><html><head><title>t</title></head>'
        b'<body class="s"><p>page</p></body></html>\n')

FILES = {
    "p.html": PAGE,
    "f.pdf": b"%PDF-1.4\n" + b"x" * 2000,
    "d.json": b'{"a": 1}\n',
    "s.css": b"body { color: red }\n",
    "s.css.gz": gzip.compress(b"body { color: red }\n"),
}

TYPES = """
            types {{
                text/html html; application/pdf pdf;
                application/json json; text/css css;
            }}
"""

LOCATIONS = """
        location /s/ {{ alias {www}/; %(types)s }}
        location /any/ {{ alias {www}/; outage_banner_types *; %(types)s }}
        location /exact/ {{
            alias {www}/; if_modified_since exact; %(types)s
        }}
        location /before/ {{
            alias {www}/; if_modified_since before; %(types)s
        }}
        location /ims_off/ {{
            alias {www}/; if_modified_since off; %(types)s
        }}
        location /dl/ {{
            alias {www}/; %(types)s
            add_header Content-Disposition "attachment; filename=p.html";
        }}
        location /tf/ {{ try_files /none @off; }}
        location @off {{
            outage_banner off;
            root {www};
            rewrite ^ /p.html break;
        }}
        location /px/ {{
            proxy_pass http://127.0.0.1:{up}/;
            proxy_cache c;
            proxy_cache_valid 200 10m;
        }}
        location /plain/ {{ proxy_pass http://127.0.0.1:{up}/; }}
        location /gz/ {{ alias {www}/; gzip_static on; %(types)s }}
        location /cd/ {{
            alias {www}/;
            add_header Content-Disposition $cd;
        }}
""" % {"types": TYPES}

# Content-Disposition values, the first bannered, the others downloads
INLINE = ['filename="p.html"', "filename*=UTF-8''p.html", "; filename=p.html",
          "inline; filename=p.html", "INLINE"]
DOWNLOAD = ['"inline"', 'name="p.html"', "filenamex", "attachment",
            "x-unknown"]


def nginx_string(v):
    return "'%s'" % v if "'" not in v else '"%s"' % v


HTTP = ("proxy_cache_path {dir}/cache keys_zone=c:1m;\n"
        "    map $arg_cd $cd {\n"
        + "".join("        %d %s;\n" % (i, nginx_string(v))
                  for i, v in enumerate(INLINE + DOWNLOAD))
        + "    }\n")

UP_ETAG = b'"up-1"'
UP_LM = b"Mon, 02 Mar 2026 10:00:00 GMT"


def upstream():
    """/att: an HTML download with validators, answered 200 whatever the
    request says; /own304: an HTML page whose upstream answers a matching
    If-None-Match itself with 304."""
    def answer(c, name, head):
        if name.startswith("own304") and b"if-none-match: " \
                + UP_ETAG in head.lower():
            c.sendall(b"HTTP/1.1 304 Not Modified\r\nETag: " + UP_ETAG
                      + b"\r\nConnection: close\r\n\r\n")
            return
        extra = b""
        if name.startswith("att"):
            extra = (b'Content-Disposition: attachment; filename="a.html"'
                     b"\r\n")
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                  b"ETag: " + UP_ETAG + b"\r\nLast-Modified: " + UP_LM
                  + b"\r\n" + extra + b"Content-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % len(PAGE) + PAGE)

    return ScriptedBackend(answer, head=True)


def fetch(n, method, path, headers):
    """(status, [(name, value)...] without Date, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
    try:
        conn.request(method, path, headers=headers)
        r = conn.getresponse()
        body = r.read()
        hs = [(k.lower(), v) for k, v in r.getheaders()
              if k.lower() != "date"]
        return r.status, hs, body
    finally:
        conn.close()


def comparable(hs):
    """Headers as compared with nginx's own answer: the banner's documented
    Vary: Sec-Fetch-Dest left out."""
    return sorted(h for h in hs if h != ("vary", "Sec-Fetch-Dest"))


def hdr(hs, name):
    return [v for k, v in hs if k == name]


def start(nginx_factory, redis, tmp_path):
    up = upstream()
    n = banner_nginx(nginx_factory, redis,
                     LOCATIONS.format(www=www_dir(tmp_path, FILES),
                                      up=up.port),
                     http=HTTP)
    return n, up


def validators(n, path):
    st, hs, _ = fetch(n, "GET", path, {})
    assert st == 200, path
    return hdr(hs, "etag")[0], hdr(hs, "last-modified")[0]


def later(http_date, seconds):
    t = parsedate_to_datetime(http_date).timestamp() + seconds
    return formatdate(t, usegmt=True)


def cases(n):
    """(name, method, path, headers) of the requests whose answers must be
    nginx's; page loads all, but one image fetch."""
    pdf_etag, pdf_lm = validators(n, "/s/f.pdf")
    json_etag, _ = validators(n, "/s/d.json")
    css_etag, css_lm = validators(n, "/s/s.css")
    html_etag, html_lm = validators(n, "/s/p.html")
    validators(n, "/px/att")            # fills the cache
    st, hs, _ = fetch(n, "GET", "/gz/s.css", {"Accept-Encoding": "gzip"})
    assert hdr(hs, "content-encoding") == ["gzip"]
    gz_etag = hdr(hs, "etag")[0]
    load = {"Accept": PAGE_LOAD}

    def c(**kw):
        return dict(load, **kw)

    out = []
    for loc in ("s", "any"):
        out += [
            ("pdf inm", "GET", "/%s/f.pdf" % loc,
             c(**{"If-None-Match": pdf_etag})),
            ("pdf inm weak", "GET", "/%s/f.pdf" % loc,
             c(**{"If-None-Match": '"x", W/' + pdf_etag})),
            ("json inm", "GET", "/%s/d.json" % loc,
             c(**{"If-None-Match": json_etag})),
            ("css inm", "GET", "/%s/s.css" % loc,
             c(**{"If-None-Match": css_etag})),
            ("css inm *", "GET", "/%s/s.css" % loc,
             c(**{"If-None-Match": "*"})),
            ("pdf inm mismatch", "GET", "/%s/f.pdf" % loc,
             c(**{"If-None-Match": '"nope"'})),
            ("pdf ims", "GET", "/%s/f.pdf" % loc,
             c(**{"If-Modified-Since": pdf_lm})),
            ("pdf head inm", "HEAD", "/%s/f.pdf" % loc,
             c(**{"If-None-Match": pdf_etag})),
        ]
    for loc in ("exact", "before", "ims_off"):
        out += [
            ("css ims equal", "GET", "/%s/s.css" % loc,
             c(**{"If-Modified-Since": css_lm})),
            ("css ims later", "GET", "/%s/s.css" % loc,
             c(**{"If-Modified-Since": later(css_lm, 3600)})),
            ("css ims earlier", "GET", "/%s/s.css" % loc,
             c(**{"If-Modified-Since": later(css_lm, -3600)})),
            ("css ims garbage", "GET", "/%s/s.css" % loc,
             c(**{"If-Modified-Since": "yesterday"})),
            # nginx wants both to pass (RFC 9110 would ignore the date)
            ("css both", "GET", "/%s/s.css" % loc,
             c(**{"If-None-Match": css_etag,
                  "If-Modified-Since": later(css_lm, 3600)})),
        ]
    out += [
        ("html download inm", "GET", "/dl/p.html",
         c(**{"If-None-Match": html_etag})),
        ("html download ims", "GET", "/dl/p.html",
         c(**{"If-Modified-Since": html_lm})),
        ("banner off after redirect", "GET", "/tf/x",
         c(**{"If-None-Match": html_etag})),
        ("proxied download inm", "GET", "/px/att",
         c(**{"If-None-Match": UP_ETAG.decode()})),
        ("proxied download ims", "GET", "/px/att",
         c(**{"If-Modified-Since": UP_LM.decode()})),
        ("proxied download mismatch", "GET", "/px/att",
         c(**{"If-None-Match": '"up-2"'})),
        ("proxied download head", "HEAD", "/px/att",
         c(**{"If-None-Match": UP_ETAG.decode()})),
        ("upstream's own 304", "GET", "/plain/own304",
         c(**{"If-None-Match": UP_ETAG.decode()})),
        ("gzip_static inm", "GET", "/gz/s.css",
         c(**{"If-None-Match": gz_etag, "Accept-Encoding": "gzip"})),
        ("image fetch", "GET", "/s/f.pdf",
         {"Accept": "image/avif,image/webp,*/*", "Sec-Fetch-Dest": "image",
          "If-None-Match": pdf_etag}),
    ]
    return out, html_etag, html_lm


def test_no_banner_answers_as_nginx(nginx_factory, redis, tmp_path):
    n, up = start(nginx_factory, redis, tmp_path)
    try:
        reqs, _, _ = cases(n)
        before = [fetch(n, m, p, h) for _, m, p, h in reqs]

        declare(n, redis, "Slow")
        after = [fetch(n, m, p, h) for _, m, p, h in reqs]
    finally:
        up.stop()

    wrong = []
    for (name, method, path, _), b, a in zip(reqs, before, after):
        what = "%s %s (%s)" % (method, path, name)
        if a[0] != b[0]:
            wrong.append("%s: %d under the incident, nginx says %d"
                         % (what, a[0], b[0]))
        elif comparable(a[1]) != comparable(b[1]):
            wrong.append("%s: headers %s, nginx's %s"
                         % (what, comparable(a[1]), comparable(b[1])))
        elif a[2] != b[2] or MARK in a[2]:
            wrong.append("%s: body differs" % what)
    assert not wrong, "\n".join(wrong)
    # the oracle said both, so both were checked
    assert {b[0] for b in before} == {200, 304}


def test_page_still_gets_the_banner(nginx_factory, redis, tmp_path):
    n, up = start(nginx_factory, redis, tmp_path)
    try:
        _, etag, lm = cases(n)
        load = {"Accept": PAGE_LOAD}
        for cond in ({"If-None-Match": etag}, {"If-Modified-Since": lm},
                     {"If-None-Match": etag, "If-Modified-Since": lm}):
            st, _, _ = fetch(n, "GET", "/s/p.html", dict(load, **cond))
            assert st == 304, cond         # nginx, no incident

        declare(n, redis, "Slow")
        for cond in ({"If-None-Match": etag}, {"If-Modified-Since": lm},
                     {"If-None-Match": etag, "If-Modified-Since": lm}):
            st, hs, body = fetch(n, "GET", "/s/p.html", dict(load, **cond))
            assert st == 200 and body.count(MARK) == 1, cond
            st, hs, body = fetch(n, "HEAD", "/s/p.html", dict(load, **cond))
            assert st == 200 and hdr(hs, "x-outage-banner"), cond
            # a proxied page from a cache too
            st, hs, body = fetch(n, "GET", "/px/page",
                                 dict(load, **{"If-None-Match":
                                               UP_ETAG.decode()}))
            assert st == 200 and body.count(MARK) == 1

        # the incident ends: nginx's own 304s again
        redis.cli("DEL", "outage:site")
        wait_for(lambda: scope_state(n) == "ok", what="incident over")
        st, _, _ = fetch(n, "GET", "/s/p.html",
                         dict(load, **{"If-None-Match": etag}))
        assert st == 304
    finally:
        up.stop()


def test_content_disposition_as_browsers_read_it(nginx_factory, redis,
                                                 tmp_path):
    """A banner only where Firefox, Chromium and Safari all render the
    response in the tab: a header that is only a filename parameter (no
    type) is rendered; a quoted "inline" or name=... is a download in
    Firefox, a token starting with "filename" one in Chromium."""
    n, up = start(nginx_factory, redis, tmp_path)
    try:
        declare(n, redis, "Slow")
        for i, cd in enumerate(INLINE + DOWNLOAD):
            bannered = cd in INLINE
            st, hs, body = fetch(n, "GET", "/cd/p.html?cd=%d" % i,
                                 {"Accept": PAGE_LOAD})
            assert st == 200 and hdr(hs, "content-disposition") == [cd], cd
            assert body.count(MARK) == (1 if bannered else 0), cd
            if not bannered:
                assert body == PAGE, cd
    finally:
        up.stop()
