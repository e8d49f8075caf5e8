"""Issue 13 item 2 in the widget: the Trajectory Editor's camera view draws the mesh rule (real chromium,
real frontend). Its rule itself is parity-tested against Python in tests/core/test_editor_mesh_parity.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from driver import ARTIFACTS, run_node  # noqa: E402


def test_camera_view_draws_the_mesh_rule(server):
    run_node("editor_mesh.mjs", server, timeout=200)
    r = json.loads((ARTIFACTS / "editor_mesh.json").read_text())
    assert r["consoleErrors"] == [], r["consoleErrors"]
    assert r["points"] == 160 * 100 and r["frame"] > 0, r
    # the camera canvas holds exactly the mesh render of the current frame, not the older rules'
    assert r["differsFromMesh"] == 0, r
    assert r["differsFromPoints"] > 0 and r["differsFromSurface"] > 0, r
    # magnified 4x the plain splats leave most of the view empty; the mesh closes the surfaces
    cov = r["covered"]
    assert cov["shown"] == cov["mesh"], cov
    assert cov["mesh"] > 0.9 and cov["points"] < 0.6 * cov["mesh"], cov
