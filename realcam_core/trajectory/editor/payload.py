"""The point cloud the editor widget shows, as a compact description of the scene's depth grid."""

from __future__ import annotations

import base64

import torch

from ...errors import require


def scene_payload(
    depth: torch.Tensor, image: torch.Tensor, K: torch.Tensor, max_points: int = 200_000
) -> dict:
    """A compact, JSON-safe description of the scene for the editor's viewports.

    depth: (H, W) metres, 0 = invalid.  image: (H, W, 3) 0..1.  K: (3, 3) pixels at (H, W).
    Pixels are subsampled with an integer `stride` so at most `max_points` remain; the widget
    unprojects pixel (row * stride, col * stride) with the full-resolution K (pixel centres at
    +0.5), so every point it shows is exactly a point of the renderer's cloud.
    Returns {"version", "width", "height", "K", "stride", "grid_w", "grid_h", "depth_f32_b64", "rgb_u8_b64"}.
    """
    require(depth.ndim == 2, "scene depth", "(H, W)", tuple(depth.shape))
    H, W = int(depth.shape[0]), int(depth.shape[1])
    require(tuple(image.shape) == (H, W, 3), "scene image", f"({H}, {W}, 3)", tuple(image.shape))
    require(tuple(K.shape) == (3, 3), "scene K", "(3, 3)", tuple(K.shape))
    require(max_points >= 1, "max_points", "at least 1", max_points)
    stride = 1
    while ((H + stride - 1) // stride) * ((W + stride - 1) // stride) > max_points:
        stride += 1
    d = depth.detach().float().cpu()[::stride, ::stride].contiguous()
    d = torch.where(torch.isfinite(d) & (d > 0), d, torch.zeros_like(d))
    rgb = (image.detach().float().cpu()[::stride, ::stride].clamp(0, 1) * 255).round().to(torch.uint8).contiguous()
    return {
        "version": 1,
        "width": W,
        "height": H,
        "K": [[float(x) for x in row] for row in K.detach().double().cpu().tolist()],
        "stride": stride,
        "grid_w": int(d.shape[1]),
        "grid_h": int(d.shape[0]),
        "depth_f32_b64": base64.b64encode(d.numpy().astype("<f4").tobytes()).decode("ascii"),
        "rgb_u8_b64": base64.b64encode(rgb.numpy().tobytes()).decode("ascii"),
    }

