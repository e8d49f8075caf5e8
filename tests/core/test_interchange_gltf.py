"""glTF out / in: round trips, errors, and Blender's own importer and exporter (skipped only without Blender)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pygltflib as gl
import pytest
import torch

from realcam_core.camera.adapters import trajectory_from_c2w
from realcam_core.camera.se3 import look_at
from realcam_core.errors import RealCamInputError
from realcam_core.interchange.axes import F4, cv_to_gl, matrix_to_quat_xyzw, quat_xyzw_to_matrix
from realcam_core.interchange.gltf import gltf_camera_names, read_gltf_trajectory, write_glb
from realcam_core.scene.build import scene_from_depth
from realcam_core.scene.geometry import scene_point_cloud
from realcam_core.trajectory.presets import make_preset
from realcam_core.trajectory.types import Trajectory

HERE = Path(__file__).parent
BLENDER = shutil.which("blender")
# Blender's world is z-up: its importer turns glTF's y-up world by +90 degrees about x (camera axes unchanged)
BLENDER_FROM_GLTF = np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.float64)


def _scene(h: int = 12, w: int = 16):
    g = torch.Generator().manual_seed(0)
    depth = 2.0 + torch.rand(h, w, generator=g)
    depth[0, :3] = 0.0  # invalid pixels are not exported
    return scene_from_depth(torch.rand(h, w, 3, generator=g), depth, fov_deg=70.0)


def _lens_trajectory(n: int = 9, aspect: float = 16 / 9) -> Trajectory:
    traj = make_preset("orbit_left", n)
    fy = torch.linspace(0.6, 1.1, n)  # focal length widens while the camera orbits
    K = torch.zeros(n, 3, 3)
    K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = fy / aspect, fy, 0.5, 0.5, 1.0
    traj.K_norm = K
    return traj


def test_axis_change_is_one_involution_and_keeps_frame0():
    assert np.allclose(cv_to_gl(np.eye(4)), np.eye(4))
    # an OpenCV camera looking along world +x: in glTF it looks down its -z, which must be world +x too
    c2w = look_at(torch.zeros(3), torch.tensor([1.0, 0, 0]), up=torch.tensor([0.0, -1.0, 0])).double().numpy()
    gl_c2w = cv_to_gl(c2w)
    assert np.allclose(gl_c2w[:3, :3] @ [0, 0, -1], F4[:3, :3] @ [1, 0, 0], atol=1e-6)
    assert np.allclose(cv_to_gl(gl_c2w), c2w)
    R = quat_xyzw_to_matrix(np.array([0.1, -0.3, 0.2, 0.9]))
    assert np.allclose(quat_xyzw_to_matrix(matrix_to_quat_xyzw(R)), R, atol=1e-12)


def test_round_trip_out_in_with_lens_animation(tmp_path):
    traj = _lens_trajectory()
    pts, cols = scene_point_cloud(_scene())
    info = write_glb(tmp_path / "a.glb", traj, pts, cols, fps=24)
    assert info["lens_animates"] and info["points"] == pts.shape[0]
    back = read_gltf_trajectory(tmp_path / "a.glb")
    assert back.camera_name == "RealCamCamera" and back.lens_animates
    assert torch.allclose(back.trajectory.c2w, traj.c2w, atol=1e-5)
    assert torch.allclose(back.trajectory.K_norm, traj.K_norm, atol=1e-5)
    assert np.allclose(back.times, np.arange(9) / 24, atol=1e-6)


def test_full_turn_keeps_shortest_arcs(tmp_path):
    # a 360 degree look-around passes w = 0 twice; consecutive keys must stay on one hemisphere so that
    # glTF's LINEAR slerp between frames (Blender's too) turns 1/24 of a turn, not the long way round
    traj = make_preset("look_left", 25, amplitude=360.0)
    write_glb(tmp_path / "a.glb", traj)
    doc = gl.GLTF2.load(str(tmp_path / "a.glb"))
    acc = doc.accessors[doc.animations[0].samplers[1].output]
    view = doc.bufferViews[acc.bufferView]
    q = np.frombuffer(doc.binary_blob(), np.float32, acc.count * 4, view.byteOffset).reshape(-1, 4)
    assert np.all(np.sum(q[1:] * q[:-1], axis=1) > 0.9)
    assert torch.allclose(read_gltf_trajectory(tmp_path / "a.glb").trajectory.c2w, traj.c2w, atol=1e-5)


def test_import_is_relative_to_first_frame_and_ignores_uniform_scale(tmp_path):
    # the same path shifted, turned and uniformly scaled by a parent node reads back identically
    traj = make_preset("pan_right", 5, amplitude=2.0)
    write_glb(tmp_path / "a.glb", traj)
    doc = gl.GLTF2.load(str(tmp_path / "a.glb"))
    doc.nodes.append(gl.Node(name="rig", children=[len(doc.nodes) - 1], translation=[3, -1, 2],
                             rotation=[0.0, 0.38268343, 0.0, 0.92387953], scale=[1.0, 1.0, 1.0]))
    doc.scenes[0].nodes = [len(doc.nodes) - 1]
    doc.save(str(tmp_path / "b.glb"))
    back = read_gltf_trajectory(tmp_path / "b.glb").trajectory
    assert torch.allclose(back.c2w, traj.c2w, atol=1e-5)

    doc.nodes[-1].scale = [2.0, 1.0, 1.0]
    doc.save(str(tmp_path / "c.glb"))
    with pytest.raises(RealCamInputError, match="non-uniform scale"):
        read_gltf_trajectory(tmp_path / "c.glb")


def test_errors_no_camera_several_cameras_still_camera(tmp_path):
    traj = make_preset("zoom_in", 4)
    write_glb(tmp_path / "a.glb", traj)
    doc = gl.GLTF2.load(str(tmp_path / "a.glb"))
    # a second camera, never animated
    doc.cameras.append(gl.Camera(type=gl.PERSPECTIVE, perspective=gl.Perspective(yfov=0.8, aspectRatio=1.5, znear=0.1)))
    doc.nodes.append(gl.Node(name="Still", camera=1))
    doc.scenes[0].nodes.append(len(doc.nodes) - 1)
    doc.save(str(tmp_path / "two.glb"))
    assert gltf_camera_names(tmp_path / "two.glb") == ["RealCamCamera", "Still"]
    with pytest.raises(RealCamInputError, match=r"2 cameras \['RealCamCamera', 'Still'\]"):
        read_gltf_trajectory(tmp_path / "two.glb")
    with pytest.raises(RealCamInputError, match="'Nope' is not a camera"):
        read_gltf_trajectory(tmp_path / "two.glb", camera_name="Nope")
    with pytest.raises(RealCamInputError, match="does not animate"):
        read_gltf_trajectory(tmp_path / "two.glb", camera_name="Still")
    assert torch.allclose(read_gltf_trajectory(tmp_path / "two.glb", "RealCamCamera").trajectory.c2w, traj.c2w,
                          atol=1e-5)

    doc = gl.GLTF2.load(str(tmp_path / "a.glb"))
    doc.nodes = [nd for nd in doc.nodes if nd.camera is None]
    doc.animations = []
    doc.scenes[0].nodes = []
    doc.save(str(tmp_path / "none.glb"))
    with pytest.raises(RealCamInputError, match="has no camera"):
        read_gltf_trajectory(tmp_path / "none.glb")
    (tmp_path / "junk.glb").write_bytes(b"not a gltf")
    with pytest.raises(RealCamInputError, match="not a readable glTF"):
        read_gltf_trajectory(tmp_path / "junk.glb")


def _blender(script: str, *args: str) -> None:
    proc = subprocess.run([BLENDER, "-b", "--factory-startup", "--python", str(HERE / script), "--", *args],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and "Traceback" not in proc.stdout + proc.stderr, proc.stdout[-3000:] + proc.stderr


@pytest.mark.skipif(BLENDER is None, reason="Blender is not installed (scripts/setup.sh --blender installs it)")
@pytest.mark.parametrize("lens", ["fixed", "animated"])
def test_blender_imports_our_glb(tmp_path, lens):
    scene = _scene()
    pts, cols = scene_point_cloud(scene)
    traj = _lens_trajectory(9) if lens == "animated" else make_preset("orbit_left", 9)
    if lens == "fixed":
        traj.K_norm[:, 0, 0] = 0.8 * 9 / 16
        traj.K_norm[:, 1, 1] = 0.8
    write_glb(tmp_path / "a.glb", traj, pts, cols, fps=24)
    _blender("blender_read_gltf.py", str(tmp_path / "a.glb"), str(tmp_path / "a.json"))
    got = json.loads((tmp_path / "a.json").read_text())
    assert got["meshes"] == {"RealCamScene": pts.shape[0]}
    rows = got["cameras"]["RealCamCamera"]
    assert [r["frame"] for r in rows] == list(range(9))  # time i / 24 s lands on Blender frame i at 24 fps
    expected = BLENDER_FROM_GLTF @ cv_to_gl(traj.c2w.double().numpy())
    for i, r in enumerate(rows):
        assert np.allclose(np.array(r["matrix_world"]), expected[i], atol=1e-4), i
        assert r["sensor_fit"] == "VERTICAL"
        yfov = 2 * math.atan(0.5 / float(traj.K_norm[0 if lens == "animated" else i, 1, 1]))
        # glTF core cannot animate a lens; Blender 3.4 ignores KHR_animation_pointer and keeps frame 0's
        assert abs(r["angle_y"] - yfov) < 1e-4, (i, r["angle_y"], yfov)


@pytest.mark.skipif(BLENDER is None, reason="Blender is not installed (scripts/setup.sh --blender installs it)")
def test_camera_exported_by_blender_reads_back(tmp_path):
    _blender("blender_write_gltf.py", str(tmp_path / "b.glb"), str(tmp_path / "b.json"))
    ref = json.loads((tmp_path / "b.json").read_text())
    with pytest.raises(RealCamInputError, match="2 cameras"):
        read_gltf_trajectory(tmp_path / "b.glb")
    got = read_gltf_trajectory(tmp_path / "b.glb", camera_name="ShotCam")
    M = np.array([r["matrix_world"] for r in ref["rows"]])
    c2w = cv_to_gl(np.linalg.inv(BLENDER_FROM_GLTF) @ M)
    expected = trajectory_from_c2w(torch.from_numpy(c2w)).c2w
    assert got.trajectory.num_frames == 5
    assert torch.allclose(got.trajectory.c2w, expected, atol=1e-4)
    # sensor fit AUTO on a landscape frame: the 36 mm sensor width spans the image width (angle_x)
    fx = 0.5 / math.tan(ref["rows"][0]["angle_x"] / 2)
    assert torch.allclose(got.trajectory.K_norm[:, 0, 0], torch.full((5,), fx), atol=1e-4)
    assert torch.allclose(got.trajectory.K_norm[:, 1, 1], torch.full((5,), fx * ref["aspect"]), atol=1e-4)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
