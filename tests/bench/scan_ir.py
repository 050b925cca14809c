#!/usr/bin/python3
"""Instructions per byte of <head> of the banner's insertion-point scanner.

Issue 15 asks the scanner (ngx_outage_module/ngx_http_outage_scan.c) to
cost at most 1 instruction per byte of <head> on typical pages.  This
builds tests/bench/scan_ir.c with the flags `make build` gives the module
(-O, as nginx's configure does) and with Debian's -O2, runs it under
valgrind --tool=callgrind counting only ngx_http_outage_scan_feed() and
ngx_http_outage_scan_finish() (and what they call: memchr...), and prints
Ir per byte scanned (the bytes up to the insertion point, i.e. the head
and the <body> tag) for realistic shop heads: many <meta> and <link>,
<script> with inline JS, <style> with CSS, JSON-LD, comments; and the
storefront head as servers also write it (indented by spaces or tabs,
CRLF, minified with unquoted values, single-quoted values), each its own
row, so that no common way of writing a head hides behind another.

    /usr/bin/python3 tests/bench/scan_ir.py [--iterations N] [--json FILE]
        [--max IR_PER_BYTE] [--scanner OTHER/ngx_http_outage_scan.c]
        [--no-sse2] [--no-avx2] [--no-charset]

Each document is fed whole and in 4 KB pieces (proxy_buffer_size).  The
exit status is 1 if a document gets no banner (the scanner would be
broken), if valgrind fails, or if --max is given and a figure is above it
(tests/integration/test_scan_cost.py guards against regressions so);
otherwise 0 whatever the figures are.  --scanner measures another version
of the scanner source (e.g. from `git show`) for a before/after.
--no-sse2 builds the portable variant (-DNGX_HTTP_OUTAGE_SCAN_NO_SSE2:
word-at-a-time searches), which platforms without SSE2 get; --no-avx2
the SSE2 variant (-DNGX_HTTP_OUTAGE_SCAN_NO_AVX2), which x86-64 CPUs
without AVX2 get.  Documents are scanned as served with "charset=utf-8",
as shops serve pages; --no-charset scans them as served without a
charset, where the scanner also looks for ISO-2022-JP's ESC bytes before
the banner's place (a memchr() over the head: its cost).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SRC = os.path.join(REPO, "ngx_outage_module")
sys.path.insert(0, HERE)

import bench  # noqa: E402  (shop_page: the page `make bench` serves)

TARGET = 1.0


def metas():
    out = ['<meta charset="utf-8">',
           '<meta http-equiv="X-UA-Compatible" content="IE=edge">',
           '<meta name="viewport" content="width=device-width, '
           'initial-scale=1, viewport-fit=cover">',
           '<meta name="description" content="Warm merino sweaters, wool '
           'socks and outdoor jackets. Free shipping over 50 EUR, free '
           'returns within 30 days.">',
           '<meta name="theme-color" content="#0b6bcb">',
           '<meta name="robots" content="index, follow, max-image-preview:'
           'large">']
    for k, v in (("og:type", "product"), ("og:site_name", "Outage Demo Shop"),
                 ("og:title", "Merino wool sweater &ndash; Autumn collection"),
                 ("og:url", "https://shop.example.com/p/1234/merino-sweater"),
                 ("og:image", "https://cdn.example.com/img/1234/1200x630.jpg"),
                 ("og:image:width", "1200"), ("og:image:height", "630"),
                 ("og:price:amount", "89.00"), ("og:price:currency", "EUR"),
                 ("og:description", "Soft, warm and machine washable.")):
        out.append('<meta property="%s" content="%s">' % (k, v))
    for k, v in (("twitter:card", "summary_large_image"),
                 ("twitter:site", "@outagedemoshop"),
                 ("twitter:title", "Merino wool sweater"),
                 ("twitter:image", "https://cdn.example.com/img/1234/tw.jpg")):
        out.append('<meta name="%s" content="%s">' % (k, v))
    out.append('<meta name="csrf-token" content="'
               'b3V0YWdlLWRlbW8tc2hvcC1jc3JmLXRva2VuLTAxMjM0NTY3ODk">')
    return "\n".join(out) + "\n"


def links():
    out = ['<link rel="preconnect" href="https://cdn.example.com" '
           'crossorigin>',
           '<link rel="dns-prefetch" href="//www.googletagmanager.com">',
           '<link rel="canonical" href="https://shop.example.com/p/1234/'
           'merino-sweater">']
    for lang in ("de", "fr", "nl", "it", "es"):
        out.append('<link rel="alternate" hreflang="%s" href="https://shop.'
                   'example.com/%s/p/1234/merino-sweater">' % (lang, lang))
    out += ['<link rel="icon" type="image/png" sizes="32x32" '
            'href="/static/favicon-32.png">',
            '<link rel="apple-touch-icon" href="/static/apple-touch-icon.png">',
            '<link rel="manifest" href="/site.webmanifest">',
            '<link rel="preload" href="/static/fonts/inter-var.woff2" '
            'as="font" type="font/woff2" crossorigin>',
            '<link rel="stylesheet" href="/static/css/app.5f3a9c1e.css" '
            'media="all">',
            '<link rel="modulepreload" href="/static/js/app.81b2c0d4.js">']
    return "\n".join(out) + "\n"


GTM = """<!-- Google Tag Manager -->
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':
new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],
j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=
'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-ABC1234');</script>
<!-- End Google Tag Manager -->
"""

APP_JS = """<script>
window.shop = window.shop || {};
shop.config = {currency: "EUR", locale: "en-DE", cartUrl: "/cart.js",
  freeShippingFrom: 5000, features: ["wishlist", "reviews", "klarna"]};
