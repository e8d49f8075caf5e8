"""SE(3) Interpolate: keyframe poses -> one camera pose per video frame.

Poses are camera-to-world (c2w) 4x4, OpenCV axes, metres (ARCHITECTURE §2). Keyframes are (times (K,),
c2w (K, 4, 4)); times are in frames (frame i sits at t = i) or, with `time_unit="normalized"`,
in 0..1 of the clip (frame i at i / (N - 1)). Frames before the first or after the last keyframe
hold that keyframe's pose. All maths is float64 on kornia's Lie groups, vectorised over frames;
the result is float32.

Methods
- `linear_se3` (the paper): T_i · exp(u · log(T_i⁻¹ T_i+1)), a constant-velocity screw per segment.
- `geodesic`: rotation slerp (R_i · exp(u · log(R_iᵀ R_i+1))) and a straight line for the camera
  centre; for an orbit this cuts the chord instead of following the arc.
- `smooth`: C¹ cubic on SE(3). Each keyframe gets a body-frame velocity from its neighbours
  (the non-uniform three-point estimate, one-sided at open ends); each segment is
  T_i · exp(ξ(u)) with ξ a cubic Hermite in the Lie algebra of the segment's relative motion,
  ξ(0) = 0, ξ(1) = log(T_i⁻¹ T_i+1), whose end tangents give those velocities (the end tangent
  is mapped through the inverse right Jacobian of log, taken by a finite difference of kornia's
  exp/log). Velocity is therefore continuous across keyframes; two keyframes give `linear_se3`.
- `upstream_matrix_lerp`: element-wise lerp of the c2w matrices, as upstream `camera_pose_lerp`
  (not rigid in between; for parity only).

`closed=True` appends the first keyframe at the end of the timeline, so the last frame returns to
the first pose; `smooth` then uses cyclic velocities, which makes the seam C¹. Easing warps time
over the whole keyframed span (`ease_per_segment=False`, as upstream's Bézier time warp) or
inside each segment (the camera then rests at every keyframe).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..camera.se3 import (
    DEFAULT_ROTATION_ATOL,
    check_poses,
    invert,
    se3_exp,
    se3_log,
    snap_roundoff,
    so3_exp,
    so3_log,
)
from ..errors import RealCamInputError, input_error, require
from .types import Trajectory

__all__ = [
    "EASINGS",
    "MAX_FRAMES",
    "METHODS",
    "TIME_UNITS",
    "ease",
    "frame_times",
    "interpolate_c2w",
    "interpolate_trajectory",
    "retime_keyframes",
    "thin_keyframes",
    "upstream_camera_pose_lerp",
]

MAX_FRAMES = 1024
METHODS = ("linear_se3", "geodesic", "smooth", "upstream_matrix_lerp")
EASINGS = ("linear", "ease_in", "ease_out", "ease_in_out", "smootherstep")
TIME_UNITS = ("frames", "normalized")


def ease(u: torch.Tensor, name: str) -> torch.Tensor:
    """Easing curve on u in [0, 1] with ease(0) = 0 and ease(1) = 1 (monotone)."""
    if name == "linear":
        return u
    if name == "ease_in":
        return u * u * u
    if name == "ease_out":
        v = 1.0 - u
        return 1.0 - v * v * v
    if name == "ease_in_out":
        return u * u * (3.0 - 2.0 * u)
    if name == "smootherstep":
        return u * u * u * (u * (u * 6.0 - 15.0) + 10.0)
    raise input_error("easing", f"one of {', '.join(EASINGS)}", name)


def frame_times(num_frames: int, time_unit: str = "frames") -> torch.Tensor:
    """Time (N,) float64 of each output frame in `time_unit`."""
    if time_unit == "frames":
        return torch.arange(num_frames, dtype=torch.float64)
    if num_frames == 1:
        return torch.zeros(1, dtype=torch.float64)
    return torch.arange(num_frames, dtype=torch.float64) / (num_frames - 1)


def _check_num_frames(num_frames: object) -> int:
    ok = isinstance(num_frames, int) and not isinstance(num_frames, bool)
    require(ok, "num_frames", "an int", type(num_frames).__name__)
    require(1 <= num_frames <= MAX_FRAMES, "num_frames", f"1 to {MAX_FRAMES} frames", num_frames)
    return int(num_frames)


def _check_times(key_times: object, k: int) -> torch.Tensor:
    if isinstance(key_times, torch.Tensor):
        times = key_times.detach().to("cpu", torch.float64).reshape(-1) if key_times.ndim <= 1 else None
        require(times is not None, "key_times", "a 1-D sequence of times", tuple(key_times.shape))
    else:
        if isinstance(key_times, (str, bytes)) or not isinstance(key_times, Sequence):
            raise input_error("key_times", "a sequence of numbers", type(key_times).__name__)
        try:
            times = torch.tensor([float(t) for t in key_times], dtype=torch.float64)
        except (TypeError, ValueError):
            raise input_error("key_times", "numbers", list(key_times)[:8]) from None
    require(times.numel() == k, "key_times", f"{k} times (one per keyframe in key_c2w)", times.numel())
    bad = ~torch.isfinite(times)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise RealCamInputError(f"key_times: keyframe {i} has a non-finite time ({times[i].item()}); expected a number")
    if k > 1:
        diff = times[1:] - times[:-1]
        dup = diff == 0
        if bool(dup.any()):
            i = int(dup.nonzero()[0, 0])
            raise RealCamInputError(
                f"key_times: keyframes {i} and {i + 1} share the time {times[i].item():g}; each keyframe needs its own time"
            )
        back = diff < 0
        if bool(back.any()):
            i = int(back.nonzero()[0, 0])
            raise RealCamInputError(
                f"key_times: expected ascending times, but keyframe {i + 1} (t={times[i + 1].item():g}) comes after "
                f"keyframe {i} (t={times[i].item():g})"
            )
    return times


def _check_keys(key_c2w: object, method: str) -> torch.Tensor:
    if not isinstance(key_c2w, torch.Tensor):
        raise input_error("key_c2w", "a torch.Tensor of shape (K, 4, 4)", type(key_c2w).__name__)
    if key_c2w.shape == (4, 4):
        key_c2w = key_c2w[None]
    require(key_c2w.ndim == 3 and key_c2w.shape[1:] == (4, 4), "key_c2w", "shape (K, 4, 4)", tuple(key_c2w.shape))
    require(key_c2w.shape[0] >= 1, "key_c2w", "at least 1 keyframe", 0)
    require(key_c2w.shape[0] <= MAX_FRAMES * 4, "key_c2w", f"at most {MAX_FRAMES * 4} keyframes", key_c2w.shape[0])
    keys = key_c2w.detach().to("cpu", torch.float64)
    if method == "upstream_matrix_lerp":
        # upstream lerps whatever it gets (absolute files may hold reflections); only ask for finite numbers
        finite = torch.isfinite(keys).flatten(1).all(dim=1)
        if not bool(finite.all()):
            i = int((~finite).nonzero()[0, 0])
            raise RealCamInputError(f"key_c2w: keyframe {i} has non-finite values (NaN or inf)")
    else:
        check_poses(keys, "key_c2w", atol=DEFAULT_ROTATION_ATOL)
    return keys


def _segment_twists(P: torch.Tensor) -> torch.Tensor:
    """Body twists d_i = log(P_i⁻¹ P_i+1), (K-1, 6)."""
    return se3_log(invert(P[:-1]) @ P[1:])


def _eval_linear_se3(P: torch.Tensor, idx: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    d = _segment_twists(P)
    return P[idx] @ se3_exp(u[:, None] * d[idx])


def _eval_geodesic(P: torch.Tensor, idx: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    R = P[:, :3, :3]
    w = so3_log(R[:-1].transpose(-1, -2) @ R[1:])
    out = torch.zeros(u.shape[0], 4, 4, dtype=P.dtype)
    out[:, :3, :3] = R[idx] @ so3_exp(u[:, None] * w[idx])
    c0, c1 = P[idx, :3, 3], P[idx + 1, :3, 3]
    out[:, :3, 3] = c0 + u[:, None] * (c1 - c0)
    out[:, 3, 3] = 1.0
    return out


def _key_velocities(d: torch.Tensor, h: torch.Tensor, closed: bool) -> torch.Tensor:
    """Body-frame velocity per unit time (K, 6) at each keyframe from segment twists d (K-1, 6)."""
    slope = d / h[:, None]  # constant-twist velocity of each segment, valid at both of its ends
    k = d.shape[0] + 1
    v = torch.empty(k, 6, dtype=d.dtype)
    if k > 2:
        hp, hn = h[:-1, None], h[1:, None]
        v[1:-1] = (hn * slope[:-1] + hp * slope[1:]) / (hp + hn)
    if closed:
        hp, hn = h[-1], h[0]
        v_seam = (hn * slope[-1] + hp * slope[0]) / (hp + hn)
        v[0] = v_seam
        v[-1] = v_seam
    else:
        v[0] = slope[0]
        v[-1] = slope[-1]
    return v


_FD_EPS = 1e-5
_FD_STEPS: torch.Tensor | None = None


def _fd_steps() -> torch.Tensor:
    """exp(+eps e_k) then exp(-eps e_k) for the 6 twist basis vectors, (12, 4, 4) float64 (cached)."""
    global _FD_STEPS
    if _FD_STEPS is None:
        basis = torch.eye(6, dtype=torch.float64) * _FD_EPS
        _FD_STEPS = se3_exp(torch.cat((basis, -basis), dim=0))
    return _FD_STEPS


def _log_and_dlog(rel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """log(rel) (M, 6) and the inverse right Jacobian J_r⁻¹ (M, 6, 6) of log at rel.

    Column k of J_r⁻¹ is d/ds log(rel · exp(s e_k)) at s = 0, taken as a central difference of
    kornia's log (step 1e-5, error ~1e-10) in the same batched call as log(rel), so no closed-form
    SE(3) Jacobian is written by hand.
    """
    m = rel.shape[0]
    probes = (rel[:, None] @ _fd_steps()[None]).reshape(-1, 4, 4)  # (M*12, 4, 4)
    logs = se3_log(torch.cat((rel, probes), dim=0))
    d = logs[:m]
    fd = logs[m:].reshape(m, 2, 6, 6)  # [i, sign, k, :]
    jinv = ((fd[:, 0] - fd[:, 1]) / (2.0 * _FD_EPS)).transpose(-1, -2)  # columns = directions k
    return d, jinv


def _eval_smooth(P: torch.Tensor, idx: torch.Tensor, u: torch.Tensor, times: torch.Tensor, closed: bool) -> torch.Tensor:
    h = times[1:] - times[:-1]
    rel = invert(P[:-1]) @ P[1:]
    d, jinv = _log_and_dlog(rel)  # d: (K-1, 6) twist of each segment, in the body frame of its start
    v = _key_velocities(d, h, closed)
    m0 = h[:, None] * v[:-1]  # d xi / du at u = 0 (J_r(0) = I)
    m1 = (jinv @ (h[:, None] * v[1:])[..., None])[..., 0]  # d xi / du at u = 1 giving body velocity v_i+1
    uu = u * u
    uuu = uu * u
    h10 = (uuu - 2.0 * uu + u)[:, None]
    h01 = (3.0 * uu - 2.0 * uuu)[:, None]
    h11 = (uuu - uu)[:, None]
    xi = h10 * m0[idx] + h01 * d[idx] + h11 * m1[idx]  # cubic Hermite in the segment's Lie algebra
    return P[idx] @ se3_exp(xi)


def _eval_matrix_lerp(P: torch.Tensor, idx: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    return torch.lerp(P[idx], P[idx + 1], u[:, None, None])


def interpolate_c2w(
    key_times: Sequence[float] | torch.Tensor,
    key_c2w: torch.Tensor,
    num_frames: int,
    method: str = "linear_se3",
    easing: str = "linear",
    time_unit: str = "frames",
    closed: bool = False,
    ease_per_segment: bool = False,
) -> torch.Tensor:
    """Per-frame c2w (N, 4, 4) float32 from keyframes: times (K,) and c2w (K, 4, 4).

    Frames that fall on a keyframe time return that keyframe's pose exactly. Raises
    RealCamInputError naming the field for NaN, duplicate or unsorted times, 0 or > 1024 frames,
    unknown names and non-rigid keyframes (all methods but `upstream_matrix_lerp`).
    """
    require(method in METHODS, "method", f"one of {', '.join(METHODS)}", method)
    require(easing in EASINGS, "easing", f"one of {', '.join(EASINGS)}", easing)
    require(time_unit in TIME_UNITS, "time_unit", f"one of {', '.join(TIME_UNITS)}", time_unit)
    n = _check_num_frames(num_frames)
    P = _check_keys(key_c2w, method)
    times = _check_times(key_times, P.shape[0])
    t = frame_times(n, time_unit)

    if closed and P.shape[0] >= 2:
        t_end = float(n - 1) if time_unit == "frames" else 1.0
        if not bool(times[-1] < t_end):
            raise RealCamInputError(
                f"key_times: with closed=True the last keyframe (t={times[-1].item():g}) must come before the end "
                f"of the clip (t={t_end:g}), where the path returns to the first keyframe"
            )
        times = torch.cat((times, times.new_tensor([t_end])))
        P = torch.cat((P, P[:1]), dim=0)
    if P.shape[0] == 1:
        return P[0].to(torch.float32).expand(n, 4, 4).clone()

    a, b = times[0], times[-1]
    if easing != "linear" and not ease_per_segment:
        s = ((t - a) / (b - a)).clamp(0.0, 1.0)
        t = torch.where(s >= 1.0, b, (a + ease(s, easing) * (b - a)).clamp(a, b))
    last = P.shape[0] - 2
    idx = (torch.searchsorted(times, t, right=True) - 1).clamp(0, last)
    h = times[1:] - times[:-1]
    u = ((t - times[idx]) / h[idx]).clamp(0.0, 1.0)
    if easing != "linear" and ease_per_segment:
        u = ease(u, easing)

    if method == "linear_se3":
        out = _eval_linear_se3(P, idx, u)
    elif method == "geodesic":
        out = _eval_geodesic(P, idx, u)
    elif method == "smooth":
        out = _eval_smooth(P, idx, u, times, closed)
    else:
        out = _eval_matrix_lerp(P, idx, u)

    # exact keyframes where a frame lands on one (float64 exp/log would be ~1e-16 off)
    out = torch.where((u == 0.0)[:, None, None], P[idx], out)
    out = torch.where((u == 1.0)[:, None, None], P[idx + 1], out)
    out[:, 3, :3] = 0.0
    out[:, 3, 3] = 1.0
    return snap_roundoff(out).to(torch.float32)


def interpolate_trajectory(
    key_times: Sequence[float] | torch.Tensor,
    key_c2w: torch.Tensor,
    num_frames: int,
    K_norm: torch.Tensor | None = None,
    method: str = "linear_se3",
    easing: str = "linear",
    time_unit: str = "frames",
    closed: bool = False,
    ease_per_segment: bool = False,
) -> Trajectory:
    """`interpolate_c2w` wrapped in a Trajectory that keeps its keyframes (times stored in frames).

    K_norm: (3, 3) for every frame or (N, 3, 3) normalised intrinsics, default upstream's 0.5 placeholders.
    """
    from ..camera.intrinsics import per_frame_K_norm

    c2w = interpolate_c2w(key_times, key_c2w, num_frames, method, easing, time_unit, closed, ease_per_segment)
    n = c2w.shape[0]
    times = _check_times(key_times, key_c2w.shape[0] if key_c2w.ndim == 3 else 1)
    if time_unit == "normalized":
        times = times * max(n - 1, 0)
    keys = key_c2w.detach().to(torch.float32).reshape(-1, 4, 4).clone()
    return Trajectory(
        c2w=c2w,
        K_norm=per_frame_K_norm(K_norm, n),
        key_times=[float(x) for x in times.tolist()],
        key_c2w=keys,
    ).validate()


def thin_keyframes(times: Sequence[float], keys: torch.Tensor, cap: int = MAX_FRAMES * 4
                   ) -> tuple[list[float], torch.Tensor]:
    """At most `cap` evenly spread keyframes (first and last kept): long tracked paths (10,000+ poses)
    are resampled to a video's frame count anyway, so a dense path loses nothing visible."""
    n = len(times)
    if n <= cap:
        return list(times), keys
    idx = torch.linspace(0, n - 1, cap).round().long().unique()
    return [times[i] for i in idx.tolist()], keys[idx]


