"""The documentation keeps up with the sources.

(a) Every directive in the module's command table has a "### name" section
    with a Syntax/Default/Context table in docs/directives.md, and that file
    documents no directive the sources do not have; every variable of the
    variable table is in its variables table, and no other.
(b) Every message the module writes to the error log (ngx_log_error) or
    prints at "nginx -t" (ngx_conf_log_error) is in docs/runbook.md: the
    format string becomes a pattern whose %-conversions match any text, so
    an example such as `outage: check "checkout" (#0) is down: HTTP 500
    (3 failures)` documents `outage: check "%V" (#%ui) is down: %*s (%ui
    failures)`.
(c) Every relative link in README.md and docs/ resolves to a file.
(d) The examples people copy work: the README's configuration and
    redis-cli lines do what the README says (against a real nginx and
    redis-server), and the example configuration of docs/directives.md
    passes "nginx -t".
"""

import glob
import os
import re
import subprocess

import pytest

from harness import wait_for

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SRC = os.path.join(REPO, "ngx_outage_module")
DIRECTIVES_MD = os.path.join(REPO, "docs", "directives.md")
RUNBOOK_MD = os.path.join(REPO, "docs", "runbook.md")

# one C string literal, escapes kept
LITERAL = r'"((?:[^"\\\n]|\\.)*)"'

# an nginx format conversion: %V, %s, %*s, %ui, %uz, %uA, %Mms, %T, %xD ...
CONVERSION = re.compile(r"%[0-9.]*\*?[uxXl]*[a-zA-Z]")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def strip_comments(src):
    return re.sub(r"/\*.*?\*/", "", src, flags=re.S)


def table_names(src, table):
    """ngx_string("...") names inside the C array named `table`."""
    m = re.search(r"\b%s\[\]\s*=\s*\{(.*?)\n\};" % re.escape(table), src,
                  re.S)
    assert m, "table %s not found" % table
    return re.findall(r'ngx_string\("([a-z_]+)"\)', m.group(1))


def source_directives():
    src = strip_comments(read(os.path.join(SRC, "ngx_http_outage_module.c")))
    return table_names(src, "ngx_http_outage_commands")


def source_variables():
    src = strip_comments(read(os.path.join(SRC,
                                           "ngx_http_outage_variables.c")))
    return (table_names(src, "ngx_http_outage_vars")
            + table_names(src, "ngx_http_outage_request_vars"))


