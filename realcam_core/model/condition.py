"""The model's camera input from a `Trajectory`: relative poses and pixel intrinsics (ARCHITECTURE §2, §4).

Intrinsics follow upstream's image path (`model.preprocess.resize_crop`): the conditioning image is
resized, aspect preserved, to `resized` = (Hr, Wr) (`camera.intrinsics.upstream_resized_size`), then
centre-cropped to (height, width). The focal lengths are the trajectory's normalised fx, fy taken at
the resized size; the principal point is the crop centre (width / 2, height / 2) whatever the
trajectory's cx, cy say, because upstream trains and samples with centred cameras (with the scene's
default K, 0.5 of the longer side, this is upstream's fx = fy = 0.5 max(Hr, Wr), up to the integer rounding of the resized size).
"""

from __future__ import annotations

import torch

from ..camera.intrinsics import denormalize_K
from ..camera.se3 import relative_to_first
from ..trajectory.types import Trajectory
from .camera import CameraCondition


def camera_from_trajectory(traj: Trajectory, height: int, width: int, resized: tuple[int, int],
                           seed: int = 0) -> CameraCondition:
    """(1, T, 4, 4) c2w relative to frame 0 (composed in float64, `se3.relative_to_first`) and (1, T, 3, 3)
    float32 pixel K at the model resolution (height, width), see the module docstring; `seed` as in
    `CameraCondition`."""
    rel = relative_to_first(traj.c2w.double()).float()
    K = denormalize_K(traj.K_norm.float(), int(resized[0]), int(resized[1]))
    K[:, 0, 1] = K[:, 1, 0] = 0.0  # a plain pinhole: no skew, last row (0, 0, 1)
    K[:, 2] = torch.tensor([0.0, 0.0, 1.0])
    K[:, 0, 2], K[:, 1, 2] = width / 2, height / 2  # the crop centre (module docstring)
    return CameraCondition(rel[None], K[None], (height, width), seed).validate()
