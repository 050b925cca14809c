"""Which responses are HTML pages a banner may go into (issue 15), whatever
outage_banner_types says: text/html only, and a body of no type (or
application/unknown...) when it starts like HTML and nosniff does not
forbid sniffing (WHATWG MIME Sniffing); never another type, even one whose
body starts like HTML (application/x-foo, octet-stream, text/plain: the
browser downloads or shows text), never a download (Content-Disposition),
never a fetch() or an iframe (Sec-Fetch-Dest), never a charset an ASCII
banner cannot go into (UTF-16...).
"""

import html
import re

from harness import wait_for
from outage_fixtures import (ScriptedBackend, banner_nginx, response,
                             www_dir)

MARK = b'class="outage-banner '

PAGE = (b'<!doctype html><html><head><title>t</title></head>'
        b'<body class="s"><p>page</p></body></html>\n')

LOCATIONS = """
        location /any/ {{
            alias {www}/;
            outage_banner_types *;
            types {{
                text/html html; text/css css; application/javascript js;
                application/json json; image/svg+xml svg;
                application/xml xml; text/plain txt;
                application/xhtml+xml xhtml; application/x-foo foo;
                application/problem+json pjson;
            }}
            default_type text/html;
        }}
        location /up/ {{
            proxy_pass http://127.0.0.1:{be}/;
            outage_banner_types *;
        }}
        location /dl/ {{
            alias {www}/;
            add_header Content-Disposition $arg_cd;
        }}
        location /nt/ {{
            alias {www}/;
            outage_banner_types *;
            types {{ }}
            default_type "";
            add_header X-Content-Type-Options $arg_xcto;
        }}
        location /upd/ {{
            proxy_pass http://127.0.0.1:{be}/;
        }}
        location /ct/ {{
            alias {www}/;
            default_type text/html;
            add_header Content-Type $arg_ct;
        }}
        location /koi/ {{
            alias {www}/;
            source_charset koi8-r;
            charset $arg_cs;
        }}
"""


def start(nginx_factory, redis, tmp_path, files, routes):
    """The site with an incident; the upstream answers /NAME with
    routes[NAME] = (content-type or None, body, header...)."""

    def answer(c, name):
        ctype, body, *extra = routes[name]
        if ctype is not None:
            extra.append(b"Content-Type: " + ctype)
        c.sendall(response(body, *extra))

    www = www_dir(tmp_path, files)
    be = ScriptedBackend(answer)
    n = banner_nginx(nginx_factory, redis,
                     LOCATIONS.format(www=www, be=be.port),
                     http="include /etc/nginx/koi-win;\n"
                          "    include /etc/nginx/koi-utf;",
                     incident="Slow")
    return n, be


def test_never_into_what_is_not_an_html_page(nginx_factory, redis, tmp_path):
    files = {
        "s.css": b"body { color: red }\n",
        "s.js": b"document.title = '<body>';\n",
        "d.json": b'{"ok": true, "html": "<body>"}',
        "p.pjson": b'{"type": "about:blank"}',
        "i.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><text>x</text>'
                 b'</svg>',
        "h.svg": b"<html><body><svg/></body></html>",      # still SVG
        "f.xml": b'<?xml version="1.0"?><feed><body>x</body></feed>',
        "t.txt": b"<html><body>shown as text</body></html>",
        "x.xhtml": b'<html xmlns="http://www.w3.org/1999/xhtml"><body>'
                   b'<p>x</p></body></html>',
        "n.foo": b"plain words, not a page <body>",
        "h.foo": b"\n  <!DOCTYPE html><html><body><p>x</p></body></html>",
        "p.html": PAGE,
    }
    n, be = start(nginx_factory, redis, tmp_path, files, {})
    skips = n.status_json()["counters"]["banner_skips"]
    for name, data in files.items():
        st, h, body = n.get("/any/" + name)
        assert st == 200, name
        if name == "p.html":
            assert body.count(MARK) == 1, name
            assert h["vary"] == "Sec-Fetch-Dest"
        else:
            # h.foo starts like HTML, but a browser never sniffs a named
            # type into HTML: it downloads application/x-foo as it is
            assert body == data, name
            assert "x-outage-banner" not in h, name
    assert n.status_json()["counters"]["banner_skips"] == skips + 11
    be.stop()


