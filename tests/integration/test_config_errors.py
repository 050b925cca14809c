"""nginx -t on bad configurations (issue 8): every directive of the module
has at least one bad-argument case, and the output names the directive and
the reason; plus over-long values, unknown parameters, duplicates and wrong
contexts.  Only `nginx -t` runs: no Redis, no workers, a few seconds in all.

The directive list is read from the command table in the C source, so a new
directive without a case here fails test_every_directive_has_a_case.
"""

import os
import re
import subprocess
import time

import pytest

from harness import REPO

SRC = os.path.join(REPO, "ngx_outage_module", "ngx_http_outage_module.c")

GOOD_SECRET = b"0123456789abcdef0123456789abcdef\n"


def loc(snippet):
    return "server { listen 127.0.0.1:{port}; location / { %s } }" % snippet


def srv(snippet):
    return "server { listen 127.0.0.1:{port}; %s }" % snippet


def lines(directive, values):
    return "\n".join("%s %s;" % (directive, v) for v in values)


# (directive, id, http-block snippet, words that must all be in the output).
# {dir} is the test's directory (files named below are written there).
CASES = [
    # -- http level ------------------------------------------------------
    ("outage_zone_size", "junk", "outage_zone_size 10q;",
     ['"outage_zone_size" directive invalid value']),
    ("outage_zone_size", "too-small", "outage_zone_size 4k;",
     ['"outage_zone_size" must be at least']),
    ("outage_zone_size", "duplicate",
     "outage_zone_size 1m; outage_zone_size 2m;",
     ['"outage_zone_size" directive is duplicate']),
    ("outage_zone_size", "in-server", srv("outage_zone_size 1m;"),
     ['"outage_zone_size" directive is not allowed here']),

    ("outage_scopes", "no-args", "outage_scopes;",
     ['invalid number of arguments in "outage_scopes" directive']),
    ("outage_scopes", "bad-char", "outage_scopes pay/ments;",
     ['"outage_scopes": invalid scope name "pay/ments"', "only letters"]),
    ("outage_scopes", "control-char", 'outage_scopes "a\\nb";',
     ['"outage_scopes": invalid scope name "a\\x0ab"']),
    ("outage_scopes", "too-many",
     "outage_scopes %s;" % " ".join("s%d" % i for i in range(70)),
     ['"outage_scopes": too many outage scopes, at most 64']),
    ("outage_scopes", "in-location", loc("outage_scopes a;"),
     ['"outage_scopes" directive is not allowed here']),

    ("outage_redis", "no-args", "outage_redis;",
     ['"outage_redis" needs at least one address']),
    ("outage_redis", "scheme", "outage_redis redis://10.0.0.5;",
     ['"outage_redis": invalid address "redis://10.0.0.5": expected '
      'host:port, [ipv6]:port or unix:/path']),
    ("outage_redis", "no-address", "outage_redis interval=1s;",
     ['"outage_redis" needs at least one address']),
    ("outage_redis", "bad-port", "outage_redis 127.0.0.1:99999;",
     ['"outage_redis": invalid address "127.0.0.1:99999": invalid port']),
    ("outage_redis", "uri", "outage_redis 127.0.0.1:6379/0;",
     ['"outage_redis": invalid address "127.0.0.1:6379/0"']),
    ("outage_redis", "unknown-param", "outage_redis 127.0.0.1 intreval=1s;",
     ['"outage_redis": unknown parameter "intreval=1s"']),
    ("outage_redis", "interval-short", "outage_redis 127.0.0.1 interval=50ms;",
     ['"outage_redis": interval must be at least 100ms']),
    ("outage_redis", "ping-short", "outage_redis 127.0.0.1 ping=500ms;",
     ['"outage_redis": ping must be at least 1000ms in "ping=500ms"']),
    ("outage_redis", "interval-junk", "outage_redis 127.0.0.1 interval=soon;",
     ['"outage_redis": invalid time in "interval=soon"']),
    ("outage_redis", "timeout-zero", "outage_redis 127.0.0.1 timeout=0;",
     ['"outage_redis": invalid time in "timeout=0"']),
    ("outage_redis", "connect-timeout-neg",
     "outage_redis 127.0.0.1 connect_timeout=-1s;",
     ['"outage_redis": invalid time in "connect_timeout=-1s"']),
    ("outage_redis", "db", "outage_redis 127.0.0.1 db=x;",
     ['"outage_redis": invalid database number in "db=x"']),
    ("outage_redis", "db-range", "outage_redis 127.0.0.1 db=70000;",
     ['"outage_redis": invalid database number in "db=70000"']),
    ("outage_redis", "max-stale", "outage_redis 127.0.0.1 max_stale=never;",
     ['"outage_redis": invalid max_stale in "max_stale=never"']),
    ("outage_redis", "max-stale-below-interval",
     "outage_redis 127.0.0.1 max_stale=2s interval=5s;",
     ['"outage_redis": max_stale=2s is shorter than interval=5000ms + '
      'connect_timeout=1000ms + timeout=1000ms + 1s']),
    ("outage_redis", "max-stale-below-defaults",
     "outage_redis 127.0.0.1 max_stale=2s;",
     ['"outage_redis": max_stale=2s is shorter than interval=1000ms + '
      'connect_timeout=1000ms + timeout=1000ms + 1s']),
    ("outage_redis", "user-no-password", "outage_redis 127.0.0.1 user=u;",
     ['"outage_redis": "user=" needs "password="']),
    ("outage_redis", "long-prefix",
     "outage_redis 127.0.0.1 prefix=%s;" % ("p" * 65),
     ['"outage_redis": prefix longer than 64 bytes']),
    ("outage_redis", "duplicate",
     "outage_redis 127.0.0.1; outage_redis 127.0.0.2;",
     ['"outage_redis" directive is duplicate']),
    ("outage_redis", "in-server", srv("outage_redis 127.0.0.1;"),
     ['"outage_redis" directive is not allowed here']),

    ("outage_check", "one-arg", "outage_check s;",
     ['invalid number of arguments in "outage_check" directive']),
    ("outage_check", "bad-scope", "outage_check a:b http://127.0.0.1:1/;",
     ['"outage_check": invalid scope name "a:b"']),
    ("outage_check", "bad-scheme", "outage_check s ftp://127.0.0.1/;",
     ['"outage_check": invalid url "ftp://127.0.0.1/"', "only http://"]),
    ("outage_check", "unknown-param",
     "outage_check s http://127.0.0.1:1/ fal=2;",
     ['"outage_check": unknown parameter "fal=2"']),
    ("outage_check", "timeout-ge-interval",
     "outage_check s http://127.0.0.1:1/ interval=1s timeout=2s;",
     ['"outage_check": timeout (2000ms) must be shorter than interval']),
    ("outage_check", "header-crlf",
     'outage_check s http://127.0.0.1:1/ "header=X-A: 1\\r\\nX-B: 2";',
     ['"outage_check": CR, LF or NUL in']),
    ("outage_check", "in-location", loc("outage_check s http://127.0.0.1/;"),
     ['"outage_check" directive is not allowed here']),

    ("outage_check_guard", "not-flag", "outage_check_guard sometimes;",
     ['invalid value "sometimes" in "outage_check_guard" directive']),

    ("outage_bypass_secret", "missing-file",
     "outage_bypass_secret {dir}/no-such-secret;",
     ['"outage_bypass_secret" cannot open', "no-such-secret"]),
    ("outage_bypass_secret", "too-short",
     "outage_bypass_secret {dir}/short.secret;",
     ['"outage_bypass_secret" file must hold at least 16 bytes']),
    ("outage_bypass_secret", "too-big",
     "outage_bypass_secret {dir}/huge.secret;",
     ['"outage_bypass_secret"', "larger than 1m"]),
    ("outage_bypass_secret", "grace-without-previous",
     "outage_bypass_secret {dir}/good.secret grace=1h;",
     ['"outage_bypass_secret": "grace=" needs "previous=file"']),
    ("outage_bypass_secret", "previous-is-current",
     "outage_bypass_secret {dir}/good.secret previous={dir}/good.secret;",
     ['"outage_bypass_secret": the previous secret is the current one']),
    ("outage_bypass_secret", "previous-missing",
     "outage_bypass_secret {dir}/good.secret previous={dir}/nope.secret;",
     ['"outage_bypass_secret": cannot open previous secret', "nope.secret"]),
    ("outage_bypass_secret", "previous-short",
     "outage_bypass_secret {dir}/good.secret previous={dir}/short.secret;",
     ['"outage_bypass_secret": previous secret', "must hold 16 bytes"]),
    ("outage_bypass_secret", "bad-grace",
     "outage_bypass_secret {dir}/good.secret previous={dir}/short.secret "
     "grace=soon;",
     ['"outage_bypass_secret": invalid time in "grace=soon"']),
    ("outage_bypass_secret", "unknown-param",
     "outage_bypass_secret {dir}/good.secret old=x;",
     ['"outage_bypass_secret": unknown parameter "old=x"']),
    ("outage_bypass_secret", "duplicate",
     "outage_bypass_secret {dir}/good.secret; "
     "outage_bypass_secret {dir}/good.secret;",
     ['"outage_bypass_secret" directive is duplicate']),

    ("outage_probe_secret", "missing-file",
     "outage_probe_secret {dir}/no-such-secret;",
     ['"outage_probe_secret" cannot open', "no-such-secret"]),
    ("outage_probe_secret", "too-short",
     "outage_probe_secret {dir}/short.secret;",
     ['"outage_probe_secret"', "short.secret", "at least 16 bytes"]),
    ("outage_probe_secret", "too-big",
     "outage_probe_secret {dir}/huge.secret;",
     ['"outage_probe_secret"', "huge.secret", "at most 4096 bytes"]),
    ("outage_probe_secret", "directory",
     "outage_probe_secret {dir};",
     ['"outage_probe_secret"', "not a readable file"]),
    ("outage_probe_secret", "duplicate",
     "outage_probe_secret {dir}/good.secret; "
     "outage_probe_secret {dir}/good.secret;",
     ['"outage_probe_secret" directive is duplicate']),

    ("outage_bypass_cookie", "bad-char", 'outage_bypass_cookie "a;b";',
     ['"outage_bypass_cookie" name "a;b" has characters not allowed']),
    ("outage_bypass_cookie", "empty", 'outage_bypass_cookie "";',
     ['"outage_bypass_cookie" must not be empty']),
    ("outage_bypass_cookie", "duplicate",
     "outage_bypass_cookie a; outage_bypass_cookie b;",
     ['"outage_bypass_cookie" directive is duplicate']),

    ("outage_bypass_ttl", "junk", "outage_bypass_ttl forever;",
     ['"outage_bypass_ttl" directive invalid value']),

    # -- location level --------------------------------------------------
    ("outage_banner", "not-flag", loc("outage_banner yes;"),
     ['invalid value "yes" in "outage_banner" directive']),
    ("outage_banner", "duplicate", loc("outage_banner on; outage_banner off;"),
     ['"outage_banner" directive is duplicate']),

    ("outage_banner_scopes", "off", loc("outage_banner_scopes off;"),
     ['"outage_banner_scopes" takes "all" or scope names']),
    ("outage_banner_scopes", "bad-name", loc("outage_banner_scopes a,b;"),
     ['"outage_banner_scopes": invalid scope name "a,b"']),
    ("outage_banner_scopes", "duplicate",
     loc("outage_banner_scopes a; outage_banner_scopes b;"),
     ['"outage_banner_scopes" directive is duplicate']),

    ("outage_banner_types", "no-args", loc("outage_banner_types;"),
     ['invalid number of arguments in "outage_banner_types" directive']),

    ("outage_banner_status", "not-number", loc("outage_banner_status ok;"),
     ['invalid status "ok" in "outage_banner_status"']),
    ("outage_banner_status", "no-body", loc("outage_banner_status 200 204;"),
     ['invalid status "204" in "outage_banner_status"', "not 204"]),
    ("outage_banner_status", "range", loc("outage_banner_status 600;"),
     ['invalid status "600" in "outage_banner_status"']),

    ("outage_banner_template", "missing-file",
     loc("outage_banner_template {dir}/nope.html;"),
     ['"outage_banner_template" cannot open template', "nope.html"]),
    ("outage_banner_template", "unclosed-section",
     loc("outage_banner_template {dir}/unclosed.html;"),
     ['"outage_banner_template" template', "unclosed.html", "at byte"]),
    ("outage_banner_template", "too-big",
     loc("outage_banner_template {dir}/huge.secret;"),
     ['"outage_banner_template" template', "larger than 1m"]),
    ("outage_banner_template", "duplicate",
     loc("outage_banner_template {dir}/ok.html; "
         "outage_banner_template {dir}/ok.html;"),
     ['"outage_banner_template" directive is duplicate']),

    ("outage_banner_html", "bad-variable",
     loc('outage_banner_html "<b>${msg</b>";'),
     ['"outage_banner_html"', "closing bracket"]),
    ("outage_banner_html", "raw-redis-text",
     loc('outage_banner_html "<b>${outage_message}</b>";'),
     ['"outage_banner_html" cannot insert "$outage_message"',
      "outage_message_html"]),
    ("outage_banner_html", "raw-redis-link",
     loc('outage_banner_html "<a href=$outage_link>x</a>";'),
     ['"outage_banner_html" cannot insert "$outage_link"']),
    ("outage_banner_html", "duplicate",
     loc('outage_banner_html a; outage_banner_html b;'),
     ['"outage_banner_html" directive is duplicate']),

    ("outage_banner_nonce", "bad-variable", loc('outage_banner_nonce "${";'),
     ['"outage_banner_nonce"', "variable"]),

    ("outage_banner_css_uri", "two-args",
     loc("outage_banner_css_uri /a.css /b.css;"),
     ['invalid number of arguments in "outage_banner_css_uri" directive']),
    ("outage_banner_css_uri", "duplicate",
     loc("outage_banner_css_uri /a.css; outage_banner_css_uri /b.css;"),
     ['"outage_banner_css_uri" directive is duplicate']),

    ("outage_banner_nocache", "not-flag", loc("outage_banner_nocache 1;"),
     ['invalid value "1" in "outage_banner_nocache" directive']),

    ("outage_banner_last_modified", "not-flag",
     loc("outage_banner_last_modified keep;"),
     ['invalid value "keep" in "outage_banner_last_modified" directive']),

    ("outage_page", "all", loc("outage_page all;"),
     ['"outage_page" needs scope names, "all" is only valid']),
    ("outage_page", "bad-name", loc('outage_page "check out";'),
     ['"outage_page": invalid scope name "check out"']),
    ("outage_page", "no-args", loc("outage_page;"),
     ['invalid number of arguments in "outage_page" directive']),
    ("outage_page", "duplicate", loc("outage_page a; outage_page b;"),
     ['"outage_page" directive is duplicate']),

    ("outage_page_status", "range", loc("outage_page_status 99;"),
     ['"outage_page_status"', "99", "200 or between 400 and 599"]),
    # review s9 R0 F5: codes that cannot carry a page
    ("outage_page_status", "no-content", loc("outage_page_status 204;"),
     ['"outage_page_status"', "204 cannot carry the page", "no body"]),
    ("outage_page_status", "reset-content", loc("outage_page_status 205;"),
     ['"outage_page_status"', "205 cannot carry the page"]),
    ("outage_page_status", "not-modified", loc("outage_page_status 304;"),
     ['"outage_page_status"', "304 cannot carry the page"]),
    ("outage_page_status", "redirect", loc("outage_page_status 301;"),
     ['"outage_page_status"', "301 cannot carry the page", "Location"]),
    ("outage_page_status", "partial", loc("outage_page_status 206;"),
     ['"outage_page_status"', "206 cannot carry the page"]),
    ("outage_page_status", "not-number", loc("outage_page_status 5xx;"),
     ['"outage_page_status" directive invalid number']),

    ("outage_page_retry_after", "junk", loc("outage_page_retry_after soon;"),
     ['"outage_page_retry_after" directive invalid value']),

    ("outage_page_template", "missing-file",
     loc("outage_page_template {dir}/nope.html;"),
     ['"outage_page_template" cannot open template']),
    ("outage_page_template", "unclosed-section",
     loc("outage_page_template {dir}/unclosed.html;"),
     ['"outage_page_template" template', "at byte"]),

    ("outage_page_format", "unknown", loc("outage_page_format xml;"),
     ['"outage_page_format"', 'invalid value "xml"', '"auto"', '"json"']),

    ("outage_page_refresh", "zero", loc("outage_page_refresh 0;"),
     ['"outage_page_refresh" takes "off" or a positive time, not "0"']),
    ("outage_page_refresh", "junk", loc("outage_page_refresh often;"),
     ['"outage_page_refresh" takes "off" or a positive time']),

    ("outage_page_intercept", "not-flag", loc("outage_page_intercept 502;"),
     ['invalid value "502" in "outage_page_intercept" directive']),

    ("outage_bypass", "bad-variable", loc('outage_bypass "${http_x";'),
     ['"outage_bypass"', "closing bracket"]),
    ("outage_bypass", "no-args", loc("outage_bypass;"),
     ['invalid number of arguments in "outage_bypass" directive']),

    ("outage_passive", "not-flag", loc("outage_passive auto;"),
     ['invalid value "auto" in "outage_passive" directive']),

    ("outage_status", "format", loc("outage_status xml;"),
     ['"outage_status": unknown format "xml"']),
    ("outage_status", "two-args", loc("outage_status json prometheus;"),
     ['invalid number of arguments in "outage_status" directive']),
    ("outage_status", "in-server", srv("outage_status;"),
     ['"outage_status" directive is not allowed here']),
    ("outage_status", "duplicate", loc("outage_status; outage_status;"),
     ['"outage_status" directive is duplicate']),

    ("outage_bypass_login", "arg", loc("outage_bypass_login now;"),
     ['invalid number of arguments in "outage_bypass_login" directive']),
    ("outage_bypass_login", "no-secret", loc("outage_bypass_login;"),
     ['"outage_bypass_login" needs "outage_bypass_secret <file>"']),
    ("outage_bypass_login", "duplicate",
     "outage_bypass_secret {dir}/good.secret; "
     + loc("outage_bypass_login; outage_bypass_login;"),
     ['"outage_bypass_login" directive is duplicate']),
    ("outage_bypass_login", "in-http", "outage_bypass_login;",
     ['"outage_bypass_login" directive is not allowed here']),

    ("outage_banner_css", "arg", loc("outage_banner_css on;"),
     ['invalid number of arguments in "outage_banner_css" directive']),
    ("outage_banner_css", "duplicate",
     loc("outage_banner_css; outage_banner_css;"),
     ['"outage_banner_css" directive is duplicate']),

    # -- status page (more in test_status_page.py) -------------------------
    ("outage_status_page", "no-scope", loc("outage_status_page;"),
     ['"outage_status_page" shows no scope']),
    ("outage_status_page", "duplicate",
     loc("outage_status_page a; outage_status_page a;"),
     ['"outage_status_page" directive is duplicate']),
    ("outage_status_page", "in-server", srv("outage_status_page a;"),
     ['"outage_status_page" directive is not allowed here']),
    ("outage_scope_label", "one-arg", "outage_scope_label a;",
     ['invalid number of arguments in "outage_scope_label" directive']),
    ("outage_scope_label", "empty", 'outage_scope_label a "";',
     ['"outage_scope_label": the label of "a" must be 1 to 128 bytes']),
    ("outage_time_zone", "bad-name", "outage_time_zone ../x;",
     ['"outage_time_zone": "../x" is not a time zone name']),
    ("outage_time_zone", "duplicate",
     "outage_time_zone UTC; outage_time_zone UTC;",
     ['"outage_time_zone" directive is duplicate']),
]


