"""Did the camera do what was asked? Estimate a video's cameras, align them to the requested path, score.

`evaluate_camera_accuracy` runs `trials` SfM reconstructions (features once, matching + mapping per
trial with its own seed, as the paper averages 5 GLOMAP trials), scores each complete one with
`camera_metrics` and averages. A trial that does not register every frame is reported with its count
and cause, never scored as zero. The absolute (metric) variant needs the scene whose image is frame 0:
its metric depth at the pixels of frame 0's triangulated points fixes metres per SfM unit (the median
ratio, as the paper does with Depth Anything on the generated frame 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..camera.intrinsics import default_K, denormalize_K, fit_intrinsics, normalize_K
from ..errors import input_error, require
from ..scene.types import Scene
from ..trajectory.types import Trajectory
from .metrics import CameraMetrics, camera_metrics
from .sfm import PoseEstimate, Tracker, check_video

__all__ = ["INTRINSICS", "AccuracyReport", "TrialResult", "evaluate_camera_accuracy", "metric_scale",
           "track_camera", "track_camera_report", "video_intrinsics"]

INTRINSICS = ("auto", "scene", "trajectory", "realcam_default", "estimate")
MIN_SCALE_POINTS = 5
ASPECT_TOL = 0.01


@dataclass
class TrialResult:
    seed: int
    estimate: PoseEstimate
    metrics: CameraMetrics | None = None
    scale: float | None = None  # metres per SfM unit


@dataclass
class AccuracyReport:
    """Averaged metrics over the complete trials (None when none is complete) and every trial's outcome."""

    num_frames: int
    size: tuple[int, int]  # (H, W)
    intrinsics: str
    requested_c2w: torch.Tensor
    trials: list[TrialResult] = field(default_factory=list)
    metrics: dict[str, float | None] | None = None
    notes: list[str] = field(default_factory=list)
    extract_seconds: float = 0.0

    @property
    def complete_trials(self) -> list[TrialResult]:
        return [t for t in self.trials if t.metrics is not None]

    @property
    def registered(self) -> list[int]:
        return [t.estimate.num_registered for t in self.trials]

    @property
    def ok(self) -> bool:
        return self.metrics is not None

    @property
    def estimated_c2w(self) -> torch.Tensor | None:
        """The first complete trial's path relative to frame 0, in metres when the scale is known."""
        for t in self.complete_trials:
            c2w = t.estimate.c2w.clone()
            if t.scale is not None:
                c2w[:, :3, 3] *= t.scale
            return c2w
        return None

    def _metric(self, name: str) -> float:
        """The absolute value of a metric when known, else the relative one; NaN when not scored."""
        m = self.metrics or {}
        for key in (f"{name}_abs", f"{name}_rel", name):
            if m.get(key) is not None:
                return float(m[key])
        return float("nan")

    @property
    def rot_err(self) -> float:
        return self._metric("RotErr")

    @property
    def trans_err(self) -> float:
        return self._metric("TransErr")

    @property
    def cammc(self) -> float:
        return self._metric("CamMC")

    def estimated_trajectory(self, requested: Trajectory) -> Trajectory:
        """The estimated path with the requested intrinsics; the requested first pose when none registered."""
        est = self.estimated_c2w
        if est is None:
            return Trajectory(c2w=requested.c2w[:1].clone(), K_norm=requested.K_norm[:1].clone(), key_times=[0.0],
                              key_c2w=requested.c2w[:1].clone())
        return Trajectory.from_frames(est.float(), requested.K_norm.clone())

    @property
    def seconds(self) -> float:
        return self.extract_seconds + sum(t.estimate.seconds for t in self.trials)

    def text(self) -> str:
        h, w = self.size
        lines = [f"RealCam camera accuracy: {self.num_frames} frames {w}x{h}, intrinsics {self.intrinsics}, "
                 f"{len(self.complete_trials)}/{len(self.trials)} trials complete"]
        if self.ok:
            m = self.metrics
            lines.append(f"RotErr   {m['RotErr']:.4f} rad ({math.degrees(m['RotErr']):.2f} deg), sum over frames")
            lines.append(f"TransErr {m['TransErr_rel']:.4f} relative" + (
                f", {m['TransErr_abs']:.4f} absolute" if m.get("TransErr_abs") is not None else ", absolute n/a"))
            lines.append(f"CamMC    {m['CamMC_rel']:.4f} relative" + (
                f", {m['CamMC_abs']:.4f} absolute" if m.get("CamMC_abs") is not None else ", absolute n/a"))
        else:
            causes = sorted({t.estimate.message for t in self.trials if t.estimate.message})
            lines.append("could not register the video: " + ("; ".join(causes) or "unknown cause"))
        methods = sorted({t.estimate.method for t in self.trials})
        lines.append(f"registered frames per trial: {', '.join(f'{k}/{self.num_frames}' for k in self.registered)}"
                     f" (method: {', '.join(methods)})")
        for t in self.trials:
            if t.metrics is not None and t.estimate.message:
                lines.append(f"note: {t.estimate.message}")
                break
        lines.extend(f"note: {n}" for n in self.notes)
        lines.append(f"time: {self.seconds:.1f} s ({self.seconds / max(self.num_frames, 1):.2f} s per frame)")
        return "\n".join(lines)


