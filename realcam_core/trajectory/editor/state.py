"""The editor state's value types: `EditorState` and its `Keyframe`s (schema: `editor.schema`).

Poses are in the editor's world frame (the input image's camera), metres; rotations are the editor's
yaw/pitch/roll in degrees (`editor.euler`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import torch

from ...errors import require
from ..interpolate import EASINGS as _EASINGS
from ..interpolate import METHODS, interpolate_c2w, interpolate_trajectory
from ..types import Trajectory
from .euler import euler_to_matrix

EDITOR_STATE_VERSION = 1
MAX_FRAMES = 1024
MAX_FPS = 240.0
MAX_ABS_POSITION = 1.0e4  # metres; anything larger is a typo, not a camera move
INTERPOLATIONS: tuple[str, ...] = tuple(METHODS)
EASINGS: tuple[str, ...] = tuple(_EASINGS)


@dataclass(frozen=True)
class Keyframe:
    """One keyframe: reached at `frame`, camera centre `position` (m), `rotation` [yaw, pitch, roll] (deg)."""

    frame: int
    position: tuple[float, float, float]
    rotation: tuple[float, float, float]

    def c2w(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """(4, 4) camera-to-world matrix of this keyframe."""
        m = torch.eye(4, dtype=torch.float64)
        m[:3, :3] = euler_to_matrix(*self.rotation)
        m[:3, 3] = torch.tensor(self.position, dtype=torch.float64)
        return m.to(dtype)

    def to_dict(self) -> dict:
        return {"frame": self.frame, "position": list(self.position), "rotation": list(self.rotation)}


@dataclass
class EditorState:
    """Validated editor state (schema: `editor.schema`). Build it with `parse_editor_state`."""

    num_frames: int
    keyframes: list[Keyframe]
    fps: float = 8.0
    interpolation: str = "linear_se3"
    easing: str = "linear"
    ease_per_segment: bool = False
    closed: bool = False
    fov_deg: float | None = None
    preset: str | None = None
    seeded_from_input: bool = False
    edited: bool = False
    view: dict | None = None
    version: int = EDITOR_STATE_VERSION

    def keyframes_c2w(self, dtype: torch.dtype = torch.float32) -> tuple[list[float], torch.Tensor]:
        """Keyframe times (frames, ascending) and their poses as a (K, 4, 4) camera-to-world tensor."""
        times = [float(k.frame) for k in self.keyframes]
        c2w = torch.stack([k.c2w(torch.float64) for k in self.keyframes]).to(dtype)
        return times, c2w

    def path_c2w(self) -> torch.Tensor:
        """The interpolated path, one camera-to-world pose per frame: (num_frames, 4, 4) float32."""
        times, c2w = self.keyframes_c2w(torch.float64)
        return interpolate_c2w(times, c2w, self.num_frames, method=self.interpolation, easing=self.easing,
                               closed=self.closed, ease_per_segment=self.ease_per_segment)

    def trajectory(self, K_norm: torch.Tensor | None = None) -> Trajectory:
        """A REALCAM_TRAJECTORY of the path; K_norm (3, 3) normalised intrinsics for every frame."""
        times, c2w = self.keyframes_c2w(torch.float64)
        return interpolate_trajectory(times, c2w, self.num_frames, K_norm=K_norm, method=self.interpolation,
                                      easing=self.easing, closed=self.closed, ease_per_segment=self.ease_per_segment)

    def intrinsics_norm(self, height: int | None = None, width: int | None = None,
                        K: torch.Tensor | None = None, incoming: torch.Tensor | None = None) -> torch.Tensor:
        """(3, 3) normalised intrinsics of the path's camera.

        `fov_deg` wins (a horizontal FOV at (height, width); square pixels, and a square image when
        no size is given), else the first frame's K_norm of the connected trajectory (`incoming`, so an
        edited preset saves the same intrinsics as the preset itself), else the scene's pixel K at
        (height, width), else upstream's 0.5 placeholders.
        """
        from ...camera.intrinsics import UPSTREAM_K_NORM, K_from_fov, normalize_K

        if self.fov_deg is not None:
            h, w = (height, width) if height and width else (1, 1)
            return normalize_K(K_from_fov(h, w, self.fov_deg), h, w)
        if incoming is not None:
            require(tuple(incoming.shape[-2:]) == (3, 3), "trajectory.K_norm", "(N, 3, 3)", tuple(incoming.shape))
            return incoming.reshape(-1, 3, 3)[0].detach().float().cpu().clone()
        if K is not None and height and width:
            return normalize_K(K.detach().float().cpu(), height, width)
        return torch.tensor(UPSTREAM_K_NORM, dtype=torch.float32)

    def to_dict(self) -> dict:
        d: dict[str, Any] = {
            "version": self.version,
            "num_frames": self.num_frames,
            "fps": self.fps,
            "interpolation": self.interpolation,
            "easing": self.easing,
            "ease_per_segment": self.ease_per_segment,
            "closed": self.closed,
            "fov_deg": self.fov_deg,
            "keyframes": [k.to_dict() for k in self.keyframes],
            "source": {"preset": self.preset, "seeded_from_input": self.seeded_from_input, "edited": self.edited},
        }
        if self.view is not None:
            d["view"] = self.view
        return d

    def to_json(self) -> str:
        """Compact JSON text that `parse_editor_state` accepts back unchanged."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    def validate(self) -> EditorState:
        """Re-check a state built in code (same rules as parsing)."""
        from .schema import parse_editor_state  # local: the schema builds EditorStates

        return parse_editor_state(self.to_dict())


