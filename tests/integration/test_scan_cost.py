"""The scanner's cost per byte of <head> cannot creep back (issue 15).

tests/bench/scan_ir.py counts, under callgrind, the instructions
ngx_http_outage_scan_feed()/_finish() spend per byte up to the insertion
point on realistic shop heads (many <meta>/<link>, inline JS, CSS,
JSON-LD).  Instruction counts are deterministic, so the bound holds on a
loaded machine.  Before the fast paths the scanner took 5.8 to 7.0 per
byte; it takes 2.3 to 3.2 now.  The issue's target is 1 (not met:
docs/notes/scanner.md says why), so the bound guards the gain.
"""

import os
import shutil
import subprocess

import pytest

from harness import PY, REPO

SCAN_IR = os.path.join(REPO, "tests", "bench", "scan_ir.py")
MAX_IR_PER_BYTE = 4.0


@pytest.mark.skipif(not shutil.which("valgrind"), reason="needs valgrind")
def test_scanner_instructions_per_head_byte():
    run = subprocess.run([PY, SCAN_IR, "--iterations", "20",
                          "--max", str(MAX_IR_PER_BYTE)],
                         capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    rows = [ln for ln in run.stdout.splitlines() if ln.endswith(
        tuple("0123456789"))]
    # three documents x two compilers x two ways of feeding
    assert len(rows) == 12, out
    assert "NO BANNER PLACE" not in out, out
