"""Interchange and lens nodes through the real ComfyUI server: files out to output/, back in from input/,
clear errors, core Load3D's camera_info, and the dolly zoom rendered by the preview node."""

from __future__ import annotations

import shutil

import numpy as np
import pygltflib as gl
import pytest
import torch
from PIL import Image

from realcam_core.camera import re10k
from realcam_core.interchange.gltf import read_gltf_trajectory
from realcam_core.interchange.ply import read_ply_points
from realcam_core.trajectory import presets

H, W = 48, 64


@pytest.fixture(scope="module")
def scene_inputs(server):
    """A 64x48 photo with a red square 3 m ahead of a blue wall at 12 m, and its depth."""
    inp = server.base / "input"
    inp.mkdir(exist_ok=True)
    img = np.zeros((H, W, 3), np.uint8)
    img[..., 2] = 255
    depth = np.full((H, W), 12.0, np.float32)
    img[16:32, 24:40] = [255, 0, 0]
    depth[16:32, 24:40] = 3.0
    Image.fromarray(img).save(inp / "ic_subject.png")
    np.save(inp / "ic_subject_depth.npy", depth)
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "ic_subject.png"}},
        "2": {"class_type": "RealCamLoadDepthFile", "inputs": {"file": "ic_subject_depth.npy", "metres_per_unit": 0.001}},
        "3": {"class_type": "RealCamSceneFromDepth", "inputs": {
            "image": ["1", 0], "depth": ["2", 0], "depth_encoding": "metres", "max_depth": 20.0, "min_depth": 0.5,
            "fov_deg": 0.0}},
    }


def _saved_text(outputs: dict, node: str) -> str:
    return outputs[node]["text"][0].split(":")[0]


def _save_pose(node: str, prefix: str) -> dict:
    return {"class_type": "RealCamSavePoseFile", "inputs": {"trajectory": [node, 0], "filename_prefix": prefix}}


def _read_saved_pose(server, outputs: dict, node: str):
    saved = outputs[node]["pose_files"][0]
    return re10k.read_re10k(server.base / "output" / saved["subfolder"] / saved["filename"])


def test_exports_write_files_that_load_back(server, scene_inputs):
    prompt = {**scene_inputs,
              "4": {"class_type": "RealCamCameraPreset", "inputs": {"preset": "orbit_left", "num_frames": 9,
                                                                    "amplitude": 0.0}},
              "5": {"class_type": "RealCamLensKeys", "inputs": {"trajectory": ["4", 0], "lens_keys": "0:24, 8:50",
                                                                "unit": "mm", "sensor_width_mm": 36.0,
                                                                "width": W, "height": H}},
              "6": {"class_type": "RealCamExportGLTF", "inputs": {"trajectory": ["5", 0], "scene": ["3", 0],
                                                                  "fps": 24.0, "filename_prefix": "ic/scene"}},
              "7": {"class_type": "RealCamExportPLY", "inputs": {"scene": ["3", 0], "axes": "opengl",
                                                                 "filename_prefix": "ic/points"}},
              "8": {"class_type": "RealCamExportCOLMAP", "inputs": {"trajectory": ["5", 0], "width": W, "height": H,
                                                                    "scene": ["3", 0], "filename_prefix": "ic/colmap"}},
              "9": {"class_type": "RealCamExportNerfstudio", "inputs": {"trajectory": ["5", 0], "width": W,
                                                                        "height": H, "filename_prefix": "ic/ns"}},
              "10": _save_pose("5", "ic/expected")}
    out = server.run_ok(prompt)
    expected = _read_saved_pose(server, out, "10")
    assert torch.allclose(expected.K_norm[-1, 0, 0], torch.tensor(50 / 36))
    outdir = server.base / "output"
    glb, ply_file = outdir / _saved_text(out, "6"), outdir / _saved_text(out, "7")
    assert glb.suffix == ".glb" and read_gltf_trajectory(glb).lens_animates
    assert read_ply_points(ply_file)[0].shape == (H * W, 3)
    # running the exports again (a changed input, so ComfyUI's cache does not answer) never overwrites
    prompt["6"]["inputs"]["fps"] = 25.0
    prompt["7"]["inputs"]["axes"] = "opencv"
    again = server.run_ok(prompt)
    assert _saved_text(again, "7") == "ic/points_00002_.ply"
    assert _saved_text(again, "6") != _saved_text(out, "6")

    # back in through the loader nodes, from the input folder
    inp = server.base / "input"
    shutil.copy(glb, inp / "ic_scene.glb")
    shutil.copytree(outdir / _saved_text(out, "8"), inp / "ic_colmap")
    shutil.copy(outdir / _saved_text(out, "9"), inp / "ic_transforms.json")
    prompt = {"1": {"class_type": "RealCamLoadGLTFCamera", "inputs": {"gltf_file": "ic_scene.glb", "camera_name": "",
                                                                      "aspect": 0.0}},
              "2": {"class_type": "RealCamLoadCOLMAP", "inputs": {"images_txt": "ic_colmap/images.txt"}},
              "3": {"class_type": "RealCamLoadNerfstudio", "inputs": {"transforms_file": "ic_transforms.json"}},
              "4": _save_pose("1", "ic/from_gltf"), "5": _save_pose("2", "ic/from_colmap"),
              "6": _save_pose("3", "ic/from_ns")}
    out = server.run_ok(prompt)
    for node in ("4", "5", "6"):
        back = _read_saved_pose(server, out, node)
        assert torch.allclose(back.c2w, expected.c2w, atol=1e-5), node
        assert torch.allclose(back.K_norm, expected.K_norm, atol=1e-5), node


