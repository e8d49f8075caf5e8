"""Runs the node/playwright scripts of this folder against the test server."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[1] / "tests" / "artifacts" / "browser"


def run_node(script: str, server, timeout: int = 240, **kw) -> None:
    if not shutil.which("node") or not (HERE / "node_modules" / "playwright-core").is_dir():
        pytest.fail("node + playwright-core are required: run scripts/setup.sh --browser")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cmd = ["node", str(HERE / script), "--url", server.url, "--out", str(ARTIFACTS), "--pack", "comfyui-realcam"]
    for k, v in kw.items():
        cmd += [f"--{k}", str(v)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
