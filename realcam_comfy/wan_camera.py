"""Core Wan's WAN_CAMERA_EMBEDDING from a RealCam trajectory, built with core's own Plücker code.

Core's `process_pose_params` (comfy_extras) reads each row as [t, fx, fy, cx, cy, k1, k2, c2w 4x4 row-major]
with normalised intrinsics (`realcam_core.wan.pose_rows`); the frame packing (first frame four times, then
groups of four on channels) is core WanCameraEmbedding's (`realcam_core.wan.pack_embedding`).
"""

from __future__ import annotations

import torch

from ..realcam_core import wan as core_wan
from ..realcam_core.errors import RealCamInputError
from ..realcam_core.trajectory.types import Trajectory


def wan_camera_embedding(trajectory: Trajectory, width: int, height: int,
                         intrinsics: str = "true intrinsics") -> torch.Tensor:
    """(1, 24, (N + 3) // 4, height, width) for an N = 4k+1 frame trajectory.

    "true intrinsics" passes the output size as core's "original" pose size, so our intrinsics stay as
    they are; "match core" gives core's fixed intrinsics and its assumed 1280x720 original.
    """
    from comfy_extras.nodes_camera_trajectory import process_pose_params

    n = trajectory.num_frames
    if n % core_wan.TEMPORAL_COMPRESSION != 1:
        raise RealCamInputError(f"trajectory: expected 4k+1 frames for Wan's temporal packing (e.g. 81), got {n}; "
                                "resample it with RealCam SE3 Interpolate")
    rows = core_wan.pose_rows(trajectory, intrinsics).numpy()
    pose_w, pose_h = core_wan.CORE_POSE_SIZE if intrinsics == "match core" else (width, height)
    rays = process_pose_params(rows, width=width, height=height, original_pose_width=pose_w,
                               original_pose_height=pose_h)  # (N, H, W, 6)
    return core_wan.pack_embedding(rays)