def command_table():
    """Directive names declared in ngx_http_outage_commands[]."""
    with open(SRC) as f:
        text = f.read()
    table = text.split("ngx_http_outage_commands[] = {", 1)[1]
    table = table.split("ngx_null_command", 1)[0]
    return re.findall(r'ngx_string\("([a-z_]+)"\)', table)


@pytest.fixture
def files(tmp_path):
    d = tmp_path / "files"
    d.mkdir()
    (d / "short.secret").write_bytes(b"short\n")
    (d / "good.secret").write_bytes(GOOD_SECRET)
    (d / "huge.secret").write_bytes(b"x" * (1024 * 1024 + 1))
    (d / "unclosed.html").write_bytes(b"<p>{{#eta}}until {{eta}}</p>")
    (d / "ok.html").write_bytes(b"<p>{{message}}</p>")
    (d / "redis-ca.pem").write_bytes(b"no certificate here\n")
    # review s9 R0 F1: Redis text where HTML escaping does not hold, as the
    # reviewer wrote them (the unquoted one on line 2)
    (d / "unquoted.html").write_bytes(
        b'<!-- banner -->\n'
        b'<div class="{{class}}" role="status" data-eta={{eta}}><b>{{label}}'
        b'</b> {{message}} {{#link}}<a href="{{link}}">Status</a>{{/link}}'
        b'</div>\n')
    (d / "href_eta.html").write_bytes(
        b'<!doctype html><html><head><title>{{title}}</title></head><body>'
        b'<main><h1>{{title}}</h1><p>{{message}}</p><p><a href="{{eta}}">'
        b'details</a></p>\n<script src="{{link}}"></script></main></body>'
        b'</html>\n')
    (d / "onclick.html").write_bytes(
        b'<button onclick="show(\'{{message}}\')">?</button>'
        b'<p>x</p><script>var m="{{eta}}";</script>')
    # review s9 R3's false positives of the refusing check (F8, F7, F3,
    # F2), every safe place at once: none of it is warned about
    (d / "rich.html").write_bytes(
        b'<!DOCTYPE html><html><head><meta charset="utf-8">'
        b'<meta name="description" content="{{message}}">'
        b'<script type="text/javascript">//<![CDATA[\nvar a=1;\n//]]>'
        b'</script><script>\n// <!-- hide\nalert(1)\n// -->\n</script>'
        b'</head><body><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 '
        b'100 20"><defs><style>.cls-1{fill:#e30;}</style></defs><path '
        b'class="cls-1" d="M0 0h10v10z"/></svg>'
        b'<a {{#link}}href="{{link}}"{{/link}}{{^link}}href="/status"'
        b'{{/link}}>{{message}}</a>'
        b'<p {{#eta}}title="{{eta}}"{{/eta}}{{#link}}data-link="{{link}}"'
        b'{{/link}}>{{message}}</p>'
        b'<div class="{{class}}{{#eta}} has-eta{{/eta}}" title=\'{{message}}'
        b'\'><textarea>{{eta}}</textarea><!-- {{message}} -->'
        b'<a href="/status?m={{message}}">more</a></div></body></html>\n')
    return str(d)


