"""HTML5 oracle for the template context check (ngx_http_outage_tplcheck.c,
docs/directives.md "Template syntax").

Every template (review s9 R3's attack and false-positive lists in
tplcheck_cases.txt, then random ones built from the markup those lists are
made of) goes through tests/oracle/tplcheck_driver (the module's pure
check) and is rendered the way the module renders it: for each message,
eta and link placeholder in turn, a hostile value there (HTML-escaped as
the module escapes it), the others benign or empty, for every way its
sections can be shown.  html5lib (Debian's python3-html5lib, scripting
enabled like a browser) builds the DOM, and the value is unsafe where it
landed in:

  script text of a script a browser runs, or of an SVG <script>; <style>
  text (HTML or SVG); an on* attribute, style, <iframe srcdoc>; a new
  attribute (it added "onzz"); the part of a URL attribute that decides a
  javascript: scheme (navigations) or the origin (what loads script or
  style, <base>, a refresh).

The check must warn for every unsafe placeholder (no bypass) and for no
placeholder that is safe in every rendering (no false positive), apart from
the readings html5lib does not make: inside <select> browsers differ (the
check follows both), an end tag inside <svg>/<math> that matches no open
foreign element is followed both as closing an HTML element and as ignored
(warnings there are not judged, bypasses are), html5lib 1.1 has no <template> and does not end
<svg>/<math> at "</p>" or "</br>" as the standard now does.

Run: /usr/bin/python3 tests/oracle/tplcheck_oracle.py
     [--driver build/oracle/tplcheck_driver] [--count N] [--seed S]
"""

import argparse
import itertools
import os
import random
import re
import subprocess
import sys

import html5lib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

HTML = "http://www.w3.org/1999/xhtml"
SVG = "http://www.w3.org/2000/svg"
MATH = "http://www.w3.org/1998/Math/MathML"

MARK = "QQM"
HOSTILE = {"message": MARK + " onzz=1 zzz", "eta": MARK + " onzz=1 zzz",
           "update": MARK + " onzz=1 zzz",
           "link": "https://evil.zz/" + MARK}
START = {"message": MARK, "eta": MARK, "update": MARK,
         "link": "https://evil.zz/"}
BENIGN = {"message": "Checkout is down", "eta": "in 5 minutes",
          "update": "Payments are slow",
          "link": "https://status.example.com/"}
REDIS = ("message", "eta", "link", "update")

TAG = re.compile(r"\{\{ *([#^/]?) *([A-Za-z0-9_.-]{1,64}) *(\| *raw *)?\}\}")

JS_TYPES = set("""text/javascript application/javascript
application/ecmascript application/x-ecmascript application/x-javascript
text/ecmascript text/javascript1.0 text/javascript1.1 text/javascript1.2
text/javascript1.3 text/javascript1.4 text/javascript1.5 text/jscript
text/livescript text/x-ecmascript text/x-javascript module
importmap""".split())


