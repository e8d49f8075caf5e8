from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from comfy_host import ComfyServer  # noqa: E402


@pytest.fixture(scope="session")
def comfy_base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("comfy_base")


@pytest.fixture(scope="session")
def server(comfy_base: Path):
    srv = ComfyServer(comfy_base)
    yield srv
    srv.stop()
    if hasattr(sys, "last_value"):
        return
    shutil.copyfile(srv.log_path, comfy_base / "comfyui.last.log")