def nginx_t(nginx_factory, snippet, files):
    n = nginx_factory(snippet.replace("{dir}", files), start=False)
    return n.test_config()


def test_every_directive_has_a_case():
    names = command_table()
    assert len(names) >= 30, names
    covered = {c[0] for c in CASES}
    assert set(names) - covered == set(), "no bad-argument case"
    assert covered - set(names) == set(), "case for an unknown directive"


@pytest.mark.allow_log_errors
@pytest.mark.parametrize("directive, snippet, words",
                         [(c[0], c[2], c[3]) for c in CASES],
                         ids=["%s-%s" % (c[0], c[1]) for c in CASES])
def test_bad_configuration(nginx_factory, files, directive, snippet, words):
    ok, out = nginx_t(nginx_factory, snippet, files)
    assert not ok, out
    assert "test failed" in out, out
    emerg = [ln for ln in out.splitlines() if "[emerg]" in ln]
    assert emerg, out
    # every message points at the file and line
    assert re.search(r"nginx\.conf:\d+", "\n".join(emerg)), out
    for w in words:
        assert w in out, (w, out)
    assert directive in out


def test_good_configuration_uses_every_directive(nginx_factory, files):
    """The cases above fail for their bad value, not for something else:
    the same directives with good values pass."""
    conf = """
        outage_zone_size 2m;
        outage_scopes checkout search;
        outage_redis 127.0.0.1:1 interval=1s db=1 prefix=x: max_stale=1m
                     user=u password=p timeout=500ms connect_timeout=500ms;
        outage_check checkout http://127.0.0.1:1/ interval=2s timeout=1s;
        outage_check_guard off;
        outage_bypass_secret {dir}/good.secret;
        outage_probe_secret {dir}/good.secret;
        outage_bypass_cookie staff_bypass;
        outage_bypass_ttl 1h;
        outage_scope_label checkout "Checkout & payments";
        outage_time_zone Europe/Berlin;
        server {
            listen 127.0.0.1:{port};
            outage_banner on;
            outage_banner_scopes all;
            outage_banner_types text/html application/xhtml+xml;
            outage_banner_status 200 404;
            outage_banner_template {dir}/ok.html;
            outage_banner_nonce $request_id;
            outage_banner_css_uri /outage.css;
            outage_banner_nocache off;
            outage_banner_last_modified on;
            outage_page checkout;
            outage_page_status 503;
            outage_page_retry_after 5m;
            outage_page_template {dir}/ok.html;
            outage_page_format auto;
            outage_page_refresh off;
            outage_page_intercept on;
            outage_bypass $http_x_staff;
            outage_passive off;
            location /h { outage_banner_html "<b>$request_id</b>"; }
            location = /outage/status { outage_status prometheus; }
            location = /staff { outage_bypass_login; }
            location = /outage.css { outage_banner_css; }
            location /status { outage_status_page "name=Shop" refresh=1m; }
        }
    """
    ok, out = nginx_t(nginx_factory, conf, files)
    assert ok, out
    used = set(re.findall(r"\b(outage_[a-z_]+)\b", conf))
    assert set(command_table()) <= used, set(command_table()) - used


