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


@pytest.mark.timeout(300)
def test_camera_accuracy_can_be_interrupted(prepared):
    import threading
    import time

    import requests

    prompt = _prompt(prepared)
    acc = find_node(prompt, "RealCamCameraAccuracy")
    prompt[acc]["inputs"]["trials"] = 20  # minutes of work: only an interrupt ends it soon
    prompt[acc]["inputs"]["seed"] = 12345  # not cached from the other tests
    track = find_node(prompt, "RealCamTrackCamera")
    for nid, node in list(prompt.items()):  # drop the tracker and its preview
        if nid == track or any(v == [track, 1] for v in node["inputs"].values()):
            del prompt[nid]

    def interrupt_when_accuracy_runs() -> None:
        deadline = time.time() + 120
        while time.time() < deadline:
            if requests.get(prepared.url + "/queue", timeout=10).json()["queue_running"]:
                break
            time.sleep(0.1)
        time.sleep(12.0)  # past the render, inside the SfM trials
        requests.post(prepared.url + "/interrupt", timeout=10)

    canceller = threading.Thread(target=interrupt_when_accuracy_runs, daemon=True)
    canceller.start()
    start = time.time()
    entry = prepared.run(prompt, timeout=280)
    canceller.join(timeout=5)
    kinds = [m[0] for m in entry["status"]["messages"]]
    errors = [m[1].get("exception_type", "") + ": " + m[1].get("exception_message", "")
              for m in entry["status"]["messages"] if m[0] == "execution_error"]
    assert entry["status"]["status_str"] == "error" and "execution_interrupted" in kinds, (kinds, errors)
    stopped = dict(entry["status"]["messages"])["execution_interrupted"]
    assert stopped["node_id"] == acc, f"interrupted in node {stopped['node_id']}, not inside the accuracy node"
    assert time.time() - start < 90  # 20 trials take several minutes
    assert prepared.alive()
