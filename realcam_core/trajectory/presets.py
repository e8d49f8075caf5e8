"""The 16 upstream RealCam-I2V camera presets, generated from parameters instead of files.

Measured from the official files (`demo/camera_pose_files/*.txt`, relative poses, OpenCV axes;
copies in tests/fixtures/pose_files_upstream), every preset moves at a constant rate per frame:

| preset                      | upstream motion at the last frame                     | frames |
|-----------------------------|-------------------------------------------------------|--------|
| zoom_in / zoom_out          | translate z +1 m / -1 m                               | 8      |
| pan_left / pan_right        | translate x -2 m / +1 m                               | 150    |
| pan_up / pan_down           | translate y -1 m / +1 m, looking at a point 10 m ahead | 50     |
| look_left / look_right      | yaw -90 / +90 degrees                                 | 50     |
| look_up / look_down         | pitch +90 / -90 degrees (the files' last frame is a   | 50     |
|                             | 180 degree glitch; generated here without it)         |        |
| orbit_left / orbit_right    | 90 degrees around a point 3 m ahead (yaw + / -)       | 150    |
| orbit_up                    | 45 degrees around a point 2 m ahead (pitch -)         | 16     |
| rotate_clockwise / anti-    | roll -90 / +90 degrees                                | 50     |
| stationary                  | identity                                              | 2      |

Signs follow `se3.from_euler`: +yaw looks right, +pitch looks up, +roll is upstream's
'anti-clockwise'. Amplitudes are metres for zoom/pan and degrees for look/orbit/rotate. Frame i
of N sits at progress i / (N - 1) of the full motion, so `make_preset(name, N)` with the upstream
frame count reproduces the file (tested), and any other N samples the same motion.
"""

from __future__ import annotations

import math

import torch

from ..camera.intrinsics import UPSTREAM_K_NORM, per_frame_K_norm
from ..camera.se3 import from_euler, look_at, snap_roundoff
from ..errors import RealCamInputError, require
from .types import Trajectory

__all__ = [
    "MAX_PRESET_FRAMES",
    "PAN_VERTICAL_TARGET_DISTANCE",
    "PRESETS",
    "PRESET_NAMES",
    "UPSTREAM_K_NORM",
    "make_preset",
    "normalize_preset_name",
    "preset_c2w",
]

MAX_PRESET_FRAMES = 1024
PAN_VERTICAL_TARGET_DISTANCE = 10.0  # metres: upstream pan up/down keep looking at (0, 0, 10)

# name -> (kind, sign / axis, default amplitude, unit, default orbit radius, upstream frame count)
PRESETS: dict[str, dict] = {
    "zoom_in": {"kind": "translate", "axis": (0.0, 0.0, 1.0), "amplitude": 1.0, "unit": "m", "frames": 8},
    "zoom_out": {"kind": "translate", "axis": (0.0, 0.0, -1.0), "amplitude": 1.0, "unit": "m", "frames": 8},
    "pan_left": {"kind": "translate", "axis": (-1.0, 0.0, 0.0), "amplitude": 2.0, "unit": "m", "frames": 150},
    "pan_right": {"kind": "translate", "axis": (1.0, 0.0, 0.0), "amplitude": 1.0, "unit": "m", "frames": 150},
    "pan_up": {"kind": "pan_vertical", "axis": (0.0, -1.0, 0.0), "amplitude": 1.0, "unit": "m", "frames": 50},
    "pan_down": {"kind": "pan_vertical", "axis": (0.0, 1.0, 0.0), "amplitude": 1.0, "unit": "m", "frames": 50},
    "look_left": {"kind": "rotate", "euler": (-1.0, 0.0, 0.0), "amplitude": 90.0, "unit": "deg", "frames": 50},
    "look_right": {"kind": "rotate", "euler": (1.0, 0.0, 0.0), "amplitude": 90.0, "unit": "deg", "frames": 50},
    "look_up": {"kind": "rotate", "euler": (0.0, 1.0, 0.0), "amplitude": 90.0, "unit": "deg", "frames": 50},
    "look_down": {"kind": "rotate", "euler": (0.0, -1.0, 0.0), "amplitude": 90.0, "unit": "deg", "frames": 50},
    "orbit_left": {
        "kind": "orbit", "euler": (1.0, 0.0, 0.0), "amplitude": 90.0, "unit": "deg", "radius": 3.0, "frames": 150,
    },
    "orbit_right": {
        "kind": "orbit", "euler": (-1.0, 0.0, 0.0), "amplitude": 90.0, "unit": "deg", "radius": 3.0, "frames": 150,
    },
    "orbit_up": {
        "kind": "orbit", "euler": (0.0, -1.0, 0.0), "amplitude": 45.0, "unit": "deg", "radius": 2.0, "frames": 16,
    },
    "rotate_clockwise": {"kind": "rotate", "euler": (0.0, 0.0, -1.0), "amplitude": 90.0, "unit": "deg", "frames": 50},
    "rotate_anti-clockwise": {
        "kind": "rotate", "euler": (0.0, 0.0, 1.0), "amplitude": 90.0, "unit": "deg", "frames": 50,
    },
    "stationary": {"kind": "stationary", "amplitude": 0.0, "unit": "", "frames": 2},
}
PRESET_NAMES: list[str] = list(PRESETS)

