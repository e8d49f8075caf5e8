"""Building a `Scene` (image + metric depth + intrinsics) from depth of any origin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..camera.intrinsics import K_from_fov, default_K
from ..errors import RealCamInputError, require
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


def first_depth_map(depth: torch.Tensor) -> torch.Tensor:
    """The first map (H, W) of a MASK (B, H, W) or an IMAGE (B, H, W, C) (its first channel)."""
    require(torch.is_tensor(depth) and depth.ndim in (3, 4) and depth.shape[0] >= 1, "depth",
            "a MASK (B, H, W) or an IMAGE (B, H, W, C)", tuple(depth.shape) if torch.is_tensor(depth) else
            type(depth).__name__)
    return depth[0] if depth.ndim == 3 else depth[0, ..., 0]


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


ACCEPTED_DEPTH_FILES = (
    "16-bit greyscale PNG/TIFF (integers x metres_per_unit, e.g. millimetres)",
    "32-bit integer PNG/TIFF (integers x metres_per_unit)",
    "32-bit float TIFF (metres)",
    "float .npy (metres, shape (H, W), (H, W, 1) or (1, H, W))",
)
MAX_DEPTH_PIXELS = 64_000_000  # 8000 x 8000; a bigger "depth map" is a decompression bomb, not a scene


def _accepted(name: str) -> str:
    return (f"file: {name} cannot hold metres; accepted encodings: {'; '.join(ACCEPTED_DEPTH_FILES)}. "
            "An 8-bit or colour depth picture (normalised or disparity) goes through LoadImage and "
            "RealCam Scene From Depth with its depth_encoding")


def _squeeze_depth(arr: np.ndarray, name: str) -> np.ndarray:
    """(H, W), (H, W, 1) or (1, H, W) -> (H, W); 1x1 maps stay 2-D."""
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    elif arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise RealCamInputError(f"file: {name}: expected a single-channel depth map (H, W), got shape {arr.shape}")
    return arr


def describe_depth_encoding(path: Path) -> str:
    """What a depth file holds, e.g. 'PNG mode I;16' or 'npy float32 (480, 640)' (for messages and UI)."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
        return f"npy {arr.dtype} {tuple(arr.shape)}"
    from PIL import Image

    with Image.open(path) as im:
        return f"{im.format} mode {im.mode} {im.size[0]}x{im.size[1]}"


def read_depth_file(path: Path, metres_per_unit: float = 0.001) -> torch.Tensor:
    """Depth in metres from a file whose encoding is detected, never guessed (see ACCEPTED_DEPTH_FILES)."""
    path = Path(path)
    name = path.name
    require(isinstance(metres_per_unit, (int, float)) and np.isfinite(metres_per_unit) and metres_per_unit > 0,
            "metres_per_unit", "a finite number above 0 (0.001 = millimetres)", metres_per_unit)
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise RealCamInputError(f"file: {name} is not a plain numeric .npy array ({str(exc)[:160]})") from None
        if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":
            kind = getattr(arr, "dtype", type(arr).__name__)
            raise RealCamInputError(f"file: {name} holds {kind} values; expected float metres. " + _accepted(name))
        if arr.size > MAX_DEPTH_PIXELS:
            raise RealCamInputError(f"file: {name} has {arr.size} values; expected at most {MAX_DEPTH_PIXELS}")
        arr = _squeeze_depth(arr, name).astype(np.float32)
    else:
        from PIL import Image

        try:
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_DEPTH_PIXELS:
                    raise RealCamInputError(
                        f"file: {name} is {w}x{h} pixels; expected at most {MAX_DEPTH_PIXELS // 1_000_000} "
                        "megapixels for a depth map")
                mode = im.mode
                if mode.startswith("I;16") or mode == "I":
                    arr = np.array(im).astype(np.float64) * float(metres_per_unit)
                elif mode == "F":
                    arr = np.array(im).astype(np.float64)  # float TIFF: metres as stored
                else:
                    raise RealCamInputError(f"file: {name} is {im.format} mode {mode} (8-bit or colour). " + _accepted(name))
        except Image.DecompressionBombError:
            raise RealCamInputError(
                f"file: {name} declares too many pixels (a decompression bomb?); expected a depth map of at most "
                f"{MAX_DEPTH_PIXELS // 1_000_000} megapixels") from None
        except (OSError, SyntaxError) as exc:
            raise RealCamInputError(f"file: {name} could not be read as an image ({str(exc)[:160]})") from None
        arr = _squeeze_depth(arr, name).astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(arr))
