"""COLMAP text, nerfstudio transforms.json and PLY: round trips through the real libraries, hand-made files, errors."""

from __future__ import annotations

import json

import numpy as np
import pycolmap
import pytest
import torch

from realcam_core.errors import RealCamInputError
from realcam_core.interchange.colmap import read_colmap_text, write_colmap_text
from realcam_core.interchange.nerfstudio import read_transforms_json, write_transforms_json
from realcam_core.interchange.ply import read_ply_points, write_ply
from realcam_core.trajectory.presets import make_preset
from realcam_core.trajectory.types import Trajectory


def _traj(lens: bool) -> Trajectory:
    t = make_preset("orbit_right", 7, amplitude=30.0)
    if lens:  # per-frame focal length, principal point slightly off centre
        K = t.K_norm.clone()
        K[:, 0, 0] = torch.linspace(0.5, 0.9, 7)
        K[:, 1, 1] = torch.linspace(0.5, 0.9, 7) * 1.5
        K[:, 0, 2] = 0.51
        t.K_norm = K
    return t


@pytest.mark.parametrize("lens", [False, True])
def test_colmap_round_trip(tmp_path, lens):
    t = _traj(lens)
    pts, cols = np.random.default_rng(0).normal(size=(50, 3)), np.random.default_rng(1).random((50, 3))
    info = write_colmap_text(tmp_path, t, width=320, height=240, points=pts, colors=cols)
    assert info == {"frames": 7, "cameras": 7 if lens else 1, "points": 50}
    back = read_colmap_text(tmp_path)
    assert torch.allclose(back.c2w, t.c2w, atol=1e-5)
    assert torch.allclose(back.K_norm, t.K_norm, atol=1e-6)
    # the points went through pycolmap too
    rec = pycolmap.Reconstruction()
    rec.read_text(str(tmp_path))
    xyz = np.stack([p.xyz for p in rec.points3D.values()])
    assert rec.num_points3D() == 50 and np.allclose(np.sort(xyz, 0), np.sort(pts, 0))


def test_colmap_hand_written_model_and_errors(tmp_path):
    # classic two-file model, images out of name order, w2c quaternion written by hand:
    # image b is the camera turned 90 degrees about y (QW QX QY QZ = cos45, 0, sin45, 0) and moved 1 m
    s = np.sqrt(0.5)
    (tmp_path / "cameras.txt").write_text("# id model w h params\n1 PINHOLE 640 480 500 510 320 240\n")
    (tmp_path / "images.txt").write_text(
        f"2 {s} 0 {s} 0 1 0 0 1 b.png\n\n1 1 0 0 0 0 0 0 1 a.png\n\n")
    t = read_colmap_text(tmp_path)
    R = np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]], dtype=np.float64)  # w2c rotation of b
    expected_c = -R.T @ np.array([1.0, 0, 0])
    assert np.allclose(t.c2w[1, :3, :3].numpy(), R.T, atol=1e-6)
    assert np.allclose(t.c2w[1, :3, 3].numpy(), expected_c, atol=1e-6)
    assert torch.allclose(t.K_norm[0], torch.tensor([[500 / 640, 0, 0.5], [0, 510 / 480, 0.5], [0, 0, 1.0]]))
    (tmp_path / "cameras.txt").write_text("1 SIMPLE_RADIAL 640 480 500 320 240 0.05\n")
    with pytest.raises(RealCamInputError, match="distortion"):
        read_colmap_text(tmp_path)
    (tmp_path / "images.txt").unlink()
    with pytest.raises(RealCamInputError, match="images.txt is missing"):
        read_colmap_text(tmp_path)


@pytest.mark.parametrize("lens", [False, True])
def test_nerfstudio_round_trip(tmp_path, lens):
    t = _traj(lens)
    data = write_transforms_json(tmp_path / "transforms.json", t, 320, 240, ply_file_path="points.ply")
    assert ("fl_x" in data) != lens and ("fl_x" in data["frames"][0]) == lens
    back = read_transforms_json(tmp_path / "transforms.json")
    assert torch.allclose(back.c2w, t.c2w, atol=1e-5)
    assert torch.allclose(back.K_norm, t.K_norm, atol=1e-6)


