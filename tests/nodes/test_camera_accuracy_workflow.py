"""The camera-accuracy template (room -> render along a preset -> accuracy report + tracked camera) on a real server."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from workflow_api import find_node, ui_to_api  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import install_examples  # noqa: E402


@pytest.fixture(scope="module")
def prepared(server):
    install_examples.install(server.base / "input")
    return server


def _prompt(server) -> dict:
    wf = json.loads((REPO / "workflows" / "camera_accuracy.json").read_text())
    return ui_to_api(wf, server.object_info())


def test_camera_accuracy_template_runs_as_shipped(prepared):
    prompt = _prompt(prepared)
    outputs = prepared.run_ok(prompt, timeout=600)
    acc, track = find_node(prompt, "RealCamCameraAccuracy"), find_node(prompt, "RealCamTrackCamera")
    text = "\n".join(outputs[acc]["text"])
    assert "2/2 trials complete" in text and "registered frames per trial: 16/16, 16/16" in text, text
    rot = float(re.search(r"RotErr\s+([0-9.]+) rad", text).group(1))
    trans_abs = float(re.search(r"TransErr\s+[0-9.]+ relative, ([0-9.]+) absolute", text).group(1))
    # exact renders of the room: the estimator's floor (see tests/core/test_evaluation_ground_truth.py)
    assert rot < 0.25 and trans_abs < 1.5, text
    previews = [nid for nid, node in prompt.items() if node["class_type"] == "PreviewImage"]
    assert len(previews) == 2 and all(outputs[nid]["images"] for nid in previews) and outputs[acc]["images"]
    track_text = "\n".join(outputs[track]["text"])
    assert "method incremental" in track_text and "metres" in track_text, track_text


def test_frame_count_mismatch_is_a_clear_error_on_the_server(prepared):
    prompt = _prompt(prepared)
    acc = find_node(prompt, "RealCamCameraAccuracy")
    preset = prompt[find_node(prompt, "RealCamCameraPreset")]["inputs"]
    prompt["999"] = {"class_type": "RealCamCameraPreset", "inputs": {**preset, "num_frames": 8}}
    prompt[acc]["inputs"]["trajectory"] = ["999", 0]
    err = prepared.run_error(prompt)
    assert "trajectory: expected as many frames as the video (16)" in err and "8 frames" in err, err
