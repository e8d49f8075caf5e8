"""REALCAM_TRAJECTORY: a per-frame camera path with its keyframes (ARCHITECTURE §3).

A plain dataclass of torch tensors so it pickles, moves between devices and stays free of ComfyUI.
Validation happens once, in `validate()`, where a value is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..errors import require

TRAJECTORY_VERSION = 1


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

    @classmethod
    def from_frames(cls, c2w: torch.Tensor, K_norm: torch.Tensor, version: int = TRAJECTORY_VERSION) -> Trajectory:
        """A validated path whose every frame is a keyframe (tracked, bent or resampled paths)."""
        times = [float(i) for i in range(int(c2w.shape[0]))]
        return cls(c2w=c2w, K_norm=K_norm, key_times=times, key_c2w=c2w.clone(), version=version).validate()

    @property
    def num_frames(self) -> int:
        return int(self.c2w.shape[0])

    def keyframes(self) -> tuple[list[float], torch.Tensor]:
        """Keyframe times in frames and their poses (K, 4, 4); every frame when none are stored.

        The one reading of `key_times` (stored in frames): callers that want 0..1 times divide by the
        last time themselves."""
        keys = self.key_c2w
        if keys is not None and keys.shape[0] >= 1 and len(self.key_times) == keys.shape[0]:
            return [float(t) for t in self.key_times], keys
        return [float(i) for i in range(self.num_frames)], self.c2w

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
