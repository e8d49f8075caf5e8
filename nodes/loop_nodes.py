"""Loops, interpolation, transitions and long videos: RealCam Loop / Interp Conditioning.

The node edits what RealCam Image To Video produced (CONDITIONING with the concat latent, image tokens
and camera; the frames-as-batch LATENT). The mode logic is `realcam_core.trajectory.loop_modes` (layouts
from `loop`); `realcam_comfy.conditioning.apply_loop_edit` writes it back. Trajectory helpers for the same
workflows (close a path, clips, join) are in `clip_nodes`.
"""

from __future__ import annotations

import logging

from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY
from ..realcam_comfy.conditioning import KEY_CAMERA, KEY_CONCAT, KEY_FRAMES, apply_loop_edit, require_value
from ..realcam_core.trajectory import loop, loop_modes

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
                io.Combo.Input("mode", options=list(loop.MODES), default="interpolate", tooltip=MODE_HELP),
                io.Combo.Input("end_conditioning", options=list(loop.END_CONDITIONING), default="shaping_only",
                               tooltip=END_HELP),
                io.Combo.Input("size_mismatch", options=list(loop.SIZE_MISMATCH), default="error",
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
        frames = int(require_value(positive, KEY_FRAMES, "frame count"))
        cam = require_value(positive, KEY_CAMERA, "camera")
        start_latent = require_value(positive, KEY_CONCAT, "image latent")
        edit = loop_modes.loop_interp(
            mode, end_conditioning, latent["samples"], frames, cam.c2w_rel, start_latent,
            size_mismatch=size_mismatch, overlap=overlap, cond_frame_index=cond_frame_index,
            preview_handoff=preview_handoff, encode=None if vae is None else vae.encode, start_image=start_image,
            end_image=end_image, previous_samples=None if previous_latent is None else previous_latent["samples"],
            preview_frames=preview_frames, shaping_mask=shaping_mask)
        for warning in edit.warnings:
            log.warning("RealCam loop: %s", warning)
        positive, negative, out_latent = apply_loop_edit(positive, negative, latent, cam, edit)
        log.info("RealCam Loop/Interp: %s", edit.text.replace("\n", "; "))
        return io.NodeOutput(positive, negative, out_latent, edit.preview_frames, edit.shaping_mask, edit.text,
                             ui={"text": (edit.text,)})


NODES = [RealCamLoopInterpConditioning]