def retime_keyframes(times: Sequence[float], closed: bool = False) -> list[float]:
    """Keyframe times (frames) as 0..1 fractions of a path that is resampled to a new length: the path keeps
    its shape and timing ratios. closed: the last keyframe moves before 1, leaving room for the return
    segment (the loop closes after it)."""
    span = max(times[-1], 1e-9) if len(times) > 1 else 1.0
    norm = [t / span for t in times]
    if closed and len(norm) > 1 and norm[-1] >= 1.0:
        norm = [t * (len(norm) - 1) / len(norm) for t in norm]
    return norm


def upstream_camera_pose_lerp(c2w: torch.Tensor, target_frames: int) -> torch.Tensor:
    """Upstream `camera_pose_lerp`, bit for bit: element-wise lerp of (K, 4, 4) at linspace(0, K-1, M).

    Kept for parity checks and for resampling dense preset files the way upstream does.
    """
    require(isinstance(c2w, torch.Tensor) and c2w.ndim == 3 and c2w.shape[1:] == (4, 4), "c2w", "shape (K, 4, 4)",
            getattr(c2w, "shape", None))
    require(c2w.shape[0] >= 1, "c2w", "at least 1 pose", 0)
    require(bool(torch.isfinite(c2w).all()), "c2w", "finite values", "NaN or inf")
    _check_num_frames(target_frames)
    weights = torch.linspace(0, c2w.size(0) - 1, target_frames, dtype=c2w.dtype)
    left = weights.floor().long()
    right = weights.ceil().long()
    return torch.lerp(c2w[left], c2w[right], weights.unsqueeze(-1).unsqueeze(-1).frac())
