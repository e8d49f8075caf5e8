from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from comfy_host import REPO, ComfyServer  # noqa: E402


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One real ComfyUI server for the whole session (its log lands in tests/artifacts/)."""
    srv = ComfyServer(tmp_path_factory.mktemp("comfy_base"))
    yield srv
    srv.stop()
    artifacts = REPO / "tests" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(srv.log_path, artifacts / "comfyui.log")
