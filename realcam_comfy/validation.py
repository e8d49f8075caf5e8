"""Node-boundary validation for every RealCam node (issue 11).

`install_validation(classes)` gives each V3 node
- a `validate_inputs` over its INT / FLOAT / STRING / fixed-choice COMBO widgets, so POST /prompt refuses a graph with a
  NaN, an infinity, a value out of range or a NUL byte before anything runs (ComfyUI's own min/max
  check lets NaN through);
  ComfyUI 0.3.75 checks no V3 combo value at all, so fixed-choice combos are checked here too;
- an `execute` guard that repeats these checks for values that arrive through links (ComfyUI validates
  none of them), so a bogus sampler name or precision from a
  primitive node fails naming the input instead of as a KeyError deep inside.

File widgets get the path policy at validation time too (PATH_CHECKS below, or a node class's own
`path_checks = {"input": callable(value)}`): a name that leaves the allowed folder, goes through a link
out of it or does not exist is refused before the graph runs.

Messages read `<input>: expected <what>, got <value>`.
"""

from __future__ import annotations

import functools
import inspect
import math
from dataclasses import dataclass

from comfy_api.latest import io

from ..realcam_core.errors import RealCamInputError

# combos whose options are files on disk: their names are checked by the path policy instead
FILE_COMBOS = frozenset({"model", "file", "pose_file", "base_checkpoint", "camera_checkpoint", "image"})
MAX_STRING = 1_000_000


def _input_file(widget: str, suffixes: tuple[str, ...]):
    def check(value: str):
        from .common import input_file

        return input_file(value, widget, suffixes)
    return check


def _model_name(widget: str, where: str):
    def check(value: str):
        from ..realcam_core.paths import check_name

        if value != "none":
            check_name(value, widget, where)
    return check


def _save_prefix(value: str):
    from ..realcam_core.paths import check_name

    return check_name(value + ".txt", "filename_prefix", "ComfyUI's output folder")


# node_id -> {input: check(value) raising RealCamInputError}; new file widgets add a line here or set
# `path_checks` on their class
PATH_CHECKS = {
    "RealCamLoadDepthFile": {"file": _input_file("file", (".png", ".npy", ".tif", ".tiff"))},
    "RealCamLoadPoseFile": {"pose_file": _input_file("pose_file", (".txt",))},
    "RealCamSavePoseFile": {"filename_prefix": _save_prefix},
    "RealCamLoadDepthModel": {"model": _model_name("model", "models/depthanything")},
    "RealCamCheckpointLoader": {
        "base_checkpoint": _model_name("base_checkpoint", "models/realcam or models/checkpoints"),
        "camera_checkpoint": _model_name("camera_checkpoint", "models/realcam or models/checkpoints"),
    },
}


@dataclass(frozen=True)
class _Spec:
    name: str
    kind: str  # "INT" / "FLOAT" / "STRING" / "COMBO"
    lo: float | None = None
    hi: float | None = None
    options: tuple = ()


def _specs(cls) -> list[_Spec]:
    out: list[_Spec] = []
    for inp in cls.define_schema().inputs:
        if isinstance(inp, io.Int.Input):
            out.append(_Spec(inp.id, "INT", inp.min, inp.max))
        elif isinstance(inp, io.Float.Input):
            out.append(_Spec(inp.id, "FLOAT", inp.min, inp.max))
        elif isinstance(inp, io.String.Input):
            out.append(_Spec(inp.id, "STRING"))
        elif isinstance(inp, io.Combo.Input) and inp.id not in FILE_COMBOS and getattr(inp, "upload", None) is None:
            out.append(_Spec(inp.id, "COMBO", options=tuple(inp.options or ())))
    return out


def _range_text(s: _Spec) -> str:
    kind = "a whole number" if s.kind == "INT" else "a finite number"
    if s.lo is not None and s.hi is not None:
        return f"{kind} from {s.lo:g} to {s.hi:g}"
    if s.lo is not None:
        return f"{kind} of at least {s.lo:g}"
    if s.hi is not None:
        return f"{kind} of at most {s.hi:g}"
    return kind


