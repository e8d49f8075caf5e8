"""Camera path nodes through the real server: pose files out and back in, presets, interrupts."""

from __future__ import annotations

import threading
import time

import pytest
import requests
import torch

from realcam_core.camera import re10k
from realcam_core.trajectory import presets


def test_saved_pose_file_reads_back_exactly(server):
    prompt = {
        "1": {"class_type": "RealCamCameraPreset", "inputs": {"preset": "orbit_left", "num_frames": 12,
                                                              "amplitude": 0.0}},
        "2": {"class_type": "RealCamSavePoseFile", "inputs": {"trajectory": ["1", 0],
                                                              "filename_prefix": "realcam/test_orbit"}},
    }
    outputs = server.run_ok(prompt)
    saved = outputs["2"]["pose_files"][0]
    path = server.base / "output" / saved["subfolder"] / saved["filename"]
    back = re10k.read_re10k(path)
    expected = presets.make_preset("orbit_left", 12)
    assert back.num_frames == 12
    assert torch.equal(back.c2w, expected.c2w)

    # and the saved file drives the loader like any other RealEstate10K file
    (server.base / "input" / "roundtrip.txt").write_text(path.read_text())
    prompt = {
        "1": {"class_type": "RealCamLoadPoseFile", "inputs": {"pose_file": "roundtrip.txt", "translation_scale": 2.0}},
        "2": {"class_type": "RealCamSavePoseFile", "inputs": {"trajectory": ["1", 0],
                                                              "filename_prefix": "realcam/test_scaled"}},
    }
    outputs = server.run_ok(prompt)
    saved = outputs["2"]["pose_files"][0]
    scaled = re10k.read_re10k(server.base / "output" / saved["subfolder"] / saved["filename"])
    assert torch.allclose(scaled.c2w[:, :3, 3], 2 * expected.c2w[:, :3, 3], atol=1e-6)
    assert torch.allclose(scaled.c2w[:, :3, :3], expected.c2w[:, :3, :3], atol=1e-6)


@pytest.mark.timeout(180)
def test_long_render_can_be_interrupted(server):
    (server.base / "input").mkdir(exist_ok=True)
    import numpy as np

    np.save(server.base / "input" / "big_depth.npy", np.full((576, 1024), 3.0, dtype=np.float32))
    prompt = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 1024, "height": 576, "batch_size": 1, "color": 0x808080}},
        "2": {"class_type": "RealCamLoadDepthFile", "inputs": {"file": "big_depth.npy", "metres_per_unit": 0.001}},
        "3": {"class_type": "RealCamSceneFromDepth", "inputs": {
            "image": ["1", 0], "depth": ["2", 0], "depth_encoding": "metres", "max_depth": 20.0, "min_depth": 0.5,
            "fov_deg": 0.0}},
        "4": {"class_type": "RealCamCameraPreset", "inputs": {"preset": "zoom_in", "num_frames": 1024,
                                                              "amplitude": 0.0}},
        "5": {"class_type": "RealCamPointCloudRender", "inputs": {
            "scene": ["3", 0], "trajectory": ["4", 0], "width": 1024, "height": 576, "point_size": 2,
            "mask_kernel": 5, "fit": "crop"}},
        "6": {"class_type": "PreviewImage", "inputs": {"images": ["5", 0]}},
    }
    def interrupt_once_running() -> None:
        # as a user pressing Cancel: once the prompt is executing, plus a moment so the render has begun
        deadline = time.time() + 60
        while time.time() < deadline and not requests.get(server.url + "/queue", timeout=10).json()["queue_running"]:
            time.sleep(0.1)
        time.sleep(1.5)
        requests.post(server.url + "/interrupt", timeout=10)

    canceller = threading.Thread(target=interrupt_once_running, daemon=True)
    start = time.time()
    canceller.start()
    entry = server.run(prompt, timeout=170)
    canceller.join(timeout=5)
    kinds = [m[0] for m in entry["status"]["messages"]]
    assert entry["status"]["status_str"] == "error" and "execution_interrupted" in kinds, kinds
    stopped = dict(entry["status"]["messages"])["execution_interrupted"]
    assert stopped["node_id"] == "5", f"interrupted in node {stopped['node_id']}, not inside the render"
    assert time.time() - start < 60
    assert server.alive()


def test_se3_interpolate_and_cameractrl_round_trip(server):
    prompt = {
        "1": {"class_type": "RealCamCameraPreset", "inputs": {"preset": "orbit_left", "num_frames": 16,
                                                              "amplitude": 0.0}},
        "2": {"class_type": "RealCamSE3Interpolate", "inputs": {
            "trajectory": ["1", 0], "num_frames": 31, "method": "linear_se3", "easing": "linear", "closed": False}},
        "3": {"class_type": "RealCamTrajectoryFromCameraCtrl", "inputs": {"cameractrl_poses": ["2", 2],
                                                                          "translation_scale": 1.0}},
        "4": {"class_type": "RealCamSavePoseFile", "inputs": {"trajectory": ["3", 0],
                                                              "filename_prefix": "realcam/interp"}},
        "5": {"class_type": "PreviewImage", "inputs": {"images": ["2", 3]}},
    }
    outputs = server.run_ok(prompt)
    saved = outputs["4"]["pose_files"][0]
    traj = re10k.read_re10k(server.base / "output" / saved["subfolder"] / saved["filename"])
    src = presets.make_preset("orbit_left", 16)
    assert traj.num_frames == 31
    # every second frame of the 31-frame path is a keyframe of the 16-frame preset
    assert torch.allclose(traj.c2w[::2], src.c2w, atol=1e-5)
    assert outputs["5"]["images"], "the path plot was previewed"


def test_render_preview_is_capped_for_long_paths(server):
    """A long path renders every frame but previews at most 16 frames, in one animated file (no PNG per frame)."""
    prompt = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 40, "batch_size": 1, "color": 0x808080}},
        "2": {"class_type": "SolidMask", "inputs": {"value": 0.25, "width": 64, "height": 40}},
        "3": {"class_type": "RealCamSceneFromDepth", "inputs": {
            "image": ["1", 0], "depth": ["2", 0], "depth_encoding": "normalised", "max_depth": 20.0, "min_depth": 0.5,
            "fov_deg": 0.0}},
        "4": {"class_type": "RealCamCameraPreset", "inputs": {"preset": "zoom_in", "num_frames": 40, "amplitude": 0.0}},
        "5": {"class_type": "RealCamPointCloudRender", "inputs": {
            "scene": ["3", 0], "trajectory": ["4", 0], "width": 64, "height": 40, "point_size": 2,
            "mask_kernel": 5, "fit": "crop"}},
        "6": {"class_type": "PreviewImage", "inputs": {"images": ["5", 0]}},
    }
    outputs = server.run_ok(prompt)
    # the node's own preview: ONE animated file of at most 16 evenly spaced frames (issue 13), not a PNG a frame
    assert len(outputs["6"]["images"]) == 40 and len(outputs["5"]["images"]) == 1 and outputs["5"]["animated"] == [True]
    from PIL import Image

    ref = outputs["5"]["images"][0]
    with Image.open(server.base / "temp" / ref["subfolder"] / ref["filename"]) as im:
        assert 1 <= im.n_frames <= 16  # (the encoder merges identical frames of this flat grey scene)
