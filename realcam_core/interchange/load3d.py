"""Core ComfyUI `Load3D` cameras (`LOAD3D_CAMERA`) -> RealCam poses.

ComfyUI 0.3.75's Load3D node outputs `camera_info = {"position": {x,y,z}, "target": {x,y,z}, "zoom": z,
"cameraType": "perspective" | "orthographic"}` from its Three.js viewer (comfy_api `Load3DCamera`). The
viewer's OrbitControls keep the camera's up along world +y and look from `position` at `target`; a
Three.js camera looks down its local -z, like glTF. The field of view is not in camera_info: it is the
viewer's "FOV" setting (vertical degrees, default 75), divided by `zoom`.

The viewer also normalises every model it loads (frontend `setupModel`): it scales it by
`5 / max(bounding-box size)` and moves it so the box is centred on x and z and rests on y = 0. Given
the points of the model (e.g. the scene's point cloud that `gltf.write_glb` exported), we undo that, so
the camera lands in metres in the scene's own world; then the usual single axis change
(`axes.gl_to_cv`) gives an OpenCV camera-to-world pose in RealCam's world.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch

from ..camera.adapters import trajectory_from_c2w
from ..camera.lens import keyframe_K_norm
from ..errors import RealCamInputError, require
from ..trajectory.types import Trajectory
from .axes import gl_to_cv, points_cv_to_gl

__all__ = ["LOAD3D_DEFAULT_FOV", "LOAD3D_MODEL_SIZE", "load3d_keyframe", "load3d_normalisation", "load3d_to_c2w",
           "load3d_to_k_norm"]

LOAD3D_DEFAULT_FOV = 75.0  # frontend useLoad3d: cameraConfig.fov
LOAD3D_MODEL_SIZE = 5.0  # frontend setupModel: the model's largest side becomes 5 units


def load3d_normalisation(points_cv: np.ndarray) -> tuple[float, np.ndarray]:
    """(scale, offset) Load3D applies to a model whose points (P, 3) are given in RealCam's world:
    p_viewer = scale * p_gltf + offset."""
    p = points_cv_to_gl(np.asarray(points_cv, dtype=np.float64))
    require(p.ndim == 2 and p.shape[0] > 0, "scene", "at least one valid point", p.shape)
    lo, hi = p.min(0), p.max(0)
    scale = LOAD3D_MODEL_SIZE / float(np.max(hi - lo))
    centre = (lo + hi) / 2 * scale
    return scale, -np.array([centre[0], lo[1] * scale, centre[2]])


def _vec(camera_info: Mapping, key: str) -> np.ndarray:
    v = camera_info.get(key)
    if not isinstance(v, Mapping) or not all(isinstance(v.get(a), (int, float)) for a in "xyz"):
        raise RealCamInputError(f"camera_info: expected {key!r} as {{x, y, z}} numbers (core Load3D's camera_info), "
                                f"got {v!r}")
    out = np.array([float(v["x"]), float(v["y"]), float(v["z"])])
    require(bool(np.all(np.isfinite(out))), f"camera_info.{key}", "finite numbers", out.tolist())
    return out


def load3d_to_c2w(camera_info: Mapping, points_cv: np.ndarray | None = None) -> np.ndarray:
    """camera_info -> (4, 4) OpenCV camera-to-world in RealCam's world (metres when `points_cv` is given,
    else in the viewer's normalised units)."""
    if not isinstance(camera_info, Mapping):
        raise RealCamInputError(f"camera_info: expected core Load3D's camera_info dict, got {type(camera_info).__name__}")
    kind = camera_info.get("cameraType", "perspective")
    if kind != "perspective":
        raise RealCamInputError(f"camera_info: the Load3D camera is {kind!r}; switch the viewer to a perspective "
                                "camera (an orthographic view has no position RealCam can render from)")
    pos, target = _vec(camera_info, "position"), _vec(camera_info, "target")
    if points_cv is not None:
        scale, offset = load3d_normalisation(points_cv)
        pos, target = (pos - offset) / scale, (target - offset) / scale
    back = pos - target  # the camera's local +z (it looks down -z)
    require(float(np.linalg.norm(back)) > 1e-9, "camera_info", "a position different from the target",
            pos.tolist())
    z = back / np.linalg.norm(back)
    x = np.cross([0.0, 1.0, 0.0], z)
    if np.linalg.norm(x) < 1e-9:  # looking straight up or down: any horizontal x axis will do
        x = np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    c2w_gl = np.eye(4)
    c2w_gl[:3, 0], c2w_gl[:3, 1], c2w_gl[:3, 2], c2w_gl[:3, 3] = x, y, z, pos
    return gl_to_cv(c2w_gl)


def load3d_to_k_norm(camera_info: Mapping, fov_deg: float, width: int, height: int) -> np.ndarray:
    """(3, 3) normalised intrinsics of the viewer: vertical FOV `fov_deg` narrowed by camera_info['zoom']."""
    require(0 < fov_deg < 180, "fov", "the viewer's vertical field of view in degrees (0..180)", fov_deg)
    zoom = camera_info.get("zoom", 1) if isinstance(camera_info, Mapping) else 1
    require(isinstance(zoom, (int, float)) and zoom > 0, "camera_info.zoom", "a positive number", zoom)
    fy = 0.5 * zoom / math.tan(math.radians(fov_deg) / 2)
    return np.array([[fy * height / width, 0.0, 0.5], [0.0, fy, 0.5], [0.0, 0.0, 1.0]])


def load3d_keyframe(camera_info: Mapping, fov_deg: float, width: int, height: int,
                    points_cv: np.ndarray | None = None, append_to: Trajectory | None = None,
                    frames_after: int = 16) -> Trajectory:
    """The viewer's camera as a one-keyframe Trajectory (absolute, in the scene's world when `points_cv` are
    the scene's points), or `append_to`'s keyframes plus this pose `frames_after` frames after its last."""
    c2w = torch.from_numpy(load3d_to_c2w(camera_info, points_cv)).float()
    K = torch.from_numpy(load3d_to_k_norm(camera_info, fov_deg, width, height)).float()
    if append_to is None:
        return trajectory_from_c2w(c2w[None], K_norm=K, relative=False)
    times, keys = append_to.keyframes()
    key_K = keyframe_K_norm(append_to, times)
    keys = torch.cat([keys.float(), c2w[None]])
    out = Trajectory(c2w=keys.clone(), K_norm=torch.cat([key_K, K[None]]), key_times=[*times, times[-1] + frames_after],
                     key_c2w=keys.clone())
    return out.validate()
