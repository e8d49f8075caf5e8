"""Pinhole intrinsics: pixels at a stated (H, W), or normalised (fx/W, fy/H, cx/W, cy/H).

Pixel centres sit at +0.5 (ARCHITECTURE §2), so the principal point of a centred camera is (W/2, H/2)
and resizing scales every entry linearly. Upstream RealCam-I2V uses fx = fy = 0.5 * max(H, W)
(a 90 degree field of view across the longer side), cx = W/2, cy = H/2, where the focal length
is taken at the aspect-preserving resize before the centre crop (`upstream_resized_size`).
Shapes: K is (..., 3, 3); every function is batched over the leading dims.
"""

from __future__ import annotations

import math

import torch

from ..errors import input_error, require

__all__ = [
    "UPSTREAM_K_NORM",
    "K_from_fov",
    "default_K",
    "denormalize_K",
    "fov_from_K",
    "normalize_K",
    "scale_K",
    "upstream_resized_size",
]

# Normalised intrinsics stored in the upstream preset files: fx = fy = cx = cy = 0.5. Upstream
# ignores them at inference and uses `default_K` in pixels instead.
UPSTREAM_K_NORM = ((0.5, 0.0, 0.5), (0.0, 0.5, 0.5), (0.0, 0.0, 1.0))


def per_frame_K_norm(K_norm: torch.Tensor | None, n: int) -> torch.Tensor:
    """(n, 3, 3) float32 normalised intrinsics from None (upstream's 0.5 placeholders), (3, 3) or (n, 3, 3)."""
    if K_norm is None:
        return torch.tensor(UPSTREAM_K_NORM, dtype=torch.float32).expand(n, 3, 3).clone()
    require(isinstance(K_norm, torch.Tensor), "K_norm", "a tensor (3, 3) or (N, 3, 3)", type(K_norm).__name__)
    if tuple(K_norm.shape) == (3, 3):
        K_norm = K_norm.expand(n, 3, 3)
    require(tuple(K_norm.shape) == (n, 3, 3), "K_norm", f"(3, 3) or ({n}, 3, 3)", tuple(K_norm.shape))
    require(bool(torch.isfinite(K_norm).all()), "K_norm", "finite values", "NaN or inf")
    return K_norm.detach().to(torch.float32).clone()


def _check_size(height: int, width: int) -> None:
    for name, v in (("height", height), ("width", width)):
        require(isinstance(v, int) and not isinstance(v, bool) and v > 0, f"intrinsics {name}", "a positive int", v)


def _check_K(K: torch.Tensor, name: str = "K") -> None:
    if not isinstance(K, torch.Tensor):
        raise input_error(name, "a torch.Tensor of shape (..., 3, 3)", type(K).__name__)
    require(K.ndim >= 2 and tuple(K.shape[-2:]) == (3, 3), name, "shape (..., 3, 3)", tuple(K.shape))
    require(bool(torch.isfinite(K).all()), name, "finite values", "NaN or inf")


def _make_K(fx: float, fy: float, cx: float, cy: float, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=dtype)


def upstream_resized_size(src_height: int, src_width: int, height: int, width: int) -> tuple[int, int]:
    """Size after upstream's aspect-preserving resize that precedes the centre crop to (height, width).

    If the source is wider than the target: (height, int(src_w * height / src_h)); else
    (int(src_h * width / src_w), width). E.g. 1080x1920 -> 512x320 model gives (320, 568).
    """
    _check_size(src_height, src_width)
    _check_size(height, width)
    if src_width / src_height > width / height:
        return height, int(src_width * height / src_height)
    return int(src_height * width / src_width), width


