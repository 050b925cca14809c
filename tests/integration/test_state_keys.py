"""Names of state in the shared zone are unique in a configuration (issue 12).

A check's slot in the zone is named by a 32-bit key, the CRC-32 of its
identity: the request it sends (scope, URL, method, header= list, in a
canonical order; "scope url" alone for a GET without headers, as before).  Before, a second check of the same scope and URL (or one
whose key collided) got "the next free key", a number that depends on the
order of the directives: a reload that reorders them gave each check the
other's slot, and old and new workers applied their own fall/rise/interval
to each other's state.  nginx -t now refuses both, naming both places.  Checks that send
different requests (two virtual hosts behind one address, GET and POST)
are distinct and accepted.
Only `nginx -t` runs.
"""

import re
import zlib

import pytest


def crc_key(scope, url, method="GET", headers=()):
    # ngx_crc32_short is the CRC-32 of zlib; 0 marks a free slot.  Headers
    # as nginx stores them ("Name: value"), names lower-cased, sorted.
    ident = "%s %s" % (scope, url)
    if method != "GET":
        ident += "\nmethod " + method
    canon = []
    for h in headers:
        name, _, value = h.partition(":")
        value = value.lstrip(" \t")
        canon.append(name.lower() + ":" + (" " + value if value else ""))
    for h in sorted(c.encode() for c in canon):
        ident += "\nheader " + h.decode()
    return zlib.crc32(ident.encode()) or 1


# two URLs of scope "s" whose keys with method=POST and "Host: a.example"
# are equal (found by a birthday search over random paths)
COLLIDING_POST_HOST = ("http://127.0.0.1:1/vc50963c80102",
                       "http://127.0.0.1:1/vd3f504638284")


# two URLs of scope "s" whose keys are equal (found by search; kept here so
# that the test says if the key function changes under it)
COLLIDING = ("http://127.0.0.1:1/h29685295", "http://127.0.0.1:1/h32060020")


def nginx_t(nginx_factory, conf):
    n = nginx_factory(conf, start=False)
    ok, out = n.test_config()
    return n, ok, out


def emerg(out):
    lines = [ln for ln in out.splitlines() if "[emerg]" in ln]
    assert len(lines) == 1, out
    return lines[0]


@pytest.mark.allow_log_errors
def test_duplicate_check_names_both_places(nginx_factory, tmp_path):
    inc = tmp_path / "checks.conf"
    inc.write_text("# checks of the checkout team\n"
                   "outage_check checkout http://127.0.0.1:1/health "
                   "fall=5;\n")
    conf = ("outage_check checkout http://127.0.0.1:1/health fall=3;\n"
            "include %s;\n"
            "server { listen 127.0.0.1:{port}; }\n" % inc)
    n, ok, out = nginx_t(nginx_factory, conf)
    assert not ok, out
    line = emerg(out)
    first = [i + 1 for i, ln in enumerate(open(n.conf_path))
             if "fall=3" in ln]
    assert len(first) == 1
    assert ('"outage_check": duplicate check of scope "checkout" and url '
            '"http://127.0.0.1:1/health" with the same method and headers, '
            'first defined in %s:%d'
            % (n.conf_path, first[0])) in line, out
    # nginx's own suffix: where the second one is
    assert line.endswith(" in %s:2" % inc), out
    assert "merge them into one" in line, out


@pytest.mark.allow_log_errors
def test_colliding_keys_are_refused(nginx_factory):
    a, b = COLLIDING
    assert a != b and crc_key("s", a) == crc_key("s", b)
    conf = ("outage_check s %s;\noutage_check s %s;\n"
            "server { listen 127.0.0.1:{port}; }\n" % (a, b))
    n, ok, out = nginx_t(nginx_factory, conf)
    assert not ok, out
    line = emerg(out)
    assert ('"outage_check": the check of scope "s" and url "%s" has the '
            'same slot key (crc32 %08x) as the check of scope "s" and url '
            '"%s" in %s:' % (b, crc_key("s", a), a, n.conf_path)) in line, out
    assert "change either url" in line, out
    assert re.search(r"nginx\.conf:\d+$", line), out


