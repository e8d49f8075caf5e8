"""Conversions between `Trajectory` and the camera formats other packs use (ARCHITECTURE §3).

CAMERACTRL_POSES (AnimateDiff-Evolved, read by KJNodes' CameraPoseVisualizer): a list of
19-number lists per frame: timestamp, normalised fx fy cx cy, two slots that ADE fills with the
original video width and height (1280, 720), then the world-to-camera 3x4 matrix row-major.
It is the RealEstate10K row layout, so it shares the reader and its checks with `re10k`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..errors import RealCamInputError, input_error, require
from ..trajectory.types import Trajectory
from .intrinsics import per_frame_K_norm
from .re10k import NUM_COLUMNS, format_re10k, parse_re10k, trajectory_from_rows, trajectory_to_rows
from .se3 import DEFAULT_ROTATION_ATOL, check_poses, relative_to_first

__all__ = [
    "CAMERACTRL_HEIGHT",
    "CAMERACTRL_WIDTH",
    "cameractrl_poses_to_trajectory",
    "trajectory_from_c2w",
    "trajectory_from_re10k_text",
    "trajectory_to_cameractrl_poses",
    "trajectory_to_re10k_text",
]

# ADE's loader overwrites columns 5 and 6 with the original video size of CameraCtrl's data.
CAMERACTRL_WIDTH = 1280
CAMERACTRL_HEIGHT = 720


def cameractrl_poses_to_trajectory(poses: Sequence[Sequence[float]], relative: bool = True) -> Trajectory:
    """Trajectory from a CAMERACTRL_POSES value (list of N lists of 19 numbers).

    c2w are made relative to the first pose unless `relative=False`. Errors name the pose index.
    """
    name = "cameractrl_poses"
    if isinstance(poses, (str, bytes)) or not isinstance(poses, Sequence):
        raise input_error(name, "a list of pose lists (19 numbers each)", type(poses).__name__)
    require(len(poses) >= 1, name, "at least 1 pose", "an empty list")
    rows: list[list[float]] = []
    for i, pose in enumerate(poses):
        if isinstance(pose, torch.Tensor):
            pose = pose.tolist()
        if isinstance(pose, (str, bytes)) or not isinstance(pose, Sequence):
            raise RealCamInputError(f"{name}: pose {i} is a {type(pose).__name__}, expected a list of {NUM_COLUMNS} numbers")
        if len(pose) != NUM_COLUMNS:
            raise RealCamInputError(
                f"{name}: pose {i} has {len(pose)} numbers, expected {NUM_COLUMNS} "
                "(timestamp fx fy cx cy width height and the 12 world-to-camera values)"
            )
        try:
            row = [float(v) for v in pose]
        except (TypeError, ValueError):
            raise RealCamInputError(f"{name}: pose {i} contains a value that is not a number") from None
        if not all(math.isfinite(v) for v in row):
            raise RealCamInputError(f"{name}: pose {i} has non-finite values (NaN or inf)")
        rows.append(row)
    return trajectory_from_rows(torch.tensor(rows, dtype=torch.float64), relative=relative, source=name)


def trajectory_to_cameractrl_poses(
    traj: Trajectory,
    width: int = CAMERACTRL_WIDTH,
    height: int = CAMERACTRL_HEIGHT,
    timestamps: Sequence[float] | None = None,
) -> list[list[float]]:
    """CAMERACTRL_POSES for a trajectory: per frame [timestamp, fx, fy, cx, cy, width, height, w2c 3x4].

    Python floats carry the float64 w2c, so `cameractrl_poses_to_trajectory` gives back the same
    float32 c2w bits.
    """
    for nm, v in (("width", width), ("height", height)):
        require(isinstance(v, int) and not isinstance(v, bool) and v > 0, nm, "a positive int", v)
    rows = trajectory_to_rows(traj, timestamps=timestamps)
    rows[:, 5] = float(width)
    rows[:, 6] = float(height)
    return [[float(v) for v in r] for r in rows.tolist()]


def trajectory_to_re10k_text(traj: Trajectory, **kwargs) -> str:
    """RealEstate10K `.txt` content for a trajectory (see `re10k.format_re10k` for the options)."""
    return format_re10k(traj, **kwargs)


def trajectory_from_re10k_text(text: str, relative: bool = True) -> Trajectory:
    """Trajectory from RealEstate10K text (see `re10k.parse_re10k`)."""
    return parse_re10k(text, relative=relative)


def trajectory_from_c2w(
    c2w: torch.Tensor,
    K_norm: torch.Tensor | None = None,
    relative: bool = True,
    key_times: Sequence[float] | None = None,
    key_c2w: torch.Tensor | None = None,
    atol: float = DEFAULT_ROTATION_ATOL,
) -> Trajectory:
    """Validated Trajectory from per-frame c2w (N, 4, 4) (metres, OpenCV axes).

    K_norm: (3, 3) for all frames or (N, 3, 3); default upstream's 0.5 placeholders. relative: make
    poses relative to frame 0 (ARCHITECTURE §2). Keyframes default to every frame.
    """
    check_poses(c2w, "c2w", atol=atol)
    n = c2w.shape[0]
    require(n >= 1, "c2w", "at least 1 frame", n)
    c = c2w.detach().to(torch.float32)
    if relative:
        c = relative_to_first(c)
    K = per_frame_K_norm(K_norm, n)
    if key_times is None:
        times = [float(i) for i in range(n)]
        keys = c.clone()
    else:
        times = [float(t) for t in key_times]
        require(key_c2w is not None, "key_c2w", "poses for the given key_times")
        check_poses(key_c2w, "key_c2w", atol=atol)
        require(key_c2w.shape[0] == len(times), "key_c2w", f"{len(times)} poses (one per key time)", key_c2w.shape[0])
        keys = key_c2w.detach().to(torch.float32).clone()
    return Trajectory(c2w=c.contiguous(), K_norm=K, key_times=times, key_c2w=keys).validate()
