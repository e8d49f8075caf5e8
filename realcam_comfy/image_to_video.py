"""RealCam Image To Video's work: the conditioning image, CLIP-vision tokens and camera put into CONDITIONING.

The keys are `conditioning.KEY_*` (ARCHITECTURE §4); the image path is upstream's resize-then-crop
(`realcam_core.model.preprocess`), the camera `realcam_core.model.condition.camera_from_trajectory`.
"""

from __future__ import annotations

from typing import Any

import torch

from ..realcam_core.errors import require
from ..realcam_core.model.condition import camera_from_trajectory
from ..realcam_core.model.preprocess import clip_squash, resize_crop
from ..realcam_core.trajectory.types import Trajectory
from . import conditioning as rc


def check_inputs(vae: Any, clip_vision: Any, image: Any, trajectory: Any, width: int, height: int,
                 length: int) -> Trajectory:
    """Refuse what cannot make a video, naming the input; returns the validated trajectory."""
    require(isinstance(trajectory, Trajectory), "trajectory", "a REALCAM_TRAJECTORY", type(trajectory).__name__)
    for name, value in (("vae", vae), ("clip_vision", clip_vision)):
        require(value is not None, name, f"a {name.upper()} (the checkpoint loader outputs none when the base "
                "file has no VAE / image encoder: load them with core loaders)", "None")
    trajectory.validate()
    require(trajectory.num_frames == length, "trajectory", f"{length} frames (the video's length)",
            f"{trajectory.num_frames} frames")
    require(width % 8 == 0 and height % 8 == 0, "width/height", "multiples of 8", f"{width}x{height}")
    require(torch.is_tensor(image) and image.ndim == 4, "image", "an IMAGE (B, H, W, 3)", getattr(image, "shape", None))
    return trajectory


def image_to_video(positive: list, negative: list, vae: Any, clip_vision: Any, image: torch.Tensor,
                   trajectory: Trajectory, width: int, height: int, length: int, frame_stride: int,
                   batch_size: int) -> tuple[list, list, dict]:
    """(positive, negative, empty latent) for RealCam sampling.

    Both get the first image's latent, the camera and the stride; positive the image's CLIP-vision tokens,
    negative those of a blank (0.5 grey) image, as upstream. The latent is (batch_size * length, 4, h, w).
    """
    trajectory = check_inputs(vae, clip_vision, image, trajectory, width, height, length)
    img, resized = resize_crop(image[:1, ..., :3], height, width)
    latent = vae.encode(img)
    cam = camera_from_trajectory(trajectory, height, width, resized)
    squashed = clip_squash(img)
    tokens = clip_vision.encode_image(squashed, crop=False)["last_hidden_state"]
    blank = clip_vision.encode_image(torch.full_like(squashed, 0.5), crop=False)["last_hidden_state"]
    common = {rc.KEY_CONCAT: latent, rc.KEY_CAMERA: cam, rc.KEY_STRIDE: int(frame_stride), rc.KEY_FRAMES: int(length)}
    pos = rc.with_values(positive, {**common, rc.KEY_IMAGE: tokens})
    neg = rc.with_values(negative, {**common, rc.KEY_IMAGE: blank})
    empty = torch.zeros(batch_size * length, 4, height // 8, width // 8)
    return pos, neg, {"samples": empty}
