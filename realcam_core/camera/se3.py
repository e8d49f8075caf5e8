"""Rigid-motion helpers on kornia's Lie groups.

Conventions (ARCHITECTURE §2): OpenCV camera axes (x right, y down, z forward); poses are
camera-to-world (c2w) 4x4 matrices acting on column vectors, translations in metres. The
translation column of a c2w is the camera centre in world coordinates.

Lie-group work (exp/log, quaternions) is done by `kornia.geometry.liegroup.Se3/So3` and
`kornia.geometry.conversions`; this module only batches, validates and casts. Compositions that
feed file output or relative poses are computed in float64 and cast back, so float32 round-off
does not accumulate along a trajectory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from kornia.geometry.conversions import axis_angle_to_rotation_matrix
from kornia.geometry.liegroup import Se3, So3
from kornia.geometry.linalg import compose_transformations, inverse_transformation

from ..errors import RealCamInputError, input_error, require

__all__ = [
    "DEFAULT_ROTATION_ATOL",
    "ROUNDOFF_REL_EPS",
    "c2w_to_w2c",
    "check_poses",
    "check_rotations",
    "compose",
    "from_axis_angle",
    "from_euler",
    "identity",
    "invert",
    "look_at",
    "relative_to_first",
    "rotation_angle",
    "se3_exp",
    "se3_log",
    "so3_exp",
    "snap_roundoff",
    "so3_log",
    "w2c_to_c2w",
]

# float32 files (RealEstate10K, upstream presets) are orthonormal to ~1e-7; 1e-4 leaves room for
# text written with 6-7 digits while still catching a scaled or sheared matrix.
DEFAULT_ROTATION_ATOL = 1e-4


def _as_poses(T: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(T, torch.Tensor):
        raise input_error(name, "a torch.Tensor of shape (..., 4, 4)", type(T).__name__)
    require(T.ndim >= 2 and tuple(T.shape[-2:]) == (4, 4), name, "shape (..., 4, 4)", tuple(T.shape))
    require(T.is_floating_point(), name, "a floating-point tensor", T.dtype)
    return T


def identity(n: int | None = None, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> torch.Tensor:
    """Identity pose: (4, 4) when `n` is None, else (n, 4, 4)."""
    eye = torch.eye(4, dtype=dtype, device=device)
    return eye if n is None else eye.expand(n, 4, 4).clone()


def invert(T: torch.Tensor) -> torch.Tensor:
    """Inverse of rigid transforms (..., 4, 4): [R^T | -R^T t] (kornia), valid for reflections too.

    Use `c2w_to_w2c`/`w2c_to_c2w` for matrices read from files, which may be only roughly orthonormal.
    """
    T = _as_poses(T, "pose")
    flat = T.reshape(-1, 4, 4)
    return inverse_transformation(flat).reshape(T.shape)


def compose(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b for rigid transforms (N, 4, 4) or (4, 4); a batch of one broadcasts (kornia)."""
    return compose_transformations(_as_poses(a, "pose a"), _as_poses(b, "pose b"))


# Entries smaller than this fraction of a matrix's largest entry are float64 round-off of exact
# zeros (e.g. 1e-17 from inverting an axis-aligned pose): they are set to 0 so text round trips
# and relative poses are deterministic (`snap_roundoff`).
ROUNDOFF_REL_EPS = 1e-9


def snap_roundoff(T: torch.Tensor, rel_eps: float = ROUNDOFF_REL_EPS) -> torch.Tensor:
    """Zero entries of T (..., 4, 4) below rel_eps * max(1, max|T|) per matrix (float64 round-off)."""
    scale = T.abs().flatten(-2).amax(dim=-1).clamp_min(1.0)[..., None, None]
    return torch.where(T.abs() < rel_eps * scale, torch.zeros_like(T), T)


def _general_inverse64(T: torch.Tensor) -> torch.Tensor:
    """Float64 matrix inverse with an exact [0, 0, 0, 1] last row (as upstream's torch.inverse)."""
    out = torch.linalg.inv(T.to(torch.float64))
    out[..., 3, :3] = 0.0
    out[..., 3, 3] = 1.0
    return out


def c2w_to_w2c(c2w: torch.Tensor) -> torch.Tensor:
    """World-to-camera from camera-to-world (..., 4, 4), computed as a float64 matrix inverse.

    A general inverse (not the transpose) because file data is only orthonormal to float32 precision;
    this is what upstream does (`torch.inverse`). Returns the input dtype.
    """
    c2w = _as_poses(c2w, "c2w")
    return _general_inverse64(c2w).to(c2w.dtype)


def w2c_to_c2w(w2c: torch.Tensor) -> torch.Tensor:
    """Camera-to-world from world-to-camera (..., 4, 4); see `c2w_to_w2c`."""
    w2c = _as_poses(w2c, "w2c")
    return _general_inverse64(w2c).to(w2c.dtype)