_ALIASES = {
    "rotate_anticlockwise": "rotate_anti-clockwise",
    "rotate_anti_clockwise": "rotate_anti-clockwise",
    "rotate_counterclockwise": "rotate_anti-clockwise",
    "rotate_counter-clockwise": "rotate_anti-clockwise",
    "static": "stationary",
}


def normalize_preset_name(name: str) -> str:
    """Canonical preset name: case-insensitive, spaces as '_' (upstream's 'rotate anti-clockwise' works)."""
    if not isinstance(name, str):
        raise RealCamInputError(f"preset: expected a name (str), got {type(name).__name__}")
    key = "_".join(name.strip().lower().split())
    key = _ALIASES.get(key, key)
    if key not in PRESETS:
        raise RealCamInputError(f"preset: unknown name {name!r}; expected one of {', '.join(PRESET_NAMES)}")
    return key


def _finite_number(v: object, name: str) -> float:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
    require(ok, name, "a finite number", v)
    return float(v)


def preset_c2w(
    name: str,
    num_frames: int = 16,
    amplitude: float | None = None,
    orbit_radius: float | None = None,
    pan_target_distance: float | None = None,
) -> torch.Tensor:
    """c2w (N, 4, 4) float64 of a preset, frame 0 = identity; see `make_preset` for the arguments."""
    key = normalize_preset_name(name)
    spec = PRESETS[key]
    ok_n = isinstance(num_frames, int) and not isinstance(num_frames, bool) and 1 <= num_frames <= MAX_PRESET_FRAMES
    require(ok_n, "num_frames", f"an int from 1 to {MAX_PRESET_FRAMES}", num_frames)
    amp = spec["amplitude"] if amplitude is None else _finite_number(amplitude, "amplitude")
    n = num_frames
    u = torch.linspace(0.0, 1.0, n, dtype=torch.float64) if n > 1 else torch.zeros(1, dtype=torch.float64)
    kind = spec["kind"]
    eye = torch.eye(4, dtype=torch.float64)

    if kind == "stationary":
        c2w = eye.expand(n, 4, 4).clone()
    elif kind == "translate":
        c2w = eye.expand(n, 4, 4).clone()
        c2w[:, :3, 3] = (amp * u)[:, None] * torch.tensor(spec["axis"], dtype=torch.float64)
    elif kind == "pan_vertical":
        dist = PAN_VERTICAL_TARGET_DISTANCE if pan_target_distance is None else _finite_number(
            pan_target_distance, "pan_target_distance"
        )
        eye_pos = (amp * u)[:, None] * torch.tensor(spec["axis"], dtype=torch.float64)
        if dist == 0.0:
            c2w = eye.expand(n, 4, 4).clone()
            c2w[:, :3, 3] = eye_pos
        else:
            require(dist > 0.0, "pan_target_distance", "a positive distance in metres (0 = no tilt)", dist)
            target = torch.tensor([0.0, 0.0, dist], dtype=torch.float64).expand(n, 3)
            c2w = look_at(eye_pos, target)
    elif kind in ("rotate", "orbit"):
        ang = amp * u
        s = spec["euler"]
        c2w = from_euler(s[0] * ang, s[1] * ang, s[2] * ang)
        if kind == "orbit":
            r = spec["radius"] if orbit_radius is None else _finite_number(orbit_radius, "orbit_radius")
            require(r >= 0.0, "orbit_radius", "a distance >= 0 in metres", r)
            # rotate about the pivot p = (0, 0, r): centre = p - R p
            pivot = torch.tensor([0.0, 0.0, r], dtype=torch.float64)
            c2w[:, :3, 3] = pivot - c2w[:, :3, :3] @ pivot
    else:  # pragma: no cover - PRESETS is closed
        raise AssertionError(kind)
    c2w = snap_roundoff(c2w)
    c2w[0] = eye
    return c2w


def make_preset(
    name: str,
    num_frames: int = 16,
    amplitude: float | None = None,
    orbit_radius: float | None = None,
    pan_target_distance: float | None = None,
    K_norm: torch.Tensor | None = None,
) -> Trajectory:
    """Trajectory of an upstream preset motion sampled at `num_frames` frames (1..1024).

    amplitude: metres (zoom/pan) or degrees (look/orbit/rotate); None = the upstream total motion;
    negative values reverse the motion. orbit_radius: metres to the pivot ahead of the camera
    (None = upstream: 3, or 2 for orbit_up). pan_target_distance: pan_up/pan_down keep looking at a
    point this far ahead (None = upstream 10 m, 0 = pure translation). K_norm: (3, 3) or (N, 3, 3) normalised
    intrinsics for every frame, default upstream's 0.5 placeholders. Every frame is a keyframe.
    """
    c2w = preset_c2w(name, num_frames, amplitude, orbit_radius, pan_target_distance).to(torch.float32)
    n = c2w.shape[0]
    return Trajectory(
        c2w=c2w,
        K_norm=per_frame_K_norm(K_norm, n),
        key_times=[float(i) for i in range(n)],
        key_c2w=c2w.clone(),
    ).validate()
