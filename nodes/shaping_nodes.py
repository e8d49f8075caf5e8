"""RealCam Noise Shaping: patches a MODEL so any sampler shapes its high-noise steps with the preview.

The maths is `realcam_core.shaping`; the ComfyUI wrapper `realcam_comfy.shaping` (ARCHITECTURE §5).
"""

from __future__ import annotations

from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY
from ..realcam_comfy.shaping import preview_and_start, shape_model
from ..realcam_comfy.shaping_inputs import mode_input, window_inputs
from ..realcam_core.shaping import ShapingSpec, ShapingWindow


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
                mode_input(),
                *window_inputs(ShapingWindow(1000.0, 900.0, "timestep")),
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
    def execute(cls, model, shaping_mask, mode, window_units, window_start, window_end, preview_latent=None,
                preview_frames=None, vae=None, start_image=None) -> io.NodeOutput:
        preview, start_latent = preview_and_start(preview_latent, preview_frames, vae, start_image)
        window = ShapingWindow(window_start, window_end, window_units)
        return io.NodeOutput(shape_model(model, ShapingSpec(preview, shaping_mask, window, mode, start_latent)))


NODES = [RealCamNoiseShaping]
