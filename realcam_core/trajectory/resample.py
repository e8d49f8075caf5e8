"""A trajectory resampled to a new frame count: its keyframes, re-timed over the new length, interpolated.

What RealCam SE3 Interpolate does: keyframe times are stretched over the new length (the path keeps its
shape and timing ratios), dense paths are thinned first, and an animated lens follows the poses' timing.
"""

from __future__ import annotations

import torch

from ..camera.lens import interpolate_K_norm, keyframe_K_norm
from .interpolate import interpolate_trajectory, retime_keyframes, thin_keyframes
from .types import Trajectory

__all__ = ["resample_trajectory"]


def resample_trajectory(trajectory: Trajectory, num_frames: int, method: str = "linear_se3", easing: str = "linear",
                        closed: bool = False) -> Trajectory:
    """One pose per frame of a `num_frames` path through `trajectory`'s keyframes (see `interpolate`)."""
    times, keys = thin_keyframes(*trajectory.keyframes())
    norm = retime_keyframes(times, closed)
    out = interpolate_trajectory(norm, keys, num_frames, K_norm=trajectory.K_norm[0], method=method, easing=easing,
                                 time_unit="normalized", closed=closed)
    key_K = keyframe_K_norm(trajectory, times)
    if not torch.equal(key_K, key_K[:1].expand_as(key_K)):  # lens animation: focal follows the poses' timing
        out.K_norm = interpolate_K_norm(norm, key_K, num_frames, easing=easing, time_unit="normalized", closed=closed)
    return out