def test_nerfstudio_axes_and_errors(tmp_path):
    # a hand-written OpenGL camera 2 m along world -z of the first, same orientation: in OpenCV it moved
    # 2 m forward (+z); a second frame turned 90 degrees left (about +y in OpenGL) looks along OpenCV -x
    eye = np.eye(4).tolist()
    fwd = np.eye(4)
    fwd[2, 3] = -2.0
    left = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [-1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    data = {"fl_x": 100, "fl_y": 100, "cx": 50, "cy": 40, "w": 100, "h": 80,
            "frames": [{"file_path": "a", "transform_matrix": eye}, {"file_path": "b", "transform_matrix": fwd.tolist()},
                       {"file_path": "c", "transform_matrix": left.tolist()}]}
    p = tmp_path / "transforms.json"
    p.write_text(json.dumps(data))
    t = read_transforms_json(p)
    assert np.allclose(t.c2w[1, :3, 3].numpy(), [0, 0, 2])
    assert np.allclose(t.c2w[2, :3, :3].numpy() @ [0, 0, 1], [-1, 0, 0], atol=1e-6)  # optical axis
    data["k1"] = 0.1
    p.write_text(json.dumps(data))
    with pytest.raises(RealCamInputError, match="distortion"):
        read_transforms_json(p)
    p.write_text(json.dumps({"frames": []}))
    with pytest.raises(RealCamInputError, match="no 'frames'"):
        read_transforms_json(p)
    del data["k1"], data["fl_y"]
    p.write_text(json.dumps(data))
    with pytest.raises(RealCamInputError, match="'fl_y'"):
        read_transforms_json(p)


def test_ply_points_colours_and_axes(tmp_path):
    pts = np.array([[0.0, 1.0, 2.0], [-1.0, 0.5, 3.0]])
    cols = np.array([[1.0, 0.0, 0.5], [0.2, 0.4, 1.0]])
    assert write_ply(tmp_path / "a.ply", pts, cols) == 2
    xyz, rgb = read_ply_points(tmp_path / "a.ply")
    assert np.allclose(xyz, pts * [1, -1, -1])  # y up, z toward the first camera
    assert rgb.tolist() == [[255, 0, 128], [51, 102, 255]]
    write_ply(tmp_path / "b.ply", pts, None, axes="opencv")
    xyz, rgb = read_ply_points(tmp_path / "b.ply")
    assert np.allclose(xyz, pts) and rgb is None
    assert (tmp_path / "b.ply").read_bytes().startswith(b"ply\nformat binary_little_endian 1.0\n")
    with pytest.raises(RealCamInputError, match="axes"):
        write_ply(tmp_path / "c.ply", pts, axes="zup")


def test_nerfstudio_folder_with_points(tmp_path):
    from realcam_core.interchange.nerfstudio import write_nerfstudio_folder

    pts = torch.tensor([[0.0, 1.0, 2.0], [-1.0, 0.5, 3.0]])
    cols = torch.tensor([[1.0, 0.0, 0.5], [0.2, 0.4, 1.0]])
    path = write_nerfstudio_folder(tmp_path / "ns", _traj(False), 64, 48, pts, cols)
    assert path == tmp_path / "ns" / "transforms.json"
    assert json.loads(path.read_text())["ply_file_path"] == "points.ply"
    xyz, _ = read_ply_points(tmp_path / "ns" / "points.ply")
    assert np.allclose(xyz, pts.numpy() * [1, -1, -1])  # OpenGL axes, like the poses
    bare = write_nerfstudio_folder(tmp_path / "bare", _traj(False), 64, 48)
    assert "ply_file_path" not in json.loads(bare.read_text()) and not (tmp_path / "bare" / "points.ply").exists()
    with pytest.raises(FileExistsError):  # never into an existing folder
        write_nerfstudio_folder(tmp_path / "ns", _traj(False), 64, 48)
