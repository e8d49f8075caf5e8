"""The Trajectory Editor's saved state: a versioned JSON document, validated here.

The editor widget (`web/js/trajectory_editor.js`) keeps its whole state as JSON text in the node's
`editor_state` widget value, so a workflow saves it, an API prompt carries it, and this module is
the one place that decides whether it is acceptable. `web/js/realcam_math.js` mirrors these checks
with the same field names in its messages (tests/core/test_editor_parity.py runs both).

Conventions (ARCHITECTURE §2): OpenCV camera axes (x right, y down, z forward), camera-to-world poses
acting on column vectors, metres. Keyframe poses are stored in the editor's world frame, which is
the input image's camera (frame 0 of a preset is the identity).

Schema, version 1::

    {
      "version": 1,                      # int; other versions are refused with a clear message
      "num_frames": 16,                  # int, 1..1024: frames of the output path
      "fps": 8,                          # number, 0 < fps <= 240: playback rate of the timeline
      "interpolation": "linear_se3",     # one of INTERPOLATIONS (realcam_core.interpolate.METHODS)
      "easing": "linear",                # one of EASINGS (realcam_core.interpolate.EASINGS)
      "ease_per_segment": false,         # true: ease inside every segment (the camera rests at keyframes);
                                         #   false: one easing curve over the whole keyframed span
      "closed": false,                   # true: the path loops: the last frame returns to the first
                                         #   keyframe (needs the last keyframe before frame num_frames-1)
      "fov_deg": null,                   # optional, 1..179: horizontal field of view (as
                                         #   scene.intrinsics_for); null = the scene's own intrinsics
      "keyframes": [                     # 1..1024 entries, frames strictly ascending (no duplicates)
        {"frame": 0,                     # int, 0..num_frames-1: the frame this pose is reached at
         "position": [0, 0, 0],          # camera centre in metres (world = frame-0 camera)
         "rotation": [0, 0, 0]}          # [yaw, pitch, roll] in degrees, see below
      ],
      "source": {"preset": null,         # preset the path started from (str) or null
                 "seeded_from_input": false,   # true once an incoming trajectory seeded the editor
                 "edited": false},       # true once the user changed the path in the widget
      "view": {...}                      # optional, UI only (orbit camera, etc.); not read here
    }

Rotation convention: the camera-to-world rotation is ``R = Ry(yaw) @ Rx(pitch) @ Rz(roll)`` with
right-handed elementary rotations about the camera's own OpenCV axes, applied yaw first (intrinsic
Y-X-Z). With y pointing down this means: +yaw turns the camera to the right, +pitch tilts it up,
+roll turns it clockwise (its right side goes down) as seen from behind the camera.

Numbers must be finite: JSON has no NaN, and the non-standard `NaN`/`Infinity` tokens that Python's
`json` would accept are refused, as is a JavaScript `null` standing in for a lost NaN.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any

import torch

from .camera.se3 import from_euler
from .errors import RealCamInputError, input_error, require
from .interpolate import EASINGS as _EASINGS
from .interpolate import METHODS, interpolate_c2w, interpolate_trajectory
from .types import Trajectory

EDITOR_STATE_VERSION = 1
MAX_FRAMES = 1024
MAX_FPS = 240.0
MAX_ABS_POSITION = 1.0e4  # metres; anything larger is a typo, not a camera move
INTERPOLATIONS: tuple[str, ...] = tuple(METHODS)
EASINGS: tuple[str, ...] = tuple(_EASINGS)
_TOP_KEYS = {"version", "num_frames", "fps", "interpolation", "easing", "ease_per_segment", "closed", "fov_deg",
             "keyframes", "source", "view"}
_KEY_KEYS = {"frame", "position", "rotation"}
_SOURCE_KEYS = {"preset", "seeded_from_input", "edited"}
ROOT = "editor_state"


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
    """Validated editor state (schema in the module docstring). Build it with `parse_editor_state`."""

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
        from .camera.intrinsics import UPSTREAM_K_NORM, K_from_fov, normalize_K

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
        return _validate(self.to_dict())


# --------------------------------------------------------------------------------------------
# Rotation convention helpers (float64, the convention of realcam_math.js and se3.from_euler)


def euler_to_matrix(yaw: float, pitch: float, roll: float) -> torch.Tensor:
    """(3, 3) float64 rotation R = Ry(yaw) @ Rx(pitch) @ Rz(roll); angles in degrees (see module doc).

    The convention is `se3.from_euler`'s (written once there)."""
    return from_euler(float(yaw), float(pitch), float(roll))[:3, :3]