# ---- where a template puts the Redis-provided fields -------------------------

def warn_lines(out):
    return [ln for ln in out.splitlines() if "[warn]" in ln]


def test_redis_fields_where_escaping_does_not_hold_are_warned(nginx_factory,
                                                              files):
    """Review s9 R0 F1: nginx -t says, per field, where a template puts
    message, eta or link in a place escaping does not protect, and how to
    fix it; the configuration still loads (a warning, never a refusal, so a
    reload after the upgrade cannot fail because of it)."""
    ok, out = nginx_t(nginx_factory, loc(
        "outage_banner_template {dir}/unquoted.html; "
        "outage_page_template {dir}/href_eta.html; "
        "location /b { outage_banner_template {dir}/onclick.html; }"), files)
    assert ok, out
    warns = warn_lines(out)
    assert len(warns) == 5, out
    expect = [
        ('"outage_banner_template" template "%s/unquoted.html" line 2: '
         '{{eta}} is in the unquoted value of attribute "data-eta" of <div>',
         'quote it (data-eta="{{eta}}")'),
        ('"outage_page_template" template "%s/href_eta.html" line 1: '
         '{{eta}} starts the URL in attribute "href" of <a>',
         "use {{link}} there"),
        ('"outage_page_template" template "%s/href_eta.html" line 2: '
         '{{link}} decides where attribute "src" of <script> loads script',
         'use {{link}} only in links (<a href="{{link}}">)'),
        ('"outage_banner_template" template "%s/onclick.html" line 1: '
         '{{message}} is in the event handler attribute "onclick" of '
         '<button>', "move it out of on... and style attributes"),
        ('"outage_banner_template" template "%s/onclick.html" line 1: '
         '{{eta}} is inside <script>, where escaping does not stop script',
         "move it out"),
    ]
    for (what, fix), line in zip(expect, warns):
        assert what % files in line, (what, out)
        assert fix in line, (fix, line)
        assert re.search(r"nginx\.conf:\d+$", line), line


