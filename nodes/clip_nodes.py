"""Trajectory and clip helpers for loops and long videos: close a path, bend it onto an end pose, cut it
into overlapping clips, paste a continuation's overlap and join the generated clips
(`realcam_core.trajectory.clips` / `loop_modes`)."""

from __future__ import annotations

import torch
from comfy_api.latest import io, ui

from ..realcam_comfy.common import CATEGORY, TrajectoryType
from ..realcam_core.trajectory import clips as core_clips
from ..realcam_core.trajectory.loop_modes import paste_previous_overlap
from ..realcam_core.trajectory.plot import plot_trajectory
from ..realcam_core.trajectory.types import Trajectory


class RealCamCloseTrajectory(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamCloseTrajectory",
            display_name="RealCam Close Trajectory",
            category=CATEGORY,
            description="Makes a camera path a loop: its keyframes, then back to the first pose at the last frame, "
                        "with a smooth (C1) seam. The last frame repeats the first; drop it when playing the video "
                        "as an endless loop.",
            inputs=[
                TrajectoryType.Input("trajectory"),
                io.Int.Input("num_frames", default=16, min=3, max=1024, tooltip="Frames of the closed path."),
                io.Float.Input("return_fraction", default=0.0, min=0.0, max=0.95, step=0.05,
                               tooltip="Share of the clip spent returning to the start; 0 = auto "
                                       "(max(1 / keyframes, 0.25))."),
            ],
            outputs=[TrajectoryType.Output(display_name="trajectory"), io.String.Output(display_name="report"),
                     io.Image.Output(display_name="plot")],
        )

    @classmethod
    def execute(cls, trajectory: Trajectory, num_frames: int, return_fraction: float) -> io.NodeOutput:
        out = core_clips.close_trajectory(trajectory, num_frames, return_fraction or None)
        msg = core_clips.check_loop(out).message
        plot = plot_trajectory(out)[None]
        return io.NodeOutput(out, msg, plot, ui=ui.PreviewImage(plot, cls=cls))


class RealCamTrajectoryEndPose(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamTrajectoryEndPose",
            display_name="RealCam Trajectory End Pose",
            category=CATEGORY,
            description="Bends a camera path so its last frame lands on a given pose (the camera of an end image), "
                        "keeping the path's shape. Use it before both the conditioning and the preview render.",
            inputs=[
                TrajectoryType.Input("trajectory"),
                TrajectoryType.Input("end_pose", tooltip="Its last frame is the end pose, relative to the start."),
            ],
            outputs=[TrajectoryType.Output(display_name="trajectory")],
        )

    @classmethod
    def execute(cls, trajectory: Trajectory, end_pose: Trajectory) -> io.NodeOutput:
        c2w = core_clips.retarget_end(trajectory.c2w, end_pose.c2w[-1])
        return io.NodeOutput(Trajectory.from_frames(c2w, trajectory.K_norm.clone(), trajectory.version))


class RealCamTrajectoryClip(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamTrajectoryClip",
            display_name="RealCam Trajectory Clip",
            category=CATEGORY,
            description="One clip of a long camera path: clip i covers frames i*(clip_len-overlap) .. +clip_len-1, "
                        "relative to its own first frame; frames past the end hold the last pose. Chain clips with "
                        "RealCam Loop / Interp Conditioning (continue) and join them with RealCam Join Clips.",
            inputs=[
                TrajectoryType.Input("trajectory"),
                io.Int.Input("clip_index", default=0, min=0, max=1023, tooltip="Which clip (0 = the first)."),
                io.Int.Input("clip_len", default=16, min=2, max=1024, tooltip="Frames per clip (16 for RealCam)."),
                io.Int.Input("overlap", default=1, min=0, max=1023, tooltip="Frames shared with the previous clip."),
            ],
            outputs=[TrajectoryType.Output(display_name="trajectory"), io.Int.Output(display_name="num_clips")],
        )

    @classmethod
    def execute(cls, trajectory: Trajectory, clip_index: int, clip_len: int, overlap: int) -> io.NodeOutput:
        plan = core_clips.plan_clips(trajectory.num_frames, clip_len, overlap)
        return io.NodeOutput(core_clips.clip_trajectory(trajectory, clip_index, clip_len, overlap), plan.num_clips)


class RealCamPasteOverlap(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamPasteOverlap",
            display_name="RealCam Paste Overlap",
            category=CATEGORY,
            description="Upstream's final overlap paste for a continuation clip: its first `overlap` frames become "
                        "exactly the previous clip's last ones. RealCam Sampler already does this wherever the "
                        "latent's noise mask is 0; use this node after other samplers (core KSampler keeps a trace "
                        "of noise when the schedule stops above sigma 0) or to re-paste after latent edits.",
            inputs=[
                io.Latent.Input("latent", tooltip="The sampled continuation clip."),
                io.Latent.Input("previous_latent", tooltip="The previous clip's sampled LATENT."),
                io.Int.Input("overlap", default=1, min=1, max=64,
                             tooltip="Leading frames of this clip that repeat the previous clip's last frames."),
                io.Int.Input("frames", default=16, min=2, max=1024, tooltip="Frames per clip (both clips)."),
            ],
            outputs=[io.Latent.Output(display_name="latent")],
        )

    @classmethod
    def execute(cls, latent: dict, previous_latent: dict, overlap: int, frames: int) -> io.NodeOutput:
        out = dict(latent)
        out["samples"] = paste_previous_overlap(latent["samples"], previous_latent["samples"], overlap, frames)
        out.pop("noise_mask", None)
        return io.NodeOutput(out)


class RealCamJoinClips(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamJoinClips",
            display_name="RealCam Join Clips",
            category=CATEGORY,
            description="Joins two clips that share `overlap` frames: all of the first, then the second without its "
                        "first `overlap` frames. Chain the node for more clips.",
            inputs=[
                io.Image.Input("first", tooltip="Frames of the earlier clip."),
                io.Image.Input("second", tooltip="Frames of the later clip; its first `overlap` frames are dropped."),
                io.Int.Input("overlap", default=1, min=0, max=1023, tooltip="Frames the two clips share."),
            ],
            outputs=[io.Image.Output(display_name="images")],
        )

    @classmethod
    def execute(cls, first: torch.Tensor, second: torch.Tensor, overlap: int) -> io.NodeOutput:
        return io.NodeOutput(core_clips.join_frames([first, second], overlap, dim=0))


NODES = [RealCamCloseTrajectory, RealCamTrajectoryEndPose, RealCamTrajectoryClip, RealCamPasteOverlap,
         RealCamJoinClips]
