"""Cameras: rigid motions, intrinsics, lenses, RealEstate10K files, format adapters.

Upstream's named camera moves are trajectories: `realcam_core.trajectory.presets`.

Conventions (ARCHITECTURE §2): OpenCV axes (x right, y down, z forward), camera-to-world 4x4 poses on
column vectors, metres; trajectories relative to their first frame unless stated; intrinsics in
pixels at a stated (H, W) or normalised (fx/W, fy/H, cx/W, cy/H).
"""

from .adapters import (
    cameractrl_poses_to_trajectory,
    trajectory_from_c2w,
    trajectory_from_re10k_text,
    trajectory_to_cameractrl_poses,
    trajectory_to_re10k_text,
)
from .intrinsics import (
    UPSTREAM_K_NORM,
    K_from_fov,
    default_K,
    denormalize_K,
    fov_from_K,
    normalize_K,
    scale_K,
    upstream_resized_size,
)
from .re10k import format_re10k, parse_re10k, read_re10k, write_re10k
from .se3 import (
    c2w_to_w2c,
    check_poses,
    check_rotations,
    compose,
    from_axis_angle,
    from_euler,
    invert,
    look_at,
    relative_to_first,
    rotation_angle,
    se3_exp,
    se3_log,
    w2c_to_c2w,
)

__all__ = [
    "UPSTREAM_K_NORM",
    "K_from_fov",
    "c2w_to_w2c",
    "cameractrl_poses_to_trajectory",
    "check_poses",
    "check_rotations",
    "compose",
    "default_K",
    "denormalize_K",
    "format_re10k",
    "fov_from_K",
    "from_axis_angle",
    "from_euler",
    "invert",
    "look_at",
    "normalize_K",
    "parse_re10k",
    "read_re10k",
    "relative_to_first",
    "rotation_angle",
    "scale_K",
    "se3_exp",
    "se3_log",
    "trajectory_from_c2w",
    "trajectory_from_re10k_text",
    "trajectory_to_cameractrl_poses",
    "trajectory_to_re10k_text",
    "upstream_resized_size",
    "w2c_to_c2w",
    "write_re10k",
]
