"""Lens animation: focal length per keyframe, interpolated with the poses, and the dolly zoom.

A trajectory's lens is its per-frame normalised intrinsics `K_norm` (fx/W, fy/H, cx/W, cy/H). Focal
lengths are given in mm on a stated sensor width (default 36 mm, full frame, spanning the image width)
or as a horizontal field of view. Between keyframes the intrinsics are interpolated linearly in focal
length with exactly the time warp (easing, closed loops) the poses use: a frame's (segment, u) is the
same for both, because both go through `interpolate.interpolate_c2w`. Linear in focal length is what
keeps a dolly zoom exact: the subject's image size is f / d, and with d and f both linear in u and in
proportion at the keys, f / d is constant in between.

The point-cloud preview keeps the scene's own lens at frame 0 and applies the trajectory's focal
changes relative to frame 0 (`render_K`), so a fixed-lens trajectory renders exactly as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from ..errors import RealCamInputError, require
from ..scene.geometry import centre_depth
from ..trajectory.interpolate import interpolate_c2w
from ..trajectory.types import Trajectory
from .adapters import trajectory_from_c2w
from .intrinsics import fit_intrinsics

if TYPE_CHECKING:
    from ..scene.types import Scene

__all__ = [
    "DEFAULT_SENSOR_MM",
    "dolly_zoom",
    "focal_mm_to_k_norm",
    "fov_to_focal_mm",
    "interpolate_K_norm",
    "k_norm_to_focal_mm",
    "keyframe_K_norm",
    "parse_lens_keys",
    "preview_K",
    "render_K",
    "subject_distance",
    "with_lens_keys",
]

DEFAULT_SENSOR_MM = 36.0


def focal_mm_to_k_norm(focal_mm: float | torch.Tensor, width: int, height: int,
                       sensor_width_mm: float = DEFAULT_SENSOR_MM) -> torch.Tensor:
    """Focal length(s) in mm on a sensor `sensor_width_mm` wide (spanning the image width) -> (N, 3, 3) K_norm."""
    f = torch.as_tensor(focal_mm, dtype=torch.float64).reshape(-1)
    require(bool((f > 0).all()) and bool(torch.isfinite(f).all()), "focal_mm", "positive focal lengths in mm",
            f.tolist())
    require(sensor_width_mm > 0, "sensor_width_mm", "a positive sensor width in mm", sensor_width_mm)
    require(width > 0 and height > 0, "width/height", "a positive image size", (width, height))
    fx = f / sensor_width_mm
    K = torch.zeros(f.shape[0], 3, 3, dtype=torch.float64)
    K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = fx, fx * width / height, 0.5, 0.5, 1.0
    return K.float()


def fov_to_focal_mm(hfov_deg: float, sensor_width_mm: float = DEFAULT_SENSOR_MM) -> float:
    require(0 < hfov_deg < 180, "fov", "a horizontal field of view in degrees (0..180)", hfov_deg)
    return sensor_width_mm / (2 * math.tan(math.radians(hfov_deg) / 2))


def k_norm_to_focal_mm(K_norm: torch.Tensor, sensor_width_mm: float = DEFAULT_SENSOR_MM) -> torch.Tensor:
    """(..., 3, 3) K_norm -> focal length in mm on the stated sensor width."""
    return K_norm[..., 0, 0].double() * sensor_width_mm


def _as_matrices(K: torch.Tensor) -> torch.Tensor:
    """(K, 3, 3) intrinsics -> (K, 4, 4) blocks, so matrix interpolation reuses the pose time mapping."""
    M = torch.zeros(K.shape[0], 4, 4, dtype=torch.float64)
    M[:, :3, :3] = K.double()
    M[:, 3, 3] = 1.0
    return M


def interpolate_K_norm(
    key_times: Sequence[float] | torch.Tensor, key_K: torch.Tensor, num_frames: int, easing: str = "linear",
    time_unit: str = "frames", closed: bool = False, ease_per_segment: bool = False,
) -> torch.Tensor:
    """Per-frame (N, 3, 3) intrinsics, linear in focal length between keyframe intrinsics (K, 3, 3).

    Uses `interpolate_c2w(method="upstream_matrix_lerp")` (element-wise lerp) on 4x4 blocks, so the
    (segment, u) of each frame, easing and the closing segment are exactly those of the poses.
    """
    key_K = key_K.reshape(-1, 3, 3)
    M = interpolate_c2w(key_times, _as_matrices(key_K), num_frames, method="upstream_matrix_lerp", easing=easing,
                        time_unit=time_unit, closed=closed, ease_per_segment=ease_per_segment)
    return M[:, :3, :3].contiguous()


def keyframe_K_norm(trajectory: Trajectory, key_times: Sequence[float]) -> torch.Tensor:
    """Intrinsics (K, 3, 3) at keyframe times (frames): the trajectory's K_norm at those frames when every
    time is a frame index, else frame 0's for every key (a lens that does not animate)."""
    n = trajectory.num_frames
    if (len(key_times) == n and trajectory.key_c2w is not None and trajectory.key_c2w.shape == trajectory.c2w.shape
            and torch.equal(trajectory.key_c2w, trajectory.c2w)):
        return trajectory.K_norm.clone()  # a trajectory made of its keyframes (e.g. appended Load3D views)
    idx = [round(t) for t in key_times]
    if all(abs(t - i) < 1e-6 and 0 <= i < n for t, i in zip(key_times, idx, strict=True)):
        return trajectory.K_norm[idx].clone()
    return trajectory.K_norm[:1].expand(len(key_times), 3, 3).clone()