def test_templates_with_redis_fields_in_safe_places_pass(nginx_factory,
                                                          files):
    """Review s9 R3 F8, F7, F3, F2: optional attributes with sections, an
    inline SVG logo with <style>, "<!--" and CDATA in a script, <meta
    content>: no warning at all, for the banner and the page."""
    ok, out = nginx_t(nginx_factory, loc(
        "outage_banner_template {dir}/rich.html; "
        "outage_page_template {dir}/rich.html;"), files)
    assert ok, out
    assert warn_lines(out) == [], out


def test_a_warned_template_loads_and_reloads(nginx_factory, files):
    """The warning does not stop nginx: it starts with the template and a
    reload keeps it (the warning is said again, in the error log)."""
    n = nginx_factory(loc("outage_banner_template %s/unquoted.html;" % files))
    n.reload()
    assert n.proc.poll() is None
    assert n.log_text().count("{{eta}} is in the unquoted value") >= 1


def test_banner_html_with_request_text_is_warned(nginx_factory, files):
    """Review s9 R0 F2: outage_banner_html inserts variables as they are;
    those any client writes ($http_*, $arg_*, $cookie_*, the URI, Host)
    are warned about by name, module and fixed-format ones are not."""
    ok, out = nginx_t(nginx_factory, loc(
        'outage_banner_html "<b>$outage_message_html $request_id</b>"; '
        'location /a { outage_banner_html "<i>${http_x_note}</i>$arg_m"; }'
        'location /b { outage_banner_html "<i>$request_uri</i>"; }'
        'location /c { outage_banner_html "<i>$hostname $request_id</i>"; }'),
        files)
    assert ok, out
    warns = warn_lines(out)
    assert len(warns) == 2, out
    assert ('"outage_banner_html" inserts "$http_x_note" as it is: it '
            'carries text any client sends') in warns[0], out
    assert '"outage_banner_html" inserts "$request_uri"' in warns[1], out


