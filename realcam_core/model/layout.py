"""Frames-as-batch latents <-> video latents: the one fold used by the model glue and the loop nodes.

ComfyUI LATENTs of this pack are frames-as-batch `(B*T, C, h, w)` (the 2D SD VAE encodes and decodes
them unchanged); the UNet and the conditioning layouts work on video latents `(B, C, T, h, w)`.
Frame f of video b is batch entry `b * T + f`.
"""

from __future__ import annotations

import torch

from ..errors import require

__all__ = ["frames_as_video", "video_as_frames"]


def frames_as_video(x: torch.Tensor, frames: int, name: str = "latent") -> torch.Tensor:
    """Frames-as-batch (B*T, C, h, w) -> video (B, C, T, h, w), T = `frames` (a view where possible)."""
    require(torch.is_tensor(x) and x.ndim == 4, name, "a RealCam LATENT (frames, 4, h, w)",
            tuple(x.shape) if torch.is_tensor(x) else type(x).__name__)
    t = int(frames)
    require(t >= 1 and x.shape[0] % t == 0, name, f"a whole number of {t}-frame videos", x.shape[0])
    b = x.shape[0] // t
    return x.reshape(b, t, *x.shape[1:]).transpose(1, 2)


def video_as_frames(video: torch.Tensor) -> torch.Tensor:
    """Video (B, C, T, h, w) -> frames-as-batch (B*T, C, h, w), contiguous."""
    require(torch.is_tensor(video) and video.ndim == 5, "latent", "a video latent (B, C, T, h, w)",
            tuple(video.shape) if torch.is_tensor(video) else type(video).__name__)
    b, c, t, h, w = video.shape
    return video.transpose(1, 2).reshape(b * t, c, h, w).contiguous()
