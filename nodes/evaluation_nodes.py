"""Camera-accuracy nodes: score a video against its requested path (RotErr, TransErr, CamMC) and track a video's camera."""

from __future__ import annotations

import logging

import folder_paths
from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY, SceneType, TrajectoryType, interruptible, preview_with_text, progress
from ..realcam_core.evaluation import INTRINSICS, evaluate_camera_accuracy, plot_paths, track_camera_report
from ..realcam_core.scene.types import Scene
from ..realcam_core.trajectory.types import Trajectory

log = logging.getLogger("realcam")

_INTRINSICS_HELP = ("Pinhole intrinsics of the video. auto: the scene's, fitted to the video like RealCam Point Cloud "
                    "Render (RealCam's default fx = fy = 0.5 max(H, W) without a scene); scene; trajectory (its "
                    "normalised K: the preset files' 0.5 placeholders only suit square videos); realcam_default; "
                    "estimate (unknown, shared by all frames, refined by bundle adjustment).")
_MATCHER_HELP = "Feature matching: auto = every pair up to 32 frames, then sequential (10 neighbours)."


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
        rep = interruptible(
            evaluate_camera_accuracy, video, trajectory, scene=scene, intrinsics=intrinsics, trials=trials, seed=seed,
            matcher=matcher, work_dir=folder_paths.get_temp_directory(), callback=progress(total),
        )
        text = rep.text()
        log.info("RealCam Camera Accuracy: %s", text.replace("\n", "; "))
        plot = plot_paths(rep.requested_c2w, rep.estimated_c2w, title="requested (m) vs estimated")[None]
        return io.NodeOutput(text, plot, rep.rot_err, rep.trans_err, rep.cammc, rep.estimated_trajectory(trajectory),
                             ui=preview_with_text(plot, text, cls))


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
        traj, text = interruptible(track_camera_report, video, scene, intrinsics, seed, matcher,
                                   work_dir=folder_paths.get_temp_directory(), callback=progress(1))
        plot = plot_paths(traj.c2w, None, title="tracked path")[None]
        return io.NodeOutput(traj, plot, text, ui=preview_with_text(plot, text, cls))


NODES = [RealCamCameraAccuracy, RealCamTrackCamera]