def check_value(s: _Spec, value: object, check_combo: bool) -> str | None:
    """The message for a bad value, or None when it is fine (None values are links: checked later)."""
    if value is None:
        return None
    if s.kind in ("INT", "FLOAT"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{s.name}: expected {_range_text(s)}, got {type(value).__name__} {str(value)[:40]!r}"
        if not math.isfinite(float(value)):
            return f"{s.name}: expected {_range_text(s)}, got {value}"
        if (s.lo is not None and value < s.lo) or (s.hi is not None and value > s.hi):
            return f"{s.name}: expected {_range_text(s)}, got {value:g}"
        return None
    if s.kind == "STRING":
        if not isinstance(value, str):
            return f"{s.name}: expected text, got {type(value).__name__}"
        if "\x00" in value:
            return f"{s.name}: expected text without NUL bytes"
        if len(value) > MAX_STRING:
            return f"{s.name}: expected at most {MAX_STRING} characters, got {len(value)}"
        return None
    if check_combo and s.options and value not in s.options:
        shown = ", ".join(map(str, s.options[:12])) + (" ..." if len(s.options) > 12 else "")
        return f"{s.name}: expected one of {shown}, got {str(value)[:80]!r}"
    return None


def _first_error(specs: list[_Spec], values: dict, check_combo: bool) -> str | None:
    for s in specs:
        if s.name in values:
            msg = check_value(s, values[s.name], check_combo)
            if msg:
                return msg
    return None


def _make_validate(specs: list[_Spec], previous, path_checks: dict):
    """validate_inputs with explicit parameters (ComfyUI passes only the inputs a signature names, and
    keeps its own min/max checks for the others). Options are read fresh from the schema each time."""
    names = [s.name for s in specs] + list(path_checks)
    prev_params = list(inspect.signature(previous).parameters) if previous is not None else []
    params = list(dict.fromkeys(names + prev_params))

    def check(cls, **values):
        msg = _first_error(_specs(cls), values, check_combo=True)  # ComfyUI 0.3.75 checks no V3 combo value
        if msg:
            return msg
        for name, path_check in path_checks.items():
            if isinstance(values.get(name), str):
                try:
                    path_check(values[name])
                except RealCamInputError as e:
                    return str(e)
        if previous is not None:
            return previous(**{k: values.get(k) for k in prev_params})
        return True

    params = [p for p in params if p.isidentifier() and p != "cls"]
    src = (f"def validate_inputs(cls, {', '.join(p + '=None' for p in params)}):\n"
           "    values = dict(locals())\n    values.pop('cls')\n    return _check(cls, **values)\n")
    scope: dict = {"_check": check}
    exec(src, scope)  # noqa: S102 - a signature built from our own schema's input ids
    return classmethod(scope["validate_inputs"])


def _make_execute(original):
    if inspect.iscoroutinefunction(original):
        @functools.wraps(original)
        async def guarded_async(cls, *args, **kwargs):
            msg = _first_error(_specs(cls), kwargs, check_combo=True)
            if msg:
                raise RealCamInputError(msg)
            return await original(cls, *args, **kwargs)
        return classmethod(guarded_async)

    @functools.wraps(original)
    def guarded(cls, *args, **kwargs):
        msg = _first_error(_specs(cls), kwargs, check_combo=True)
        if msg:
            raise RealCamInputError(msg)
        return original(cls, *args, **kwargs)
    return classmethod(guarded)


def install_validation(classes) -> None:
    for cls in classes:
        if getattr(cls, "_realcam_validated", False):
            continue
        specs = _specs(cls)
        if not specs:
            continue
        own = cls.__dict__.get("validate_inputs")
        previous = own.__get__(None, cls) if isinstance(own, classmethod) else None
        node_id = cls.define_schema().node_id
        path_checks = {**PATH_CHECKS.get(node_id, {}), **getattr(cls, "path_checks", {})}
        if specs or previous is not None or path_checks:
            cls.validate_inputs = _make_validate(specs, previous, path_checks)
        cls.execute = _make_execute(cls.execute.__func__)
        cls._realcam_validated = True