def test_a_fifo_or_device_template_does_not_hang_nginx_t(nginx_factory,
                                                         files, tmp_path):
    """Review s10 R3 F5/F6: opening a FIFO waited for a writer, so nginx -t
    (and a reload) hung; it reads as empty now, as /dev/null does (main
    loads /dev/null as an empty template: no banner)."""
    fifo = tmp_path / "banner.fifo"
    os.mkfifo(str(fifo))
    ok, out = nginx_t(nginx_factory, loc(
        "outage_banner_template %s; outage_page_template /dev/null;" % fifo),
        files)
    assert ok, out


# ---- files that cannot be what a directive needs ----------------------------

NOT_A_FILE = "it is a FIFO, socket or device, not a file"

# directive, snippet ({f}: the file), what the messages call the file, limit
FILE_READERS = [
    ("outage_status_page",
     loc("outage_status_page shop template={f};"), "template ", "1m"),
    ("outage_check",
     "outage_check shop https://127.0.0.1:1/ tls_trusted_certificate={f};",
     '"tls_trusted_certificate=" file ', "4m"),
    ("outage_redis",
     "outage_redis 127.0.0.1 tls tls_trusted_certificate={f};",
     '"tls_trusted_certificate=" file ', "4m"),
    ("outage_redis",
     "outage_redis 127.0.0.1 tls tls_certificate={f} "
     "tls_certificate_key={dir}/ok.html;",
     '"tls_certificate=" file ', "4m"),
    ("outage_redis",
     "outage_redis 127.0.0.1 tls tls_certificate={dir}/ok.html "
     "tls_certificate_key={f};",
     '"tls_certificate_key=" file ', "4m"),
]


def not_a_file(tmp_path, kind, limit):
    """The path of a FIFO, a directory, /dev/zero or an oversize (sparse)
    file, and the reason nginx -t must give."""
    if kind == "fifo":
        path = str(tmp_path / "x.fifo")
        os.mkfifo(path)
        return path, NOT_A_FILE
    if kind == "dir":
        path = str(tmp_path / "x.dir")
        os.mkdir(path)
        return path, "it is a directory"
    if kind == "dev-zero":
        return "/dev/zero", NOT_A_FILE
    path = str(tmp_path / "x.huge")
    with open(path, "wb") as f:
        f.truncate((1 << (20 if limit == "1m" else 22)) + 1)
    return path, "it is larger than " + limit


def fast_nginx_t(nginx_factory, snippet, files):
    """nginx -t must answer at once: a FIFO opened for reading waits for a
    writer (the old readers hung until the harness's 30 s timeout)."""
    start = time.monotonic()
    ok, out = nginx_t(nginx_factory, snippet, files)
    assert time.monotonic() - start < 10, out
    return ok, out


@pytest.mark.allow_log_errors
@pytest.mark.parametrize("kind", ["fifo", "dir", "dev-zero", "oversize"])
@pytest.mark.parametrize("directive, snippet, what, limit", FILE_READERS,
                         ids=["status_page", "check_ca", "redis_ca",
                              "redis_cert", "redis_key"])
def test_a_file_that_is_not_one_fails_nginx_t_fast(nginx_factory, files,
                                                    tmp_path, directive,
                                                    snippet, what, limit,
                                                    kind):
    """Review s10 R3 F5/F6, the other readers: outage_status_page's
    template= and outage_check's tls_trusted_certificate= opened their file
    blocking (a FIFO hung nginx -t and a reload) and read /dev/zero as an
    empty file; they take the module's one reader now, which refuses what
    cannot be a page or a CA file, and says which it is.  outage_redis's
    TLS files are read by nginx's own functions (blocking): the module's
    reader looks at them first."""
    path, why = not_a_file(tmp_path, kind, limit)
    ok, out = fast_nginx_t(nginx_factory, snippet.replace("{f}", path),
                           files)
    assert not ok, out
    assert re.search(r'\[emerg\] "%s": %s"%s" is not a readable file of at '
                     r'most \d+ bytes: %s in \S+nginx\.conf:\d+'
                     % (directive, re.escape(what), re.escape(path),
                        re.escape(why)), out), out


