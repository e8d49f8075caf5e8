"""Loops, interpolation, transitions and long videos: conditioning layouts and trajectory helpers.

`RealCamLoopInterpConditioning` edits what RealCam Image To Video produced (CONDITIONING with the
concat latent, image tokens and camera; the frames-as-batch LATENT); the layouts are upstream's
(`realcam_core.trajectory.loop`). The trajectory nodes close a path, cut a long path into overlapping
clips, bend a path onto an end pose, and join the generated clips.
"""

from __future__ import annotations

import dataclasses
import logging

import node_helpers
import torch
from comfy_api.latest import io, ui

from ..realcam_comfy.common import CATEGORY, TrajectoryType
from ..realcam_comfy.conditioning import KEY_CAMERA, KEY_CONCAT, KEY_FRAMES
from ..realcam_core.errors import RealCamInputError, require
from ..realcam_core.model.preprocess import resize_crop
from ..realcam_core.trajectory import clips as core_clips
from ..realcam_core.trajectory import loop as core
from ..realcam_core.trajectory.plot import plot_trajectory
from ..realcam_core.trajectory.types import Trajectory

log = logging.getLogger("RealCam")

MODE_HELP = (
    "interpolate: start image -> end image of the same scene, the end seen from the trajectory's last pose. "
    "loop: end = start on a closed path (SE3 Interpolate closed / RealCam Close Trajectory), so the last frame "
    "meets the first. transition: image A -> image B along the camera path. continue: the next clip of a long "
    "video, conditioned on the previous clip's last frame(s)."
)
END_HELP = (
    "shaping_only (any RealCam model): the end image enters only as a fully visible last frame of the noise-"
    "shaping preview (connect preview_frames/shaping_mask and feed the outputs to RealCam Noise Shaping). "
    "concat_and_shaping (EXPERIMENTAL): also DynamiCrafter's interp layout in the concat latent (start in slot 0, "
    "end in the last slot, zeros between); only meaningful with a base trained for it (DynamiCrafter 512_interp "
    "+ the 512 RealCam camera file). No released camera checkpoint was trained with either."
)


# -- conditioning helpers ---------------------------------------------------------------------
def _first(cond: list, key: str, what: str):
    require(isinstance(cond, list) and len(cond) > 0, "positive", "conditioning from RealCam Image To Video",
            type(cond).__name__)
    value = cond[0][1].get(key)
    if value is None:
        raise RealCamInputError(f"positive: expected conditioning from RealCam Image To Video (it carries the {what}), "
                                "got conditioning without it")
    return value


def _frames_as_video(samples: torch.Tensor, frames: int, name: str) -> torch.Tensor:
    """Frames-as-batch (B*T, C, h, w) -> (B, C, T, h, w)."""
    require(torch.is_tensor(samples) and samples.ndim == 4, name, "a RealCam LATENT (frames, 4, h, w)",
            tuple(samples.shape) if torch.is_tensor(samples) else type(samples).__name__)
    require(samples.shape[0] % frames == 0, name, f"a whole number of {frames}-frame videos", samples.shape[0])
    b = samples.shape[0] // frames
    return samples.reshape(b, frames, *samples.shape[1:]).transpose(1, 2)


def _video_as_frames(video: torch.Tensor) -> torch.Tensor:
    """(B, C, T, h, w) -> frames-as-batch (B*T, C, h, w)."""
    b, c, t, h, w = video.shape
    return video.transpose(1, 2).reshape(b * t, c, h, w).contiguous()


def _with_values(positive: list, negative: list, values: dict) -> tuple[list, list]:
    return (node_helpers.conditioning_set_values(positive, values),
            node_helpers.conditioning_set_values(negative, values))


def _end_pixels(end_image: torch.Tensor, start_image: torch.Tensor | None, height: int, width: int,
                size_mismatch: str) -> torch.Tensor:
    """The end image at the video's size: checked against the start image's size (error / crop / stretch),
    then resized and centre-cropped exactly as RealCam Image To Video treats the start image."""
    img = end_image[:1, ..., :3]
    if start_image is not None:
        img = core.match_image_size(img, int(start_image.shape[1]), int(start_image.shape[2]), size_mismatch,
                                    "end_image")
    return resize_crop(img, height, width)[0]


