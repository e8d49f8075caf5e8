"""The Trajectory Editor's saved state: a versioned JSON document, parsed and validated here.

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
      "interpolation": "linear_se3",     # one of INTERPOLATIONS (realcam_core.trajectory.interpolate.METHODS)
      "easing": "linear",                # one of EASINGS (realcam_core.trajectory.interpolate.EASINGS)
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

import json
import math

from ...errors import input_error, require
from .state import (
    EASINGS,
    EDITOR_STATE_VERSION,
    INTERPOLATIONS,
    MAX_ABS_POSITION,
    MAX_FPS,
    MAX_FRAMES,
    EditorState,
    Keyframe,
)

_TOP_KEYS = {"version", "num_frames", "fps", "interpolation", "easing", "ease_per_segment", "closed", "fov_deg",
             "keyframes", "source", "view"}
_KEY_KEYS = {"frame", "position", "rotation"}
_SOURCE_KEYS = {"preset", "seeded_from_input", "edited"}
ROOT = "editor_state"


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