function formatPrice(cents) {
  var s = String(cents % 100);
  if (s.length < 2) { s = "0" + s; }
  return Math.floor(cents / 100) + "." + s + " " + shop.config.currency;
}
for (var i = 0; i < document.documentElement.classList.length; i++) {
  if (document.documentElement.classList[i] === "no-js") {
    document.documentElement.classList.replace("no-js", "js");
  }
}
if (window.innerWidth < 768 && !/bot|crawl/i.test(navigator.userAgent)) {
  shop.mobile = true;
}
</script>
"""

CSS = """<style>
:root{--fg:#1d2330;--muted:#5b6475;--accent:#0b6bcb;--bg:#f6f7f9;--radius:8px}
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font:16px/1.5 Inter,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:inherit}img{max-width:100%;height:auto;display:block}
.header{position:sticky;top:0;z-index:10;display:flex;align-items:center;justify-content:space-between;padding:.75rem 1.5rem;background:#fff;border-bottom:1px solid #e3e6eb}
.header__nav a{margin-left:1.25rem;text-decoration:none}
.announcement{background:var(--accent);color:#fff;text-align:center;padding:.5rem;font-size:.875rem}
.product{display:grid;grid-template-columns:1fr;gap:2rem;padding:1.5rem;max-width:1200px;margin:0 auto}
@media (min-width:768px){.product{grid-template-columns:3fr 2fr}}
.product__title{font-size:1.75rem;margin:0 0 .5rem}
.product__price{font-weight:700;color:var(--accent);font-size:1.25rem}
.btn{display:inline-block;padding:.75rem 1.25rem;border-radius:var(--radius);border:0;background:var(--accent);color:#fff;font-weight:600;cursor:pointer}
.btn:hover{filter:brightness(1.1)}.btn[disabled]{opacity:.5;cursor:not-allowed}
.visually-hidden{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
</style>
"""

JSONLD = """<script type="application/ld+json">
{"@context":"https://schema.org/","@type":"Product","name":"Merino wool sweater",
"image":["https://cdn.example.com/img/1234/1x1.jpg","https://cdn.example.com/img/1234/4x3.jpg",
"https://cdn.example.com/img/1234/16x9.jpg"],"description":"Soft, warm and machine washable merino wool sweater.",
"sku":"MWS-1234-NVY","mpn":"925872","brand":{"@type":"Brand","name":"Outage Demo"},
"review":{"@type":"Review","reviewRating":{"@type":"Rating","ratingValue":"4","bestRating":"5"},
"author":{"@type":"Person","name":"Fred Benson"}},"aggregateRating":{"@type":"AggregateRating",
"ratingValue":"4.4","reviewCount":"89"},"offers":{"@type":"Offer","url":"https://shop.example.com/p/1234/merino-sweater",
"priceCurrency":"EUR","price":"89.00","priceValidUntil":"2026-12-31","itemCondition":"https://schema.org/NewCondition",
"availability":"https://schema.org/InStock","seller":{"@type":"Organization","name":"Outage Demo Shop"}}}
</script>
<script type="application/ld+json">
{"@context":"https://schema.org","@type":"BreadcrumbList","itemListElement":[
{"@type":"ListItem","position":1,"name":"Men","item":"https://shop.example.com/men/"},
{"@type":"ListItem","position":2,"name":"Sweaters","item":"https://shop.example.com/men/sweaters/"},
{"@type":"ListItem","position":3,"name":"Merino wool sweater"}]}
</script>
"""

STATE = ("<script>window.__INITIAL_STATE__=" + json.dumps({
    "cart": {"items": [{"id": n, "sku": "SKU-%05d" % n, "qty": 1 + n % 3,
                        "price": 1990 + 100 * n, "title": "Item no. %d" % n}
                       for n in range(12)], "currency": "EUR"},
    "user": {"loggedIn": False, "segment": "returning", "ab": {"pdp": "b"}},
    "i18n": {"addToCart": "Add to cart", "soldOut": "Sold out",
             "freeShipping": "Free shipping from 50 EUR"}},
    separators=(",", ":")) + ";</script>\n")

BODY = ('<body class="template-product no-js" data-page-type="product">\n'
        '<div class="announcement">Free returns within 30 days</div>\n')


def documents():
    """(name, bytes): the head of a realistic page and the start of body."""
    store = ('<!DOCTYPE html>\n<html lang="en" class="no-js">\n<head>\n'
             + metas() + '<title>Merino wool sweater &ndash; Outage Demo '
             'Shop</title>\n' + links() + GTM + CSS + APP_JS + JSONLD
             + '<noscript><link rel="stylesheet" href="/static/css/'
             'noscript.css"></noscript>\n</head>\n' + BODY)
    spa = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
           '<meta name="viewport" content="width=device-width,initial-scale'
           '=1"><title>Shop</title>' + links() + STATE + GTM
           + '<script defer src="/static/js/vendor.js"></script>'
           '<script defer src="/static/js/app.js"></script></head>'
           + BODY)
    page = bench.shop_page(10000, "Autumn collection - Outage Demo Shop")
    return [("bench shop page (make bench)", page),
            ("storefront product page", store.encode()),
            ("SPA with inline state", spa.encode())] + [
        ("storefront, " + name, storefront(tags, sep).encode())
        for name, tags, sep in VARIANTS]


def unquoted(tags):
    """html-minifier's removeAttributeQuotes: values without whitespace,
    quotes, =, <, > or ` lose their quotes (<link rel=stylesheet ...>)"""
    return re.sub(r'="([^"\'\s=<>`]+)"', r"=\1", tags)


def single(tags):
    """the same tags with single-quoted values"""
    return re.sub(r'="([^"\']*)"', r"='\1'", tags)


# the storefront head as servers also write it: (row name, how its <meta>
# and <link> tags are written, what goes before each line of the head)
VARIANTS = (("indented 4 spaces", None, "\n    "),
            ("tab-indented", None, "\n\t"),
            ("CRLF", None, "\r\n"),
            ("minified (unquoted)", unquoted, "\n"),
            ("single-quoted", single, "\n"))


def storefront(tags, sep):
    """The storefront head with its tags rewritten by tags() and its line
    breaks (with indentation) replaced by sep."""
    t = (lambda x: x) if tags is None else tags
    head = ('<!DOCTYPE html>\n<html lang="en" class="no-js">\n<head>\n'
            + t(metas()) + '<title>Merino wool sweater &ndash; Outage Demo '
            'Shop</title>\n' + t(links()) + GTM + CSS + APP_JS + JSONLD
            + '<noscript><link rel="stylesheet" href="/static/css/'
            'noscript.css"></noscript>\n</head>\n')
    return head.replace("\n", sep) + BODY


def build(opt, out, scanner, defines=()):
    subprocess.run(["cc", "-std=gnu99", opt, "-g", "-Wall", "-Wextra",
                    "-Werror", "-I" + SRC] + ["-D" + d for d in defines]
                   + [os.path.join(HERE, "scan_ir.c"), scanner, "-o", out],
                   check=True)


def measure(driver, path, iterations, chunk, tmp, extra=()):
    out = os.path.join(tmp, "cg.out")
    p = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
         "--collect-atstart=no",
         "--toggle-collect=ngx_http_outage_scan_feed",
         "--toggle-collect=ngx_http_outage_scan_finish",
         driver, path, str(iterations), str(chunk)] + list(extra),
        capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("valgrind failed: %s" % p.stderr[-2000:])
    res, fed, hit = p.stdout.split()
    with open(out) as f:
        m = re.search(r"^(?:totals|summary): (\d+)", f.read(), re.M)
    os.unlink(out)
    return res, int(fed), int(hit), int(m.group(1)) / iterations


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--json")
    ap.add_argument("--max", type=float,
                    help="exit 1 if any Ir/byte is above this")
    ap.add_argument("--scanner",
                    default=os.path.join(SRC, "ngx_http_outage_scan.c"))
    ap.add_argument("--no-sse2", action="store_true",
                    help="the portable variant (no SSE2 searches)")
    ap.add_argument("--no-avx2", action="store_true",
                    help="the SSE2 variant (no AVX2 reading of <meta> runs)")
    ap.add_argument("--no-charset", action="store_true",
                    help="served without a charset: ESC bytes looked for")
    args = ap.parse_args()
    defines = ["NGX_HTTP_OUTAGE_SCAN_NO_SSE2"] if args.no_sse2 else []
    if args.no_avx2:
        defines.append("NGX_HTTP_OUTAGE_SCAN_NO_AVX2")

    results = []
    bad = False
    with tempfile.TemporaryDirectory(prefix="scan-ir-") as tmp:
        drivers = []
        for opt in ("-O", "-O2"):
            d = os.path.join(tmp, "scan_ir" + opt)
            build(opt, d, os.path.abspath(args.scanner), defines)
            drivers.append((opt, d))
        print("scanner instructions per byte of <head>%s%s (callgrind, "
              "ngx_http_outage_scan_feed + _finish, %d scans each; "
              "target <= %.1f)" % (" without SSE2" if args.no_sse2 else
                                   " without AVX2" if args.no_avx2 else "",
                                   ", no charset (ESC looked for)"
                                   if args.no_charset else "",
                                   args.iterations, TARGET))
        print("%-38s %6s  %-6s %-4s %10s %8s" % (
            "document", "head", "cc", "feed", "Ir/scan", "Ir/byte"))
        for name, doc in documents():
            path = os.path.join(tmp, "doc.html")
            with open(path, "wb") as f:
                f.write(doc)
            for opt, d in drivers:
                for chunk in (0, 4096):
                    res, fed, hit, ir = measure(
                        d, path, args.iterations, chunk, tmp,
                        ["nocharset"] if args.no_charset else [])
                    if res != "H":
                        bad = True
                    per = ir / hit if hit else float("inf")
                    results.append({"document": name, "head_bytes": hit,
                                    "cc": opt, "chunk": chunk,
                                    "ir_per_scan": ir, "ir_per_byte": per,
                                    "result": res})
                    print("%-38s %6d  %-6s %-4s %10.0f %8.3f%s" % (
                        name, hit, opt, "4K" if chunk else "all", ir, per,
                        "" if res == "H" else "  NO BANNER PLACE"))
        worst = max(r["ir_per_byte"] for r in results)
        print("worst %.3f Ir/byte: %s" % (
            worst, "MET (<= %.1f)" % TARGET if worst <= TARGET
            else "MISSED (> %.1f)" % TARGET))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.max is not None and worst > args.max:
        print("worst %.3f Ir/byte is above --max %.3f" % (worst, args.max))
        bad = True
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