def relative_to_first(c2w: torch.Tensor, index: int = 0) -> torch.Tensor:
    """inverse(c2w[index]) @ c2w[t] for every t, computed in float64 (upstream `relative_pose`, mode 'left').

    c2w: (N, 4, 4). Returns (N, 4, 4) in the input dtype; frame `index` is set to the exact identity
    (float64 round-off would otherwise leave 1e-17 off-diagonal residue there).
    """
    c2w = _as_poses(c2w, "c2w")
    require(c2w.ndim == 3 and c2w.shape[0] >= 1, "c2w", "shape (N, 4, 4) with N >= 1", tuple(c2w.shape))
    n = c2w.shape[0]
    require(-n <= index < n, "relative_to_first index", f"an index into {n} frames", index)
    c64 = c2w.to(torch.float64)
    rel = _general_inverse64(c64[index]) @ c64
    rel[..., 3, :3] = 0.0
    rel[..., 3, 3] = 1.0
    rel = snap_roundoff(rel)
    rel[index] = torch.eye(4, dtype=torch.float64, device=c2w.device)
    return rel.to(c2w.dtype)


def check_rotations(R: torch.Tensor, name: str, atol: float = DEFAULT_ROTATION_ATOL, allow_reflection: bool = False) -> None:
    """Raise RealCamInputError unless every R (..., 3, 3) is a proper rotation.

    Checks finiteness, orthonormality (max |R^T R - I| <= atol) and det = +1 (or |det| = 1 with
    `allow_reflection`). The message names `name` and the first bad frame index.
    """
    if not isinstance(R, torch.Tensor):
        raise input_error(name, "a torch.Tensor of rotations (..., 3, 3)", type(R).__name__)
    require(R.ndim >= 2 and tuple(R.shape[-2:]) == (3, 3), name, "rotations of shape (..., 3, 3)", tuple(R.shape))
    if R.numel() == 0:
        return
    R64 = R.detach().to(torch.float64).reshape(-1, 3, 3)
    finite = torch.isfinite(R64).flatten(1).all(dim=1)
    if not bool(finite.all()):
        i = int((~finite).nonzero()[0, 0])
        raise RealCamInputError(f"{name}: frame {i} has a non-finite rotation (NaN or inf)")
    eye = torch.eye(3, dtype=torch.float64, device=R64.device)
    err = (R64.transpose(-1, -2) @ R64 - eye).abs().flatten(1).amax(dim=1)
    bad = err > atol
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise RealCamInputError(
            f"{name}: frame {i} rotation is not orthonormal (max |R^T R - I| = {float(err[i]):.3g} > {atol:g}); "
            "expected a rotation matrix (no scale or shear)"
        )
    det = torch.linalg.det(R64)
    improper = (det < 0) if not allow_reflection else torch.zeros_like(det, dtype=torch.bool)
    if bool(improper.any()):
        i = int(improper.nonzero()[0, 0])
        raise RealCamInputError(
            f"{name}: frame {i} rotation is improper (det = {float(det[i]):.3g}, a reflection); expected det = +1"
        )


def check_poses(T: torch.Tensor, name: str, atol: float = DEFAULT_ROTATION_ATOL, allow_reflection: bool = False) -> None:
    """Raise RealCamInputError unless T (N, 4, 4) holds finite rigid poses with a [0, 0, 0, 1] last row."""
    if not isinstance(T, torch.Tensor):
        raise input_error(name, "a torch.Tensor of shape (N, 4, 4)", type(T).__name__)
    require(T.ndim == 3 and tuple(T.shape[-2:]) == (4, 4), name, "shape (N, 4, 4)", tuple(T.shape))
    T64 = T.detach().to(torch.float64)
    finite = torch.isfinite(T64).flatten(1).all(dim=1)
    if not bool(finite.all()):
        i = int((~finite).nonzero()[0, 0])
        raise RealCamInputError(f"{name}: frame {i} has non-finite values (NaN or inf)")
    last = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64, device=T64.device)
    bad_row = (T64[:, 3, :] - last).abs().amax(dim=1) > atol
    if bool(bad_row.any()):
        i = int(bad_row.nonzero()[0, 0])
        raise RealCamInputError(f"{name}: frame {i} last row is {T64[i, 3].tolist()}, expected [0, 0, 0, 1]")
    check_rotations(T64[:, :3, :3], name, atol=atol, allow_reflection=allow_reflection)


def _from_rt(R: torch.Tensor, t: torch.Tensor | None) -> torch.Tensor:
    out = torch.zeros(*R.shape[:-2], 4, 4, dtype=R.dtype, device=R.device)
    out[..., :3, :3] = R
    if t is not None:
        out[..., :3, 3] = t
    out[..., 3, 3] = 1.0
    return out


def from_axis_angle(axis_angle: torch.Tensor, translation: torch.Tensor | None = None) -> torch.Tensor:
    """Pose (..., 4, 4) from an axis-angle vector (..., 3) in radians and a translation (..., 3)."""
    require(
        isinstance(axis_angle, torch.Tensor) and axis_angle.shape[-1:] == (3,),
        "axis_angle",
        "a tensor of shape (..., 3)",
        getattr(axis_angle, "shape", type(axis_angle).__name__),
    )
    R = axis_angle_to_rotation_matrix(axis_angle)
    if translation is not None:
        translation = torch.as_tensor(translation, dtype=R.dtype, device=R.device).expand(*R.shape[:-2], 3)
    return _from_rt(R, translation)


