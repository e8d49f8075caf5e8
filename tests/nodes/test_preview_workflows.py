"""The camera-preview example workflows through a real ComfyUI server (POST /prompt, /history)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from workflow_api import find_node, ui_to_api, with_inputs  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import install_examples  # noqa: E402

from realcam_core.testing import tiny_depth  # noqa: E402

TINY_ORIGINAL = "tiny_depth_anything_v2_metric_hypersim_vits.safetensors"
TINY_PTH = "tiny_depth_anything_v2_metric_vkitti_vits.pth"
TINY_HF = "Tiny-Depth-Anything-V2-Metric-Indoor-hf"


@pytest.fixture(scope="module")
def prepared(server):
    """Example inputs in input/, tiny random depth models in both real formats in models/depthanything."""
    install_examples.install(server.base / "input")
    depth_dir = server.base / "models" / "depthanything"
    depth_dir.mkdir(parents=True, exist_ok=True)
    tiny_depth.write_tiny_original(depth_dir / TINY_ORIGINAL, seed=0)
    tiny_depth.write_tiny_original(depth_dir / TINY_PTH, seed=1)
    tiny_depth.write_tiny_hf(depth_dir / TINY_HF, seed=0)
    return server


def load_prompt(server, name: str) -> dict:
    wf = json.loads((REPO / "workflows" / f"{name}.json").read_text())
    return ui_to_api(wf, server.object_info())


@pytest.mark.parametrize("model", [TINY_ORIGINAL, TINY_PTH, TINY_HF])
def test_camera_preview_runs_with_each_depth_format(prepared, model):
    prompt = load_prompt(prepared, "camera_preview")
    loader = find_node(prompt, "RealCamLoadDepthModel")
    preset = find_node(prompt, "RealCamCameraPreset")
    render = find_node(prompt, "RealCamPointCloudRender")
    prompt = with_inputs(prompt, {loader: {"model": model}, preset: {"num_frames": 9},
                                  render: {"width": 256, "height": 160}})
    outputs = prepared.run_ok(prompt)
    frames, w, h = prepared.saved_video(outputs, find_node(prompt, "SaveVideo"))
    assert (frames, w, h) == (9, 256, 160)


def test_offline_preview_runs_as_shipped(prepared):
    prompt = load_prompt(prepared, "camera_preview_offline")
    outputs = prepared.run_ok(prompt)
    preset = prompt[find_node(prompt, "RealCamCameraPreset")]["inputs"]
    render = prompt[find_node(prompt, "RealCamPointCloudRender")]["inputs"]
    frames, w, h = prepared.saved_video(outputs, find_node(prompt, "SaveVideo"))
    assert (frames, w, h) == (preset["num_frames"], render["width"], render["height"])
