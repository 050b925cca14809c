"""A model of how a browser reads a Content-Type header value, written
from the specifications, not from the module: Fetch's "extract a MIME type"
(with "get, decode, and split" and "collect an HTTP quoted string"), WHATWG
MIME Sniffing's "parse a MIME type" and WHATWG Encoding's labels of the
encodings that are not ASCII-compatible.  page(value) is True when a
browser following them renders the response as text/html in an encoding
an ASCII banner can go in.

Ported from the s6 banner review's differential (ess_fuzz.py), with Fetch's
step "set mimeType to temporaryMimeType" (the reviewer's model kept the
first item of a run of one type) and the parameter value check."""

import random

HTTP_WS = " \t\r\n"
TOKEN = set("!#$%&'*+-.^_`|~0123456789"
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# WHATWG Encoding: every label of UTF-16BE/LE, ISO-2022-JP and replacement
NOT_ASCII = {
    "unicodefffe", "utf-16be", "csunicode", "iso-10646-ucs-2", "ucs-2",
    "unicode", "unicodefeff", "utf-16", "utf-16le", "csiso2022jp",
    "iso-2022-jp", "csiso2022kr", "hz-gb-2312", "iso-2022-cn",
    "iso-2022-cn-ext", "iso-2022-kr", "replacement",
}


def quoted_value_ok(v):
    return all(c == "\t" or 0x20 <= ord(c) <= 0x7e or 0x80 <= ord(c) <= 0xff
               for c in v)


def collect_quoted(s, pos, extract):
    """Fetch, "collect an HTTP quoted string": (text, position after)."""
    start, value = pos, ""
    pos += 1
    while True:
        while pos < len(s) and s[pos] not in '"\\':
            value += s[pos]
            pos += 1
        if pos >= len(s):
            break
        c = s[pos]
        pos += 1
        if c == "\\":
            if pos >= len(s):
                value += "\\"
                break
            value += s[pos]
            pos += 1
        else:
            break
    return (value if extract else s[start:pos]), pos


def split_values(v):
    """Fetch, "get, decode, and split" a header value."""
    values, pos, tmp = [], 0, ""
    while True:
        k = pos
        while pos < len(v) and v[pos] not in '",':
            pos += 1
        tmp += v[k:pos]
        if pos < len(v) and v[pos] == '"':
            q, pos = collect_quoted(v, pos, False)
            tmp += q
            if pos < len(v):
                continue
        values.append(tmp.strip(" \t"))
        tmp = ""
        if pos >= len(v):
            return values
        pos += 1


def parse_mime(s):
    """WHATWG MIME Sniffing, "parse a MIME type": (essence, params)."""
    s = s.strip(HTTP_WS)
    i = s.find("/")
    if i <= 0 or not set(s[:i]) <= TOKEN:
        return None
    rest = s[i + 1:]
    j = rest.find(";")
    sub = (rest if j < 0 else rest[:j]).rstrip(HTTP_WS)
    if not sub or not set(sub) <= TOKEN:
        return None
    params = {}
    pos = len(rest) if j < 0 else j
    while pos < len(rest):
        pos += 1
        while pos < len(rest) and rest[pos] in HTTP_WS:
            pos += 1
        k = pos
        while pos < len(rest) and rest[pos] not in ";=":
            pos += 1
        name = rest[k:pos].lower()
        if pos < len(rest):
            if rest[pos] == ";":
                continue
            pos += 1
        if pos >= len(rest):
            break
        if rest[pos] == '"':
            val, pos = collect_quoted(rest, pos, True)
            while pos < len(rest) and rest[pos] != ";":
                pos += 1
        else:
            k = pos
            while pos < len(rest) and rest[pos] != ";":
                pos += 1
            val = rest[k:pos].rstrip(HTTP_WS)
            if not val:
                continue
        if (name and set(name) <= TOKEN and quoted_value_ok(val)
                and name not in params):
            params[name] = val
    return (s[:i].lower() + "/" + sub.lower(), params)


def extract(v):
    """Fetch, "extract a MIME type" from one header value, or None."""
    charset = essence = mime = None
    for item in split_values(v):
        t = parse_mime(item)
        if t is None or t[0] == "*/*":
            continue
        mime = t
        if t[0] != essence:
            charset = t[1].get("charset")
            essence = t[0]
        elif "charset" not in t[1] and charset is not None:
            t[1]["charset"] = charset
    return mime


def page(v):
    m = extract(v)
    if m is None or m[0] != "text/html":
        return False
    label = m[1].get("charset", "").strip(" \t\n\f\r").lower()
    return label not in NOT_ASCII


PARTS = ["text/html", "text/plain", "TEXT/HTML", ";", ";", ",", ",", " ",
         "\t", '"', "=", "charset", "charset=", "utf-8", "utf-16",
         "UTF-16LE", "x", "\\", "level=1", "*/*", "text/", "/html", '"a,b"',
         "\x01", " =", "koi8-r"]


def values(seed, count):
    """count distinct generated values, the same for one seed."""
    rnd = random.Random(seed)
    out = set()
    while len(out) < count:
        out.add("".join(rnd.choice(PARTS)
                        for _ in range(rnd.randint(1, 8))))
    return sorted(out)
