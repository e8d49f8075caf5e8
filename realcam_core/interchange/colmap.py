"""COLMAP text models (`cameras.txt`, `images.txt`, plus `points3D.txt`) in and out, through `pycolmap`.

COLMAP cameras use OpenCV axes like RealCam and store world-to-camera poses (`cam_from_world`), with
intrinsics in pixels, pixel centres at +0.5 as ours. So no axis change: c2w = inverse(cam_from_world).
Out: one PINHOLE camera per distinct per-frame intrinsics (one for a fixed lens), one image per frame
named `frame_00000.png`..., and optionally the scene's points with their colours. In: images sorted by
name; undistorted models only (distortion parameters must be 0), poses relative to the first image.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..camera.adapters import trajectory_from_c2w
from ..errors import RealCamInputError, require
from ..trajectory.types import Trajectory

__all__ = ["FRAME_NAME", "read_colmap_text", "write_colmap_text"]

FRAME_NAME = "frame_{:05d}.png"


def _pycolmap():
    try:
        import pycolmap
    except ImportError:  # a clear message instead of a stack trace
        raise RealCamInputError("COLMAP: the pycolmap package is missing; pip install pycolmap") from None
    return pycolmap


def write_colmap_text(
    folder: str | Path, trajectory: Trajectory, width: int, height: int,
    points: torch.Tensor | np.ndarray | None = None, colors: torch.Tensor | np.ndarray | None = None,
) -> dict:
    """Write `trajectory` (and optional points (P, 3) metres, sRGB colours 0..1) as a COLMAP text model."""
    pc = _pycolmap()
    trajectory.validate()
    for nm, v in (("width", width), ("height", height)):
        require(isinstance(v, int) and v > 0, nm, "a positive int (pixels)", v)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rec = pc.Reconstruction()
    K = trajectory.K_norm.double().numpy() * np.array([width, height, 1.0])[:, None]
    c2w = trajectory.c2w.double().numpy()
    cam_ids: dict[tuple[float, ...], int] = {}
    for i in range(trajectory.num_frames):
        params = (K[i, 0, 0], K[i, 1, 1], K[i, 0, 2], K[i, 1, 2])
        if params not in cam_ids:
            cam_ids[params] = len(cam_ids) + 1
            rec.add_camera_with_trivial_rig(pc.Camera(model="PINHOLE", width=width, height=height,
                                                      params=list(params), camera_id=cam_ids[params]))
        w2c = np.linalg.inv(c2w[i])
        pose = pc.Rigid3d(pc.Rotation3d(w2c[:3, :3]), w2c[:3, 3])
        rec.add_image_with_trivial_frame(pc.Image(name=FRAME_NAME.format(i), camera_id=cam_ids[params],
                                                  image_id=i + 1), pose)
    n_points = 0
    if points is not None:
        p = np.asarray(points, dtype=np.float64)
        c = np.zeros_like(p) if colors is None else np.asarray(colors, dtype=np.float64)
        rgb = np.clip(np.round(c * 255), 0, 255).astype(np.uint8)
        for xyz, col in zip(p, rgb, strict=True):
            rec.add_point3D(xyz, pc.Track(), col)
        n_points = int(p.shape[0])
    rec.write_text(str(folder))
    return {"frames": trajectory.num_frames, "cameras": len(cam_ids), "points": n_points}


def read_colmap_text(folder: str | Path) -> Trajectory:
    """A COLMAP text model (a folder with cameras.txt and images.txt) -> Trajectory relative to its first image."""
    pc = _pycolmap()
    folder = Path(folder)
    for name in ("cameras.txt", "images.txt"):
        if not (folder / name).is_file():
            raise RealCamInputError(f"colmap: {name} is missing in {folder.name}/; a COLMAP text model needs "
                                    "cameras.txt and images.txt side by side")
    rec = pc.Reconstruction()
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("cameras.txt", "images.txt", "rigs.txt", "frames.txt"):
            if (folder / name).is_file():
                shutil.copy(folder / name, Path(tmp) / name)
        # pycolmap wants points3D.txt, which camera-only models lack; the cameras never need the points
        (Path(tmp) / "points3D.txt").write_text("")
        try:
            rec.read_text(tmp)
        except Exception as exc:  # pycolmap's check failures are ValueError / RuntimeError
            raise RealCamInputError(f"colmap: {folder.name}/ is not a readable COLMAP text model ({exc})") from None
    images = sorted((im for im in rec.images.values() if im.has_pose), key=lambda im: im.name)
    if not images:
        raise RealCamInputError(f"colmap: images.txt in {folder.name}/ has no posed image (no camera path)")
    c2w, K_norm = [], []
    for im in images:
        cam = rec.cameras[im.camera_id]
        extra = [cam.params[j] for j in cam.extra_params_idxs()]
        if any(abs(v) > 1e-12 for v in extra):
            raise RealCamInputError(f"colmap: camera {im.camera_id} ({cam.model.name}) has lens distortion {extra}; "
                                    "undistort the model first (colmap image_undistorter) so it is PINHOLE")
        w2c = np.eye(4)
        w2c[:3, :4] = im.cam_from_world().matrix()
        c2w.append(np.linalg.inv(w2c))
        K_norm.append([[cam.focal_length_x / cam.width, 0.0, cam.principal_point_x / cam.width],
                       [0.0, cam.focal_length_y / cam.height, cam.principal_point_y / cam.height], [0.0, 0.0, 1.0]])
    return trajectory_from_c2w(torch.from_numpy(np.stack(c2w)), K_norm=torch.tensor(K_norm, dtype=torch.float32))