class RealCamLoopInterpConditioning(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamLoopInterpConditioning",
            display_name="RealCam Loop / Interp Conditioning",
            category=CATEGORY,
            description=(
                "Turns RealCam Image To Video's conditioning into an interpolation (start -> end image), a loop "
                "(last frame = first), a transition (image A -> image B) or a continuation clip (conditioned on the "
                "previous clip's last frames); its report (and any warning) shows on the node. The layouts are "
                "upstream's (DynamiCrafter interp_mode, CamI2V cond_frame_index and overlap pasting); no released "
                "RealCam/CamI2V checkpoint was trained with interp or continuation, so results are experimental. "
                + MODE_HELP
            ),
            inputs=[
                io.Conditioning.Input("positive", tooltip="From RealCam Image To Video."),
                io.Conditioning.Input("negative", tooltip="From RealCam Image To Video."),
                io.Latent.Input("latent", tooltip="From RealCam Image To Video."),
                io.Combo.Input("mode", options=list(core.MODES), default="interpolate", tooltip=MODE_HELP),
                io.Combo.Input("end_conditioning", options=list(core.END_CONDITIONING), default="shaping_only",
                               tooltip=END_HELP),
                io.Combo.Input("size_mismatch", options=list(core.SIZE_MISMATCH), default="error",
                               tooltip="An end image whose size differs from the video's: error, crop (cover + "
                                       "centre crop, as the start image) or stretch."),
                io.Int.Input("overlap", default=1, min=1, max=64,
                             tooltip="continue: frames shared with the previous clip (its last ones). They are kept "
                                     "as they were (overlap pasting through the latent's noise mask)."),
                io.Int.Input("cond_frame_index", default=-1, min=-1, max=63,
                             tooltip="continue: the frame the image, concat latent and camera poses refer to; -1 = "
                                     "overlap - 1 (the previous clip's last frame). Must lie in the overlap."),
                io.Float.Input("preview_handoff", default=-1.0, min=-1.0, max=1.0, step=0.05,
                               tooltip="Fraction of the clip over which the start image's preview stays trusted "
                                       "for noise shaping; later frames (but the last) are not shaped. -1 = auto: "
                                       "1 for interpolate/loop, 0.5 for transition."),
                io.Vae.Input("vae", optional=True, tooltip="The model's VAE: encodes the end image."),
                io.Image.Input("start_image", optional=True,
                               tooltip="The image given to RealCam Image To Video; loop mode pastes it as the last "
                                       "preview frame (else the end image is the start image's latent only)."),
                io.Image.Input("end_image", optional=True, tooltip="interpolate / transition: the last frame."),
                io.Latent.Input("previous_latent", optional=True,
                                tooltip="continue: the previous clip's sampled LATENT (not decoded), so the overlap "
                                        "frames stay exact."),
                io.Image.Input("preview_frames", optional=True,
                               tooltip="RealCam Point Cloud Render's frames; returned with the end image as last "
                                       "frame, for RealCam Noise Shaping."),
                io.Mask.Input("shaping_mask", optional=True,
                              tooltip="RealCam Point Cloud Render's shaping mask; returned with the last frame fully "
                                      "visible."),
            ],
            outputs=[
                io.Conditioning.Output(display_name="positive"),
                io.Conditioning.Output(display_name="negative"),
                io.Latent.Output(display_name="latent"),
                io.Image.Output(display_name="preview_frames"),
                io.Mask.Output(display_name="shaping_mask"),
                io.String.Output(display_name="report"),
            ],
        )

    @classmethod
    def execute(cls, positive, negative, latent, mode, end_conditioning, size_mismatch, overlap, cond_frame_index,
                preview_handoff, vae=None, start_image=None, end_image=None, previous_latent=None,
                preview_frames=None, shaping_mask=None) -> io.NodeOutput:
        require(mode in core.MODES, "mode", f"one of {list(core.MODES)}", mode)
        require(end_conditioning in core.END_CONDITIONING, "end_conditioning",
                f"one of {list(core.END_CONDITIONING)}", end_conditioning)
        frames = int(_first(positive, KEY_FRAMES, "frame count"))
        cam = _first(positive, KEY_CAMERA, "camera")
        start_latent = _first(positive, KEY_CONCAT, "image latent")
        samples = latent["samples"]
        video = _frames_as_video(samples, frames, "latent")
        h, w = int(video.shape[3]) * 8, int(video.shape[4]) * 8
        report: list[str] = [f"mode {mode}: {frames} frames at {w}x{h}"]
        out_latent = dict(latent)

        if mode == "continue":
            positive, negative, out_latent = cls._continue(positive, negative, latent, video, frames, cam, overlap,
                                                           cond_frame_index, previous_latent, report)
            end_pixels = None
        else:
            if mode == "loop":
                chk = core_clips.check_loop(cam.c2w_rel[0])
                report.append(chk.message)
                if not chk.closed:
                    warning = (f"WARNING: {chk.message}; the last frame will not meet the first. Close the path "
                               "with SE3 Interpolate (closed) or RealCam Close Trajectory.")
                    report.insert(0, warning)  # first line: what the node shows
                    log.warning("RealCam loop: %s", warning)
                end_latent = start_latent[:1]
                end_pixels = None if start_image is None else resize_crop(start_image[:1, ..., :3], h, w)[0]
            else:
                if end_image is None:
                    raise RealCamInputError(f"end_image: expected an image for mode {mode}, got nothing")
                require(vae is not None, "vae", "the model's VAE to encode end_image")
                end_pixels = _end_pixels(end_image, start_image, h, w, size_mismatch)
                end_latent = vae.encode(end_pixels)
            if end_conditioning == "concat_and_shaping":
                concat = core.interp_concat_from_ends(start_latent[:1].to(end_latent), end_latent, frames)
                concat = _video_as_frames(concat)
                positive, negative = _with_values(positive, negative, {KEY_CONCAT: concat})
                report.append("concat: DynamiCrafter interp layout (start slot 0, end slot "
                              f"{frames - 1}, zeros between) - experimental, needs an interp-trained base")
            else:
                report.append("concat: unchanged (start image repeated); the end frame acts through noise shaping")

        frames_out, mask_out = cls._shaping(mode, preview_frames, shaping_mask, end_pixels, preview_handoff, report)
        text = "\n".join(report)
        log.info("RealCam Loop/Interp: %s", text.replace("\n", "; "))
        return io.NodeOutput(positive, negative, out_latent, frames_out, mask_out, text, ui={"text": (text,)})

    @staticmethod
    def _continue(positive, negative, latent, video, frames, cam, overlap, cond_frame_index, previous_latent,
                  report):
        if previous_latent is None:
            raise RealCamInputError("previous_latent: expected the previous clip's LATENT for mode continue, got nothing")
        prev_samples = previous_latent["samples"]
        require(torch.is_tensor(prev_samples) and prev_samples.ndim == 4, "previous_latent",
                "a RealCam LATENT (frames, 4, h, w)", tuple(getattr(prev_samples, "shape", ())))
        # one video per batch of `frames` when it divides, else the whole batch is one clip
        per = frames if prev_samples.shape[0] % frames == 0 else prev_samples.shape[0]
        prev = _frames_as_video(prev_samples, per, "previous_latent")
        require(tuple(prev.shape[1:2] + prev.shape[3:]) == tuple(video.shape[1:2] + video.shape[3:]), "previous_latent",
                f"the clip's latent size {tuple(video.shape[1:2] + video.shape[3:])} (channels, h, w)",
                tuple(prev.shape[1:2] + prev.shape[3:]))
        require(overlap < frames, "overlap", f"fewer than the clip's {frames} frames", overlap)
        k = None if cond_frame_index < 0 else int(cond_frame_index)
        lay = core.continuation_layout(prev.to(video), overlap, frames, k, fill=video)
        c2w = core.relative_to_frame(cam.c2w_rel, lay.cond_frame_index)
        new_cam = dataclasses.replace(cam, c2w_rel=c2w)
        concat_frame = lay.latent[:1, :, lay.cond_frame_index]  # (1, C, h, w): exact latent of the previous frame
        positive, negative = _with_values(positive, negative, {KEY_CONCAT: concat_frame, KEY_CAMERA: new_cam})
        out = dict(latent)
        out["samples"] = _video_as_frames(lay.latent)
        out["noise_mask"] = lay.noise_mask[0].transpose(0, 1).contiguous()  # (T, 1, h, w), per frame
        report.append(f"continue: frames 0..{overlap - 1} are the previous clip's last {overlap} (kept through the "
                      f"noise mask); image, concat latent and poses refer to frame {lay.cond_frame_index}")
        return positive, negative, out

    @staticmethod
    def _shaping(mode, preview_frames, shaping_mask, end_pixels, handoff, report):
        if preview_frames is None and shaping_mask is None:
            return torch.zeros(1, 8, 8, 3), torch.zeros(1, 8, 8)  # nothing to shape: placeholders
        if preview_frames is None or shaping_mask is None:
            raise RealCamInputError("preview_frames: expected both preview_frames and shaping_mask (from RealCam "
                                    "Point Cloud Render), got only one")
        if mode == "continue" or end_pixels is None:
            if mode == "loop":
                report.append("shaping: no start_image given, the preview's last frame is left as rendered")
            return preview_frames, shaping_mask
        hf = core.default_preview_handoff(mode) if handoff < 0 else float(handoff)
        end = resize_crop(end_pixels, int(preview_frames.shape[1]), int(preview_frames.shape[2]))[0]
        f, m = core.end_frame_shaping(preview_frames, shaping_mask, end, hf)
        report.append(f"shaping: last preview frame = the end image, fully visible; start preview trusted up to "
                      f"{hf:g} of the clip")
        return f, m


# -- trajectory helpers -----------------------------------------------------------------------
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
        return io.NodeOutput(Trajectory(c2w=c2w, K_norm=trajectory.K_norm.clone(),
                                        key_times=[float(i) for i in range(c2w.shape[0])], key_c2w=c2w.clone(),
                                        version=trajectory.version).validate())


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
        video = _frames_as_video(latent["samples"], frames, "latent")
        prev_s = previous_latent["samples"]
        per = frames if torch.is_tensor(prev_s) and prev_s.ndim == 4 and prev_s.shape[0] % frames == 0 else None
        prev = _frames_as_video(prev_s, per or int(prev_s.shape[0]), "previous_latent")
        lay = core.continuation_layout(prev.to(video), overlap, frames, fill=video)
        out = dict(latent)
        out["samples"] = _video_as_frames(core.paste_overlap(video, lay.latent, overlap))
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


NODES = [RealCamLoopInterpConditioning, RealCamCloseTrajectory, RealCamTrajectoryEndPose, RealCamTrajectoryClip,
         RealCamPasteOverlap, RealCamJoinClips]
