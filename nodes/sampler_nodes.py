"""RealCam Sampler: upstream's sampling defaults (DDIM eta 1, trailing steps, guidance rescale) on KSampler's path.

`realcam_ddim` and `realcam_trailing` are registered with core here, so KSampler & co. offer them too; the
parts are in `realcam_comfy.sampler` / `realcam_comfy.sampling`, noise shaping in `realcam_comfy.shaping`.
"""

from __future__ import annotations

from comfy_api.latest import io

from ..realcam_comfy import sampler as rs
from ..realcam_comfy.common import CATEGORY
from ..realcam_comfy.sampling import DDIM, TRAILING
from ..realcam_comfy.shaping_inputs import mode_input, window_inputs
from ..realcam_core.shaping import ShapingWindow

rs.register_with_core()  # before the schema below lists core's names


class RealCamSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamSampler",
            display_name="RealCam Sampler",
            category=CATEGORY,
            description="Samples a RealCam-I2V video with core ComfyUI sampling (KSampler's path). Defaults reproduce "
                        "upstream: DDIM eta 1 (realcam_ddim), trailing timesteps (realcam_trailing), 25 steps, cfg "
                        "7.5, guidance rescale 0.7. Optional scene-constrained noise shaping with the preview render.",
            inputs=[
                io.Model.Input("model"),
                io.Conditioning.Input("positive"),
                io.Conditioning.Input("negative"),
                io.Latent.Input("latent"),
                io.Int.Input("seed", default=0, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                             tooltip="Noise seed (initial noise, ancestral noise and the shaping noise)."),
                io.Int.Input("steps", default=25, min=1, max=1000, tooltip="Sampling steps (upstream: 25)."),
                io.Float.Input("cfg", default=7.5, min=0.0, max=100.0, step=0.1, round=0.01,
                               tooltip="Classifier-free guidance over text and image together (upstream: 7.5)."),
                io.Combo.Input("sampler_name", options=rs.sampler_names(), default=DDIM,
                               tooltip="realcam_ddim = upstream DDIM (eta below; KSampler offers it with eta 1). "
                                       "Core's 'ddim' is eta 0."),
                io.Combo.Input("scheduler", options=rs.scheduler_names(), default=TRAILING,
                               tooltip="realcam_trailing = upstream's trailing timesteps ending at alpha_bar(0) (also "
                                       "in KSampler; this node then rescales to upstream's VP latent)."),
                io.Float.Input("eta", default=1.0, min=0.0, max=1.0, step=0.01, tooltip="realcam_ddim only."),
                io.Float.Input("guidance_rescale", default=0.7, min=0.0, max=1.0, step=0.01,
                               tooltip="Rescale the guided output towards the std of the conditional one (0 = off)."),
                io.Boolean.Input("noise_shaping", default=True,
                                 tooltip="Shape the high-noise steps with the preview where shaping_mask is set."),
                io.Image.Input("preview_frames", optional=True, tooltip="Preview render (one frame per video frame)."),
                io.Mask.Input("shaping_mask", optional=True, tooltip="RealCam Point Cloud Render's shaping mask."),
                io.Vae.Input("vae", optional=True, tooltip="To encode preview_frames."),
                mode_input("shaping_mode"),
                *window_inputs(ShapingWindow(1000.0, 900.0, "timestep")),
            ],
            outputs=[io.Latent.Output(display_name="latent")],
        )

    @classmethod
    def execute(cls, model, positive, negative, latent, seed, steps, cfg, sampler_name, scheduler, eta,
                guidance_rescale, noise_shaping, preview_frames=None, shaping_mask=None, vae=None,
                shaping_mode="xt_paste", window_units="timestep", window_start=1000.0,
                window_end=900.0) -> io.NodeOutput:
        m = rs.sampling_model(model, positive, eta, guidance_rescale)
        if noise_shaping and (preview_frames is not None or shaping_mask is not None):
            m = rs.shaped_model(m, positive, latent, preview_frames, shaping_mask, vae, shaping_mode,
                                ShapingWindow(window_start, window_end, window_units))
        return io.NodeOutput(rs.sample(m, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent))


NODES = [RealCamSampler]
