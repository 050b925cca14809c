"""The scanner's cost per byte of <head> cannot creep back (issue 15).

tests/bench/scan_ir.py counts, under callgrind, the instructions
ngx_http_outage_scan_feed()/_finish() spend per byte up to the insertion
point on realistic shop heads (many <meta>/<link>, inline JS, CSS,
JSON-LD).  Instruction counts are deterministic, so the bound holds on a
loaded machine.  Before the fast paths the scanner took 5.8 to 7.0 per
byte, 2.2 to 2.8 before the head fast path (session 6), 1.3 to 1.7 with
it (SSE2; 1.6 to 2.1 for the portable variant without SSE2), 1.2 to 1.5
with runs of <meta>/<link> read by AVX2 masks where the CPU has them
(session 7).  Session 8 added the storefront head as servers also write
it (indented, tab-indented, CRLF, minified with unquoted values,
single-quoted): 1.3 to 2.3 before (the minified head 2.3 with SSE2 and
2.7 with session 7's masks), 1.2 to 1.7 after (docs/performance.md, run
N).  The issue's target is 1 (not met: runs J, L and N say where the
rest goes), so the bounds guard the gain.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from harness import PY, REPO

SCAN_IR = os.path.join(REPO, "tests", "bench", "scan_ir.py")


def _cpu_has_avx2():
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(re.search(r"^flags\s*:(.*)$", f.read(), re.M)
                        .group(1).split())
    except (OSError, AttributeError):
        return False
    return {"avx2", "bmi1", "bmi2", "pclmulqdq"} <= flags


# (extra scan_ir.py arguments, bound on every row, bound on the minified
# head's rows): the build as it is (on a CPU without AVX2 it runs the SSE2
# searches: same bounds), the SSE2 build (-DNGX_HTTP_OUTAGE_SCAN_NO_AVX2)
# and the portable one; with AVX2 the <meta>/<link> runs read by masks.
# Session 8, worst row (the minified head): 1.72 with AVX2, 1.69 SSE2,
# 2.34 portable; main before it 2.36, 2.36 and 2.68, session 7's masks
# 2.73.  Session 10 (unquoted values read from "=" without the walk of
# "before attribute value", the last one's ">" without a search): the
# minified head's rows 1.49-1.54, 1.47-1.51, 2.12-2.15, from 1.67-1.72,
# 1.65-1.70, 2.28-2.35 (performance.md, Run R-scan).  Its bounds keep
# about 5 % over the figures, since a change of head() that runs the same
# instructions can still move every row by up to 2 % through GCC's
# register allocation (Run R-scan), and fail on e25de5c; the bound on
# every row guards the other heads.
MAX_IR_PER_BYTE = [
    pytest.param([], 1.8, 1.61, id="as-built"),
    pytest.param(["--no-avx2"], 1.8, 1.58, id="no-avx2"),
    pytest.param(["--no-sse2"], 2.45, 2.25, id="no-sse2"),
    pytest.param([], 1.8, 1.61, id="avx2", marks=pytest.mark.skipif(
        not _cpu_has_avx2(), reason="the CPU has no AVX2/BMI2/PCLMUL")),
]


@pytest.mark.skipif(not shutil.which("valgrind"), reason="needs valgrind")
@pytest.mark.parametrize("args,bound,minified", MAX_IR_PER_BYTE)
def test_scanner_instructions_per_head_byte(args, bound, minified, tmp_path):
    js = str(tmp_path / "scan_ir.json")
    run = subprocess.run([PY, SCAN_IR, "--iterations", "20",
                          "--max", str(bound), "--json", js] + args,
                         capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    rows = [ln for ln in run.stdout.splitlines() if ln.endswith(
        tuple("0123456789"))]
    # eight documents (three heads, five ways of writing the storefront
    # head) x two compilers x two ways of feeding
    assert len(rows) == 32, out
    assert "NO BANNER PLACE" not in out, out
    with open(js) as f:
        mini = [r for r in json.load(f) if "minified" in r["document"]]
    assert len(mini) == 4, out
    assert max(r["ir_per_byte"] for r in mini) <= minified, out


# A tag still open at the end of a buffer is read by the fast path and
# then again by the state machine from its "<": the fast path gives up
# after NGX_HTTP_OUTAGE_SCAN_FAST_MAX bytes so that the part read twice
# stays short.  Before that bound these took 20.7, 30.2 and 52.2
# instructions per byte (the state machine alone: 8.0, 17.9, 29.7).
HOSTILE_DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "ngx_http_outage_scan.h"
int main(int argc, char **argv) {
    static unsigned char b[1 << 20];
    FILE *f = fopen(argv[1], "rb");
    size_t n = fread(b, 1, sizeof(b), f);
    ngx_http_outage_scan_t s;
    ngx_http_outage_scan_init(&s);
    int rc = ngx_http_outage_scan_feed(&s, b, n);
    if (rc == 0) rc = ngx_http_outage_scan_finish(&s);
    printf("%d\n", rc);
    return 0;
}
"""

HOSTILE = [
    ("quoted names", b"<meta " + b'"a"' * 66666, 12.0),
    ("attributes, no '>'", b'<meta a="b"' * 20000, 24.0),
    ("self-closing slashes", b"<meta " + b"a/" * 99997, 38.0),
]


@pytest.mark.skipif(not shutil.which("valgrind"), reason="needs valgrind")
def test_a_tag_open_at_the_buffer_end_is_not_read_twice_whole(tmp_path):
    src = tmp_path / "hostile.c"
    src.write_text(HOSTILE_DRIVER)
    drv = tmp_path / "hostile"
    mod = os.path.join(REPO, "ngx_outage_module")
    subprocess.run(["cc", "-O2", "-I", mod, str(src),
                    os.path.join(mod, "ngx_http_outage_scan.c"),
                    "-o", str(drv)], check=True, timeout=120)
    for name, doc, bound in HOSTILE:
        path = tmp_path / "doc"
        path.write_bytes(doc)
        out = tmp_path / "cg.out"
        run = subprocess.run(["valgrind", "--tool=callgrind",
                              "--callgrind-out-file=" + str(out),
                              str(drv), str(path)],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        totals = [ln for ln in out.read_text().splitlines()
                  if ln.startswith(("totals:", "summary:"))]
        ir = int(totals[0].split()[1])
        per_byte = ir / len(doc)
        assert per_byte <= bound, "%s: %.1f instructions per byte > %.1f" % (
            name, per_byte, bound)
