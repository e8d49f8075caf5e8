"""RealEstate10K camera files (`.txt`), as used by CameraCtrl, CamI2V and RealCam-I2V presets.

Layout: line 1 is the source URL; every other line holds 19 numbers
`timestamp fx fy cx cy k1 k2 r00 r01 r02 t0 r10 r11 r12 t1 r20 r21 r22 t2`, with normalised
intrinsics (fx/W, fy/H, cx/W, cy/H), two distortion slots (0) and the **world-to-camera** 3x4
matrix, row-major. OpenCV axes, translations taken as metres (ARCHITECTURE §2).

Reading returns a `Trajectory` of c2w poses, relative to frame 0 by default (as upstream uses
them). Several upstream presets store reflections (det -1) in every frame; they cancel in the
relative poses, so a file is accepted when all its rotations are orthonormal with one common
handedness, and the relative rotations are checked to be proper. With `relative=False` the
absolute poses keep the file's handedness.

Writing is lossless: numbers are printed with `repr` of the float64 value (shortest text that
parses back to the same double), and the w2c written is the float64 inverse of the float32 c2w,
so reading the text back gives the same float32 c2w and K_norm bits (tested).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence

import numpy as np
import torch

from ..errors import RealCamInputError, input_error, require
from ..trajectory.types import Trajectory
from .se3 import DEFAULT_ROTATION_ATOL, check_rotations, relative_to_first, snap_roundoff

__all__ = [
    "NUM_COLUMNS",
    "URL_PLACEHOLDER",
    "format_re10k",
    "parse_re10k",
    "read_re10k",
    "trajectory_from_rows",
    "trajectory_to_rows",
    "write_re10k",
]

NUM_COLUMNS = 19
URL_PLACEHOLDER = "https://github.com/ComfyUI-RealCam/trajectory"
_COLUMNS_HELP = "timestamp fx fy cx cy k1 k2 and the 12 world-to-camera values"


def _is_header(tokens: list[str]) -> bool:
    """A first line is the URL/header when it is not a row of numbers."""
    if not tokens or tokens[0].lower().startswith("http"):
        return True
    for tok in tokens:
        try:
            float(tok)
        except ValueError:
            return True
    return False


def _parse_rows(text: str, source: str) -> tuple[torch.Tensor, list[int]]:
    """Numbers (N, 19) float64 and their 1-based line numbers; skips the header, blank and '#' lines."""
    lines = text.splitlines()
    rows: list[list[float]] = []
    line_numbers: list[int] = []
    first_content = True
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens = line.split()
        if first_content:
            first_content = False
            if _is_header(tokens):
                continue
        values: list[float] = []
        for col, tok in enumerate(tokens, start=1):
            try:
                v = float(tok)
            except ValueError:
                raise RealCamInputError(
                    f"{source}: line {lineno}, column {col}: {tok[:40]!r} is not a number"
                ) from None
            if not math.isfinite(v):
                raise RealCamInputError(f"{source}: line {lineno}, column {col}: non-finite value {tok!r}")
            values.append(v)
        if len(values) != NUM_COLUMNS:
            raise RealCamInputError(
                f"{source}: line {lineno} has {len(values)} numbers, expected {NUM_COLUMNS} ({_COLUMNS_HELP})"
            )
        rows.append(values)
        line_numbers.append(lineno)
    if not rows:
        what = "is empty" if not text.strip() else "has no pose lines (only a header)"
        raise RealCamInputError(f"{source}: the file {what}; expected at least 1 line of {NUM_COLUMNS} numbers")
    return torch.tensor(rows, dtype=torch.float64), line_numbers


def trajectory_from_rows(
    rows: torch.Tensor,
    relative: bool = True,
    source: str = "poses",
    line_numbers: Sequence[int] | None = None,
    atol: float = DEFAULT_ROTATION_ATOL,
) -> Trajectory:
    """Trajectory from RE10K-layout rows (N, 19): normalised fx fy cx cy in columns 1-4, w2c 3x4 in 7-18.

    Columns 0 and 5-6 (timestamp, distortion or CameraCtrl's width/height slots) are ignored.
    Raises RealCamInputError naming `source` and the line (or row) of the first bad pose.
    """
    require(
        isinstance(rows, torch.Tensor) and rows.ndim == 2 and rows.shape[1] == NUM_COLUMNS,
        source,
        f"rows of {NUM_COLUMNS} numbers",
        getattr(rows, "shape", None),
    )
    n = rows.shape[0]
    require(n >= 1, source, "at least 1 pose", 0)
    require(n <= 100_000, source, "at most 100000 poses", n)
    rows = rows.to(torch.float64)
    where = list(line_numbers) if line_numbers is not None else None

    def at(i: int) -> str:
        return f"line {where[i]}" if where is not None else f"pose {i}"

    finite = torch.isfinite(rows).all(dim=1)
    if not bool(finite.all()):
        i = int((~finite).nonzero()[0, 0])
        raise RealCamInputError(f"{source}: {at(i)} has non-finite values (NaN or inf)")
    intr = rows[:, 1:5]
    bad_f = (intr[:, 0] <= 0) | (intr[:, 1] <= 0)
    if bool(bad_f.any()):
        i = int(bad_f.nonzero()[0, 0])
        raise RealCamInputError(
            f"{source}: {at(i)} has focal lengths fx={intr[i, 0].item()!r}, fy={intr[i, 1].item()!r}; "
            "expected positive normalised values"
        )
    w2c = torch.zeros(n, 4, 4, dtype=torch.float64)
    w2c[:, :3, :] = rows[:, 7:].reshape(n, 3, 4)
    w2c[:, 3, 3] = 1.0
    R = w2c[:, :3, :3]
    try:
        check_rotations(R, source, atol=atol, allow_reflection=True)
    except RealCamInputError as exc:
        raise RealCamInputError(_with_line(str(exc), where)) from None
    det = torch.linalg.det(R)
    flipped = (det < 0) != bool(det[0] < 0)
    if bool(flipped.any()):
        i = int(flipped.nonzero()[0, 0])
        raise RealCamInputError(
            f"{source}: {at(i)} changes handedness (rotation det {det[i].item():+.3f} while {at(0)} has "
            f"{det[0].item():+.3f}); relative rotations would be reflections"
        )
    c2w64 = torch.linalg.inv(w2c)
    c2w64[:, 3, :3] = 0.0
    c2w64[:, 3, 3] = 1.0
    c2w = snap_roundoff(c2w64).to(torch.float32)
    rel = relative_to_first(c2w)
    try:
        check_rotations(rel[:, :3, :3], f"{source} (relative to the first pose)", atol=atol)
    except RealCamInputError as exc:
        raise RealCamInputError(_with_line(str(exc), where)) from None
    if relative:
        c2w = rel
    K_norm = torch.zeros(n, 3, 3, dtype=torch.float64)
    K_norm[:, 0, 0] = intr[:, 0]
    K_norm[:, 1, 1] = intr[:, 1]
    K_norm[:, 0, 2] = intr[:, 2]
    K_norm[:, 1, 2] = intr[:, 3]
    K_norm[:, 2, 2] = 1.0
    traj = Trajectory(
        c2w=c2w.contiguous(),
        K_norm=K_norm.to(torch.float32),
        key_times=[float(i) for i in range(n)],
        key_c2w=c2w.clone(),
    )
    return traj.validate()


def _with_line(msg: str, line_numbers: list[int] | None) -> str:
    """Replace 'frame i' in a check_rotations message with the file line number."""
    if line_numbers is None:
        return msg
    m = re.search(r"frame (\d+)", msg)
    if not m:
        return msg
    i = int(m.group(1))
    return msg[: m.start()] + f"line {line_numbers[i]} (pose {i})" + msg[m.end() :]


def parse_re10k(text: str, relative: bool = True, source: str = "re10k text") -> Trajectory:
    """Trajectory from the text of a RealEstate10K file; see the module docstring."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise RealCamInputError(f"{source}: not readable as UTF-8 text") from None
    if not isinstance(text, str):
        raise input_error(source, "text (str)", type(text).__name__)
    text = text.removeprefix("\ufeff")  # a BOM would otherwise hide a first pose line as a "header"
    if "\x00" in text:
        raise RealCamInputError(f"{source}: contains NUL bytes; expected a text file of numbers")
    rows, line_numbers = _parse_rows(text, source)
    return trajectory_from_rows(rows, relative=relative, source=source, line_numbers=line_numbers)


def read_re10k(path: str | os.PathLike, relative: bool = True) -> Trajectory:
    """Trajectory from a RealEstate10K `.txt` file (c2w relative to frame 0 unless `relative=False`)."""
    name = f"re10k file {os.fspath(path)!s}"
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise RealCamInputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    return parse_re10k(data, relative=relative, source=name)


def _w2c_for_file(c2w: torch.Tensor) -> torch.Tensor:
    """Float64 w2c (N, 4, 4) whose float64 inverse rounds back to the float32 `c2w` bits.

    The plain float64 inverse almost always does; where a frame does not, one Newton step
    (X + X (I - A X)) usually fixes it. Frames that still differ are off by at most one float32 ulp.
    """
    a = c2w.to(torch.float64)
    w2c = torch.linalg.inv(a)
    back = snap_roundoff(torch.linalg.inv(w2c)).to(torch.float32)
    bad = (back != c2w).flatten(1).any(dim=1)
    if bool(bad.any()):
        eye = torch.eye(4, dtype=torch.float64)
        refined = w2c + w2c @ (eye - a @ w2c)
        back2 = snap_roundoff(torch.linalg.inv(refined)).to(torch.float32)
        fixed = bad & ~(back2 != c2w).flatten(1).any(dim=1)
        w2c[fixed] = refined[fixed]
    return w2c


def trajectory_to_rows(traj: Trajectory, timestamps: Sequence[float] | None = None, fps: float = 30.0) -> torch.Tensor:
    """RE10K rows (N, 19) float64 for a trajectory: timestamp (µs), normalised fx fy cx cy, 0, 0, w2c 3x4.

    Timestamps default to frame_index * 1e6 / fps microseconds.
    """
    if not isinstance(traj, Trajectory):
        raise input_error("trajectory", "a Trajectory", type(traj).__name__)
    traj.validate()
    n = traj.num_frames
    if timestamps is None:
        require(isinstance(fps, (int, float)) and fps > 0, "fps", "a positive number", fps)
        ts = torch.tensor([round(i * 1e6 / fps) for i in range(n)], dtype=torch.float64)
    else:
        ts = torch.as_tensor(list(timestamps), dtype=torch.float64)
        require(ts.shape == (n,), "timestamps", f"{n} values (one per frame)", tuple(ts.shape))
        require(bool(torch.isfinite(ts).all()), "timestamps", "finite values", "NaN or inf")
    c2w = traj.c2w.detach().to("cpu", torch.float32)
    w2c = _w2c_for_file(c2w)
    K = traj.K_norm.detach().to("cpu", torch.float64)
    rows = torch.zeros(n, NUM_COLUMNS, dtype=torch.float64)
    rows[:, 0] = ts
    rows[:, 1] = K[:, 0, 0]
    rows[:, 2] = K[:, 1, 1]
    rows[:, 3] = K[:, 0, 2]
    rows[:, 4] = K[:, 1, 2]
    rows[:, 7:] = w2c[:, :3, :].reshape(n, 12)
    return rows


def _fmt(v: float) -> str:
    return "0.0" if v == 0.0 else repr(v)  # repr: shortest text that parses back to the same double


def _fmt32(v: float) -> str:
    """Shortest text of a float32 value (0.8, not 0.800000011920929); parses back to the same float32."""
    return _fmt(float(str(np.float32(v))))


def format_re10k(
    traj: Trajectory,
    url: str = URL_PLACEHOLDER,
    timestamps: Sequence[float] | None = None,
    fps: float = 30.0,
) -> str:
    """RealEstate10K text for a trajectory: URL line, then one line of 19 numbers per frame.

    Single spaces and one trailing newline, because AnimateDiff-Evolved's loader splits on ' ' and
    always drops line 1. Timestamps are written as integers (microseconds).
    """
    require(isinstance(url, str) and "\n" not in url and url.strip() != "", "url", "a one-line string", url)
    rows = trajectory_to_rows(traj, timestamps=timestamps, fps=fps)
    out = [url.strip()]
    for r in rows.tolist():
        ts = r[0]
        ts_txt = str(int(ts)) if float(ts).is_integer() else repr(ts)
        # intrinsics are float32 in a Trajectory: written at float32 precision, so equal cameras read equal
        out.append(" ".join([ts_txt] + [_fmt32(v) for v in r[1:5]] + [_fmt(v) for v in r[5:]]))
    return "\n".join(out) + "\n"


def write_re10k(
    traj: Trajectory,
    path: str | os.PathLike,
    url: str = URL_PLACEHOLDER,
    timestamps: Sequence[float] | None = None,
    fps: float = 30.0,
) -> None:
    """Write `format_re10k(traj)` to `path` (UTF-8, '\\n' line ends)."""
    text = format_re10k(traj, url=url, timestamps=timestamps, fps=fps)
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except OSError as exc:
        raise RealCamInputError(f"re10k output {os.fspath(path)!s}: cannot be written ({exc.strerror or exc})") from None
