"""The banner as a browser shows it: headless Chromium renders real pages
from nginx; the DOM must have the banner first in <body> with the page
intact, and the screenshot's top rows must have the banner's colour, also
under a strict Content-Security-Policy (stylesheet link or nonce mode).
Screenshots are kept in build/artifacts/ for review."""

import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import zlib

import pytest

from harness import REPO, wait_for

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = os.path.join(REPO, "build", "artifacts")

DOWN_RGB = (0xb4, 0x23, 0x18)       # .outage-banner--down background
HEADER_RGB = (0x0b, 0x1f, 0x33)     # the test page's own header

PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Shop</title>
<link rel="stylesheet" href="/site.css">
</head>
<body class="shop"><header>Acme Shop</header>
<main><h1>Autumn collection</h1>
<p>Welcome to our shop. Browse the latest products and enjoy free shipping
on orders over 50 EUR.</p>
<p id="content-end">Opening hours: 9:00 to 18:00.</p></main>
</body></html>
"""

# deliberately hostile to a banner: global element rules
SITE_CSS = b"""
body { margin: 0; font-family: Georgia, serif; color: #222; }
header { background: #0b1f33; color: #fff; padding: 18px 24px;
         font-size: 22px; }
main { padding: 24px; max-width: 900px; margin: auto; }
div { padding: 40px; background: #ffe; color: #0a0; }
p { line-height: 1.6; margin: 3em 0; }
a { color: #c00; }
strong { font-size: 40px; }
"""

STRICT = "default-src 'self'; style-src 'self'"

CONF = """
    outage_redis 127.0.0.1:{redis} interval=200ms;
    server {{
        listen 127.0.0.1:{{port}};
        outage_banner on;
        root {www};
        types {{ text/html html; text/css css; }}
        index index.html;

        location /inline/ {{
            alias {www}/;
        }}
        location /linked/ {{
            alias {www}/;
            outage_banner_css_uri /_outage/banner.css;
            add_header Content-Security-Policy "{strict}" always;
        }}
        location /nonce/ {{
            alias {www}/;
            outage_banner_nonce $request_id;
            add_header Content-Security-Policy
                "default-src 'self'; style-src 'self' 'nonce-$request_id'"
                always;
        }}
        location /blocked/ {{
            alias {www}/;
            add_header Content-Security-Policy "{strict}" always;
        }}
        location = /_outage/banner.css {{ outage_banner_css; }}
        location = /outage/status {{ outage_status; }}
        location = /favicon.ico {{ return 204; }}
    }}
"""


def have_chromium():
    if os.access(CHROMIUM, os.X_OK):
        return True
    apt = ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
           "chromium"]
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            return False
        apt = ["sudo", "-n"] + apt
    try:
        subprocess.run(apt, capture_output=True, timeout=900,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    except (OSError, subprocess.SubprocessError):
        return False
    return os.access(CHROMIUM, os.X_OK)


@pytest.fixture(scope="module")
def chromium():
    if not have_chromium():
        pytest.skip("chromium is not installed and cannot be installed")
    os.makedirs(ARTIFACTS, exist_ok=True)
    return CHROMIUM


def run_chromium(args, url):
    profile = tempfile.mkdtemp(prefix="outage-chromium-")
    try:
        out = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars",
             "--user-data-dir=" + profile] + args + [url],
            capture_output=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return out


def dump_dom(url):
    out = run_chromium(["--dump-dom"], url)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.decode("utf-8")


def screenshot(url, name, size):
    path = os.path.join(ARTIFACTS, name)
    if os.path.exists(path):
        os.unlink(path)
    out = run_chromium(["--screenshot=" + path, "--window-size=" + size], url)
    assert os.path.exists(path), out.stderr[-2000:]
    return read_png(path)


def read_png(path):
    """Minimal PNG decoder (8-bit RGB/RGBA, no interlace): (w, h, rows of
    (r, g, b) tuples)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if ctype == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB",
                                                                chunk)
            assert depth == 8 and color in (2, 6) and interlace == 0
        elif ctype == b"IDAT":
            idat += chunk
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, p = [], bytearray(stride), 0
    for _ in range(h):
        ftype = raw[p]
        line = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 0xff
            elif ftype == 2:
                line[x] = (line[x] + b) & 0xff
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xff
            elif ftype == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc
                                      else b if pb <= pc else c)) & 0xff
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return w, h, rows


def near(px, rgb, tol=6):
    return all(abs(a - b) <= tol for a, b in zip(px, rgb))


def coloured_rows(rows, rgb, limit=200, share=0.6):
    """Indexes of the top rows where most pixels have colour rgb."""
    hits = []
    for y, row in enumerate(rows[:limit]):
        if sum(near(px, rgb) for px in row) >= share * len(row):
            hits.append(y)
    return hits


