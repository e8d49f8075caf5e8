"""The editor's JS maths module under node's own test runner (its own unit tests)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_realcam_math_js_unit_tests() -> None:
    node = shutil.which("node")
    assert node, "node is required (scripts/setup.sh installs the browser tooling)"
    proc = subprocess.run([node, "--test", str(REPO / "tests" / "js" / "realcam_math.test.mjs")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    passed = int(re.search(r"# pass (\d+)", proc.stdout).group(1))
    assert passed >= 10 and "# fail 0" in proc.stdout, proc.stdout[-2000:]