def test_loader_errors_name_the_problem(server):
    inp = server.base / "input"
    inp.mkdir(exist_ok=True)
    from realcam_core.interchange.gltf import write_glb

    write_glb(inp / "ic_two.glb", presets.make_preset("zoom_in", 4))
    doc = gl.GLTF2.load(str(inp / "ic_two.glb"))
    doc.cameras.append(gl.Camera(type=gl.PERSPECTIVE, perspective=gl.Perspective(yfov=0.8, aspectRatio=1.5, znear=0.1)))
    doc.nodes.append(gl.Node(name="Witness", camera=1))
    doc.scenes[0].nodes.append(len(doc.nodes) - 1)
    doc.save(str(inp / "ic_two.glb"))
    load = {"class_type": "RealCamLoadGLTFCamera", "inputs": {"gltf_file": "ic_two.glb", "camera_name": "",
                                                               "aspect": 0.0}}
    msg = server.run_error({"1": load, "2": _save_pose("1", "ic/err")})
    assert "2 cameras ['RealCamCamera', 'Witness']" in msg and "camera_name" in msg
    load["inputs"]["camera_name"] = "Witness"
    msg = server.run_error({"1": load, "2": _save_pose("1", "ic/err")})
    assert "does not animate" in msg
    (inp / "ic_bad.json").write_text('{"frames": []}')
    msg = server.run_error({"1": {"class_type": "RealCamLoadNerfstudio", "inputs": {"transforms_file": "ic_bad.json"}},
                            "2": _save_pose("1", "ic/err")})
    assert "no 'frames'" in msg


