"""REALCAM_SCENE: one image with metric depth (ARCHITECTURE §3).

A plain dataclass of torch tensors so it pickles, moves between devices and stays free of ComfyUI.
Validation happens once, in `validate()`, where a value is built.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import require
from .geometry import unproject_depth


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