@pytest.mark.allow_log_errors
def test_a_time_zone_that_is_a_directory_fails_nginx_t(nginx_factory,
                                                       files):
    """outage_time_zone reads the zone file with the same reader: a name
    that is a directory of the zone database says so (it said "larger than
    1m, or changed while read")."""
    ok, out = fast_nginx_t(nginx_factory, "outage_time_zone America;",
                           files)
    assert not ok, out
    assert ('"outage_time_zone": zone file "/usr/share/zoneinfo/America" is '
            'not a readable file of at most 1048576 bytes: it is a '
            'directory') in out, out


def test_good_files_still_load(nginx_factory, files, tmp_path):
    """The same directives with a good file each: nginx -t passes."""
    ca = tmp_path / "ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                    str(tmp_path / "ca.key"), "-out", str(ca), "-days", "30",
                    "-subj", "/CN=internal CA"],
                   check=True, capture_output=True, timeout=60)
    ok, out = fast_nginx_t(nginx_factory, (
        "outage_time_zone Europe/Berlin;\n"
        "outage_check shop https://127.0.0.1:1/ tls_trusted_certificate=%s;\n"
        % ca) + loc("outage_status_page shop template={dir}/ok.html;"),
        files)
    assert ok, out


def test_a_bypass_secret_is_not_read_as_a_template(nginx_factory, files,
                                                    tmp_path):
    """outage_bypass_secret took the template reader, template check
    included: a secret with "{{" was refused as an "unclosed {{"."""
    secret = tmp_path / "braces.secret"
    secret.write_bytes(b"{{0123456789abcdef0123456789\n")
    ok, out = nginx_t(nginx_factory,
                      "outage_bypass_secret %s; %s" % (secret, loc("")),
                      files)
    assert ok, out
    assert "{{" not in out, out


# ---- over-long values ---------------------------------------------------------

@pytest.mark.allow_log_errors
@pytest.mark.parametrize("snippet", [
    "outage_scopes %s;" % ("s" * 10240),
    "outage_check s http://127.0.0.1:1/ header=X-A:%s;" % ("v" * 102400),
    loc('outage_banner_html "%s";' % ("<b>" * 40000)),
], ids=["scope-10k", "header-100k", "banner-html-120k"])
def test_values_over_4k_stop_at_the_tokenizer(nginx_factory, files, snippet):
    """nginx's own tokenizer refuses a parameter longer than its 4 KB read
    buffer before any module sees it; it names the line, not the
    directive (stock behaviour, the same for every nginx directive)."""
    ok, out = nginx_t(nginx_factory, snippet, files)
    assert not ok, out
    assert re.search(r'\[emerg\] too long parameter'
                     r'( ".*" started|, probably missing terminating .*) '
                     r'in \S+nginx\.conf:\d+', out), out[:2000]
    assert len(out) < 4096, len(out)       # nothing echoed in full


@pytest.mark.allow_log_errors
@pytest.mark.parametrize("snippet, words", [
    ("outage_scopes %s;" % ("s" * 4000),
     ['"outage_scopes": invalid scope name "sss', "1 to 31 characters"]),
    (loc("outage_page %s;" % ("p" * 4000)),
     ['"outage_page": invalid scope name "ppp', "1 to 31 characters"]),
    ("outage_check s http://127.0.0.1:1/ header=X-A:%s;" % ("v" * 4000),
     ['"outage_check": invalid header in "header=X-A:vvv']),
    ("outage_check s http://127.0.0.1:1/ match=%s;" % ("m" * 4000),
     ['"outage_check": match needs 1 to 256 bytes']),
    ("outage_redis 127.0.0.1 prefix=%s;" % ("p" * 4000),
     ['"outage_redis": prefix longer than 64 bytes']),
    ("outage_redis 127.0.0.1 %s=1;" % ("k" * 4000),
     ['"outage_redis": unknown parameter "kkk']),
    (loc("outage_page_refresh %s;" % ("9" * 4000)),
     ['"outage_page_refresh" takes "off" or a positive time']),
    (loc("outage_banner_status %s;" % ("2" * 4000)),
     ['invalid status "222']),
    (loc("outage_status %s;" % ("j" * 4000)),
     ['"outage_status": unknown format "jjj']),
], ids=["scopes", "page", "check-header", "check-match",
        "redis-prefix", "redis-param", "page-refresh", "banner-status",
        "status-format"])
def test_values_just_under_4k(nginx_factory, files, snippet, words):
    """Under the tokenizer's limit the module's own checks answer, and the
    reason comes before any echo of the value, so the 1 KB cap nginx puts
    on a configuration message never cuts it off."""
    ok, out = nginx_t(nginx_factory, snippet, files)
    assert not ok, out
    first = [ln for ln in out.splitlines() if "[emerg]" in ln][0]
    for w in words:
        assert w in first, (w, first[:300])
    assert len(first) <= 1200, len(first)


def test_long_url_is_accepted(nginx_factory, files):
    """A long but valid check URL is not an error (the timeout is)."""
    ok, out = nginx_t(nginx_factory, "outage_check s http://127.0.0.1:1/%s "
                      "interval=2s;" % ("u" * 4000), files)
    assert ok, out[:500]


