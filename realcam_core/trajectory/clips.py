"""Trajectory helpers for loops and long videos: close a path, split it into clips, join clips.

Poses are camera-to-world (c2w) 4x4, OpenCV axes, metres (ARCHITECTURE §2); a Trajectory is relative to
its first frame. The video models generate 16 frames at a time, so a long camera path is cut into
clips of `clip_len` frames that share `overlap` frames with the clip before: clip i covers frames
i * (clip_len - overlap) .. i * (clip_len - overlap) + clip_len - 1. A continuation clip is
conditioned on its first `overlap` frames (the previous clip's last ones), so chaining the clips
and dropping the repeated frames (`join_frames`) gives one video along the whole path.

A loop is a path whose last frame is the first pose again. `close_trajectory` makes one with the
`smooth` method of `interpolate` and `closed=True`: a cubic on SE(3) whose velocity is continuous
across the seam (C1), so frame N-2 -> N-1 moves like frame 0 -> 1. The last frame then repeats
frame 0; drop it when the video is played as an endless loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..camera.se3 import check_poses, invert, relative_to_first, rotation_angle, se3_exp, se3_log
from ..errors import RealCamInputError, require
from .interpolate import interpolate_c2w
from .types import Trajectory

__all__ = [
    "CLIP_LEN",
    "ClipPlan",
    "LoopCheck",
    "check_loop",
    "clip_trajectory",
    "close_trajectory",
    "join_frames",
    "join_trajectories",
    "plan_clips",
    "retarget_end",
    "split_trajectory",
]

CLIP_LEN = 16  # frames per clip of the DynamiCrafter/RealCam models
LOOP_TOL_M = 1e-3  # a loop whose end is within 1 mm ...
LOOP_TOL_DEG = 0.1  # ... and 0.1 degree of its start counts as closed
LOOP_TOL_REL = 1e-3  # ... or within 0.1 % of the path's extent (paths in other units)


# -- loop check -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LoopCheck:
    """How far a path's last pose is from its first: translation (metres), rotation (degrees).

    extent: the largest distance of any camera centre from the first one (metres), the scale the
    translation gap is judged against.
    """

    translation_m: float
    rotation_deg: float
    extent_m: float
    closed: bool

    @property
    def message(self) -> str:
        state = "returns to its start" if self.closed else "does NOT return to its start"
        return (f"the camera path {state}: last frame is {self.translation_m:.4g} m and {self.rotation_deg:.3g} deg "
                f"from the first (path extent {self.extent_m:.4g} m)")


def check_loop(c2w: torch.Tensor | Trajectory, tol_m: float = LOOP_TOL_M, tol_deg: float = LOOP_TOL_DEG,
               tol_rel: float = LOOP_TOL_REL) -> LoopCheck:
    """Gap between the last and the first pose of c2w (N, 4, 4) (or a Trajectory).

    Closed when the rotation gap is <= tol_deg and the translation gap is <= tol_m or
    <= tol_rel * extent (so paths in centimetres or kilometres are judged fairly).
    """
    if isinstance(c2w, Trajectory):
        c2w = c2w.c2w
    check_poses(c2w, "trajectory.c2w")
    require(c2w.ndim == 3 and c2w.shape[0] >= 1, "trajectory.c2w", "(N, 4, 4) with N >= 1", tuple(c2w.shape))
    c = c2w.detach().to("cpu", torch.float64)
    gap = invert(c[0]) @ c[-1]
    trans = float(gap[:3, 3].norm())
    rot = float(rotation_angle(gap[:3, :3], degrees=True))
    extent = float((c[:, :3, 3] - c[:1, :3, 3]).norm(dim=-1).max())
    closed = rot <= tol_deg and (trans <= tol_m or trans <= tol_rel * extent)
    return LoopCheck(trans, rot, extent, closed)


# -- closing a path -------------------------------------------------------------------------
def close_trajectory(traj: Trajectory, num_frames: int | None = None, return_fraction: float | None = None) -> Trajectory:
    """A closed version of `traj`: its keyframes, then back to the first pose at the last frame (C1 seam).

    The path is re-timed over num_frames (default: the trajectory's own count): its keyframes fill
    the first 1 - return_fraction of the clip and the return to the start the rest (default
    max(1 / K, 0.25) for K keyframes, so a two-key zoom goes out and back in equal halves). A path
    that already ends at its start keeps its timing and only gets a C1 seam. Interpolation is
    `smooth` with `closed=True`. The returned path starts at the identity when the input did.
    """
    traj.validate()
    n = traj.num_frames if num_frames is None else num_frames
    require(isinstance(n, int) and n >= 3, "num_frames", "at least 3 frames for a loop", n)
    times, keys = traj.keyframes()
    keys = keys.detach().to(torch.float64)
    if len(times) >= 3 and check_loop(keys[[0, -1]]).closed:
        # the end already is the start: that keyframe becomes the seam, the timing stays
        span = max(times[-1] - times[0], 1e-9)
        norm = [(t - times[0]) / span for t in times[:-1]]
        keys = keys[:-1]
    else:
        k = len(times)
        if k == 1:
            return _with_frames(traj, keys[0].to(torch.float32).expand(n, 4, 4).clone(), [0.0], keys[:1])
        r = max(1.0 / k, 0.25) if return_fraction is None else float(return_fraction)
        require(0.0 < r < 1.0, "return_fraction", "a fraction of the clip in (0, 1)", return_fraction)
        span = max(times[-1] - times[0], 1e-9)
        norm = [(t - times[0]) / span * (1.0 - r) for t in times]
    c2w = interpolate_c2w(norm, keys, n, method="smooth", time_unit="normalized", closed=True)
    return _with_frames(traj, c2w, [t * (n - 1) for t in norm], keys.to(torch.float32))


def _with_frames(traj: Trajectory, c2w: torch.Tensor, key_times: list[float], key_c2w: torch.Tensor) -> Trajectory:
    n = c2w.shape[0]
    return Trajectory(c2w=c2w.to(torch.float32), K_norm=traj.K_norm[:1].expand(n, 3, 3).clone(),
                      key_times=key_times, key_c2w=key_c2w.to(torch.float32).clone(), version=traj.version).validate()


def retarget_end(c2w: torch.Tensor, end_c2w: torch.Tensor) -> torch.Tensor:
    """Bend a path so its last pose becomes end_c2w, keeping its shape: c2w (N, 4, 4), end_c2w (4, 4).

    Frame f gets the correction exp(s_f * log(c2w[-1]^-1 end)) on the right, s_f = f / (N - 1), so
    frame 0 is untouched and the correction grows evenly along the path (float64 inside).
    """
    check_poses(c2w, "trajectory.c2w")
    require(torch.is_tensor(end_c2w) and end_c2w.numel() == 16, "end_pose", "a (4, 4) pose",
            tuple(end_c2w.shape) if torch.is_tensor(end_c2w) else type(end_c2w).__name__)
    check_poses(end_c2w.reshape(1, 4, 4), "end_pose")
    require(c2w.ndim == 3 and c2w.shape[0] >= 2, "trajectory.c2w", "(N, 4, 4) with N >= 2", tuple(c2w.shape))
    c = c2w.detach().to("cpu", torch.float64)
    e = end_c2w.detach().to("cpu", torch.float64).reshape(4, 4)
    xi = se3_log((invert(c[-1]) @ e)[None])[0]
    s = torch.linspace(0.0, 1.0, c.shape[0], dtype=torch.float64)
    out = c @ se3_exp(s[:, None] * xi[None])
    out[0], out[-1] = c[0], e
    out[:, 3, :3] = 0.0
    out[:, 3, 3] = 1.0
    return out.to(c2w.dtype)


# -- clips ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClipPlan:
    """How num_frames split into clips of clip_len sharing `overlap` frames.

    starts: first frame of each clip. total_frames: frames the clips cover once joined
    (>= num_frames); the `pad` extra frames at the end hold the path's last pose.
    """

    num_frames: int
    clip_len: int
    overlap: int
    starts: tuple[int, ...]

    @property
    def total_frames(self) -> int:
        return self.starts[-1] + self.clip_len

    @property
    def pad(self) -> int:
        return self.total_frames - self.num_frames

    @property
    def num_clips(self) -> int:
        return len(self.starts)


def _check_clip_args(clip_len: int, overlap: int) -> None:
    require(isinstance(clip_len, int) and clip_len >= 2, "clip_len", "an int >= 2", clip_len)
    require(isinstance(overlap, int) and 0 <= overlap < clip_len, "overlap",
            f"an int in 0..{clip_len - 1} (fewer than the clip's {clip_len} frames)", overlap)


def plan_clips(num_frames: int, clip_len: int = CLIP_LEN, overlap: int = 1) -> ClipPlan:
    """Clips of clip_len frames, each starting clip_len - overlap after the previous, covering num_frames."""
    _check_clip_args(clip_len, overlap)
    require(isinstance(num_frames, int) and num_frames >= 1, "num_frames", "an int >= 1", num_frames)
    stride = clip_len - overlap
    count = 1 if num_frames <= clip_len else 1 + math.ceil((num_frames - clip_len) / stride)
    return ClipPlan(num_frames, clip_len, overlap, tuple(i * stride for i in range(count)))


def clip_trajectory(traj: Trajectory, index: int, clip_len: int = CLIP_LEN, overlap: int = 1) -> Trajectory:
    """Clip `index` of `plan_clips(traj.num_frames, ...)`, relative to its own first frame.

    Frames past the end of the path hold its last pose. The clip's poses relative to any of its
    frames equal the long path's (relative poses do not depend on the common reference).
    """
    traj.validate()
    plan = plan_clips(traj.num_frames, clip_len, overlap)
    require(isinstance(index, int) and 0 <= index < plan.num_clips, "clip_index",
            f"0..{plan.num_clips - 1} ({plan.num_clips} clips of {clip_len} frames, overlap {overlap}, "
            f"for {traj.num_frames} frames)", index)
    s = plan.starts[index]
    idx = torch.arange(s, s + clip_len).clamp(max=traj.num_frames - 1)
    c2w = relative_to_first(traj.c2w[idx])
    return Trajectory(c2w=c2w, K_norm=traj.K_norm[idx].clone(), key_times=[float(i) for i in range(clip_len)],
                      key_c2w=c2w.clone(), version=traj.version).validate()


def split_trajectory(traj: Trajectory, clip_len: int = CLIP_LEN, overlap: int = 1) -> list[Trajectory]:
    """Every clip of `plan_clips` (see `clip_trajectory`)."""
    plan = plan_clips(traj.num_frames, clip_len, overlap)
    return [clip_trajectory(traj, i, clip_len, overlap) for i in range(plan.num_clips)]


def join_frames(clips: Sequence[torch.Tensor], overlap: int, dim: int = 0, num_frames: int | None = None) -> torch.Tensor:
    """Concatenate clips along `dim`, dropping the first `overlap` frames of every clip after the first.

    IMAGE batches (F, H, W, 3): dim 0; video latents (B, C, T, h, w): dim 2. num_frames trims the
    result (the padding of the last clip). The kept overlap frames are the earlier clip's.
    """
    require(len(clips) >= 1, "clips", "at least one clip")
    require(isinstance(overlap, int) and overlap >= 0, "overlap", "an int >= 0", overlap)
    parts = []
    for i, c in enumerate(clips):
        require(torch.is_tensor(c) and -c.ndim <= dim < c.ndim, f"clip {i}", f"a tensor with a dimension {dim}",
                type(c).__name__ if not torch.is_tensor(c) else tuple(c.shape))
        if i > 0:
            ref = clips[0]
            same = c.ndim == ref.ndim and all(c.shape[d] == ref.shape[d] for d in range(c.ndim) if d != dim % c.ndim)
            require(same, f"clip {i}", f"the first clip's size {tuple(ref.shape)} except in dimension {dim}",
                    tuple(c.shape))
            if c.shape[dim] <= overlap:
                raise RealCamInputError(f"clip {i}: expected more than overlap={overlap} frames, got {c.shape[dim]}")
            c = c.narrow(dim, overlap, c.shape[dim] - overlap)
        parts.append(c)
    out = torch.cat([p.to(parts[0]) for p in parts], dim=dim)
    if num_frames is not None:
        require(1 <= num_frames <= out.shape[dim], "num_frames", f"1..{out.shape[dim]}", num_frames)
        out = out.narrow(dim, 0, num_frames)
    return out


def join_trajectories(trajs: Sequence[Trajectory], overlap: int) -> Trajectory:
    """One path from clips that share `overlap` frames, each relative to its own first frame.

    Clip i+1 is placed so its first frame sits on clip i's frame len - overlap (the shared frame);
    the result is relative to the first clip's first frame. Inverse of `split_trajectory` (up to the
    padding of the last clip).
    """
    require(len(trajs) >= 1, "trajectories", "at least one clip")
    require(isinstance(overlap, int) and (overlap >= 1 or len(trajs) == 1), "overlap",
            "at least 1 shared frame (without one the clips' relative placement is unknown)", overlap)
    placed: list[torch.Tensor] = []
    anchor = torch.eye(4, dtype=torch.float64)
    for i, t in enumerate(trajs):
        t.validate()
        c = t.c2w.to(torch.float64)
        if i > 0:
            require(t.num_frames > overlap, f"clip {i}", f"more than overlap={overlap} frames", t.num_frames)
            require(trajs[i - 1].num_frames >= overlap, f"clip {i - 1}", f"at least overlap={overlap} frames",
                    trajs[i - 1].num_frames)
            prev = placed[-1]
            anchor = prev[prev.shape[0] - overlap]
        world = anchor @ invert(c[:1]) @ c
        placed.append(world)
    c2w = join_frames(placed, overlap).to(torch.float32)
    k = torch.cat([trajs[0].K_norm] + [t.K_norm[overlap:] for t in trajs[1:]])
    return Trajectory(c2w=relative_to_first(c2w), K_norm=k, key_times=[float(i) for i in range(c2w.shape[0])],
                      key_c2w=relative_to_first(c2w), version=trajs[0].version).validate()