def test_core_load3d_camera_becomes_a_keyframe(server, scene_inputs):
    """core Load3D -> camera_info -> RealCam pose, appended to a preset's keyframes, then SE3 Interpolate."""
    inp = server.base / "input"
    for name in ("ic_l3d.png", "ic_l3d_mask.png", "ic_l3d_normal.png"):
        Image.new("RGB", (8, 8)).save(inp / name)
    (inp / "3d").mkdir(exist_ok=True)
    from realcam_core.interchange.gltf import write_glb

    write_glb(inp / "3d" / "ic_scene.glb", presets.make_preset("zoom_in", 2))  # Load3D's model_file must exist
    # the viewer looking from straight above the scene camera's position at the scene's origin-forward point
    camera_info = {"position": {"x": 0.0, "y": 2.0, "z": 1.0}, "target": {"x": 0.0, "y": 0.0, "z": 0.0},
                   "zoom": 1, "cameraType": "perspective"}
    load3d_value = {"image": "ic_l3d.png", "mask": "ic_l3d_mask.png", "normal": "ic_l3d_normal.png",
                    "camera_info": camera_info, "recording": ""}
    prompt = {**scene_inputs,
              "4": {"class_type": "Load3D", "inputs": {"model_file": "3d/ic_scene.glb", "image": load3d_value,
                                                       "width": 1024, "height": 512}},
              "5": {"class_type": "RealCamCameraPreset", "inputs": {"preset": "zoom_in", "num_frames": 2,
                                                                    "amplitude": 0.0}},
              "6": {"class_type": "RealCamLoad3DCamera", "inputs": {"camera_info": ["4", 4], "fov": 75.0,
                                                                    "width": 1024, "height": 512, "scene": ["3", 0],
                                                                    "append_to": ["5", 0], "frames_after": 8}},
              "7": {"class_type": "RealCamSE3Interpolate", "inputs": {"trajectory": ["6", 0], "num_frames": 17,
                                                                      "method": "linear_se3", "easing": "linear",
                                                                      "closed": False}},
              "8": _save_pose("7", "ic/load3d")}
    out = server.run_ok(prompt)
    traj = _read_saved_pose(server, out, "8")
    from realcam_core.interchange.load3d import load3d_to_c2w, load3d_to_k_norm
    from realcam_core.scene.build import scene_from_depth
    from realcam_core.scene.geometry import scene_point_cloud

    img = torch.from_numpy(np.asarray(Image.open(inp / "ic_subject.png"), np.float32) / 255)
    scene = scene_from_depth(img, torch.from_numpy(np.load(inp / "ic_subject_depth.npy")))
    pose = torch.from_numpy(load3d_to_c2w(camera_info, scene_point_cloud(scene)[0].double().numpy())).float()
    # keys at 0, 1 (the preset) and 9 (the Load3D view) stretched over 17 frames: the view is the last frame
    assert torch.allclose(traj.c2w[-1], pose, atol=1e-5)
    K = torch.from_numpy(load3d_to_k_norm(camera_info, 75.0, 1024, 512)).float()
    assert torch.allclose(traj.K_norm[-1], K, atol=1e-6)
    assert not torch.allclose(traj.K_norm[0], K)  # the preset's lens at the start: the lens animates


def test_dolly_zoom_preview_keeps_the_subject_size(server, scene_inputs):
    prompt = {**scene_inputs,
              "4": {"class_type": "RealCamDollyZoom", "inputs": {"num_frames": 2, "dolly": 1.5, "subject_distance": 0.0,
                                                                 "start_focal_mm": 35.0, "sensor_width_mm": 36.0,
                                                                 "width": 128, "height": 96, "scene": ["3", 0]}},
              "5": {"class_type": "RealCamSE3Interpolate", "inputs": {"trajectory": ["4", 0], "num_frames": 9,
                                                                      "method": "linear_se3", "easing": "ease_in_out",
                                                                      "closed": False}},
              "6": {"class_type": "RealCamPointCloudRender", "inputs": {
                  "scene": ["3", 0], "trajectory": ["5", 0], "width": 128, "height": 96, "point_size": 2,
                  "mask_kernel": 5, "fit": "crop"}},
              "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "ic/dolly"}}}
    out = server.run_ok(prompt)
    sizes = []
    for f in out["7"]["images"]:
        frame = np.asarray(Image.open(server.base / "output" / f["subfolder"] / f["filename"]), np.float32) / 255
        red = (frame[..., 0] > 0.5) & (frame[..., 2] < 0.5)
        ys, xs = np.nonzero(red)
        sizes.append([xs.max() - xs.min() + 1, ys.max() - ys.min() + 1])
    sizes = np.array(sizes, np.float64)
    assert len(sizes) == 9
    assert np.abs(sizes / sizes[0] - 1).max() <= 0.02, sizes


def test_blender_template_runs_as_shipped(server):
    import json
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(repo / "scripts"))
    sys.path.insert(0, str(repo / "tests"))
    import install_examples
    from workflow_api import find_node, ui_to_api

    install_examples.install(server.base / "input")
    wf = json.loads((repo / "workflows" / "camera_to_blender_offline.json").read_text())
    prompt = ui_to_api(wf, server.object_info())
    out = server.run_ok(prompt)
    assert server.saved_video(out, find_node(prompt, "SaveVideo")) == (16, 512, 320)
    glb = server.base / "output" / _saved_text(out, find_node(prompt, "RealCamExportGLTF"))
    saved = _read_saved_pose(server, out, find_node(prompt, "RealCamSavePoseFile"))
    back = read_gltf_trajectory(glb)
    assert back.lens_animates and back.trajectory.num_frames == 16
    assert torch.allclose(back.trajectory.c2w, saved.c2w, atol=1e-5)
    assert torch.allclose(back.trajectory.K_norm, saved.K_norm, atol=1e-5)
    assert float(saved.K_norm[-1, 0, 0]) < float(saved.K_norm[0, 0, 0])  # moving in, the lens widens