def md_sections(text):
    """{heading name: section text} for "### name" headings."""
    parts = re.split(r"^### +(\S+) *$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


# ---- (a) directives and variables -------------------------------------------

def test_source_tables_parse():
    # the parsers below must see the tables, or the other tests prove nothing
    d = source_directives()
    assert len(d) >= 30 and len(set(d)) == len(d), d
    assert "outage_redis" in d and "outage_banner_css" in d
    v = source_variables()
    assert "outage_state" in v and "outage_message_html" in v, v
    assert "outage_probe" in v, v


def test_every_directive_has_a_section():
    sections = md_sections(read(DIRECTIVES_MD))
    missing = [d for d in source_directives() if d not in sections]
    assert not missing, "not documented in docs/directives.md: %s" % missing


def test_each_section_has_syntax_default_context():
    sections = md_sections(read(DIRECTIVES_MD))
    bad = []
    for name in source_directives():
        body = sections.get(name, "")
        rows = [r for r in ("Syntax:", "Default:", "Context:")
                if not re.search(r"^\|\s*%s\s*\|" % r, body, re.M)]
        if rows or not re.search(r"`%s\b" % re.escape(name), body):
            bad.append((name, rows))
    assert not bad, "sections without a Syntax/Default/Context table " \
                    "naming the directive: %s" % bad


def test_no_directive_documented_that_the_source_lacks():
    known = set(source_directives())
    documented = [h for h in md_sections(read(DIRECTIVES_MD))
                  if h.startswith("outage_")]
    assert documented, "no ### outage_* headings found"
    extra = [h for h in documented if h not in known]
    assert not extra, "documented but not in the source: %s" % extra


def variables_table(text):
    """`$outage_*` names in the first column of markdown table rows."""
    return re.findall(r"^\|\s*`\$(outage_[a-z_]+)`\s*\|", text, re.M)


def test_every_variable_in_the_variables_table():
    documented = variables_table(read(DIRECTIVES_MD))
    source = source_variables()
    missing = [v for v in source if v not in documented]
    extra = [v for v in documented if v not in source]
    assert not missing, "variables not in the table: %s" % missing
    assert not extra, "variables documented but not in the source: %s" % extra


# ---- (b) every log line and nginx -t error in the runbook --------------------

def c_unescape(s):
    return (s.replace('\\"', '"').replace("\\\\", "\\")
            .replace("\\n", " ").replace("\\t", " "))


def log_formats():
    """(file, function, level, format) of every ngx_log_error and
    ngx_conf_log_error call in the module's C sources."""
    found = []
    call = re.compile(r"\b(ngx_log_error|ngx_conf_log_error)\s*\(\s*"
                      r"(NGX_LOG_[A-Z]+)\s*,[^\"]*?(" + LITERAL
                      + r"(?:\s*" + LITERAL + r")*)", re.S)
    for path in sorted(glob.glob(os.path.join(SRC, "*.c"))):
        src = strip_comments(read(path))
        for m in call.finditer(src):
            fmt = "".join(re.findall(LITERAL, m.group(3)))
            found.append((os.path.basename(path), m.group(1), m.group(2),
                          c_unescape(fmt)))
    return found


def format_pattern(fmt):
    """The format as a regex: fixed text literal, conversions any text."""
    parts = CONVERSION.split(fmt)
    return re.compile(".*?".join(re.escape(p) for p in parts))


def test_log_formats_parse():
    formats = log_formats()
    runtime = [f for f in formats if f[1] == "ngx_log_error"]
    assert len(runtime) >= 25, runtime
    assert all(f[3].startswith("outage: ") for f in runtime), \
        [f for f in runtime if not f[3].startswith("outage: ")]
    # the pattern is strict about the fixed text
    p = format_pattern('outage: check "%V" (#%ui) is down: %*s '
                       '(%ui failures)')
    assert p.search('outage: check "checkout" (#0) is down: HTTP 500 '
                    '(3 failures)')
    assert not p.search('outage: check "checkout" (#0) is up')


@pytest.mark.parametrize("kind", ["ngx_log_error", "ngx_conf_log_error"])
def test_every_log_message_is_in_the_runbook(kind):
    lines = [re.sub(r"\s+", " ", line.replace("`", ""))
             for line in read(RUNBOOK_MD).splitlines()]
    missing = []
    for fname, func, level, fmt in log_formats():
        if func != kind:
            continue
        pat = format_pattern(re.sub(r"\s+", " ", fmt))
        if not any(pat.search(line) for line in lines):
            missing.append("%s %s: %s" % (fname, level, fmt))
    assert not missing, "not in docs/runbook.md:\n  " + "\n  ".join(missing)


# ---- (c) relative links -------------------------------------------------------

def markdown_files():
    files = [os.path.join(REPO, "README.md")]
    files += sorted(glob.glob(os.path.join(REPO, "docs", "**", "*.md"),
                              recursive=True))
    return files


LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def relative_links(path):
    text = read(path)
    # links inside code are not links
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or \
                target.startswith("#"):
            continue
        yield target


def test_relative_links_resolve():
    broken = []
    count = 0
    for md in markdown_files():
        for target in relative_links(md):
            count += 1
            rel = target.split("#", 1)[0]
            dest = os.path.normpath(os.path.join(os.path.dirname(md), rel))
            if not dest.startswith(REPO) or not os.path.exists(dest):
                broken.append("%s: %s" % (os.path.relpath(md, REPO), target))
    assert count >= 10, "expected the docs to link each other"
    assert not broken, "broken links:\n  " + "\n  ".join(broken)


# ---- (d) the examples work ----------------------------------------------------

def nginx_blocks(path):
    return re.findall(r"```nginx\n(.*?)```", read(path), re.S)


def http_body(conf):
    """The inside of the http { } block of a complete example."""
    m = re.search(r"^http \{\n(.*)^\}\s*$", conf, re.S | re.M)
    assert m, "no http block in:\n" + conf
    return m.group(1)


def bash_words(line):
    """The words bash passes for a shell line ($(...) run, quotes gone)."""
    out = subprocess.run(["bash", "-c", "printf '%s\\0' " + line],
                         capture_output=True, timeout=10, check=True)
    return out.stdout.decode().split("\0")[:-1]


def test_readme_first_screen_works(nginx_factory, redis, backend):
    conf = nginx_blocks(os.path.join(REPO, "README.md"))[0]
    assert conf.startswith("load_module ") and "events {}" in conf
    body = http_body(conf)
    for old, new in [("127.0.0.1:6379", "127.0.0.1:%d" % redis.port),
                     ("127.0.0.1:8080", "127.0.0.1:%d" % backend.port),
                     ("127.0.0.1:8081", "127.0.0.1:%d" % backend.port),
                     ("listen 80;", "listen 127.0.0.1:{port};")]:
        assert old in body, old
        body = body.replace(old, new)
    n = nginx_factory(body)
    wait_for(lambda: n.status_json()["redis"]["up"], what="first poll")

    text = read(os.path.join(REPO, "README.md"))
    block = re.search(r"```sh\n(redis-cli (?:-p \d+ )?SET outage:site.*?)```",
                      text, re.S).group(1)
    # through bash, as people run them: the eta is "$(date ...)"
    lines = [bash_words(line)[1:] for line in block.splitlines()
             if line.startswith("redis-cli ")]
    # printed for the demo of `make run`: its Redis port, as demo.sh has it
    with open(os.path.join(REPO, "scripts", "demo.sh")) as f:
        demo_port = re.search(r"DEMO_REDIS_PORT:-(\d+)", f.read()).group(1)
    assert all(a[:2] == ["-p", demo_port] for a in lines), lines
    lines = [a[2:] for a in lines]
    assert [a[:2] for a in lines] == [["SET", "outage:site"],
                                      ["DEL", "outage:site"],
                                      ["HSET", "outage:checkout"],
                                      ["DEL", "outage:checkout"]]

    def banner():
        return b'class="outage-banner' in n.get("/")[2]

    redis.cli(*lines[0])
    wait_for(banner, timeout=5, what="banner after SET")
    assert lines[0][2].replace("'", "&#39;").encode() in n.get("/")[2]
    redis.cli(*lines[1])
    wait_for(lambda: not banner(), timeout=5, what="no banner after DEL")

    redis.cli(*lines[2])
    wait_for(lambda: n.get("/checkout/")[0] == 503, timeout=5,
             what="503 page after HSET")
    status, headers, page = n.get("/checkout/")
    assert b"Checkout is unavailable" in page
    # the eta is shown, and is what Retry-After counts down to (an eta
    # written as a fixed date went into the past and showed nothing)
    eta = lines[2][lines[2].index("eta") + 1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", eta), eta
    assert 25 * 60 < int(headers["retry-after"]) <= 31 * 60, headers
    assert [s["eta"] for s in n.status_json()["scopes"]
            if s["name"] == "checkout"] == [eta]
    redis.cli(*lines[3])
    wait_for(lambda: n.get("/checkout/")[0] != 503, timeout=5,
             what="no page after DEL")


def test_directives_example_configuration_passes_nginx_t(nginx_factory,
                                                         tmp_path):
    conf = nginx_blocks(DIRECTIVES_MD)[0]
    assert conf.startswith("load_module ")
    secret = tmp_path / "secret"
    secret.write_text("0123456789abcdef0123456789abcdef\n")
    body = http_body(conf).replace("/etc/nginx/outage-bypass.secret",
                                   str(secret))
    body = body.replace("listen 80;", "listen 127.0.0.1:{port};")
    n = nginx_factory(body, start=False)
    ok, out = n.test_config()
    assert ok, out
