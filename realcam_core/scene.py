"""Building a `Scene` (image + metric depth + intrinsics) from depth of any origin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .camera.intrinsics import K_from_fov, default_K
from .errors import RealCamInputError, require
from .types import Scene

DEPTH_ENCODINGS = ("metres", "normalised", "disparity")


def intrinsics_for(height: int, width: int, fov_deg: float | None = None) -> torch.Tensor:
    """(3, 3) pixel K: RealCam's fx = fy = 0.5 * max(H, W) by default, else from a horizontal FOV."""
    return default_K(height, width) if fov_deg is None else K_from_fov(height, width, fov_deg)


def decode_depth(values: torch.Tensor, encoding: str, max_depth: float = 20.0, min_depth: float = 0.5) -> torch.Tensor:
    """(H, W) stored values -> metres according to `encoding` (see DEPTH_ENCODINGS)."""
    require(encoding in DEPTH_ENCODINGS, "depth_encoding", f"one of {DEPTH_ENCODINGS}", encoding)
    v = values.float()
    if encoding == "metres":
        return v
    if encoding == "normalised":
        return v * max_depth
    # disparity: 1 -> min_depth, 0 -> max_depth, linear in inverse depth
    require(0 < min_depth < max_depth, "min_depth", f"0 < min_depth < max_depth ({max_depth})", min_depth)
    inv = v.clamp(0, 1) * (1 / min_depth - 1 / max_depth) + 1 / max_depth
    return 1.0 / inv


def scene_from_depth(
    image: torch.Tensor, depth: torch.Tensor, fov_deg: float | None = None, K: torch.Tensor | None = None,
    source: str = "",
) -> Scene:
    """image (H, W, 3) 0..1, depth (H, W) metres -> validated Scene; non-finite or <= 0 depth is invalid."""
    require(image.ndim == 3 and image.shape[-1] == 3, "image", "an RGB image (H, W, 3)", tuple(image.shape))
    require(depth.ndim == 2, "depth", "a single depth map (H, W)", tuple(depth.shape))
    if tuple(image.shape[:2]) != tuple(depth.shape):
        raise RealCamInputError(
            f"depth: expected the image's size {image.shape[1]}x{image.shape[0]} (WxH), got "
            f"{depth.shape[1]}x{depth.shape[0]}; resize the depth map (e.g. with ImageScale) or the image"
        )
    depth = depth.float().cpu()
    mask = torch.isfinite(depth) & (depth > 0)
    valid = int(mask.sum())
    if valid == 0:
        raise RealCamInputError(
            "depth: expected positive finite metres somewhere, got only NaN/inf/<=0 values "
            "(check the depth encoding and max_depth)"
        )
    depth = torch.where(mask, depth, torch.zeros_like(depth))
    h, w = depth.shape
    if K is None:
        K = intrinsics_for(h, w, fov_deg)
    return Scene(image=image.float().cpu().clamp(0, 1), depth=depth, K=K.float(), mask=mask, source=source).validate()


def depth_preview(depth: torch.Tensor) -> torch.Tensor:
    """(H, W) metres -> (H, W, 3) image, near = bright, using robust percentiles of valid depth."""
    valid = depth > 0
    if not bool(valid.any()):
        return torch.zeros(*depth.shape, 3)
    inv = torch.where(valid, 1.0 / depth.clamp_min(1e-6), torch.zeros_like(depth))
    vals = inv[valid]
    lo, hi = torch.quantile(vals[:: max(1, vals.numel() // 100000)], torch.tensor([0.02, 0.98]))
    t = ((inv - lo) / (hi - lo).clamp_min(1e-6)).clamp(0, 1) * valid
    # a small blue -> yellow ramp keeps near/far readable without a colormap dependency
    rgb = torch.stack([t, t**0.7 * 0.9, (1 - t) * 0.6 + 0.2 * t], dim=-1) * valid[..., None]
    return rgb.float()


def read_depth_file(path: Path, metres_per_unit: float = 0.001) -> torch.Tensor:
    """Read a depth map without precision loss: 16-bit PNG/TIFF (integers x metres_per_unit) or .npy (metres)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise RealCamInputError(f"file: {path.name} is not a plain numeric .npy array ({exc})") from None
        arr = np.asarray(arr, dtype=np.float32).squeeze()
    else:
        from PIL import Image

        try:
            with Image.open(path) as im:
                arr = np.array(im)
        except OSError as exc:
            raise RealCamInputError(f"file: {path.name} could not be read as an image ({exc})") from None
        if arr.ndim == 3:
            arr = arr[..., 0]
        arr = arr.astype(np.float32) * metres_per_unit
    require(arr.ndim == 2, "file", "a single-channel depth map", f"shape {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr))
