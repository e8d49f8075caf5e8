"""The one change of axes between RealCam (OpenCV) and glTF / Blender / nerfstudio (OpenGL) cameras.

RealCam: camera x right, y down, z forward; the world is the first frame's camera (ARCHITECTURE §2).
glTF 2.0: y up, a camera looks down its local -z with +y up, metres, right-handed.

`F = diag(1, -1, -1)` flips y and z. It is applied on both sides of a pose, once:

    c2w_gl = F4 @ c2w_cv @ F4        (F4 = diag(1, -1, -1, 1); F4 is its own inverse)

- on the left it turns the world (points: p_gl = F p_cv), so the first RealCam camera, which looks
  along the world's +z with y down, becomes a glTF camera at the origin looking down -z with +y up;
- on the right it turns the camera's own axes from OpenCV (z forward, y down) to OpenGL (-z
  forward, y up).

Frame 0 of a trajectory (the identity) therefore stays the identity, and the scene's point cloud is
upright in glTF viewers. nerfstudio's transforms.json uses the same OpenGL camera axes.

Intrinsics: glTF stores a vertical field of view `yfov` (radians) and `aspectRatio` = W / H; pixels are
square and the principal point is the image centre. With normalised intrinsics (fx/W, fy/H):
    yfov = 2 atan(0.5 / fy_n),   aspect = fy_n / fx_n   (fx = fy in pixels).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import require

F3 = np.diag([1.0, -1.0, -1.0])
F4 = np.diag([1.0, -1.0, -1.0, 1.0])


def cv_to_gl(c2w: np.ndarray) -> np.ndarray:
    """(..., 4, 4) OpenCV-world camera-to-world -> glTF / OpenGL camera-to-world (same change both ways)."""
    return F4 @ np.asarray(c2w, dtype=np.float64) @ F4


gl_to_cv = cv_to_gl  # F4 is an involution


def points_cv_to_gl(points: np.ndarray) -> np.ndarray:
    """(P, 3) points in the RealCam world -> the glTF world."""
    return np.asarray(points, dtype=np.float64) @ F3.T


def matrix_to_quat_xyzw(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> unit quaternions (..., 4) as glTF stores them (x, y, z, w), w >= 0."""
    R = np.asarray(R, dtype=np.float64)
    m = R.reshape(-1, 3, 3)
    out = np.empty((m.shape[0], 4))
    for i, r in enumerate(m):
        tr = r[0, 0] + r[1, 1] + r[2, 2]
        if tr > 0:
            s = 2.0 * math.sqrt(1.0 + tr)
            q = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, 0.25 * s]
        elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
            s = 2.0 * math.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2])
            q = [0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s, (r[2, 1] - r[1, 2]) / s]
        elif r[1, 1] > r[2, 2]:
            s = 2.0 * math.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2])
            q = [(r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s, (r[0, 2] - r[2, 0]) / s]
        else:
            s = 2.0 * math.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1])
            q = [(r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s, (r[1, 0] - r[0, 1]) / s]
        q = np.asarray(q)
        q /= np.linalg.norm(q)
        out[i] = -q if q[3] < 0 else q
    return out.reshape(*R.shape[:-2], 4)


def quat_xyzw_to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) quaternions (x, y, z, w), normalised here -> (..., 3, 3) rotation matrices."""
    q = np.asarray(q, dtype=np.float64)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    require(bool(np.all(n > 1e-12)), "rotation", "non-zero quaternions", "a zero quaternion")
    x, y, z, w = np.moveaxis(q / n, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def k_norm_to_yfov_aspect(K_norm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3, 3) normalised intrinsics -> (yfov radians (N,), aspect W/H (N,))."""
    K = np.asarray(K_norm, dtype=np.float64).reshape(-1, 3, 3)
    fx, fy = K[:, 0, 0], K[:, 1, 1]
    require(bool(np.all(fx > 0) and np.all(fy > 0)), "trajectory.K_norm", "positive focal lengths", (fx, fy))
    return 2.0 * np.arctan(0.5 / fy), fy / fx


def yfov_aspect_to_k_norm(yfov: np.ndarray, aspect: float | np.ndarray) -> np.ndarray:
    """Vertical FOV (N,) radians + aspect W/H -> (N, 3, 3) normalised, centred, square-pixel intrinsics."""
    yfov = np.atleast_1d(np.asarray(yfov, dtype=np.float64))
    fy = 0.5 / np.tan(yfov / 2.0)
    fx = fy / np.broadcast_to(np.asarray(aspect, dtype=np.float64), fy.shape)
    K = np.zeros((yfov.shape[0], 3, 3))
    K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = fx, fy, 0.5, 0.5, 1.0
    return K


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB 0..1 -> linear 0..1 (glTF vertex colours are linear)."""
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
