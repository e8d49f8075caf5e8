"""Wan 2.x glue (ARCHITECTURE §7): core's Plücker code for the camera embedding, core's resize for images."""

from __future__ import annotations

import comfy.utils
import torch

from ..realcam_core import wan as core_wan
from ..realcam_core.errors import RealCamInputError
from ..realcam_core.scene.types import Scene
from ..realcam_core.trajectory.types import Trajectory


def resize_like_core(images: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """IMAGE (B, H, W, C) -> (B, height, width, C) exactly as core's Wan / SVD nodes resize a start image
    (bilinear, centre crop)."""
    return comfy.utils.common_upscale(images.movedim(-1, 1), width, height, "bilinear", "center").movedim(1, -1)


def wan_embedding(trajectory: Trajectory, width: int, height: int,
                  intrinsics: str = "true intrinsics") -> torch.Tensor:
    """WAN_CAMERA_EMBEDDING (1, 24, (N + 3) // 4, height, width) of an N = 4k+1 frame trajectory, through core's
    own Plücker code (`process_pose_params`: rows [t, fx, fy, cx, cy, k1, k2, c2w 4x4 row-major], normalised
    intrinsics, `realcam_core.wan.pose_rows`) and core WanCameraEmbedding's packing (`pack_embedding`).

    "true intrinsics" passes the output size as core's "original" pose size, so our intrinsics stay as they
    are; "match core" gives core's fixed intrinsics and its assumed 1280x720 original.
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


def camera_embedding(trajectory: Trajectory, width: int, height: int, length: int, scale: str,
                     translation_scale: float, intrinsics: str, scene: Scene | None) -> tuple[torch.Tensor, str]:
    """RealCam Wan Camera Embedding: (WAN_CAMERA_EMBEDDING, the line saying scale, intrinsics and frames)."""
    traj, line = core_wan.trajectory_at_model_scale(trajectory, length, scale, translation_scale, scene)
    emb = wan_embedding(traj, width, height, intrinsics)
    return emb, f"{line}; intrinsics: {intrinsics}; {length} frames -> {core_wan.latent_frames(length)} latent"