@pytest.mark.allow_log_errors
def test_long_urls_do_not_cut_off_the_reason(nginx_factory):
    url = "http://127.0.0.1:1/" + "p" * 3000
    conf = ("outage_check s %s;\noutage_check s %s;\n"
            "server { listen 127.0.0.1:{port}; }\n" % (url, url))
    n, ok, out = nginx_t(nginx_factory, conf)
    assert not ok, out
    line = emerg(out)
    assert "first defined in %s:" % n.conf_path in line, out
    assert "merge them into one" in line, out


@pytest.mark.parametrize("conf", [
    # one URL checked for two scopes: two keys
    "outage_check a http://127.0.0.1:1/health;\n"
    "outage_check b http://127.0.0.1:1/health;\n",
    # scope names are case-sensitive everywhere (Redis keys, slots, status)
    "outage_check Checkout http://127.0.0.1:1/health;\n"
    "outage_check checkout http://127.0.0.1:1/health;\n",
    # URLs are compared as written
    "outage_check s http://127.0.0.1:1/health;\n"
    "outage_check s http://127.0.0.1:1/health?2;\n",
])
def test_distinct_checks_are_accepted(nginx_factory, conf):
    _, ok, out = nginx_t(nginx_factory,
                         conf + "server { listen 127.0.0.1:{port}; }\n")
    assert ok, out


@pytest.mark.allow_log_errors
def test_colliding_keys_with_method_and_header_are_refused(nginx_factory):
    # the key covers method and headers in the order above: a collision
    # found with that formula is one nginx sees
    a, b = COLLIDING_POST_HOST
    assert a != b and (crc_key("s", a, "POST", ["Host: a.example"])
                       == crc_key("s", b, "POST", ["Host: a.example"]))
    conf = ("outage_check s %s method=POST header=Host:a.example;\n"
            "outage_check s %s header=host:a.example method=POST;\n"
            "server { listen 127.0.0.1:{port}; }\n" % (a, b))
    n, ok, out = nginx_t(nginx_factory, conf)
    assert not ok, out
    line = emerg(out)
    assert ('has the same slot key (crc32 %08x)'
            % crc_key("s", a, "POST", ["Host: a.example"])) in line, out


@pytest.mark.parametrize("conf", [
    # two virtual hosts behind one address
    "outage_check a http://127.0.0.1:1/health header=Host:a.example;\n"
    "outage_check a http://127.0.0.1:1/health header=Host:b.example;\n",
    # one of them with the default Host
    "outage_check a http://127.0.0.1:1/health;\n"
    "outage_check a http://127.0.0.1:1/health header=Host:b.example;\n",
    # GET and POST, GET and HEAD of one URL
    "outage_check a http://127.0.0.1:1/health;\n"
    "outage_check a http://127.0.0.1:1/health method=POST;\n",
    "outage_check a http://127.0.0.1:1/health method=GET;\n"
    "outage_check a http://127.0.0.1:1/health method=HEAD;\n",
    # one more header is another request
    "outage_check a http://127.0.0.1:1/h header=X-A:1;\n"
    "outage_check a http://127.0.0.1:1/h header=X-A:1 header=X-B:1;\n",
])
def test_checks_sending_different_requests_are_accepted(nginx_factory, conf):
    _, ok, out = nginx_t(nginx_factory,
                         conf + "server { listen 127.0.0.1:{port}; }\n")
    assert ok, out


@pytest.mark.allow_log_errors
@pytest.mark.parametrize("conf", [
    # the same request judged differently: one state, two verdicts
    "outage_check a http://127.0.0.1:1/h header=Host:a.example;\n"
    "outage_check a http://127.0.0.1:1/h header=Host:a.example fall=9 "
    "match=ok;\n",
    # GET written out is the default
    "outage_check a http://127.0.0.1:1/h;\n"
    "outage_check a http://127.0.0.1:1/h method=GET;\n",
    # header order and the name's case do not change the request's meaning
    "outage_check a http://127.0.0.1:1/h method=POST header=X-A:1 "
    "header=X-B:2;\n"
    "outage_check a http://127.0.0.1:1/h header=x-b:2 'header=X-A:  1' "
    "method=POST;\n",
])
def test_checks_sending_the_same_request_are_refused(nginx_factory, conf):
    n, ok, out = nginx_t(nginx_factory,
                         conf + "server { listen 127.0.0.1:{port}; }\n")
    assert not ok, out
    line = emerg(out)
    assert "duplicate check of scope \"a\"" in line, out
    assert "with the same method and headers" in line, out
