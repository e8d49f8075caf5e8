"""Trajectory nodes: SE(3) interpolation of keyframes and adapters to other packs' camera types."""

from __future__ import annotations

from comfy_api.latest import io, ui

from ..realcam_comfy.common import CATEGORY, CameraCtrlPosesType, TrajectoryType
from ..realcam_comfy.wan import wan_embedding
from ..realcam_core.camera import adapters
from ..realcam_core.trajectory import interpolate as core_interp
from ..realcam_core.trajectory.plot import plot_trajectory
from ..realcam_core.trajectory.resample import resample_trajectory
from ..realcam_core.wan import FRAME_CHOICES, frames_for


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
                io.Combo.Input("method", options=list(core_interp.METHODS), default="linear_se3",
                               tooltip="linear_se3: constant-velocity screw per segment (paper); geodesic: slerp + "
                                       "straight centre line; smooth: C1 spline; upstream_matrix_lerp: official code."),
                io.Combo.Input("easing", options=list(core_interp.EASINGS), default="linear",
                               tooltip="Time warp over the whole path (e.g. ease_in_out starts and stops gently)."),
                io.Boolean.Input("closed", default=False,
                                 tooltip="Loop: the last frame returns to the first keyframe (C1 seam with smooth)."),
                io.Combo.Input("frame_count", options=list(FRAME_CHOICES), default="custom", optional=True,
                               tooltip="A model's frame count (Wan: 4k+1) instead of num_frames; custom = num_frames."),
            ],
            outputs=[
                TrajectoryType.Output(display_name="trajectory"),
                io.String.Output(display_name="re10k_text"),
                CameraCtrlPosesType.Output(display_name="cameractrl_poses"),
                io.Image.Output(display_name="plot"),
            ],
        )

    @classmethod
    def execute(cls, trajectory, num_frames: int, method: str, easing: str, closed: bool,
                frame_count: str = "custom") -> io.NodeOutput:
        out = resample_trajectory(trajectory, frames_for(frame_count, num_frames), method, easing, closed)
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


class RealCamTrajectoryToWanCamera(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamTrajectoryToWanCamera",
            display_name="RealCam Trajectory To Wan Camera Embedding",
            category=CATEGORY,
            description="WAN_CAMERA_EMBEDDING for core's WanCameraImageToVideo (Wan 2.1 Fun Camera) from any RealCam "
                        "trajectory: editor paths, presets, pose files. Needs 4k+1 frames (e.g. 81). Translations go in "
                        "unscaled metres; RealCam Wan Camera Embedding maps them to the model's scale.",
            inputs=[TrajectoryType.Input("trajectory"),
                    io.Int.Input("width", default=832, min=16, max=8192, step=16, tooltip="Video width of the Wan model."),
                    io.Int.Input("height", default=480, min=16, max=8192, step=16, tooltip="Video height of the Wan model.")],
            outputs=[io.WanCameraEmbedding.Output(display_name="camera_embedding"),
                     io.Int.Output(display_name="width"), io.Int.Output(display_name="height"),
                     io.Int.Output(display_name="length")],
        )

    @classmethod
    def execute(cls, trajectory, width: int, height: int) -> io.NodeOutput:
        emb = wan_embedding(trajectory, width, height)
        return io.NodeOutput(emb, width, height, trajectory.num_frames)


NODES = [RealCamSE3Interpolate, RealCamTrajectoryToCameraCtrl, RealCamTrajectoryFromCameraCtrl,
         RealCamTrajectoryToWanCamera]