def _aspect(h: int, w: int) -> float:
    return w / h


def video_intrinsics(mode: str, height: int, width: int, trajectory: Trajectory | None = None,
                     scene: Scene | None = None) -> tuple[torch.Tensor | None, str]:
    """Pixel K (3, 3) at the video size for `mode` (one of INTRINSICS) and the name of what was used.

    auto: the scene's K fitted to the video (as RealCam Point Cloud Render does) when a scene is given,
    else RealCam's default (fx = fy = 0.5 max(H, W)). trajectory: its frame-0 K_norm (the preset files
    store placeholders 0.5, which are square pixels only for square videos). estimate: None (unknown,
    shared by all frames, refined by bundle adjustment).
    """
    require(mode in INTRINSICS, "intrinsics", f"one of {', '.join(INTRINSICS)}", mode)
    if mode == "auto":
        mode = "scene" if scene is not None else "realcam_default"
    if mode == "scene":
        if scene is None:
            raise input_error("intrinsics", "a scene connected for 'scene' intrinsics (or another choice)", "no scene")
        return fit_intrinsics(scene.K.double(), (scene.height, scene.width), (height, width), "crop"), "scene"
    if mode == "trajectory":
        require(trajectory is not None, "intrinsics", "a trajectory for 'trajectory' intrinsics", None)
        return denormalize_K(trajectory.K_norm[0].double(), height, width), "trajectory"
    if mode == "realcam_default":
        return default_K(height, width, dtype=torch.float64), "realcam_default"
    return None, "estimate"


def metric_scale(est: PoseEstimate, scene: Scene, video_hw: tuple[int, int]) -> tuple[float | None, str]:
    """Metres per SfM unit: median of the scene's metric depth / SfM depth at frame 0's triangulated points."""
    if est.frame0_uv is None or len(est.frame0_uv) < MIN_SCALE_POINTS:
        return None, "too few triangulated points in frame 0 for the metric scale"
    h, w = video_hw
    sx, sy = scene.width / w, scene.height / h
    u = np.clip(np.floor(est.frame0_uv[:, 0] * sx).astype(int), 0, scene.width - 1)
    v = np.clip(np.floor(est.frame0_uv[:, 1] * sy).astype(int), 0, scene.height - 1)
    depth = scene.depth.detach().cpu().double().numpy()[v, u]
    valid = np.asarray(scene.mask.detach().cpu().numpy()[v, u], bool) & (depth > 0)
    if valid.sum() < MIN_SCALE_POINTS:
        return None, "the scene has no valid depth at frame 0's triangulated points"
    return float(np.median(depth[valid] / est.frame0_z[valid])), ""


def _check_inputs(frames: torch.Tensor, trajectory: Trajectory, scene: Scene | None) -> None:
    n, h, w = (int(s) for s in frames.shape[:3])
    require(isinstance(trajectory, Trajectory), "trajectory", "a REALCAM_TRAJECTORY", type(trajectory).__name__)
    trajectory.validate()
    require(trajectory.num_frames == n, "trajectory",
            f"as many frames as the video ({n}); resample it (RealCam SE3 Interpolate) or trim the video",
            f"{trajectory.num_frames} frames")
    if scene is not None:
        scene.validate()
        ok = abs(_aspect(h, w) / _aspect(scene.height, scene.width) - 1) <= ASPECT_TOL
        require(ok, "video", f"frames with the scene's aspect ratio ({scene.width}x{scene.height}) so frame 0 maps "
                f"onto the scene's depth; resize the video or leave the scene unconnected", f"{w}x{h}")


