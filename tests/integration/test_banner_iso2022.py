"""ISO-2022-JP pages that do not say so (issue 15, audit R2 L1).

A page served as text/html without a charset is decoded by whatever the
browser detects; Japanese pages in ISO-2022-JP switch to two-byte
characters by ESC sequences, and those characters' bytes include "<",
">", quotes and letters: the scanner's byte-level view of the head is not
the browser's.  An ESC byte before the banner's place gives no banner,
counted in banner_skips.  Served as UTF-8 (charset=utf-8 in the header),
the same bytes are decoded as UTF-8 by every browser: ESC is text there
and the page gets its banner.  After the place, ESC changes nothing.

The page's head is ISO-2022-JP by Python's own codec (an oracle we did
not write): the kana of the title contain "<" and ">" bytes
(JIS X 0208 row 4: ESC $ B then 0x24 0x3C...).
"""

from test_banner_types import MARK, start

# <title> in kana whose second bytes are "<", ">", "=" and '"'
TITLE = "\u3042\u305c\u305e\u3062"
HEAD = ("<!doctype html><html><head><meta name=\"viewport\" "
        "content=\"width=device-width\"><title>" + TITLE
        + "</title></head>").encode("iso2022_jp")
PAGE = HEAD + b'<body class="s"><p>page</p></body></html>\n'
# the same page with the Japanese after the <body>
AFTER = (b'<!doctype html><html><head><title>t</title></head>'
         b'<body class="s"><p>' + TITLE.encode("iso2022_jp")
         + b'</p></body></html>\n')


def test_head_bytes_are_what_they_seem(nginx_factory, redis, tmp_path):
    # the kana's bytes are tag syntax: the premise of the rule
    assert b"\x1b$B" in HEAD
    kana = HEAD[HEAD.index(b"\x1b$B") + 3:HEAD.index(b"\x1b(B")]
    assert set(kana) & set(b'<>="')


def test_esc_before_the_place_gives_no_banner(nginx_factory, redis,
                                              tmp_path):
    routes = {
        "none": (b"text/html", PAGE),
        "untyped": (None, PAGE),
        "latin1": (b"text/html; charset=iso-8859-1", PAGE),
        "u8": (b"text/html; charset=utf-8", PAGE),
        "U8": (b'text/html; charset="UTF-8"', PAGE),
        "after": (b"text/html", AFTER),
    }
    n, be = start(nginx_factory, redis, tmp_path, {"p.html": PAGE}, routes)
    skips = n.status_json()["counters"]["banner_skips"]
    for name in ("none", "untyped", "latin1"):
        st, h, body = n.get("/up/" + name)
        assert st == 200 and body == PAGE, name
    # a static file of no charset (nginx's types, no "charset" directive)
    st, h, body = n.get("/any/p.html")
    assert st == 200 and body == PAGE
    assert n.status_json()["counters"]["banner_skips"] == skips + 4

    # served as UTF-8: decoded so by the browser, the page gets its banner
    st, h, body = n.get("/up/u8")
    assert st == 200 and body.count(MARK) == 1
    assert body.index(MARK) > body.index(b'<body class="s">')
    assert body.replace(body[body.index(b'<body class="s">') + 16:
                             body.index(b"<p>page")], b"") == PAGE
    # a quoted label, in capitals, is the same charset
    st, h, body = n.get("/up/U8")
    assert st == 200 and body.count(MARK) == 1

    # ESC after the place: the banner goes before it
    st, h, body = n.get("/up/after")
    assert st == 200 and body.count(MARK) == 1
    assert body.index(MARK) < body.index(b"\x1b$B")
    be.stop()


def test_utf8_as_browsers_name_it(nginx_factory, redis, tmp_path):
    # review s9/R4 F1: nginx takes "utf-8" out of a quoted parameter into
    # its own charset but sends the header as it came: the browser sees no
    # charset, follows <meta charset=iso-2022-jp>, and a banner would land
    # in the kana of <title>.  F2: every WHATWG label of UTF-8, and a
    # UTF-8 BOM (which wins over any label), are UTF-8.
    meta = PAGE.replace(b"<head>", b'<head><meta charset="iso-2022-jp">', 1)
    routes = {
        "quoted": (b'text/html; x="; charset=utf-8"', meta),
        "utf8": (b"text/html; charset=utf8", PAGE),
        "unicode": (b"text/html; charset=unicode-1-1-utf-8", PAGE),
        "bom": (b"text/html", b"\xef\xbb\xbf" + PAGE),
    }
    n, be = start(nginx_factory, redis, tmp_path, {}, routes)
    skips = n.status_json()["counters"]["banner_skips"]
    st, h, body = n.get("/up/quoted")
    assert st == 200 and body == meta
    assert "utf-8" not in h.get("content-type", "").split(";")[-1] \
        or '"' in h.get("content-type", "")
    assert n.status_json()["counters"]["banner_skips"] == skips + 1
    for name in ("utf8", "unicode", "bom"):
        st, h, body = n.get("/up/" + name)
        assert st == 200 and body.count(MARK) == 1, name
        assert body.index(MARK) > body.index(b'<body class="s">'), name
    be.stop()
