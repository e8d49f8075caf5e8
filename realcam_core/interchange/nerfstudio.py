"""nerfstudio `transforms.json` in and out.

nerfstudio stores camera-to-world matrices with OpenGL camera axes (x right, y up, z back) and
pixel intrinsics `fl_x fl_y cx cy w h`, shared at the top level or per frame. We apply the same single
axis change as glTF (`axes.cv_to_gl`: both the world and the camera axes), so the world is y-up.
Written: shared intrinsics when the lens is fixed, per-frame ones when it animates; `file_path` names
`images/frame_00000.png`...; `ply_file_path` when the scene's points are written next to it.
Read: frames in file order, distortion must be 0, poses relative to the first frame.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from ..camera.adapters import trajectory_from_c2w
from ..errors import RealCamInputError, require
from ..trajectory.types import Trajectory
from .axes import cv_to_gl, gl_to_cv
from .ply import write_ply

__all__ = ["read_transforms_json", "transforms_dict", "write_nerfstudio_folder", "write_transforms_json"]

_INTR = ("fl_x", "fl_y", "cx", "cy")
_DISTORTION = ("k1", "k2", "k3", "k4", "p1", "p2")


def transforms_dict(trajectory: Trajectory, width: int, height: int, ply_file_path: str | None = None) -> dict:
    trajectory.validate()
    for nm, v in (("width", width), ("height", height)):
        require(isinstance(v, int) and v > 0, nm, "a positive int (pixels)", v)
    K = trajectory.K_norm.double().numpy() * np.array([width, height, 1.0])[:, None]
    per_frame = [{"fl_x": float(k[0, 0]), "fl_y": float(k[1, 1]), "cx": float(k[0, 2]), "cy": float(k[1, 2])} for k in K]
    fixed = all(p == per_frame[0] for p in per_frame)
    out: dict = {"camera_model": "OPENCV", "w": width, "h": height}
    if fixed:
        out.update(per_frame[0])
    c2w = cv_to_gl(trajectory.c2w.double().numpy())
    frames = []
    for i in range(trajectory.num_frames):
        fr = {"file_path": f"images/frame_{i:05d}.png", "transform_matrix": c2w[i].tolist()}
        if not fixed:
            fr.update(per_frame[i])
        frames.append(fr)
    out["frames"] = frames
    if ply_file_path:
        out["ply_file_path"] = ply_file_path
    return out


def write_transforms_json(path: str | Path, trajectory: Trajectory, width: int, height: int,
                          ply_file_path: str | None = None) -> dict:
    data = transforms_dict(trajectory, width, height, ply_file_path)
    Path(path).write_text(json.dumps(data, indent=2), encoding="utf-8")
    return data


def write_nerfstudio_folder(folder: str | Path, trajectory: Trajectory, width: int, height: int,
                            points: torch.Tensor | None = None, colors: torch.Tensor | None = None) -> Path:
    """A new folder with transforms.json and, given points, points.ply (OpenGL axes, as the poses); returns
    the transforms.json path. The folder must not exist yet (nothing is overwritten)."""
    folder = Path(folder)
    folder.mkdir(parents=True)
    ply_name = None
    if points is not None:
        write_ply(folder / "points.ply", points, colors, axes="opengl")
        ply_name = "points.ply"
    write_transforms_json(folder / "transforms.json", trajectory, width, height, ply_name)
    return folder / "transforms.json"


def _num(d: dict, key: str, where: str) -> float:
    v = d.get(key)
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
        raise RealCamInputError(f"transforms_json: {where} needs a number {key!r}, got {v!r}")
    return float(v)


def read_transforms_json(path: str | Path) -> Trajectory:
    """nerfstudio transforms.json -> Trajectory (OpenCV axes) relative to its first frame."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RealCamInputError(f"transforms_json: {path.name} is not readable JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("frames"), list) or not data["frames"]:
        raise RealCamInputError(f"transforms_json: {path.name} has no 'frames' list (no camera path)")
    c2w, K_norm = [], []
    for i, fr in enumerate(data["frames"]):
        where = f"frame {i}"
        if not isinstance(fr, dict) or "transform_matrix" not in fr:
            raise RealCamInputError(f"transforms_json: {where} has no transform_matrix")
        m = np.asarray(fr["transform_matrix"], dtype=np.float64)
        if m.shape == (3, 4):
            m = np.vstack([m, [0, 0, 0, 1]])
        if m.shape != (4, 4) or not np.all(np.isfinite(m)):
            raise RealCamInputError(f"transforms_json: {where} transform_matrix must be 4x4 finite numbers")
        src = {**data, **fr}  # per-frame intrinsics override the shared ones
        if any(abs(float(src.get(k, 0.0) or 0.0)) > 1e-12 for k in _DISTORTION):
            raise RealCamInputError(f"transforms_json: {where} has lens distortion; undistort the images first")
        fx, fy, cx, cy = (_num(src, k, where) for k in _INTR)
        w, h = _num(src, "w", where), _num(src, "h", where)
        c2w.append(gl_to_cv(m))
        K_norm.append([[fx / w, 0.0, cx / w], [0.0, fy / h, cy / h], [0.0, 0.0, 1.0]])
    c2w_t = torch.from_numpy(np.stack(c2w))
    scale = torch.linalg.norm(c2w_t[:, :3, :3], dim=1)
    if bool((scale - 1).abs().max() > 1e-4):
        raise RealCamInputError("transforms_json: transform_matrix rotations are scaled or not orthonormal; "
                                "expected rigid camera-to-world matrices")
    return trajectory_from_c2w(c2w_t, K_norm=torch.tensor(K_norm, dtype=torch.float32))
