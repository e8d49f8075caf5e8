"""Trajectory nodes: SE(3) interpolation of keyframes and adapters to other packs' camera types."""

from __future__ import annotations

from comfy_api.latest import io, ui

from ..realcam_core import interpolate as core_interp
from ..realcam_core.camera import adapters
from ..realcam_core.plot import plot_trajectory
from .common import CATEGORY, CameraCtrlPosesType, TrajectoryType


class RealCamSE3Interpolate(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamSE3Interpolate",
            display_name="RealCam SE3 Interpolate",
            category=CATEGORY,
            description="Turns a trajectory's keyframes (from the editor, a preset or a pose file) into one camera "
                        "pose per video frame. linear_se3 is the paper's interpolation; smooth is a C1 spline on "
                        "SE(3); upstream_matrix_lerp reproduces the official code's element-wise lerp.",
            inputs=[
                TrajectoryType.Input("trajectory", tooltip="Its keyframes are used (every frame for presets/files)."),
                io.Int.Input("num_frames", default=16, min=1, max=1024, tooltip="Frames of the output path."),
                io.Combo.Input("method", options=list(core_interp.METHODS), default="linear_se3"),
                io.Combo.Input("easing", options=list(core_interp.EASINGS), default="linear"),
                io.Boolean.Input("closed", default=False,
                                 tooltip="Loop: the last frame returns to the first keyframe (C1 seam with smooth)."),
            ],
            outputs=[
                TrajectoryType.Output(display_name="trajectory"),
                io.String.Output(display_name="re10k_text"),
                CameraCtrlPosesType.Output(display_name="cameractrl_poses"),
                io.Image.Output(display_name="plot"),
            ],
        )

    @classmethod
    def execute(cls, trajectory, num_frames: int, method: str, easing: str, closed: bool) -> io.NodeOutput:
        if trajectory.key_c2w is not None and len(trajectory.key_times) == trajectory.key_c2w.shape[0]:
            times, keys = list(trajectory.key_times), trajectory.key_c2w
        else:
            times, keys = [float(i) for i in range(trajectory.num_frames)], trajectory.c2w
        # keyframe times are stretched over the new length: the path keeps its shape and timing ratios
        span = max(times[-1], 1e-9) if len(times) > 1 else 1.0
        norm = [t / span for t in times]
        if closed and len(norm) > 1 and norm[-1] >= 1.0:
            # room for the return segment: the loop closes after the last keyframe
            norm = [t * (len(norm) - 1) / len(norm) for t in norm]
        out = core_interp.interpolate_trajectory(
            norm, keys, num_frames, K_norm=trajectory.K_norm[0], method=method, easing=easing,
            time_unit="normalized", closed=closed,
        )
        plot = plot_trajectory(out)[None]
        return io.NodeOutput(
            out, adapters.trajectory_to_re10k_text(out), adapters.trajectory_to_cameractrl_poses(out), plot,
            ui=ui.PreviewImage(plot, cls=cls),
        )


class RealCamTrajectoryToCameraCtrl(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamTrajectoryToCameraCtrl",
            display_name="RealCam Trajectory To CameraCtrl Poses",
            category=CATEGORY,
            description="CAMERACTRL_POSES (AnimateDiff-Evolved's type; KJNodes' visualiser and WanVideoWrapper "
                        "accept it) from a RealCam trajectory, plus a picture of the path.",
            inputs=[TrajectoryType.Input("trajectory"),
                    io.Int.Input("width", default=1280, min=1, max=8192, tooltip="Stored as the original width."),
                    io.Int.Input("height", default=720, min=1, max=8192, tooltip="Stored as the original height.")],
            outputs=[CameraCtrlPosesType.Output(display_name="cameractrl_poses"), io.Image.Output(display_name="plot")],
        )

    @classmethod
    def execute(cls, trajectory, width: int, height: int) -> io.NodeOutput:
        plot = plot_trajectory(trajectory)[None]
        return io.NodeOutput(adapters.trajectory_to_cameractrl_poses(trajectory, width, height), plot)


class RealCamTrajectoryFromCameraCtrl(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamTrajectoryFromCameraCtrl",
            display_name="RealCam Trajectory From CameraCtrl Poses",
            category=CATEGORY,
            description="A RealCam trajectory from CAMERACTRL_POSES (e.g. AnimateDiff-Evolved's Load Camera Poses).",
            inputs=[CameraCtrlPosesType.Input("cameractrl_poses"),
                    io.Float.Input("translation_scale", default=1.0, min=0.001, max=1000.0, step=0.01,
                                   tooltip="Multiplies translations, e.g. to turn the poses' units into metres.")],
            outputs=[TrajectoryType.Output(display_name="trajectory")],
        )

    @classmethod
    def execute(cls, cameractrl_poses, translation_scale: float) -> io.NodeOutput:
        traj = adapters.cameractrl_poses_to_trajectory(cameractrl_poses)
        return io.NodeOutput(traj.scaled(translation_scale) if translation_scale != 1.0 else traj)


NODES = [RealCamSE3Interpolate, RealCamTrajectoryToCameraCtrl, RealCamTrajectoryFromCameraCtrl]