def matrix_to_euler(R: torch.Tensor) -> tuple[float, float, float]:
    """[yaw, pitch, roll] in degrees of a (3, 3) rotation; at pitch = ±90° roll is set to 0."""
    m = R.detach().to(torch.float64).cpu().tolist()
    # atan2, not asin: at pitch = ±90° a last-ulp error in m[1][2] would move asin by ~1e-6 degrees
    pitch = math.atan2(-m[1][2], math.hypot(m[1][0], m[1][1]))
    if math.hypot(m[1][0], m[1][1]) > 1e-9:
        yaw = math.atan2(m[0][2], m[2][2])
        roll = math.atan2(m[1][0], m[1][1])
    else:  # gimbal lock: yaw and roll turn about the same axis; put it all in yaw
        yaw = math.atan2(-m[2][0], m[0][0])
        roll = 0.0
    return (math.degrees(yaw) + 0.0, math.degrees(pitch) + 0.0, math.degrees(roll) + 0.0)  # no -0.0 in JSON


# --------------------------------------------------------------------------------------------
# Parsing and validation


def _reject_constant(token: str) -> float:
    raise input_error(ROOT, "finite JSON numbers", f"the non-standard token {token}")


def parse_editor_state(text: str | dict) -> EditorState:
    """Parse and validate editor-state JSON text (or an already decoded dict).

    Raises RealCamInputError naming the offending field (e.g. `editor_state.keyframes[2].frame`).
    """
    if isinstance(text, dict):
        data = text
    else:
        require(isinstance(text, str), ROOT, "JSON text", type(text).__name__)
        require(text.strip() != "", ROOT, "JSON text describing the camera path", "an empty string")
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as e:
            raise input_error(ROOT, "valid JSON", f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
        except RecursionError:
            raise input_error(ROOT, "JSON nested a few levels deep (the editor's schema)",
                              "JSON nested too deeply to read") from None
    return _validate(data)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(v: object, name: str, expected: str = "a finite number") -> float:
    require(_is_number(v), name, expected, _show(v))
    require(math.isfinite(float(v)), name, expected, _show(v))
    return float(v)


def _integer(v: object, name: str, lo: int, hi: int) -> int:
    expected = f"an integer from {lo} to {hi}"
    require(_is_number(v) and math.isfinite(float(v)) and float(v) == int(v), name, expected, _show(v))
    iv = int(v)
    require(lo <= iv <= hi, name, expected, _show(v))
    return iv


def _vec3(v: object, name: str, bound: float | None = None) -> tuple[float, float, float]:
    require(isinstance(v, list) and len(v) == 3, name, "a list of 3 numbers", _show(v))
    out = tuple(_number(x, f"{name}[{i}]") for i, x in enumerate(v))
    if bound is not None:
        for i, x in enumerate(out):
            require(abs(x) <= bound, f"{name}[{i}]", f"a value within ±{bound:g}", _show(x))
    return out  # type: ignore[return-value]


def _show(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return repr(v if len(v) <= 40 else v[:37] + "...")
    if isinstance(v, list):
        return f"a list of {len(v)}"
    return type(v).__name__ if not isinstance(v, dict) else "an object"


def _no_unknown(obj: dict, allowed: set[str], name: str) -> None:
    unknown = sorted(set(obj) - allowed)
    require(not unknown, f"{name}.{unknown[0]}" if unknown else name, f"one of the known fields {sorted(allowed)}",
            "an unknown field")


def _validate(data: object) -> EditorState:
    require(isinstance(data, dict), ROOT, "a JSON object", _show(data))
    assert isinstance(data, dict)
    # Version first: a future document may differ in every other field.
    require("version" in data, f"{ROOT}.version", f"{EDITOR_STATE_VERSION}", "nothing")
    version = data["version"]
    require(_is_number(version) and math.isfinite(float(version)) and float(version) == int(version),
            f"{ROOT}.version", "an integer", _show(version))
    if int(version) > EDITOR_STATE_VERSION:
        raise input_error(
            f"{ROOT}.version",
            f"{EDITOR_STATE_VERSION} (this ComfyUI-RealCam reads editor state up to version "
            f"{EDITOR_STATE_VERSION}; update the pack to open this workflow)",
            _show(version),
        )
    require(int(version) == EDITOR_STATE_VERSION, f"{ROOT}.version", f"{EDITOR_STATE_VERSION}", _show(version))
    _no_unknown(data, _TOP_KEYS, ROOT)

    for key in ("num_frames", "keyframes"):
        require(key in data, f"{ROOT}.{key}", "a value (required field)", "nothing")
    num_frames = _integer(data["num_frames"], f"{ROOT}.num_frames", 1, MAX_FRAMES)
    fps = _number(data.get("fps", 8), f"{ROOT}.fps", f"a number above 0 and at most {MAX_FPS:g}")
    require(0 < fps <= MAX_FPS, f"{ROOT}.fps", f"a number above 0 and at most {MAX_FPS:g}", _show(fps))
    interp = data.get("interpolation", "linear_se3")
    require(interp in INTERPOLATIONS, f"{ROOT}.interpolation", f"one of {list(INTERPOLATIONS)}", _show(interp))
    easing = data.get("easing", "linear")
    require(easing in EASINGS, f"{ROOT}.easing", f"one of {list(EASINGS)}", _show(easing))
    per_segment = data.get("ease_per_segment", False)
    require(isinstance(per_segment, bool), f"{ROOT}.ease_per_segment", "true or false", _show(per_segment))
    closed = data.get("closed", False)
    require(isinstance(closed, bool), f"{ROOT}.closed", "true or false", _show(closed))
    fov = data.get("fov_deg")
    if fov is not None:
        fov = _number(fov, f"{ROOT}.fov_deg", "null or a number of degrees from 1 to 179")
        require(1.0 <= fov <= 179.0, f"{ROOT}.fov_deg", "null or a number of degrees from 1 to 179", _show(fov))

    source = data.get("source", {})
    require(isinstance(source, dict), f"{ROOT}.source", "an object", _show(source))
    _no_unknown(source, _SOURCE_KEYS, f"{ROOT}.source")
    preset = source.get("preset")
    require(preset is None or isinstance(preset, str), f"{ROOT}.source.preset", "null or a preset name", _show(preset))
    seeded = source.get("seeded_from_input", False)
    require(isinstance(seeded, bool), f"{ROOT}.source.seeded_from_input", "true or false", _show(seeded))
    edited = source.get("edited", False)
    require(isinstance(edited, bool), f"{ROOT}.source.edited", "true or false", _show(edited))
    view = data.get("view")
    require(view is None or isinstance(view, dict), f"{ROOT}.view", "null or an object", _show(view))

    keys = data["keyframes"]
    require(isinstance(keys, list), f"{ROOT}.keyframes", "a list of keyframes", _show(keys))
    require(len(keys) >= 1, f"{ROOT}.keyframes", "at least one keyframe", "an empty list")
    require(len(keys) <= num_frames, f"{ROOT}.keyframes", f"at most num_frames ({num_frames}) keyframes", len(keys))
    out: list[Keyframe] = []
    for i, k in enumerate(keys):
        name = f"{ROOT}.keyframes[{i}]"
        require(isinstance(k, dict), name, "an object with frame, position, rotation", _show(k))
        _no_unknown(k, _KEY_KEYS, name)
        for key in ("frame", "position", "rotation"):
            require(key in k, f"{name}.{key}", "a value (required field)", "nothing")
        frame = _integer(k["frame"], f"{name}.frame", 0, num_frames - 1)
        if out:
            prev = out[-1].frame
            require(frame != prev, f"{name}.frame", f"a frame different from keyframes[{i - 1}].frame "
                    "(keyframe frames must be unique)", f"{frame}, a duplicate")
            require(frame > prev, f"{name}.frame", f"a frame after keyframes[{i - 1}].frame = {prev} "
                    "(keyframes must be sorted by frame)", frame)
        position = _vec3(k["position"], f"{name}.position", MAX_ABS_POSITION)
        rotation = _vec3(k["rotation"], f"{name}.rotation", 1.0e5)
        out.append(Keyframe(frame, position, rotation))
    if closed and len(out) >= 2:
        last = len(out) - 1
        require(out[-1].frame < num_frames - 1, f"{ROOT}.keyframes[{last}].frame",
                f"a frame before the last frame ({num_frames - 1}) when closed is true, where the loop returns "
                "to the first keyframe", out[-1].frame)

    return EditorState(
        num_frames=num_frames,
        keyframes=out,
        fps=fps,
        interpolation=str(interp),
        easing=str(easing),
        ease_per_segment=per_segment,
        closed=closed,
        fov_deg=fov,
        preset=preset,
        seeded_from_input=seeded,
        edited=edited,
        view=view,
    )


# --------------------------------------------------------------------------------------------
# Building states from code


def default_state(num_frames: int = 16, fps: float = 8.0) -> EditorState:
    """A still camera at the origin: what a fresh editor node starts with."""
    return state_from_keyframes([0], torch.eye(4).unsqueeze(0), num_frames=num_frames, fps=fps)


def state_from_keyframes(
    times: list[float] | torch.Tensor,
    c2w: torch.Tensor,
    num_frames: int,
    fps: float = 8.0,
    interpolation: str = "linear_se3",
    closed: bool = False,
    preset: str | None = None,
    seeded_from_input: bool = False,
    fov_deg: float | None = None,
) -> EditorState:
    """An EditorState from keyframe times (frames) and (K, 4, 4) camera-to-world poses.

    Times are rounded to whole frames (the editor's timeline is frame-based); two keyframes landing
    on the same frame, or rotations that are not proper, raise RealCamInputError.
    """
    t = [float(x) for x in (times.tolist() if isinstance(times, torch.Tensor) else times)]
    require(isinstance(c2w, torch.Tensor) and c2w.ndim == 3 and tuple(c2w.shape[-2:]) == (4, 4),
            "keyframes c2w", "a (K, 4, 4) tensor", tuple(c2w.shape) if isinstance(c2w, torch.Tensor) else c2w)
    require(len(t) == c2w.shape[0], "keyframe times", f"{c2w.shape[0]} times (one per pose)", len(t))
    require(bool(torch.isfinite(c2w).all()), "keyframes c2w", "finite values", "NaN or inf")
    m = c2w.detach().to(torch.float64).cpu()
    R = m[:, :3, :3]
    eye = torch.eye(3, dtype=torch.float64).expand_as(R)
    require(bool(torch.allclose(R @ R.transpose(1, 2), eye, atol=1e-3)), "keyframes c2w", "orthonormal rotations",
            "a rotation block that is not orthonormal")
    require(bool((torch.linalg.det(R) > 0).all()), "keyframes c2w", "proper rotations (det +1)", "a reflection")
    keys = []
    for ti, mi in zip(t, m, strict=True):
        yaw, pitch, roll = matrix_to_euler(mi[:3, :3])
        keys.append(Keyframe(int(round(ti)), tuple(mi[:3, 3].tolist()), (yaw, pitch, roll)))  # type: ignore[arg-type]
    state = EditorState(
        num_frames=int(num_frames),
        keyframes=keys,
        fps=float(fps),
        interpolation=interpolation,
        closed=closed,
        fov_deg=fov_deg,
        preset=preset,
        seeded_from_input=seeded_from_input,
    )
    return state.validate()


def _pose_errors(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre distance (m) and rotation angle (deg) between poses a, b (N, 4, 4) float64: (N,), (N,)."""
    pos = (a[:, :3, 3] - b[:, :3, 3]).norm(dim=-1)
    rel = a[:, :3, :3].transpose(-1, -2) @ b[:, :3, :3]
    cos = (rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    skew = torch.stack([rel[:, 2, 1] - rel[:, 1, 2], rel[:, 0, 2] - rel[:, 2, 0], rel[:, 1, 0] - rel[:, 0, 1]], -1)
    # atan2(sin, cos) stays accurate for tiny angles, where arccos(cos) would amplify float32 noise
    return pos, torch.rad2deg(torch.atan2(skew.norm(dim=-1) / 2, cos))


def simplify_keyframes(
    c2w: torch.Tensor, method: str = "linear_se3", tol_m: float = 1e-4, tol_deg: float = 0.01, max_keys: int = 64
) -> list[int]:
    """Few frame indices whose interpolation (`method`) reproduces the dense path c2w (N, 4, 4).

    Greedy: start from the first and last frame, add the worst-fitting frame until every frame is
    within `tol_m` metres and `tol_deg` degrees; past `max_keys` keyframes every frame is kept.
    Why: a preset or pose file arrives with one pose per frame, which would bury the editor's
    timeline in keyframes although two of them describe a zoom or an orbit exactly.
    """
    n = int(c2w.shape[0])
    dense = c2w.detach().to(torch.float64).cpu()
    pos_err, ang_err = _pose_errors(dense[:1].expand_as(dense), dense)
    if bool((pos_err <= tol_m).all() and (ang_err <= tol_deg).all()):
        return [0]  # a still camera
    if n <= 2:
        return list(range(n))
    keys = [0, n - 1]
    while len(keys) <= max_keys:
        approx = interpolate_c2w(keys, dense[keys], n, method=method).to(torch.float64)
        pos_err, ang_err = _pose_errors(approx, dense)
        score = torch.maximum(pos_err / tol_m, ang_err / tol_deg)
        worst = int(score.argmax())
        if float(score[worst]) <= 1.0:
            return keys
        if worst in keys:  # cannot improve (numerical floor): keep every frame
            break
        keys = sorted({*keys, worst})
    return list(range(n))


def state_from_trajectory(
    traj: Trajectory, fps: float = 8.0, interpolation: str = "linear_se3", simplify: bool = True
) -> EditorState:
    """Seed the editor from a REALCAM_TRAJECTORY (`realcam_core.types.Trajectory`).

    Sparse keyframes of the trajectory are kept when they sit on distinct whole frames; a dense path
    (one pose per frame, as presets and pose files give) is reduced with `simplify_keyframes` so the
    editor's path matches it to 0.1 mm / 0.01 degrees with `linear_se3` or `geodesic`, whichever
    needs fewer keyframes (`simplify=False` keeps every frame and `interpolation`).
    """
    n = int(traj.num_frames)
    require(1 <= n <= MAX_FRAMES, "trajectory frames", f"1 to {MAX_FRAMES} frames for the editor", n)
    times: list[float] | None = None
    keys = traj.key_c2w
    if keys is not None and 0 < len(traj.key_times) == int(keys.shape[0]) < n:
        rounded = [int(round(float(t))) for t in traj.key_times]
        distinct = all(b > a for a, b in zip(rounded, rounded[1:], strict=False))
        in_range = all(0 <= t < n for t in rounded)
        if distinct and in_range:
            times = [float(t) for t in rounded]
            c2w = keys
    if times is None:
        dense = traj.c2w
        idx = list(range(n))
        if simplify:  # the fewer keyframes of the screw (linear_se3) and the chord (geodesic) fits
            for method in ("linear_se3", "geodesic"):
                cand = simplify_keyframes(dense, method)
                if len(cand) < len(idx):
                    idx, interpolation = cand, method
        times, c2w = [float(i) for i in idx], dense[idx]
    return state_from_keyframes(times, c2w, num_frames=n, fps=fps, interpolation=interpolation,
                                seeded_from_input=True)


# --------------------------------------------------------------------------------------------
# The point cloud the widget shows (sent once through the node's `ui` payload)


def scene_payload(
    depth: torch.Tensor, image: torch.Tensor, K: torch.Tensor, max_points: int = 200_000
) -> dict:
    """A compact, JSON-safe description of the scene for the editor's viewports.

    depth: (H, W) metres, 0 = invalid.  image: (H, W, 3) 0..1.  K: (3, 3) pixels at (H, W).
    Pixels are subsampled with an integer `stride` so at most `max_points` remain; the widget
    unprojects pixel (row * stride, col * stride) with the full-resolution K (pixel centres at
    +0.5), so every point it shows is exactly a point of the renderer's cloud.
    Returns {"version", "width", "height", "K", "stride", "grid_w", "grid_h", "depth_f32_b64", "rgb_u8_b64"}.
    """
    require(depth.ndim == 2, "scene depth", "(H, W)", tuple(depth.shape))
    H, W = int(depth.shape[0]), int(depth.shape[1])
    require(tuple(image.shape) == (H, W, 3), "scene image", f"({H}, {W}, 3)", tuple(image.shape))
    require(tuple(K.shape) == (3, 3), "scene K", "(3, 3)", tuple(K.shape))
    require(max_points >= 1, "max_points", "at least 1", max_points)
    stride = 1
    while ((H + stride - 1) // stride) * ((W + stride - 1) // stride) > max_points:
        stride += 1
    d = depth.detach().float().cpu()[::stride, ::stride].contiguous()
    d = torch.where(torch.isfinite(d) & (d > 0), d, torch.zeros_like(d))
    rgb = (image.detach().float().cpu()[::stride, ::stride].clamp(0, 1) * 255).round().to(torch.uint8).contiguous()
    return {
        "version": 1,
        "width": W,
        "height": H,
        "K": [[float(x) for x in row] for row in K.detach().double().cpu().tolist()],
        "stride": stride,
        "grid_w": int(d.shape[1]),
        "grid_h": int(d.shape[0]),
        "depth_f32_b64": base64.b64encode(d.numpy().astype("<f4").tobytes()).decode("ascii"),
        "rgb_u8_b64": base64.b64encode(rgb.numpy().tobytes()).decode("ascii"),
    }


__all__ = [
    "EASINGS",
    "EDITOR_STATE_VERSION",
    "INTERPOLATIONS",
    "MAX_FRAMES",
    "EditorState",
    "Keyframe",
    "RealCamInputError",
    "default_state",
    "euler_to_matrix",
    "matrix_to_euler",
    "parse_editor_state",
    "scene_payload",
    "simplify_keyframes",
    "state_from_keyframes",
    "state_from_trajectory",
]