def test_only_page_loads(nginx_factory, redis, tmp_path):
    n, be = start(nginx_factory, redis, tmp_path, {"p.html": PAGE}, {})
    for dest in ("empty", "iframe", "frame", "embed", "object", "script",
                 "style"):
        st, h, body = n.get("/any/p.html", headers={"Sec-Fetch-Dest": dest})
        assert st == 200 and body == PAGE, dest
        assert "x-outage-banner" not in h
    for headers in ({"Sec-Fetch-Dest": "document"}, {}):
        st, h, body = n.get("/any/p.html", headers=headers)
        assert body.count(MARK) == 1, headers
    # an iframe revalidating its copy keeps its 304: it gets no banner
    st, h, _ = n.get("/any/p.html", headers={"Sec-Fetch-Dest": "iframe"})
    etag = h["etag"]                                # the page's own
    frame = {"Sec-Fetch-Dest": "iframe", "If-None-Match": etag,
             "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    assert n.get("/any/p.html", headers=frame)[0] == 304
    page = dict(frame, **{"Sec-Fetch-Dest": "document"})
    assert n.get("/any/p.html", headers=page)[0] == 200
    # HEAD: the headers GET would get
    st, h, _ = n.request("HEAD", "/any/p.html",
                         headers={"Sec-Fetch-Dest": "empty"})
    assert "x-outage-banner" not in h and "content-length" in h
    be.stop()


def test_charsets_that_are_not_ascii_compatible(nginx_factory, redis,
                                                tmp_path):
    # CJK first: no NUL in the first bytes, the body's own sniff sees no
    # UTF-16; only the charset parameter says so
    cjk = "\u4e2d\u6587<body><p>\u4e2d</p></body>".encode("utf-16-le")
    routes = {
        "u16": (b"text/html; charset=utf-16le", cjk),
        "u16q": (b'text/html;charset="UTF-16"', cjk),
        "u32": (b"text/html; charset=utf-32", "<p>x</p>".encode("utf-32")),
        "jis": (b"text/html; charset=ISO-2022-JP",
                "<body>\u65e5\u672c".encode("iso2022_jp")),
        "u8": (b"text/html; charset=utf-8", PAGE),
        "koi": (b"text/html; charset=koi8-r", PAGE),
    }
    n, be = start(nginx_factory, redis, tmp_path, {}, routes)
    for name, (ctype, data) in routes.items():
        st, h, body = n.get("/up/" + name)
        assert st == 200, name
        if name in ("u8", "koi"):
            assert body.count(MARK) == 1, name
        else:
            assert body == data, name
    be.stop()


def test_banner_survives_charset_recoding(nginx_factory, redis, tmp_path):
    """nginx's charset filter recodes the page, banner and all, from
    source_charset: the banner is ASCII (non-ASCII as character
    references), so every recoding leaves it as it was rendered."""
    page = ("<!doctype html><html><head></head><body><p>\u0446\u0435\u043d"
            "\u0430</p></body></html>").encode("koi8-r")
    n, be = start(nginx_factory, redis, tmp_path, {"p.html": page}, {})
    message = "Caf\u00e9 \u00e0 la carte \u2014 \U0001f6a7"
    redis.cli("SET", "outage:site", message)
    wait_for(lambda: b"la carte" in n.get("/koi/p.html?cs=koi8-r")[2],
             what="the new message")
    for cs, codec in (("koi8-r", "koi8-r"), ("utf-8", "utf-8"),
                      ("windows-1251", "cp1251")):
        st, h, body = n.get("/koi/p.html?cs=" + cs)
        assert st == 200 and body.count(MARK) == 1, cs
        banner = body[body.index(b"<style"):body.index(b"</div></div>")]
        assert max(banner) < 0x80, cs               # pure ASCII
        text = html.unescape(re.search(
            r'outage-banner__message">(.*?)</span>',
            banner.decode("ascii")).group(1))
        assert text == message, cs
        # the page itself is recoded as before
        assert "\u0446\u0435\u043d\u0430" in body.decode(codec), cs
    be.stop()


def test_downloads_and_types_a_browser_does_not_sniff(nginx_factory, redis,
                                                      tmp_path):
    """A file saved to disk (Content-Disposition other than inline) or of a
    named type other than text/html stays the server's bytes, even when it
    starts like HTML; a body of no type is a page when it starts like HTML,
    unless X-Content-Type-Options: nosniff forbids sniffing."""
    routes = {
        "att": (b"text/html", PAGE,
                b'Content-Disposition: attachment; filename="p.html"'),
        "unk": (b"text/html", PAGE, b"Content-Disposition: x-unknown"),
        "inl": (b"text/html", PAGE, b"Content-Disposition: inline"),
        "oct": (b"application/octet-stream", PAGE),
        "plain": (b"text/plain", PAGE),
        "foo": (b"application/x-foo", PAGE),
        "none": (None, PAGE),
        "none-ns": (None, PAGE, b"X-Content-Type-Options: nosniff"),
        "unknown": (b"application/unknown", PAGE),
        "unknown-ns": (b"application/unknown", PAGE,
                       b"X-Content-Type-Options: NoSniff"),
        "none-text": (None, b"just words <body>"),
        # nginx keeps the space before ";" in the type: still text/html
        "space": (b"text/html ; charset=utf-8", PAGE),
    }
    banner = {"inl", "none", "unknown", "space"}
    n, be = start(nginx_factory, redis, tmp_path, {"p.html": PAGE}, routes)
    skips = n.status_json()["counters"]["banner_skips"]
    for name in routes:
        st, h, body = n.get("/up/" + name)
        assert st == 200, name
        if name in banner:
            assert body.count(MARK) == 1, name
        else:
            assert body == PAGE or body == routes[name][1], name
            if name != "none-text":         # decided on the body
                assert "x-outage-banner" not in h, name
    assert (n.status_json()["counters"]["banner_skips"]
            == skips + len(routes) - len(banner))

    # add_header runs before the module decides: a download keeps its
    # validators and length, as without an incident
    skips = n.status_json()["counters"]["banner_skips"]
    for cd, bannered in (("attachment", False), ("inline", True),
                         ("attachment;filename=inline", False)):
        st, h, body = n.get("/dl/p.html?cd=" + cd)
        assert st == 200 and h["content-disposition"] == cd
        assert body.count(MARK) == (1 if bannered else 0), cd
        if not bannered:
            assert body == PAGE, cd
            assert h["content-length"] == str(len(PAGE)), cd
            assert not h["etag"].startswith("W/"), cd
            assert "x-outage-banner" not in h, cd
    for xcto, bannered in (("nosniff", False), ("", True)):
        st, h, body = n.get("/nt/p.html?xcto=" + xcto)
        assert st == 200 and "content-type" not in h
        assert body.count(MARK) == (1 if bannered else 0), xcto
    assert n.status_json()["counters"]["banner_skips"] == skips + 3
    be.stop()


def test_types_with_parameters_and_more_than_one_content_type(
        nginx_factory, redis, tmp_path):
    """text/html with any parameters is a page, with the default
    outage_banner_types too (nginx keeps "text/html;level=1" whole);
    with two Content-Type headers (add_header Content-Type over
    default_type) browsers take the last one: no banner unless each is
    text/html; a body of no type that starts with a byte order mark, or
    with its first tag past the bytes Chromium sniffs, shows as text; HEAD
    requests are not counted as skips."""
    pages = {
        "spsemi": b"text/html ; charset=utf-8",
        "tab": b"text/html;\tcharset=utf-8",
        "param": b"text/html; foo=bar",
        "level": b"text/html;level=1",
        "param-cs": b"text/html; foo=bar; charset=utf-8",
        "upper": b"TEXT/HTML ;Level=1",
    }
    routes = {k: (v, PAGE) for k, v in pages.items()}
    routes.update({
        "param-u16": (b"text/html; foo=bar; charset=utf-16", PAGE),
        "bom": (None, b"\xef\xbb\xbf" + PAGE),
        "ws100": (None, b" " * 100 + PAGE),
        "ws600": (None, b"\n" * 600 + PAGE),
    })
    n, be = start(nginx_factory, redis, tmp_path,
                  {"p.html": PAGE, "robots.txt": b"User-agent: *\n"}, routes)
    for name in routes:
        for loc in ("/up/", "/upd/"):
            if loc == "/upd/" and name not in pages:
                continue              # no type: only with "*"
            st, h, body = n.get(loc + name)
            assert st == 200, (loc, name)
            want = 1 if name in pages or name == "ws100" else 0
            assert body.count(MARK) == want, (loc, name)
            if not want:
                assert body == routes[name][1], (loc, name)

    # the robots.txt snippet: default_type text/html, add_header text/plain
    skips = n.status_json()["counters"]["banner_skips"]
    for ct, bannered in (("text/plain", False), ("text/html", True),
                         ("text/html;charset=utf-16", False),
                         ("TEXT/HTML;level=1", True)):
        st, h, body = n.get("/ct/robots.txt?ct=" + ct)
        assert st == 200, ct
        assert body.count(MARK) == (1 if bannered else 0), ct
        if not bannered:
            assert body == b"User-agent: *\n", ct
            assert h["content-length"] == str(len(body)), ct
            assert "x-outage-banner" not in h, ct
    assert n.status_json()["counters"]["banner_skips"] == skips + 2

    # HEAD is not a skipped banner
    skips = n.status_json()["counters"]["banner_skips"]
    st, h, _ = n.request("HEAD", "/ct/robots.txt?ct=text/plain")
    assert st == 200 and "x-outage-banner" not in h
    st, h, _ = n.request("HEAD", "/dl/p.html?cd=attachment")
    assert st == 200 and "x-outage-banner" not in h
    assert n.status_json()["counters"]["banner_skips"] == skips
    be.stop()


def test_nginx_t_warns_about_types_that_never_get_a_banner(nginx_factory,
                                                            tmp_path):
    conf = """
        server {
            listen 127.0.0.1:{port};
            location / {
                outage_banner on;
                outage_banner_types application/xhtml+xml Text/Plain
                                    application/unknown */* text/html;
            }
        }
    """
    n = nginx_factory(conf, start=False)
    ok, out = n.test_config()
    assert ok, out
    warned = [ln for ln in out.splitlines() if "[warn]" in ln
              and "outage_banner_types" in ln]
    assert len(warned) == 2, out
    assert '"application/xhtml+xml"' in warned[0], out
    assert '"Text/Plain"' in warned[1], out
    assert "never gets a banner" in warned[0], out
    assert re.search(r"nginx\.conf:\d+", warned[0]), out


# Content-Type lists (review s6 B1): Fetch's "extract a MIME type" and
# Chromium take the LAST type of a comma list; no banner unless every type
# in it is text/html (browsers differ at the edges: see sniff.c)
CT_LISTS = {
    "a": (b"text/html, text/plain", 0),
    "b": (b"text/html;charset=utf-8, text/plain", 0),
    "c": (b"text/html;level=1, text/plain", 0),
    "d": (b"text/html; charset=utf-8", 1),
    "e": (b"text/html;charset=utf-8, text/html;charset=utf-16", 0),
    "f": (b'text/html;x="a,b", text/plain', 0),
    "g": (b"text/html;level=1, text/html;charset=utf-8", 1),
    "h": (b'text/html;x="a, text/plain"', 1),
}
ADD_HEADER_LISTS = {          # $arg_ct is not URL-decoded: no spaces
    "text/html;x=1,text/plain": 0,
    "text/html;charset=utf-8,text/plain": 0,
    "text/html,text/html;level=1": 1,
}


def chromium_dom(url):
    """The DOM headless Chromium builds for url, or None without it."""
    import os
    import shutil
    import subprocess
    import tempfile
    if not os.access("/usr/bin/chromium", os.X_OK):
        return None
    profile = tempfile.mkdtemp(prefix="outage-chromium-")
    try:
        out = subprocess.run(
            ["/usr/bin/chromium", "--headless", "--no-sandbox",
             "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--user-data-dir=" + profile, "--dump-dom", url],
            capture_output=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.decode("utf-8", "replace")


def test_content_type_lists_as_browsers_read_them(nginx_factory, redis,
                                                  tmp_path):
    routes = {k: (ct, PAGE) for k, (ct, _) in CT_LISTS.items()}
    n, be = start(nginx_factory, redis, tmp_path,
                  {"robots.txt": b"User-agent: *\n", "p.html": PAGE}, routes)
    shown = []
    for loc in ("/up/", "/upd/"):
        for name, (ct, want) in CT_LISTS.items():
            st, h, body = n.get(loc + name)
            assert st == 200, (loc, name)
            assert h["content-type"] == ct.decode(), (loc, name)
            assert body.count(MARK) == want, (loc, name, ct)
            if not want:
                assert body == PAGE, (loc, name)
                assert "x-outage-banner" not in h, (loc, name)
            if loc == "/up/":
                shown.append(("http://127.0.0.1:%d/up/%s" % (n.port, name),
                              body))
    for ct, want in ADD_HEADER_LISTS.items():
        st, h, body = n.get("/ct/p.html?ct=" + ct)
        assert st == 200, ct
        assert body.count(MARK) == want, ct
        if not want:
            assert body == PAGE, ct
        shown.append(("http://127.0.0.1:%d/ct/p.html?ct=%s" % (n.port, ct),
                      body))

    # the oracle: a bannered response is one Chromium renders as a page
    # (markup shown as text would hold "&lt;style"); skipped without it
    for url, body in shown:
        if MARK not in body:
            continue
        dom = chromium_dom(url)
        if dom is None:
            break
        assert "&lt;" not in dom and "outage-banner" in dom, (url, dom[:300])
    be.stop()


def test_content_type_decision_against_a_model_of_fetch(tmp_path):
    """The module's decision (sniff.c, compiled alone) against
    tests/oracle/ct_model.py on 20000 generated values of one seed: never
    a banner where Fetch reads no ASCII text/html page; and ordinary
    values are read alike."""
    import os
    import subprocess
    import sys
    repo = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    sys.path.insert(0, os.path.join(repo, "tests", "oracle"))
    import ct_model
    src = os.path.join(repo, "ngx_outage_module")
    drv = str(tmp_path / "ct_driver")
    subprocess.run(["cc", "-std=gnu99", "-O1", "-Wall", "-Werror",
                    "-I" + src, os.path.join(repo, "tests", "oracle",
                                             "ct_driver.c"),
                    os.path.join(src, "ngx_http_outage_sniff.c"), "-o", drv],
                   check=True)
    cases = ct_model.values(61, 20000)
    # the review's divergences of d061b66, then ordinary values
    cases += ["text/html;level=1, text/plain", "text/html;,text/plain",
              "TEXT/HTML;utf-8,text/plain", "text/html;\t;,text/plain",
              "TEXT/HTML;,TEXT/HTMLx", "TEXT/HTML;\\ ,text/plain"]
    cases += ["text/html", "text/html; charset=utf-8", "TEXT/HTML;level=1",
              "text/html;charset=\"utf-8\"", "text/html ; charset=koi8-r",
              "text/html;charset=utf-16", "text/plain", "text/html,",
              "text/html, text/html;charset=utf-8"]
    out = subprocess.run([drv], check=True, capture_output=True,
                         input="".join(c.encode("latin-1").hex() + "\n"
                                       for c in cases).encode()).stdout.split()
    assert len(out) == len(cases)
    unsafe = [c for c, o in zip(cases, out)
              if o == b"1" and not ct_model.page(c)]
    assert unsafe == [], unsafe[:20]
    # the safe-side misses are lists and odd parameters, never a plain type
    missed = [c for c, o in zip(cases, out)
              if o == b"0" and ct_model.page(c)]
    assert not [c for c in missed if "," not in c and "charset" not in c
                and "\\" not in c and '"' not in c], missed[:20]
    for c in cases[-9:]:
        assert (out[cases.index(c)] == b"1") == ct_model.page(c), c