# the configuration that produces each row of the runbook's outage_redis
# table (docs/runbook.md, "### outage_redis"); "..." in a row stands for the
# rest of the value
RUNBOOK_REDIS = {
    '"outage_redis" needs at least one address': "outage_redis;",
    '"outage_redis": max_stale=2s is shorter than interval=5000ms + '
    'connect_timeout=1000ms + timeout=1000ms + 1s: every incident would be '
    'dropped between two successful polls': "outage_redis 127.0.0.1 interval=5s max_stale=2s;",
    '"outage_redis": host "redis.invalid:6379" not found, and without an '
    'http-level "resolver" it is never resolved again: add "resolver" to '
    'start now and resolve the name at run time, or use an IP address':
        "outage_redis redis.invalid:6379;",
    '"outage_redis": invalid address "127.0.0.1:99999": invalid port':
        "outage_redis 127.0.0.1:99999;",
    '"outage_redis" directive is duplicate':
        "outage_redis 127.0.0.1; outage_redis 127.0.0.2;",
    '"outage_redis": invalid address "redis://10.0.0.5": expected host:port, '
    '[ipv6]:port or unix:/path': "outage_redis redis://10.0.0.5;",
    '"outage_redis": unknown parameter "pasword=x"':
        "outage_redis 127.0.0.1 pasword=x;",
    '"outage_redis": "user=" needs "password="':
        "outage_redis 127.0.0.1 user=u;",
    '"outage_redis": prefix longer than 64 bytes in "prefix=..."':
        "outage_redis 127.0.0.1 prefix=%s;" % ("p" * 65),
    '"outage_redis": "push=on" with an empty "prefix=" would poll at every '
    'write of any key in Redis; give a prefix or "push=off"':
        "outage_redis 127.0.0.1 prefix= push=on;",
    '"outage_redis": invalid database number in "db=x"':
        "outage_redis 127.0.0.1 db=x;",
    '"outage_redis": invalid time in "timeout=fast", expected a positive '
    'time such as 500ms or 2s': "outage_redis 127.0.0.1 timeout=fast;",
    '"outage_redis": interval must be at least 100ms in "interval=50ms"':
        "outage_redis 127.0.0.1 interval=50ms;",
    '"outage_redis": ping must be at least 1000ms in "ping=500ms"':
        "outage_redis 127.0.0.1 ping=500ms;",
    '"outage_redis": invalid max_stale in "max_stale=0", expected "off" or '
    'a positive time': "outage_redis 127.0.0.1 max_stale=0;",
    '"outage_redis": invalid value in "push=no", expected "push=on" or '
    '"push=off"': "outage_redis 127.0.0.1 push=no;",
    '"outage_redis": "tls_name" needs "tls"':
        "outage_redis 127.0.0.1 tls_name=x;",
    '"outage_redis": invalid value in "tls_verify=maybe", expected "on" or '
    '"off"': "outage_redis 127.0.0.1 tls tls_verify=maybe;",
    '"outage_redis": invalid protocol "SSLv3" in "tls_protocols=SSLv3", '
    'expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3 separated by ","':
        "outage_redis 127.0.0.1 tls tls_protocols=SSLv3;",
    '"outage_redis": "tls_certificate=" and "tls_certificate_key=" go '
    'together': "outage_redis 127.0.0.1 tls tls_certificate=/x.crt;",
    '"outage_redis": empty value in "tls_name="':
        "outage_redis 127.0.0.1 tls tls_name=;",
    '"outage_redis": cannot open "tls_trusted_certificate=" file '
    '"/etc/nginx/redis-ca.pem" (2: No such file or directory)':
        "outage_redis 127.0.0.1 tls "
        "tls_trusted_certificate=/etc/nginx/redis-ca.pem;",
    'SSL_CTX_load_verify_locations(".../redis-ca.pem") failed (SSL: ...)':
        "outage_redis 127.0.0.1 tls "
        "tls_trusted_certificate={dir}/redis-ca.pem;",
}

# rows this nginx cannot produce (it has the SSL module)
RUNBOOK_REDIS_ELSEWHERE = {
    '"outage_redis": "tls" needs nginx built with the SSL module',
}


def runbook_redis_rows():
    with open(os.path.join(REPO, "docs", "runbook.md")) as f:
        text = f.read()
    section = text.split("### outage_redis", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `(.+?)` \|", section, re.M)


def test_runbook_redis_table_is_covered():
    rows = runbook_redis_rows()
    assert len(rows) >= 10, rows
    assert set(rows) == set(RUNBOOK_REDIS) | RUNBOOK_REDIS_ELSEWHERE, \
        set(rows) ^ (set(RUNBOOK_REDIS) | RUNBOOK_REDIS_ELSEWHERE)


@pytest.mark.allow_log_errors
@pytest.mark.parametrize("row", sorted(RUNBOOK_REDIS))
def test_redis_errors_read_as_the_runbook_says(nginx_factory, files, row):
    ok, out = nginx_t(nginx_factory, RUNBOOK_REDIS[row], files)
    assert not ok, out
    pattern = r"\[emerg\] " + re.escape(row).replace(r"\.\.\.", ".*")
    if row.startswith("SSL_CTX_load_verify_locations"):
        # nginx's own text; newer nginx words it as the runbook row adds
        pattern = (r"\[emerg\] (%s|cannot load certificate \S+: "
                   r"\S+ failed)" % pattern[len(r"\[emerg\] "):])
    if row.startswith('"outage_redis'):
        pattern += r" in \S+nginx\.conf:\d+$"
    assert re.search(pattern, out, re.M), (row, out)
