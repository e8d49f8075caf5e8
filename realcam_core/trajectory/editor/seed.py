"""Seeding the editor: a still camera, keyframe lists, or a dense trajectory reduced to few keyframes."""

from __future__ import annotations

import torch

from ...errors import require
from ..interpolate import interpolate_c2w
from ..types import Trajectory
from .euler import matrix_to_euler
from .state import MAX_FRAMES, EditorState, Keyframe


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
    """Seed the editor from a REALCAM_TRAJECTORY (`realcam_core.trajectory.types.Trajectory`).

    Sparse keyframes of the trajectory are kept when they sit on distinct whole frames; a dense path
    (one pose per frame, as presets and pose files give) is reduced with `simplify_keyframes` so the
    editor's path matches it to 0.1 mm / 0.01 degrees with `linear_se3` or `geodesic`, whichever
    needs fewer keyframes (`simplify=False` keeps every frame and `interpolation`).
    """
    n = int(traj.num_frames)
    require(1 <= n <= MAX_FRAMES, "trajectory frames", f"1 to {MAX_FRAMES} frames for the editor", n)
    times: list[float] | None = None
    stored, keys = traj.keyframes()
    if len(stored) < n:  # sparse keyframes were stored (none stored gives every frame)
        rounded = [int(round(t)) for t in stored]
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