def default_K(
    height: int,
    width: int,
    focal_ref: tuple[int, int] | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Upstream intrinsics (3, 3) in pixels at (height, width): fx = fy = 0.5 * max(ref), cx = W/2, cy = H/2.

    `focal_ref` is the (H, W) whose longer side sets the focal length (upstream: the resized size
    before the crop, see `upstream_resized_size`); default (height, width).
    """
    _check_size(height, width)
    ref_h, ref_w = focal_ref if focal_ref is not None else (height, width)
    _check_size(int(ref_h), int(ref_w))
    f = 0.5 * max(ref_h, ref_w)
    return _make_K(f, f, width / 2.0, height / 2.0, dtype)


def K_from_fov(
    height: int,
    width: int,
    fov_deg: float,
    axis: str = "horizontal",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Square-pixel intrinsics (3, 3) with the given field of view across `axis` ('horizontal' = width)."""
    _check_size(height, width)
    require(axis in ("horizontal", "vertical"), "fov axis", "'horizontal' or 'vertical'", axis)
    require(
        isinstance(fov_deg, (int, float)) and math.isfinite(fov_deg) and 0.0 < fov_deg < 180.0,
        "fov_deg",
        "a field of view in degrees, 0 < fov < 180",
        fov_deg,
    )
    extent = width if axis == "horizontal" else height
    f = 0.5 * extent / math.tan(math.radians(fov_deg) / 2.0)
    return _make_K(f, f, width / 2.0, height / 2.0, dtype)


def fov_from_K(K: torch.Tensor, height: int, width: int, degrees: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(horizontal, vertical) field of view (...,) of pixel intrinsics K (..., 3, 3) at (height, width)."""
    _check_K(K)
    _check_size(height, width)
    fx, fy = K[..., 0, 0].to(torch.float64), K[..., 1, 1].to(torch.float64)
    require(bool((fx > 0).all() and (fy > 0).all()), "K", "positive focal lengths", (K[..., 0, 0], K[..., 1, 1]))
    h = 2.0 * torch.atan(width / (2.0 * fx))
    v = 2.0 * torch.atan(height / (2.0 * fy))
    if degrees:
        h, v = torch.rad2deg(h), torch.rad2deg(v)
    return h.to(K.dtype), v.to(K.dtype)


def _scale_rows(K: torch.Tensor, sx: float, sy: float) -> torch.Tensor:
    out = K.clone()
    out[..., 0, :] = K[..., 0, :] * sx
    out[..., 1, :] = K[..., 1, :] * sy
    return out


def normalize_K(K: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pixel K (..., 3, 3) at (height, width) -> normalised K (fx/W, fy/H, cx/W, cy/H)."""
    _check_K(K)
    _check_size(height, width)
    return _scale_rows(K, 1.0 / width, 1.0 / height)


def denormalize_K(K_norm: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Normalised K (..., 3, 3) -> pixel K at (height, width)."""
    _check_K(K_norm, "K_norm")
    _check_size(height, width)
    return _scale_rows(K_norm, float(width), float(height))


def scale_K(K: torch.Tensor, src_hw: tuple[int, int], dst_hw: tuple[int, int]) -> torch.Tensor:
    """Pixel K (..., 3, 3) at src (H, W) -> the same camera after resizing the image to dst (H, W)."""
    _check_K(K)
    _check_size(*src_hw)
    _check_size(*dst_hw)
    return _scale_rows(K, dst_hw[1] / src_hw[1], dst_hw[0] / src_hw[0])


def fit_intrinsics(K: torch.Tensor, src_hw: tuple[int, int], dst_hw: tuple[int, int], fit: str = "crop") -> torch.Tensor:
    """Pixel K (..., 3, 3) at src (H, W) -> the camera that shows the same view at dst (H, W).

    "stretch" scales each axis by its own ratio (the image is squashed to the new aspect); "crop"
    scales both by the larger ratio and centre-crops the overflow, as upstream's resize-then-crop
    does, so pixels stay square and the focal length stays isotropic.
    """
    require(fit in ("crop", "stretch"), "fit", "'crop' or 'stretch'", fit)
    if fit == "stretch" or tuple(src_hw) == tuple(dst_hw):
        return scale_K(K, tuple(src_hw), tuple(dst_hw))
    (sh, sw), (dh, dw) = src_hw, dst_hw
    s = max(dh / sh, dw / sw)
    out = K.clone()
    out[..., 0, :] = K[..., 0, :] * s
    out[..., 1, :] = K[..., 1, :] * s
    out[..., 0, 2] -= (sw * s - dw) / 2
    out[..., 1, 2] -= (sh * s - dh) / 2
    return out
