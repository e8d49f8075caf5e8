"""Ground truth for the evaluation: the bundled synthetic room (exact metric depth) and camera paths.

Used by the validation tests and `bench/camera_accuracy.py`: render the room along a path, estimate
the cameras, compare. Perturbations add a known error that grows linearly from 0 at frame 0 to its
full value at the last frame, so its sum over frames is known in closed form.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from ..camera.se3 import from_euler
from ..scene.types import Scene

__all__ = ["ROOM_DIR", "linear_ramp", "load_room", "perturb_rotation", "perturb_translation", "random_smooth_path"]

ROOM_DIR = Path(__file__).resolve().parents[2] / "assets" / "synthetic_room"


def load_room(folder: Path = ROOM_DIR) -> Scene:
    """The synthetic room as a Scene (512x320, fx = fy = 256, depth exact to the millimetre)."""
    from PIL import Image

    meta = json.loads((folder / "room.json").read_text())
    rgb = np.array(Image.open(folder / meta["rgb"]).convert("RGB"))
    depth = torch.from_numpy(np.array(Image.open(folder / meta["depth"])).astype(np.float32)) * float(
        meta["depth_scale_to_metres"])
    K = torch.tensor([[meta["fx"], 0.0, meta["cx"]], [0.0, meta["fy"], meta["cy"]], [0.0, 0.0, 1.0]])
    return Scene(image=torch.from_numpy(rgb).float() / 255.0, depth=depth, K=K, mask=depth > 0,
                 source="synthetic_room").validate()


def linear_ramp(n: int) -> torch.Tensor:
    """(n,) float64 from 0 at frame 0 to 1 at the last frame."""
    return torch.linspace(0.0, 1.0, n, dtype=torch.float64)


def random_smooth_path(n: int, seed: int, max_translation: float = 0.4, max_angle_deg: float = 8.0) -> torch.Tensor:
    """c2w (n, 4, 4) float64, frame 0 = identity: a few low-frequency sines per axis, seeded.

    Bounded so the room stays in view: translations within `max_translation` m, yaw / pitch / roll
    within `max_angle_deg`.
    """
    g = np.random.default_rng(seed)
    u = np.linspace(0.0, 1.0, n)

    def smooth(bound: float) -> np.ndarray:
        out = np.zeros(n)
        for k in (1, 2):
            out += g.uniform(-1, 1) * np.sin(math.pi * k * u + g.uniform(0, math.pi))
        out -= out[0]
        peak = np.abs(out).max()
        return out * (bound * g.uniform(0.6, 1.0) / peak if peak > 0 else 0.0)

    ang = [torch.from_numpy(smooth(max_angle_deg)) for _ in range(3)]
    c2w = from_euler(ang[0], ang[1], ang[2]).to(torch.float64)
    c2w[:, :3, 3] = torch.from_numpy(np.stack([smooth(max_translation) for _ in range(3)], axis=1))
    c2w[0] = torch.eye(4, dtype=torch.float64)
    return c2w


def perturb_rotation(c2w: torch.Tensor, final_deg: float, axis: str = "yaw") -> torch.Tensor:
    """c2w with an extra camera-local rotation growing linearly to `final_deg` at the last frame.

    The geodesic error at frame i is exactly final_deg * i / (n - 1), so RotErr grows by
    radians(final_deg) * n / 2 (the ramp's sum).
    """
    n = c2w.shape[0]
    a = linear_ramp(n) * final_deg
    z = torch.zeros_like(a)
    e = {"yaw": (a, z, z), "pitch": (z, a, z), "roll": (z, z, a)}[axis]
    return c2w.to(torch.float64) @ from_euler(*e).to(torch.float64)


def perturb_translation(c2w: torch.Tensor, final_m: float, direction: tuple[float, float, float] = (1.0, 0.0, 0.0)
                        ) -> torch.Tensor:
    """c2w with every camera centre shifted along the world `direction` by final_m * i / (n - 1) metres."""
    out = c2w.to(torch.float64).clone()
    d = torch.tensor(direction, dtype=torch.float64)
    out[:, :3, 3] += linear_ramp(c2w.shape[0])[:, None] * final_m * d / d.norm()
    return out