def check_visible(shot, min_rows, rgb=DOWN_RGB):
    """The banner's colour fills the top of the page, and the page's own
    header follows it (not hidden under it)."""
    w, h, rows = shot
    red = coloured_rows(rows, rgb)
    assert red and red[0] <= 1, "no banner colour at the top: %r" % (
        rows[0][w // 2],)
    assert len(red) >= min_rows, len(red)
    # text lines inside the banner may fall under the share: most rows do not
    assert len(red) >= 0.6 * (red[-1] + 1), red
    assert near(rows[red[-1] // 2][w - 3], rgb)
    header = coloured_rows(rows, HEADER_RGB)
    assert header and header[0] > red[-1], (red[-1], header[:1])
    return red[-1] + 1


def check_dom(dom, link=False):
    body = re.search(r"<body[^>]*>(.*)</body>", dom, re.S).group(1)
    first = (r'\s*<link rel="stylesheet" href="/_outage/banner.css">'
             if link else r'\s*<style( nonce="[^"]*")?>[^<]*</style>')
    assert re.match(first + r'\s*<div class="outage-banner '
                    r'outage-banner--down" role="status" '
                    r'aria-live="polite">', body), body[:300]
    assert body.count('class="outage-banner ') == 1
    assert "Payments are failing for some customers." in body
    assert 'href="https://status.example.com/incidents/42"' in body
    # the page is intact, in order, after the banner
    rest = body[body.index("</div></div>") + len("</div></div>"):]
    assert re.match(r"\s*<header>Acme Shop</header>\s*<main><h1>Autumn "
                    r"collection</h1>", rest), rest[:200]
    assert '<p id="content-end">Opening hours: 9:00 to 18:00.</p>' in rest


@pytest.fixture
def site(nginx_factory, redis, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_bytes(PAGE)
    (www / "site.css").write_bytes(SITE_CSS)
    n = nginx_factory(CONF.format(redis=redis.port, www=www, strict=STRICT))
    redis.cli("HSET", "outage:site", "state", "down", "message",
              "Payments are failing for some customers. We are working on "
              "a fix.", "eta", "in about an hour",
              "link", "https://status.example.com/incidents/42")
    wait_for(lambda: b"outage-banner--down" in n.get("/")[2],
             what="banner active")
    return n


def test_banner_rendered_first_and_visible(chromium, site):
    url = "http://127.0.0.1:%d/" % site.port
    check_dom(dump_dom(url))

    height = check_visible(screenshot(url, "banner.png", "1200,800"), 40)
    assert height < 120, height     # one line of text and one of details

    # mobile width: wraps, stays readable, still first
    mobile = check_visible(screenshot(url, "banner-mobile.png", "390,844"),
                           60)
    assert mobile > height


def test_banner_styled_under_strict_csp(chromium, site):
    base = "http://127.0.0.1:%d" % site.port

    # stylesheet mode: style-src 'self' allows the banner's CSS location
    check_dom(dump_dom(base + "/linked/"), link=True)
    check_visible(screenshot(base + "/linked/", "banner-csp.png",
                             "1200,800"), 40)

    # nonce mode: the inline style carries this response's nonce
    check_dom(dump_dom(base + "/nonce/"))
    check_visible(screenshot(base + "/nonce/", "banner-nonce.png",
                             "1200,800"), 40)

    # control: the same strict policy blocks a plain inline style, and the
    # pixel check notices (so it can fail)
    shot = screenshot(base + "/blocked/", "banner-csp-blocked.png",
                      "1200,800")
    assert coloured_rows(shot[2], DOWN_RGB) == []


STATES = [
    ("degraded", (0xfe, 0xf0, 0xc7),
     ("SET", "outage:site", "Checkout is slower than usual.")),
    ("maintenance", (0x3e, 0x47, 0x84),
     ("HSET", "outage:site", "state", "maintenance", "message",
      "Database upgrade in progress; orders are queued.")),
    ("scheduled", (0xf2, 0xf4, 0xf7),
     ("HSET", "outage:site", "state", "maintenance", "message",
      "Planned database upgrade.", "starts", "+26h", "ends", "+28h")),
]


def when(spec):
    """"+26h" -> an ISO time that many hours from now."""
    if not spec.startswith("+"):
        return spec
    return time.strftime("%Y-%m-%dT%H:%MZ",
                         time.gmtime(time.time() + int(spec[1:-1]) * 3600))


def test_every_state_has_its_colour(chromium, site, redis):
    url = "http://127.0.0.1:%d/" % site.port
    for state, rgb, cmd in STATES:
        redis.cli("DEL", "outage:site")
        redis.cli(*[when(a) for a in cmd])
        wait_for(lambda: ("outage-banner--%s" % state).encode()
                 in site.get("/")[2], what=state)
        check_visible(screenshot(url, "banner-%s.png" % state, "1200,800"),
                      40, rgb)
