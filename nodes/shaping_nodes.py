"""RealCam Noise Shaping: patches a MODEL so any sampler shapes its high-noise steps with the preview.

The maths is `realcam_core.shaping`; the ComfyUI wrapper `realcam_comfy.shaping`.
"""

from __future__ import annotations

from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY
from ..realcam_comfy.shaping import (
    ShapingSpec,
    apply_noise_shaping,
    encode_frames,
    latent_samples,
    start_at_preview_size,
)
from ..realcam_core import shaping as core
from ..realcam_core.errors import RealCamInputError


class RealCamNoiseShaping(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamNoiseShaping",
            display_name="RealCam Noise Shaping",
            category=CATEGORY,
            description="Scene-constrained noise shaping (RealCam-I2V): during the early, high-noise steps the "
                        "sampler's latent is replaced, where the point-cloud preview is reliable, by the preview "
                        "latent noised to that step. Patches the MODEL, so any sampler node and any core sampler "
                        "use it. Works with video models whose VAE compresses time (Wan, LTXV).",
            inputs=[
                io.Model.Input("model"),
                io.Mask.Input("shaping_mask", tooltip="Where the preview can be trusted, at pixel resolution, one "
                              "frame per video frame: the shaping_mask output of RealCam Point Cloud Render."),
                io.Combo.Input("mode", options=list(core.MODES), default="xt_paste",
                               tooltip="xt_paste: replace the noisy latent before each step in the window "
                                       "(upstream code). x0_paste: paste into the predicted clean latent "
                                       "(the paper's description)."),
                io.Combo.Input("window_units", options=list(core.UNITS), default="timestep",
                               tooltip="timestep: the model's timestep, 0..999 for DDPM models (upstream shapes "
                                       "1000 -> 900). sigma_percent: 0 = pure noise .. 1 = clean, as core's "
                                       "start/end percent inputs."),
                io.Float.Input("start", default=1000.0, min=0.0, max=1000.0, step=0.001,
                               tooltip="Where shaping starts (the noisy end): timestep 1000, or percent 0."),
                io.Float.Input("end", default=900.0, min=0.0, max=1000.0, step=0.001,
                               tooltip="Where shaping ends: timestep 900 (upstream), or a percent such as 0.1."),
                io.Latent.Input("preview_latent", optional=True,
                                tooltip="The preview frames encoded with the model's VAE (VAEEncode)."),
                io.Image.Input("preview_frames", optional=True,
                               tooltip="Or the preview frames themselves; they are encoded with `vae`."),
                io.Vae.Input("vae", optional=True, tooltip="The model's VAE, to encode preview_frames/start_image."),
                io.Image.Input("start_image", optional=True,
                               tooltip="The conditioning image; its latent replaces latent frame 0 of the "
                                       "preview, as upstream does. Needs `vae`."),
            ],
            outputs=[io.Model.Output(display_name="model")],
        )

    @classmethod
    def execute(cls, model, shaping_mask, mode, window_units, start, end, preview_latent=None,
                preview_frames=None, vae=None, start_image=None) -> io.NodeOutput:
        if (preview_latent is None) == (preview_frames is None):
            raise RealCamInputError("preview_latent: expected either preview_latent or preview_frames (+ vae), "
                                    f"got {'both' if preview_latent is not None else 'neither'}")
        preview = latent_samples(preview_latent)
        if preview is None:
            preview = encode_frames(vae, preview_frames, "preview_frames")
        first = None
        if start_image is not None:
            first = encode_frames(vae, start_at_preview_size(start_image, preview_frames, preview, vae), "start_image")
        spec = ShapingSpec(preview=preview, mask=shaping_mask, window=core.ShapingWindow(start, end, window_units),
                           mode=mode, start=first)
        return io.NodeOutput(apply_noise_shaping(model, spec))


NODES = [RealCamNoiseShaping]
