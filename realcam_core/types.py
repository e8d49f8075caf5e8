"""Data passed between nodes: REALCAM_SCENE and REALCAM_TRAJECTORY (ARCHITECTURE §3).

Plain dataclasses of torch tensors so they pickle, move between devices, and stay free of
ComfyUI. Validation happens once, in `validate()`, at the boundary where a value is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .errors import require

TRAJECTORY_VERSION = 1


@dataclass
class Scene:
    """One image with metric depth: everything needed to build its point cloud.

    image: (H, W, 3) float32 0..1.  depth: (H, W) float32 metres, 0 = invalid.
    K: (3, 3) float32 pixel intrinsics at (H, W), pixel centres at +0.5.
    mask: (H, W) bool, True where depth is valid.  source: where the depth came from.
    """

    image: torch.Tensor
    depth: torch.Tensor
    K: torch.Tensor
    mask: torch.Tensor
    source: str = ""

    @property
    def height(self) -> int:
        return int(self.depth.shape[0])

    @property
    def width(self) -> int:
        return int(self.depth.shape[1])

    def validate(self) -> Scene:
        require(self.image.ndim == 3 and self.image.shape[-1] == 3, "scene.image", "(H, W, 3)", tuple(self.image.shape))
        require(self.depth.ndim == 2, "scene.depth", "(H, W)", tuple(self.depth.shape))
        require(
            tuple(self.image.shape[:2]) == tuple(self.depth.shape),
            "scene.depth",
            f"the image's size {tuple(self.image.shape[:2])}",
            tuple(self.depth.shape),
        )
        require(tuple(self.K.shape) == (3, 3), "scene.K", "(3, 3)", tuple(self.K.shape))
        require(tuple(self.mask.shape) == tuple(self.depth.shape), "scene.mask", "the depth's size", tuple(self.mask.shape))
        return self

    def to_moge_geometry(self) -> dict:
        """Core's MOGE_GEOMETRY-style dict: points (H, W, 3) in camera space, depth, intrinsics, mask, image."""
        from .render import unproject_depth  # local: render imports types

        points = unproject_depth(self.depth, self.K)
        return {
            "points": points,
            "depth": self.depth,
            "intrinsics": self.K,
            "mask": self.mask,
            "image": self.image,
        }

    @classmethod
    def from_moge_geometry(cls, geo: dict, source: str = "moge") -> Scene:
        depth = geo["depth"].float()
        mask = geo.get("mask")
        mask = (depth > 0) if mask is None else mask.bool() & (depth > 0)
        return cls(image=geo["image"].float(), depth=depth, K=geo["intrinsics"].float(), mask=mask, source=source).validate()


@dataclass
class Trajectory:
    """A per-frame camera path.

    c2w: (N, 4, 4) float32 camera-to-world, metres, OpenCV axes, frame 0 = identity unless stated.
    K_norm: (N, 3, 3) float32 normalised intrinsics (fx/W, fy/H, cx/W, cy/H).
    key_times: keyframe times in frames (ascending), key_c2w: (K, 4, 4) their poses.
    """

    c2w: torch.Tensor
    K_norm: torch.Tensor
    key_times: list[float] = field(default_factory=list)
    key_c2w: torch.Tensor | None = None
    version: int = TRAJECTORY_VERSION

    @property
    def num_frames(self) -> int:
        return int(self.c2w.shape[0])

    def scaled(self, factor: float) -> Trajectory:
        """A copy with every translation multiplied by `factor` (upstream's trace_scale_factor)."""
        require(factor > 0, "translation_scale", "a positive factor", factor)
        c2w = self.c2w.clone()
        c2w[:, :3, 3] *= factor
        key = None
        if self.key_c2w is not None:
            key = self.key_c2w.clone()
            key[:, :3, 3] *= factor
        return Trajectory(c2w=c2w, K_norm=self.K_norm.clone(), key_times=list(self.key_times), key_c2w=key,
                          version=self.version)

    def validate(self) -> Trajectory:
        require(self.c2w.ndim == 3 and self.c2w.shape[-2:] == (4, 4), "trajectory.c2w", "(N, 4, 4)", tuple(self.c2w.shape))
        require(self.num_frames >= 1, "trajectory frames", "at least 1 frame", self.num_frames)
        require(bool(torch.isfinite(self.c2w).all()), "trajectory.c2w", "finite values", "NaN or inf")
        require(
            tuple(self.K_norm.shape) == (self.num_frames, 3, 3),
            "trajectory.K_norm",
            f"({self.num_frames}, 3, 3)",
            tuple(self.K_norm.shape),
        )
        return self