def from_euler(
    yaw: float | torch.Tensor,
    pitch: float | torch.Tensor,
    roll: float | torch.Tensor,
    translation: torch.Tensor | Sequence[float] | None = None,
    degrees: bool = True,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Camera pose from yaw/pitch/roll in OpenCV axes: R = Ry(yaw) @ Rx(pitch) @ Rz(roll).

    Signs (camera-relative, OpenCV): +yaw turns the view right (as upstream `look right`), +pitch
    turns it up (as `look up`), +roll turns the image as upstream `rotate anti-clockwise`.
    Scalars or tensors of one shape (...,); returns (..., 4, 4).
    """
    vals = [torch.as_tensor(v, dtype=dtype) for v in (yaw, pitch, roll)]
    yaw_t, pitch_t, roll_t = torch.broadcast_tensors(*vals)
    if degrees:
        yaw_t, pitch_t, roll_t = (torch.deg2rad(v) for v in (yaw_t, pitch_t, roll_t))
    shape = yaw_t.shape
    flat = [v.reshape(-1) for v in (yaw_t, pitch_t, roll_t)]
    R = (So3.rot_y(flat[0]) * So3.rot_x(flat[1]) * So3.rot_z(flat[2])).matrix().reshape(*shape, 3, 3)
    t = None
    if translation is not None:
        t = torch.as_tensor(translation, dtype=dtype).expand(*shape, 3)
    return _from_rt(R, t)


def look_at(
    eye: torch.Tensor | Sequence[float],
    target: torch.Tensor | Sequence[float],
    up: torch.Tensor | Sequence[float] = (0.0, -1.0, 0.0),
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """c2w (..., 4, 4) of a camera at `eye` whose +z axis points at `target`.

    `up` is the world direction that should appear up in the image; OpenCV's y axis points down, so
    the default (0, -1, 0) keeps an identity camera upright. Raises if eye == target or up is
    parallel to the viewing direction.
    """
    eye_t = torch.as_tensor(eye, dtype=dtype)
    target_t = torch.as_tensor(target, dtype=dtype)
    up_t = torch.as_tensor(up, dtype=dtype)
    eye_t, target_t, up_t = torch.broadcast_tensors(eye_t, target_t, up_t)
    require(eye_t.shape[-1:] == (3,), "look_at eye/target/up", "3-vectors", tuple(eye_t.shape))
    fwd = target_t - eye_t
    norm = fwd.norm(dim=-1, keepdim=True)
    require(bool((norm > 1e-12).all()), "look_at target", "a point different from eye")
    z = fwd / norm
    x = torch.linalg.cross(z, up_t)
    xn = x.norm(dim=-1, keepdim=True)
    require(bool((xn > 1e-9).all()), "look_at up", "a direction not parallel to the viewing direction")
    x = x / xn
    y = torch.linalg.cross(z, x)
    R = torch.stack((x, y, z), dim=-1)
    return _from_rt(R, eye_t)


def se3_log(T: torch.Tensor) -> torch.Tensor:
    """Twist (..., 6) = (upsilon, omega) of rigid poses (..., 4, 4), kornia's ordering."""
    T = _as_poses(T, "pose")
    flat = T.reshape(-1, 4, 4)
    with torch.no_grad():
        xi = Se3.from_matrix(flat).log()
    return xi.reshape(*T.shape[:-2], 6)


def se3_exp(xi: torch.Tensor) -> torch.Tensor:
    """Poses (..., 4, 4) from twists (..., 6) = (upsilon, omega)."""
    require(isinstance(xi, torch.Tensor) and xi.shape[-1:] == (6,), "twist", "shape (..., 6)", getattr(xi, "shape", None))
    flat = xi.reshape(-1, 6)
    with torch.no_grad():
        T = Se3.exp(flat).matrix()
    return T.reshape(*xi.shape[:-1], 4, 4)


def so3_log(R: torch.Tensor) -> torch.Tensor:
    """Axis-angle (..., 3), radians, of rotations (..., 3, 3)."""
    flat = R.reshape(-1, 3, 3)
    with torch.no_grad():
        w = So3.from_matrix(flat).log()
    return w.reshape(*R.shape[:-2], 3)


def so3_exp(w: torch.Tensor) -> torch.Tensor:
    """Rotations (..., 3, 3) from axis-angle vectors (..., 3) in radians."""
    flat = w.reshape(-1, 3)
    with torch.no_grad():
        R = So3.exp(flat).matrix()
    return R.reshape(*w.shape[:-1], 3, 3)


def rotation_angle(R: torch.Tensor, degrees: bool = True) -> torch.Tensor:
    """Rotation angle (...,) of rotations (..., 3, 3); handy for tests and reports."""
    ang = so3_log(R.to(torch.float64)).norm(dim=-1)
    return ang * (180.0 / math.pi) if degrees else ang
