"""Trajectory nodes: SE(3) interpolation of keyframes and adapters to other packs' camera types."""

from __future__ import annotations

import torch
from comfy_api.latest import io, ui

from ..realcam_comfy.common import CATEGORY, CameraCtrlPosesType, TrajectoryType
from ..realcam_core.camera import adapters, lens
from ..realcam_core.errors import RealCamInputError
from ..realcam_core.trajectory import interpolate as core_interp
from ..realcam_core.trajectory.plot import plot_trajectory
from ..realcam_core.wan import FRAME_CHOICES, frames_for


def thin_keyframes(times: list[float], keys, cap: int):
    """At most `cap` evenly spread keyframes (first and last kept): long tracked paths (10,000+ poses)
    are resampled to a video's frame count anyway, so a dense path loses nothing visible."""
    n = len(times)
    if n <= cap:
        return times, keys
    import torch

    idx = torch.linspace(0, n - 1, cap).round().long().unique()
    return [times[i] for i in idx.tolist()], keys[idx]


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
        num_frames = frames_for(frame_count, num_frames)
        times, keys = trajectory.keyframes()
        times, keys = thin_keyframes(times, keys, core_interp.MAX_FRAMES * 4)
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
        key_K = lens.keyframe_K_norm(trajectory, times)
        if not torch.equal(key_K, key_K[:1].expand_as(key_K)):  # lens animation: focal follows the poses' timing
            out.K_norm = lens.interpolate_K_norm(norm, key_K, num_frames, easing=easing, time_unit="normalized",
                                                 closed=closed)
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


def wan_camera_embedding(trajectory, width: int, height: int):
    """Core's WAN_CAMERA_EMBEDDING (1, 24, (N + 3) // 4, H, W) for a trajectory, built with core's own Plücker code.

    Core's `process_pose_params` reads each row as [t, fx, fy, cx, cy, k1, k2, c2w 4x4 row-major] with
    normalised intrinsics; passing the output size as the "original" size keeps our intrinsics unchanged.
    The frame packing (first frame four times, then groups of four) is core WanCameraEmbedding's.
    """
    import numpy as np
    import torch
    from comfy_extras.nodes_camera_trajectory import process_pose_params

    n = trajectory.num_frames
    if n % 4 != 1:
        raise RealCamInputError(f"trajectory: expected 4k+1 frames for Wan's temporal packing (e.g. 81), got {n}; "
                                "resample it with RealCam SE3 Interpolate")
    K = trajectory.K_norm.double().numpy()
    c2w = trajectory.c2w.double().numpy().reshape(n, 16)
    rows = np.concatenate([np.zeros((n, 1)), K[:, 0, :1], K[:, 1, 1:2], K[:, 0, 2:3], K[:, 1, 2:3],
                           np.zeros((n, 2)), c2w], axis=1)
    emb = process_pose_params(rows, width=width, height=height, original_pose_width=width,
                              original_pose_height=height)  # (N, H, W, 6)
    video = emb.permute(3, 0, 1, 2)[None]
    video = torch.cat([video[:, :, :1].repeat_interleave(4, dim=2), video[:, :, 1:]], dim=2).transpose(1, 2)
    b, f, c, h, w = video.shape
    video = video.reshape(b, f // 4, 4, c, h, w).transpose(2, 3).reshape(b, f // 4, c * 4, h, w).transpose(1, 2)
    return video.contiguous()


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
        emb = wan_camera_embedding(trajectory, width, height)
        return io.NodeOutput(emb, width, height, trajectory.num_frames)


NODES = [RealCamSE3Interpolate, RealCamTrajectoryToCameraCtrl, RealCamTrajectoryFromCameraCtrl,
         RealCamTrajectoryToWanCamera]