def evaluate_camera_accuracy(
    frames: torch.Tensor,
    trajectory: Trajectory,
    *,
    scene: Scene | None = None,
    intrinsics: str = "auto",
    trials: int = 3,
    seed: int = 0,
    matcher: str = "auto",
    work_dir: str | Path | None = None,
    callback: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    num_threads: int = -1,
) -> AccuracyReport:
    """Score a video (N, H, W, 3) against the requested trajectory (N frames). See the module docstring.

    callback(done, total) after each step (may raise to interrupt); should_stop() polled during pycolmap.
    """
    frames = check_video(frames)
    _check_inputs(frames, trajectory, scene)
    require(isinstance(trials, int) and 1 <= trials <= 20, "trials", "an int from 1 to 20", trials)
    n, h, w = (int(s) for s in frames.shape[:3])
    K, used = video_intrinsics(intrinsics, h, w, trajectory, scene)
    report = AccuracyReport(num_frames=n, size=(h, w), intrinsics=used, requested_c2w=trajectory.c2w.double())
    total = 1 + trials * n
    with Tracker(frames, K, work_dir=work_dir, matcher=matcher, num_threads=num_threads,
                 should_stop=should_stop) as tracker:
        if not tracker.static:
            tracker.extract()
        report.extract_seconds = tracker.extract_seconds
        if callback is not None:
            callback(1, total)
        for k in range(trials):
            def step(done: int, _n: int, k: int = k) -> None:
                if callback is not None:
                    callback(1 + k * n + done, total)

            est = tracker.estimate(seed + k, step)
            trial = TrialResult(seed=seed + k, estimate=est)
            if est.complete:
                if scene is not None:
                    if est.method == "incremental":
                        trial.scale, why = metric_scale(est, scene, (h, w))
                        if why and why not in report.notes:
                            report.notes.append(f"absolute metrics n/a: {why}")
                    else:
                        trial.scale = 1.0  # no translation estimated: the scale does not matter
                trial.metrics = camera_metrics(trajectory.c2w, est.c2w, trial.scale)
            report.trials.append(trial)
            if callback is not None:
                callback(1 + (k + 1) * n, total)
    done = report.complete_trials
    if done:
        keys = done[0].metrics.as_dict().keys()
        avg: dict[str, float | None] = {}
        for key in keys:
            vals = [t.metrics.as_dict()[key] for t in done]
            avg[key] = None if any(v is None for v in vals) else float(np.mean(vals))
        report.metrics = avg
        if any(t.metrics.abs_unit_m for t in done):
            report.notes.append("the requested path does not translate: absolute translation errors are in metres")
    if scene is None:
        report.notes.append("absolute metrics n/a: connect the scene of frame 0 for the metric scale")
    return report


def track_camera(
    frames: torch.Tensor,
    *,
    intrinsics: torch.Tensor | None = None,
    scale: float = 1.0,
    seed: int = 0,
    matcher: str = "auto",
    work_dir: str | Path | None = None,
    callback: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    num_threads: int = -1,
) -> tuple[Trajectory, PoseEstimate]:
    """The estimated camera path of a video as a Trajectory (frame 0 = identity).

    intrinsics: pixel K (3, 3) at the video size, or None (estimated). scale: metres per SfM unit
    (SfM has no scale; the default makes the path's units arbitrary). Raises RealCamInputError naming
    the cause when not every frame registers.
    """
    frames = check_video(frames)
    n, h, w = (int(s) for s in frames.shape[:3])
    with Tracker(frames, intrinsics, work_dir=work_dir, matcher=matcher, num_threads=num_threads,
                 should_stop=should_stop) as tracker:
        if callback is not None:
            callback(0, n + 1)
        if not tracker.static:
            tracker.extract()
        if callback is not None:
            callback(1, n + 1)
        est = tracker.estimate(seed, lambda d, _n: callback(1 + d, n + 1) if callback is not None else None)
    if not est.complete:
        raise input_error("video", "frames a camera can be tracked through (textured, overlapping, with motion)",
                          f"{est.num_registered}/{n} frames registered: {est.message}")
    c2w = est.c2w.clone()
    c2w[:, :3, 3] *= float(scale)
    K = est.K if est.K is not None else default_K(h, w, dtype=torch.float64)
    K_norm = normalize_K(K, h, w).float()
    return Trajectory.from_frames(c2w.float(), K_norm.expand(n, 3, 3).clone()), est


def track_camera_report(frames: torch.Tensor, scene: Scene | None = None, intrinsics: str = "auto", seed: int = 0,
                        matcher: str = "auto", work_dir: str | Path | None = None,
                        callback: Callable[[int, int], None] | None = None,
                        should_stop: Callable[[], bool] | None = None) -> tuple[Trajectory, str]:
    """`track_camera` with the intrinsics chosen by `video_intrinsics`, in metres when the scene of frame 0
    gives the scale (incremental SfM only), and a one-paragraph report of what was done."""
    frames = check_video(frames)
    n, h, w = (int(s) for s in frames.shape[:3])
    K, used = video_intrinsics(intrinsics, h, w, None, scene)
    traj, est = track_camera(frames, intrinsics=K, seed=seed, matcher=matcher, work_dir=work_dir, callback=callback,
                             should_stop=should_stop)
    unit = "SfM units (no scale)"
    if scene is not None and est.method == "incremental":
        scale, why = metric_scale(est, scene, (h, w))
        if scale is not None:
            traj = traj.scaled(scale)
            unit = "metres (scene depth of frame 0)"
        else:
            unit += f"; metric scale n/a: {why}"
    elif est.method in ("rotation-only", "static"):
        unit = "rotation only (no translation)"
    K_used = est.K if est.K is not None else default_K(h, w, dtype=est.c2w.dtype)
    text = (f"RealCam Track Camera: {n} frames {w}x{h}, method {est.method}, intrinsics {used} "
            f"(fx {float(K_used[0, 0]):.1f}, fy {float(K_used[1, 1]):.1f}), path in {unit}, "
            f"{est.seconds:.1f} s" + (f"\nnote: {est.message}" if est.message else ""))
    return traj, text
