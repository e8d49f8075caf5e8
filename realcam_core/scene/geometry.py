"""Scene geometry: depth images to camera-space points (ARCHITECTURE §2 conventions).

Pixel (row i, column j) is the ray through its centre (j + 0.5, i + 0.5); points are in the scene
camera's OpenCV frame, metres. The renderer and `Scene.to_moge_geometry` build on these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..errors import RealCamInputError, input_error, require

if TYPE_CHECKING:  # types.Scene uses unproject_depth; annotations only here
    from .types import Scene


def check_tensor(x: object, name: str, expected: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise input_error(name, f"a torch.Tensor {expected}", type(x).__name__)
    return x


def check_finite(x: torch.Tensor, name: str) -> None:
    require(bool(torch.isfinite(x).all()), name, "finite values", "NaN or inf")


def batched_K(K: torch.Tensor, n: int, name: str = "K") -> torch.Tensor:
    """(3, 3) or (n, 3, 3) -> (n, 3, 3) float64."""
    check_tensor(K, name, "(3, 3) or (N, 3, 3)")
    ok = tuple(K.shape) == (3, 3) or (K.ndim == 3 and tuple(K.shape[1:]) == (3, 3) and K.shape[0] in (1, n))
    require(ok, name, f"shape (3, 3) or ({n}, 3, 3)", tuple(K.shape))
    check_finite(K, name)
    return K.detach().to("cpu", torch.float64).reshape(-1, 3, 3).expand(n, 3, 3)  # small matrix maths on the CPU


def unproject_depth(depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Depth (H, W) or (B, H, W) metres + K (3, 3) or (B, 3, 3) -> camera-space points (..., H, W, 3).

    Pixel (i, j) is the ray through its centre (j + 0.5, i + 0.5); the point is that ray at z = depth.
    Depth 0 (invalid) gives the point (0, 0, 0), which the renderer's near plane culls.
    """
    check_tensor(depth, "depth", "(H, W) or (B, H, W)")
    require(depth.ndim in (2, 3), "depth", "shape (H, W) or (B, H, W)", tuple(depth.shape))
    batched = depth.ndim == 3
    d = depth if batched else depth.unsqueeze(0)
    b, h, w = d.shape
    Kb = batched_K(K, b)
    require(bool((torch.linalg.det(Kb) != 0).all()), "K", "invertible intrinsics (fx, fy != 0)", "a singular K")
    dtype = d.dtype if d.dtype.is_floating_point else torch.float32
    # rays in float64 on the CPU (every backend has it there), then the depth's dtype and device
    K_inv = torch.linalg.inv(Kb)  # (B, 3, 3)
    u = torch.arange(w, dtype=torch.float64) + 0.5
    v = torch.arange(h, dtype=torch.float64) + 0.5
    pix = torch.stack([u[None, :].expand(h, w), v[:, None].expand(h, w), torch.ones(h, w, dtype=torch.float64)], -1)
    rays = torch.einsum("bij,hwj->bhwi", K_inv, pix)  # (B, H, W, 3) = K^-1 (u, v, 1)
    rays = rays / rays[..., 2:3]  # z component 1, so points have z == depth exactly
    points = rays.to(device=d.device, dtype=dtype) * d.to(dtype).unsqueeze(-1)
    return points if batched else points[0]


def scene_point_cloud(scene: Scene) -> tuple[torch.Tensor, torch.Tensor]:
    """The scene's valid pixels as a point cloud: points (P, 3) in the scene camera, colours (P, 3)."""
    scene.validate()
    points = unproject_depth(scene.depth.float(), scene.K)
    keep = scene.mask.bool() & (scene.depth > 0) & torch.isfinite(scene.depth)
    return points[keep], scene.image.float()[keep]


def optional_point_cloud(scene: Scene | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """`scene_point_cloud`, or (None, None) without a scene (exports whose scene is optional)."""
    return (None, None) if scene is None else scene_point_cloud(scene)


def centre_depth(scene: Scene) -> float:
    """Median valid depth (metres) of the scene's central 20 % (rows and columns 40 %..60 %)."""
    h, w = scene.height, scene.width
    centre = scene.depth[int(h * 0.4):int(h * 0.6) + 1, int(w * 0.4):int(w * 0.6) + 1]
    valid = centre[centre > 0]
    if valid.numel() == 0:
        raise RealCamInputError("scene: no valid depth in its centre; set subject_distance in metres")
    return float(torch.median(valid))


def scene_grid_cloud(scene: Scene) -> tuple[torch.Tensor, torch.Tensor]:
    """Every pixel of the scene as a point, row-major (H * W, 3), colours (H * W, 3); invalid pixels
    (mask off, depth 0 or not finite) are put at the origin, where the renderer's near plane culls them."""
    scene.validate()
    keep = scene.mask.bool() & (scene.depth > 0) & torch.isfinite(scene.depth)
    depth = torch.where(keep, scene.depth.float(), torch.zeros((), dtype=torch.float32, device=scene.depth.device))
    return unproject_depth(depth, scene.K).reshape(-1, 3), scene.image.float().reshape(-1, 3)