def with_lens_keys(trajectory: Trajectory, keys: Sequence[tuple[float, float]], width: int, height: int,
                   sensor_width_mm: float = DEFAULT_SENSOR_MM) -> Trajectory:
    """A copy whose per-frame intrinsics follow focal-length keys [(frame, mm), ...], linear in between
    (constant before the first and after the last key)."""
    require(len(keys) >= 1, "lens keys", "at least one 'frame:mm' pair")
    times = [float(t) for t, _ in keys]
    require(times == sorted(times) and len(set(times)) == len(times), "lens keys", "ascending distinct frames",
            times)
    K_keys = focal_mm_to_k_norm(torch.tensor([mm for _, mm in keys]), width, height, sensor_width_mm)
    n = trajectory.num_frames
    if len(keys) == 1:
        K = K_keys.expand(n, 3, 3).clone()
    else:
        # hold the ends: evaluate on frame times clamped into the keys' span
        t = torch.arange(n, dtype=torch.float64).clamp(times[0], times[-1])
        tt = torch.tensor(times, dtype=torch.float64)
        idx = (torch.searchsorted(tt, t, right=True) - 1).clamp(0, len(times) - 2)
        u = ((t - tt[idx]) / (tt[idx + 1] - tt[idx])).clamp(0, 1)[:, None, None]
        K = (K_keys[idx].double() * (1 - u) + K_keys[idx + 1].double() * u).float()
    return Trajectory(c2w=trajectory.c2w.clone(), K_norm=K, key_times=list(trajectory.key_times),
                      key_c2w=None if trajectory.key_c2w is None else trajectory.key_c2w.clone(),
                      version=trajectory.version).validate()


def dolly_zoom(num_frames: int, subject_distance: float, dolly: float, start_focal_mm: float, width: int,
               height: int, sensor_width_mm: float = DEFAULT_SENSOR_MM) -> Trajectory:
    """The camera moves `dolly` metres forward (negative: back) while the focal length changes so a subject
    `subject_distance` metres ahead keeps its image size: f(t) = f0 * (d - z(t)) / d. Two keyframes."""
    require(isinstance(num_frames, int) and num_frames >= 2, "num_frames", "at least 2 frames", num_frames)
    require(subject_distance > 0, "subject_distance", "a positive distance in metres", subject_distance)
    require(dolly < subject_distance, "dolly", f"less than the subject distance ({subject_distance} m), or the "
            "camera passes the subject", dolly)
    z = torch.linspace(0.0, dolly, num_frames, dtype=torch.float64)
    c2w = torch.eye(4, dtype=torch.float64).repeat(num_frames, 1, 1)
    c2w[:, 2, 3] = z
    focal = start_focal_mm * (subject_distance - z) / subject_distance
    K = focal_mm_to_k_norm(focal, width, height, sensor_width_mm)
    return trajectory_from_c2w(c2w, K_norm=K, key_times=[0.0, float(num_frames - 1)],
                               key_c2w=c2w[[0, -1]].float())


def render_K(K_fit: torch.Tensor, K_norm: torch.Tensor) -> torch.Tensor:
    """Pixel intrinsics (N, 3, 3) for the preview: the scene's lens fitted to the output (3, 3) at frame 0,
    focal lengths scaled by the trajectory's focal change relative to frame 0."""
    ratio = (K_norm[:, :2, :2].double().diagonal(dim1=-2, dim2=-1) /
             K_norm[:1, :2, :2].double().diagonal(dim1=-2, dim2=-1))  # (N, 2)
    K = K_fit.double().expand(K_norm.shape[0], 3, 3).clone()
    K[:, 0, 0] *= ratio[:, 0]
    K[:, 1, 1] *= ratio[:, 1]
    return K.float()


def preview_K(scene_K: torch.Tensor, scene_hw: tuple[int, int], out_hw: tuple[int, int], fit: str,
              K_norm: torch.Tensor) -> torch.Tensor | None:
    """Pixel intrinsics (N, 3, 3) for the preview render when the trajectory's lens animates (the scene's lens
    fitted to the output at frame 0, focal changes relative to it), else None (the renderer fits the scene's)."""
    if torch.equal(K_norm, K_norm[:1].expand_as(K_norm)):
        return None
    return render_K(fit_intrinsics(scene_K.float(), scene_hw, out_hw, fit), K_norm)


def parse_lens_keys(text: str, unit: str, sensor_width_mm: float) -> list[tuple[float, float]]:
    """'0:35, 24:85' (frame:value) -> [(frame, mm)]; values in mm or horizontal FOV degrees."""
    keys = []
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        try:
            frame, value = (float(v) for v in part.split(":"))
        except ValueError:
            raise RealCamInputError(f"lens_keys: expected 'frame:value' pairs like '0:35, 24:85', got {part.strip()!r}"
                                    ) from None
        keys.append((frame, fov_to_focal_mm(value, sensor_width_mm) if unit == "fov_deg" else value))
    if not keys:
        raise RealCamInputError("lens_keys: expected at least one 'frame:value' pair, e.g. '0:35, 24:85'")
    return keys


def subject_distance(distance: float, scene: Scene | None) -> float:
    """The dolly zoom's subject distance: `distance` metres when > 0, else the depth at the scene's centre."""
    if distance > 0:
        return float(distance)
    if scene is None:
        raise RealCamInputError("subject_distance: expected metres > 0, or connect a scene to measure it")
    return centre_depth(scene)
