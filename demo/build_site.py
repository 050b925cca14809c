#!/usr/bin/python3
"""Builds the demo shop's pages into a docroot: build_site.py OUT_DIR

The pages share one layout (demo/templates/layout.html: header, navigation,
footer); product pages and product cards are rendered from demo/catalog.json.
Static files (demo/site: images, stylesheet, JSON API answers) are copied
as they are.  Catalog and page texts are the shop's own HTML, inserted
unescaped.  scripts/demo.sh runs this on every start.
"""

import json
import os
import re
import shutil
import sys

DEMO = os.path.dirname(os.path.abspath(__file__))

NAV = [("/#products", "Shop"),
       ("/products/ridgeline-shell-jacket/", "Jackets"),
       ("/products/summit-32-daypack/", "Packs"),
       ("/products/basecamp-2-tent/", "Camp"),
       ("/help/", "Help")]

# demo/pages/<name>.html -> where the page is served
PAGES = {"index": "index.html",
         "cart": "cart/index.html",
         "checkout": "checkout/index.html",
         "checkout-confirmation": "checkout/confirmation/index.html",
         "help": "help/index.html"}

RELATED = 3


def template(name):
    with open(os.path.join(DEMO, "templates", name), encoding="utf-8") as f:
        return f.read()


def fill(text, values):
    def one(m):
        if m.group(1) not in values:
            raise KeyError("no value for {{%s}}" % m.group(1))
        return str(values[m.group(1)])
    return re.sub(r"\{\{(\w+)\}\}", one, text)


def stars(n):
    return "\u2605" * n + "\u2606" * (5 - n)


def nav(current):
    return "".join('<a href="%s"%s>%s</a>' % (
        href, ' aria-current="page"' if href == current else "", label)
        for href, label in NAV)


def card(p, lazy):
    return fill(template("card.html"), dict(
        p, tag='<span class="tag">%s</span>' % p["tag"] if p["tag"] else "",
        lazy=' loading="lazy"' if lazy else "", stars_text=stars(p["stars"])))


def choices(name, prefix, items, checked):
    """radio buttons; items: (id, value, label, extra label attributes)"""
    return "".join(
        '<input type="radio" name="%s" id="%s-%s" value="%s"%s>'
        '<label for="%s-%s"%s>%s</label>' % (
            name, prefix, i, value, " checked" if value == checked else "",
            prefix, i, extra, label)
        for i, value, label, extra in items)


def product_main(p, products):
    colours = [(c["id"], c["id"],
                '<span class="visually-hidden">%s</span>' % c["label"],
                ' style="--swatch:%s" title="%s"' % (c["hex"], c["label"]))
               for c in p["colours"]]
    sizes = [(str(i), s, s, "") for i, s in enumerate(p["sizes"])]
    related = [q for q in products if q["slug"] != p["slug"]][:RELATED]
    return fill(template("product.html"), dict(
        p, stars_text=stars(p["stars"]), colour=p["colours"][0]["label"],
        swatches=choices("color", "c", colours, p["colours"][0]["id"]),
        sizes=choices("size", "s", sizes, p["default_size"]),
        features="".join("<li>%s</li>" % f for f in p["features"]),
        related="".join(card(q, True) for q in related)))


def page(title, description, current, main):
    return fill(template("layout.html"), dict(
        title=title, description=description, nav=nav(current), main=main))


def read_page(name):
    """front matter (title, description, nav), a blank line, the main"""
    with open(os.path.join(DEMO, "pages", name + ".html"),
              encoding="utf-8") as f:
        head, main = f.read().split("\n\n", 1)
    meta = dict(line.split(": ", 1) for line in head.splitlines())
    return meta, main


def write(out, path, text):
    path = os.path.join(out, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def build(out):
    with open(os.path.join(DEMO, "catalog.json"), encoding="utf-8") as f:
        products = json.load(f)["products"]
    if os.path.exists(out):
        shutil.rmtree(out)
    shutil.copytree(os.path.join(DEMO, "site"), out)
    # the first row is above the fold: loaded at once, the rest lazily
    cards = "".join(card(p, i >= RELATED) for i, p in enumerate(products))
    for name, path in PAGES.items():
        meta, main = read_page(name)
        write(out, path, page(meta["title"], meta["description"],
                              meta["nav"], fill(main, {"cards": cards})))
    for p in products:
        write(out, "products/%s/index.html" % p["slug"],
              page("%s \u00b7 Northwind Outfitters" % p["name"], p["blurb"],
                   "", product_main(p, products)))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_site.py OUT_DIR")
    build(sys.argv[1])