def esc(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


# ---- the module's renderer, in Python -------------------------------------

def parse_tpl(tpl):
    """[("text", s) | ("var", name, raw, pos) | ("sec", name, inv, body)]"""
    out, stack = [], []
    cur, last = out, 0
    for m in TAG.finditer(tpl):
        cur.append(("text", tpl[last:m.start()]))
        kind, name, raw = m.group(1), m.group(2), bool(m.group(3))
        if kind == "":
            cur.append(("var", name, raw, m.start()))
        elif kind in "#^":
            node = ("sec", name, kind == "^", [])
            cur.append(node)
            stack.append(cur)
            cur = node[3]
        else:
            cur = stack.pop()
        last = m.end()
    cur.append(("text", tpl[last:]))
    return out


def render(nodes, shown, value):
    parts = []
    for n in nodes:
        if n[0] == "text":
            parts.append(n[1])
        elif n[0] == "var":
            v = value(n[1], n[3])
            parts.append(v if n[2] else esc(v))
        elif shown.get(n[1], False) != n[2]:
            parts.append(render(n[3], shown, value))
    return "".join(parts)


def placeholders(nodes, acc=None):
    acc = [] if acc is None else acc
    for n in nodes:
        if n[0] == "var" and n[1] in REDIS and not n[2]:
            acc.append((n[3], n[1]))
        elif n[0] == "sec":
            placeholders(n[3], acc)
    return acc


def section_names(nodes, acc=None):
    acc = set() if acc is None else acc
    for n in nodes:
        if n[0] == "sec":
            acc.add(n[1])
            section_names(n[3], acc)
    return acc


# ---- what a browser does with the value ------------------------------------

def split(name):
    if name.startswith("{"):
        ns, local = name[1:].split("}", 1)
        return ns, local
    return None, name


def url_prefix(value, start):
    i = value.find(start)
    if i < 0:
        return None
    p = value[:i]
    p = p.lstrip("".join(chr(c) for c in range(0x21)))
    return re.sub(r"[\t\n\r]", "", p).lower()


def may_run_js(p, field):
    if p.startswith(("javascript:", "vbscript:", "data:")):
        return True
    if field == "link":
        return False
    return any(s.startswith(p) for s in ("javascript:", "vbscript:", "data:"))


def origin_open(p, field):
    """the rest of the URL (the value) can choose where it loads from"""
    if p.startswith(("javascript:", "vbscript:", "data:")):
        return True
    if field == "link":
        return p == ""
    m = re.match(r"([a-z][a-z0-9+.-]*):(.*)", p, re.S)
    if m:
        if m.group(1) not in ("http", "https", "ws", "wss", "ftp", "file"):
            return False
        rest = m.group(2).lstrip("/\\")
        return not re.search(r"[/\\?#]", rest)
    if re.fullmatch(r"[a-z][a-z0-9+.-]*", p):
        return any(s.startswith(p) for s in ("https", "data"))
    if p == "":
        return True
    if p[0] in "/\\":
        if len(p) == 1:
            return True
        if p[1] in "/\\":
            return not re.search(r"[/\\?#]", p[2:])
    return False


def refresh_url_start(content):
    """index where the URL of a refresh starts (HTML's declarative refresh)"""
    i, n = 0, len(content)
    ws = " \t\n\f\r"
    while i < n and content[i] in ws:
        i += 1
    while i < n and (content[i].isdigit() or content[i] == "."):
        i += 1
    while i < n and content[i] in ws:
        i += 1
    if i < n and content[i] in ";,":
        i += 1
    while i < n and content[i] in ws:
        i += 1
    if content[i:i + 3].lower() == "url":
        j = i + 3
        while j < n and content[j] in ws:
            j += 1
        if j < n and content[j] == "=":
            i = j + 1
            while i < n and content[i] in ws:
                i += 1
    if i < n and content[i] in "\"'":
        i += 1
    return i


def script_runs(el):
    t = el.attrib.get("type")
    if t is None or t.strip(" \t\n\f\r") == "":
        return True
    return t.strip(" \t\n\f\r").lower() in JS_TYPES


def unsafe_in(doc, field):
    """why the hostile value of `field` can run, or None"""
    start = START[field]
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue                        # a comment
        ns, tag = split(el.tag)
        # the element's own text: before its first child and after each
        text = (el.text or "") + "".join(c.tail or "" for c in el)
        if MARK in text:
            if tag == "script" and (ns == SVG or
                                    (ns == HTML and script_runs(el))):
                return "script text"
            if tag == "style" and ns in (HTML, SVG):
                return "style text"
        attrs = {split(k)[1].lower() if split(k)[0] is None
                 else "xlink:" + split(k)[1]: v for k, v in el.attrib.items()}
        if "onzz" in attrs and field != "link":
            return "attribute added"
        for name, v in attrs.items():
            if MARK not in v:
                continue
            if name.startswith("on"):
                return "event handler " + name
            if name == "style":
                return "style attribute"
            if name == "srcdoc" and ns == HTML and tag == "iframe":
                return "srcdoc"
            nav = load = refresh = False
            if ns == HTML:
                nav = (name, tag) in {("href", "a"), ("href", "area"),
                                      ("action", "form"),
                                      ("formaction", "button"),
                                      ("formaction", "input"),
                                      ("src", "iframe"), ("src", "frame"),
                                      ("src", "embed"), ("data", "object")}
                rel = set(attrs.get("rel", "").lower().split())
                load = ((name, tag) in {("src", "script"), ("href", "base")}
                        or (name == "href" and tag == "link"
                            and rel & {"stylesheet", "import"}))
                refresh = (tag == "meta" and name == "content"
                           and attrs.get("http-equiv", "").strip().lower()
                           == "refresh")
            elif ns == SVG:
                href = name in ("href", "xlink:href")
                nav = (href and tag == "a") or (
                    tag in ("set", "animate")
                    and name in ("to", "from", "by", "values")
                    and attrs.get("attributename", "") in ("href",
                                                           "xlink:href"))
                load = href and tag == "script"
            elif ns == MATH:
                nav = name == "href"
            if nav:
                seg = v
                if ns == SVG and name == "values":
                    seg = v[:v.find(start)].split(";")[-1] + v[v.find(start):]
                p = url_prefix(seg, start)
                if p is not None and may_run_js(p, field):
                    return "URL %s of %s" % (name, tag)
            if load:
                p = url_prefix(v, start)
                if p is not None and origin_open(p, field):
                    return "loading URL %s of %s" % (name, tag)
            if refresh:
                i = v.find(start)
                u = refresh_url_start(v)
                if i >= 0 and (i < u and field != "link"):
                    return "refresh content"
                p = url_prefix(v[u:], start)
                if p is not None and (may_run_js(p, "link")
                                      or (field != "link"
                                          and origin_open(p, field))):
                    return "refresh URL"
    return None


# a banner is followed by the page: a tag the template leaves open is
# closed by what comes next, not dropped at the end of the input
AFTER = '\n<p class="page">after</p>"\'>\n<p class="page">after</p>\n'


def parse(html):
    return html5lib.HTMLParser(namespaceHTMLElements=True).parse(
        "<!DOCTYPE html><body>" + html + AFTER, scripting=True)


def oracle(tpl):
    """{offset: reason} of the placeholders unsafe in some rendering"""
    nodes = parse_tpl(tpl)
    names = sorted(section_names(nodes))
    if len(names) <= 4:
        ways = [dict(zip(names, bits))
                for bits in itertools.product((False, True),
                                              repeat=len(names))]
    else:
        rnd = random.Random(tpl)
        ways = [{n: rnd.random() < 0.5 for n in names} for _ in range(16)]
    found = {}
    # right after "<" the first byte of a module value decides: a letter
    # makes a tag name, a digit text, "?" a bogus comment (since_ago is "5
    # minutes ago")
    kinds = ("benign", "empty") + (("1", "?") if "<{{" in tpl else ())
    for pos, field in placeholders(nodes):
        for shown in ways:
            for others in kinds:
                def value(name, at, pos=pos, field=field, others=others):
                    if at == pos:
                        return HOSTILE[field]
                    if name in REDIS:
                        return BENIGN[name] if others != "empty" else ""
                    return {"benign": "v", "empty": ""}.get(others, others)
                html = render(nodes, shown, value)
                if MARK not in html:
                    continue
                why = unsafe_in(parse(html), field)
                if why:
                    found[pos] = why
                    break
            if pos in found:
                break
    return found


# ---- the check -------------------------------------------------------------

def check(driver, tpls):
    data = b"\x01".join(t.encode("utf-8", "surrogatepass") for t in tpls)
    out = subprocess.run([driver], input=data, capture_output=True,
                         check=True).stdout.decode()
    res = []
    for line in out.splitlines():
        if line.startswith("BAD "):
            res.append(None)
            continue
        warned, noted = set(), set()
        if line != "OK":
            for f in line.split("\t")[0].split():
                off = int(f[1:].split(":")[0])
                (warned if f[0] == "W" else noted).add(off)
        res.append((warned, noted))
    assert len(res) == len(tpls), (len(res), len(tpls))
    return res


def read_cases(path):
    tpls = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip() and not line.startswith("#"):
                tpls.append(line.replace("\\n", "\n").replace("\\0", "\0"))
    return tpls


TOKENS = ["<a", "<p", "<div", "<img", "<form", "<iframe", "<link", "<base",
          "<meta", "<script", "<button", "<object", " ", "  ", "\n", "href",
          "src", "title", "onclick", "style", "srcdoc", "action", "data",
          "rel", "type", "http-equiv", "content", "=", '"', "'", ">", "/",
          "<", "</", "<!--", "-->", "--!>", "-", "!", "<!", "<?", "<script>",
          "</script>", "<style>", "</style>", "<svg>", "</svg>", "<math>",
          "</math>", "<mi>", "</mi>", "<desc>", "<title>", "</title>",
          "<textarea>", "</textarea>", "<noscript>", "</noscript>",
          "<xmp>", "</xmp>", "<![CDATA[", "]]>", "x", "<foreignObject>",
          "</foreignObject>", "<table>", "<b>", "</p>", "<br>", "&",
          "&#106;", "&colon;", "javascript:", "java", "https://s.example/",
          "/", "//", "?", "#", "stylesheet", "refresh", "0;url=",
          "module", "application/json", "<select>", "</select>",
          "<set attributeName=href", "<a xlink:href=", "{{message}}",
          "{{message}}", "{{eta}}", "{{link}}", "{{since}}",
          # review s10 R3
          "</div>", "</span>", "</a>", "<div>", "&Tab;", "&NewLine;",
          "<svg><style>", "<svg><script>",
          # review s10 F4, F12, F9
          "<annotation-xml>", '<annotation-xml encoding="text/html">',
          "</annotation-xml>", "<mtext>", "</mtext>", "]]>", "{{scope}}",
          "<{{scope}}", "={{scope}}",
          # review s11 R4 F1/F2/F5: references in compared values, lists
          '<link rel="&#115;tylesheet" href=', '<meta http-equiv="&#114;efresh"',
          '<set attributeName="&#104;ref" to=', "&#108;", "&sol;", ";",
          '<annotation-xml encoding="text/htm&#108;">',
          "<animate attributeName=href values=", '<animate values="/ok;',
          # session 12: the page's {{update}} is Redis text too
          "{{update}}"]


def random_templates(rnd, n):
    tpls = []
    for _ in range(n):
        parts = [rnd.choice(TOKENS) for _ in range(rnd.randint(2, 16))]
        if rnd.random() < 0.4:
            name = rnd.choice(["eta", "link", "x"])
            i = rnd.randint(0, len(parts))
            j = rnd.randint(i, len(parts))
            parts.insert(j, "{{/%s}}" % name)
            parts.insert(i, "{{%s%s}}" % (rnd.choice("#^"), name))
        t = "".join(parts)
        if not TAG.search(t) or not re.search(r"\{\{(message|eta|link)\}\}",
                                              t):
            t += "{{message}}"
        tpls.append(t)
    return tpls


def known_difference(tpl):
    """readings html5lib does not make (see the docstring): also, html5lib
    1.1 predates the rule that "</p>" and "</br>" end foreign content"""
    low = tpl.lower()
    return ("<select" in low or "<template" in low
            or (re.search(r"</(p|br)\b", low)
                and re.search(r"<(svg|math)", low)))


def stray_end_tag(tpl):
    """an end tag inside svg/math that no foreign element matches closes an
    HTML element or is ignored: the check, which does not keep the open HTML
    elements, follows both (a warning html5lib's one reading may not need)"""
    low = tpl.lower()
    return (re.search(r"<(svg|math)", low)
            and re.search(r"</(?!svg|math|p\b|br\b)[a-z]", low))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver",
                    default=os.path.join(REPO, "build", "oracle",
                                         "tplcheck_driver"))
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--cases", default=os.path.join(HERE,
                                                    "tplcheck_cases.txt"))
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()

    rnd = random.Random(args.seed)
    cases = read_cases(args.cases)
    tpls = cases + random_templates(rnd, args.count)
    res = check(args.driver, tpls)

    bypass, false_pos, checked, skipped, warned_total = [], [], 0, 0, 0
    noted_unsafe = 0
    for i, (tpl, r) in enumerate(zip(tpls, res)):
        if r is None:
            continue                # the syntax check refuses it
        warned, noted = r
        unsafe = oracle(tpl)
        checked += 1
        warned_total += bool(warned)
        for pos, why in unsafe.items():
            if pos in warned:
                continue
            if pos in noted:
                noted_unsafe += 1       # said as "not checked"
                if args.v:
                    print("NOTED at %d (%s): %r" % (pos, why, tpl))
            elif not known_difference(tpl):
                bypass.append((tpl, pos, why))
        for pos in warned - set(unsafe):
            if known_difference(tpl) or stray_end_tag(tpl):
                skipped += 1
                continue
            false_pos.append((tpl, pos))

    for tpl, pos, why in bypass:
        print("BYPASS at %d (%s): %r" % (pos, why, tpl))
    for tpl, pos in false_pos:
        print("FALSE POSITIVE at %d: %r" % (pos, tpl))
    print("tplcheck oracle: %d templates (%d listed), %d warned, %d bypasses, "
          "%d false positives, %d unsafe said as not checked, %d warnings "
          "html5lib cannot judge" % (checked, len(cases), warned_total,
                                     len(bypass), len(false_pos),
                                     noted_unsafe, skipped))
    return 1 if bypass or false_pos else 0


if __name__ == "__main__":
    sys.exit(main())
