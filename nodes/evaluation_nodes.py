"""Camera-accuracy nodes: score a video against its requested path (RotErr, TransErr, CamMC) and track a video's camera."""

from __future__ import annotations

import logging

import comfy.model_management as mm
import folder_paths
from comfy_api.latest import io, ui

from ..realcam_comfy.common import CATEGORY, SceneType, TrajectoryType, progress
from ..realcam_core.camera.intrinsics import default_K
from ..realcam_core.evaluation import INTRINSICS, evaluate_camera_accuracy, plot_paths, track_camera, video_intrinsics
from ..realcam_core.scene.types import Scene
from ..realcam_core.trajectory.types import Trajectory

log = logging.getLogger("realcam")

_INTRINSICS_HELP = ("Pinhole intrinsics of the video. auto: the scene's, fitted to the video like RealCam Point Cloud "
                    "Render (RealCam's default fx = fy = 0.5 max(H, W) without a scene); scene; trajectory (its "
                    "normalised K: the preset files' 0.5 placeholders only suit square videos); realcam_default; "
                    "estimate (unknown, shared by all frames, refined by bundle adjustment).")
_MATCHER_HELP = "Feature matching: auto = every pair up to 32 frames, then sequential (10 neighbours)."


def _interruptible(fn, *args, **kwargs):
    """Run a core call whose pycolmap work `mm.processing_interrupted` cancels; report it as ComfyUI's interrupt."""
    try:
        return fn(*args, should_stop=mm.processing_interrupted, **kwargs)
    except InterruptedError:
        # raised only after should_stop() saw ComfyUI's interrupt flag; another thread (a progress-bar update)
        # may have cleared the flag since, so report the interrupt itself rather than re-reading the flag
        raise mm.InterruptProcessingException() from None


def _ui(plot, text: str, cls) -> dict:
    out = dict(ui.PreviewImage(plot, cls=cls).as_dict())
    out["text"] = (text,)
    return out


class RealCamCameraAccuracy(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamCameraAccuracy",
            display_name="RealCam Camera Accuracy",
            category=CATEGORY,
            description="Did the camera do what was asked? Estimates the video's cameras with structure from motion "
                        "(COLMAP) and scores them against the requested trajectory as RealCam-I2V / CamI2V do: RotErr "
                        "(sum of rotation angles, rad), TransErr and CamMC, relative (each path normalised by its "
                        "own reach) and absolute (metric scale from the scene's depth of frame 0; needs the scene). "
                        "Several trials are averaged; a video that does not register is reported with the cause.",
            inputs=[
                io.Image.Input("video", tooltip="The frames to check (the generated or rendered video)."),
                TrajectoryType.Input("trajectory", tooltip="The requested camera path, one pose per frame."),
                SceneType.Input("scene", optional=True,
                                tooltip="The scene of frame 0 (metric depth): enables the absolute metrics."),
                io.Combo.Input("intrinsics", options=list(INTRINSICS), default="auto", tooltip=_INTRINSICS_HELP),
                io.Int.Input("trials", default=3, min=1, max=20,
                             tooltip="Reconstructions averaged (the paper averages 5); each has its own seed."),
                io.Int.Input("seed", default=0, min=0, max=2**31 - 1, tooltip="Seed of the first trial."),
                io.Combo.Input("matcher", options=["auto", "exhaustive", "sequential"], default="auto",
                               tooltip=_MATCHER_HELP),
            ],
            outputs=[
                io.String.Output(display_name="report"),
                io.Image.Output(display_name="plot"),
                io.Float.Output(display_name="rot_err"),
                io.Float.Output(display_name="trans_err"),
                io.Float.Output(display_name="cammc"),
                TrajectoryType.Output(display_name="estimated"),
            ],
        )

    @classmethod
    def execute(cls, video, trajectory: Trajectory, intrinsics: str, trials: int, seed: int, matcher: str,
                scene: Scene | None = None) -> io.NodeOutput:
        total = 1 + trials * max(int(video.shape[0]), 1)
        rep = _interruptible(
            evaluate_camera_accuracy, video, trajectory, scene=scene, intrinsics=intrinsics, trials=trials, seed=seed,
            matcher=matcher, work_dir=folder_paths.get_temp_directory(), callback=progress(total),
        )
        text = rep.text()
        log.info("RealCam Camera Accuracy: %s", text.replace("\n", "; "))
        est = rep.estimated_c2w
        plot = plot_paths(rep.requested_c2w, est, title="requested (m) vs estimated")[None]
        nan = float("nan")
        m = rep.metrics or {}
        trans = m.get("TransErr_abs") if m.get("TransErr_abs") is not None else m.get("TransErr_rel", nan)
        cammc = m.get("CamMC_abs") if m.get("CamMC_abs") is not None else m.get("CamMC_rel", nan)
        if est is not None:
            n = est.shape[0]
            estimated = Trajectory(c2w=est.float(), K_norm=trajectory.K_norm.clone(),
                                   key_times=[float(i) for i in range(n)], key_c2w=est.float().clone()).validate()
        else:
            estimated = Trajectory(c2w=trajectory.c2w[:1].clone(), K_norm=trajectory.K_norm[:1].clone(),
                                   key_times=[0.0], key_c2w=trajectory.c2w[:1].clone())
        return io.NodeOutput(text, plot, float(m.get("RotErr", nan)), float(trans), float(cammc), estimated,
                             ui=_ui(plot, text, cls))


class RealCamTrackCamera(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamTrackCamera",
            display_name="RealCam Track Camera",
            category=CATEGORY,
            description="Estimates the camera path of a video with structure from motion (COLMAP) as a "
                        "REALCAM_TRAJECTORY, frame 0 = identity, so a camera move can be taken from a real video "
                        "and reused. SfM has no scale: connect the scene of frame 0 to put the path in metres.",
            inputs=[
                io.Image.Input("video", tooltip="The frames to track (at least 3, with camera motion and texture)."),
                SceneType.Input("scene", optional=True,
                                tooltip="The scene of frame 0 (metric depth): makes the path metric."),
                io.Combo.Input("intrinsics", options=["auto", "scene", "realcam_default", "estimate"],
                               default="auto", tooltip=_INTRINSICS_HELP),
                io.Int.Input("seed", default=0, min=0, max=2**31 - 1, tooltip="Seed of the reconstruction."),
                io.Combo.Input("matcher", options=["auto", "exhaustive", "sequential"], default="auto",
                               tooltip=_MATCHER_HELP),
            ],
            outputs=[TrajectoryType.Output(display_name="trajectory"), io.Image.Output(display_name="plot"),
                     io.String.Output(display_name="report")],
        )

    @classmethod
    def execute(cls, video, intrinsics: str, seed: int, matcher: str, scene: Scene | None = None) -> io.NodeOutput:
        from ..realcam_core.evaluation import check_video, metric_scale

        frames = check_video(video)
        n, h, w = (int(s) for s in frames.shape[:3])
        K, used = video_intrinsics(intrinsics, h, w, None, scene)
        traj, est = _interruptible(track_camera, frames, intrinsics=K, seed=seed, matcher=matcher,
                                   work_dir=folder_paths.get_temp_directory(), callback=progress(n + 1))
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
        plot = plot_paths(traj.c2w, None, title="tracked path")[None]
        return io.NodeOutput(traj, plot, text, ui=_ui(plot, text, cls))


NODES = [RealCamCameraAccuracy, RealCamTrackCamera]
