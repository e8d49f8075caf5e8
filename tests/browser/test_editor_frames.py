"""The Trajectory Editor's frame-count menu (issue 10) in real chromium: "Wan 81 frames" reaches the output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import install_examples  # noqa: E402

sys.path.insert(0, str(HERE))
from driver import ARTIFACTS, run_node  # noqa: E402

from realcam_core.camera import re10k  # noqa: E402
from realcam_core.trajectory.editor import parse_editor_state  # noqa: E402
from realcam_core.wan import FRAME_CHOICES  # noqa: E402


@pytest.mark.timeout(300)
def test_editor_wan_81_frames_choice(server):
    install_examples.install(server.base / "input")
    run_node("editor_frames.mjs", server, timeout=240)
    r = json.loads((ARTIFACTS / "editor_frames.json").read_text())

    assert r["options"] == list(FRAME_CHOICES), r["options"]
    before, after = parse_editor_state(r["stateBefore"]), parse_editor_state(r["stateAfter"])
    assert before.num_frames == 16 and r["menuBefore"] == "DynamiCrafter 16 frames"
    assert after.num_frames == 81 and r["menuAfter"] == "Wan 81 frames" and r["framesField"] == "81"
    # keyframe times stretch with the length (0 and 15 of 16 -> 0 and 80 of 81); poses unchanged
    assert [k.frame for k in after.keyframes] == [0, 80]
    assert [k.position for k in after.keyframes] == [k.position for k in before.keyframes]

    # the queued run: the editor node reports 81 frames and the saved pose file holds the drawn 81-frame path
    run = r["run"]
    assert run["status"]["status_str"] == "success", run["status"]
    reported = [p["num_frames"] for out in run["outputs"].values() for p in out.get("realcam_editor", [])]
    assert reported == [81], run["outputs"]
    files = [f for out in run["outputs"].values() for f in out.get("pose_files", [])]
    assert len(files) == 1, run["outputs"]
    saved = re10k.read_re10k(server.base / "output" / files[0]["subfolder"] / files[0]["filename"])
    assert saved.num_frames == 81
    assert torch.allclose(saved.c2w, after.trajectory().c2w, atol=1e-5)
    assert r["consoleErrors"] == [], r["consoleErrors"]
