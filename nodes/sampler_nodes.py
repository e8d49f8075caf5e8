"""RealCam Sampler: upstream's sampling defaults (DDIM eta 1, trailing steps, guidance rescale) on core sampling.

The sampling parts are in `realcam_comfy.sampling`, noise shaping in `realcam_comfy.shaping`.
"""

from __future__ import annotations

import comfy.sample
import comfy.samplers
import comfy.utils
import latent_preview
from comfy_api.latest import io

from ..realcam_comfy import sampling as rm
from ..realcam_comfy.common import CATEGORY
from ..realcam_comfy.conditioning import KEY_CONCAT, KEY_FRAMES, cond_value
from ..realcam_comfy.sampling import DDIM, TRAILING, check_preview, paste_kept
from ..realcam_comfy.shaping import ShapingSpec, apply_noise_shaping
from ..realcam_core import shaping as core_shaping
from ..realcam_core.errors import require


class RealCamSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamSampler",
            display_name="RealCam Sampler",
            category=CATEGORY,
            description="Samples a RealCam-I2V video with core ComfyUI sampling. Defaults reproduce upstream: "
                        "DDIM eta 1 (realcam_ddim), trailing timesteps (realcam_trailing), 25 steps, cfg 7.5, "
                        "guidance rescale 0.7. Optional scene-constrained noise shaping with the preview render.",
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
                io.Combo.Input("sampler_name", options=[DDIM, *comfy.samplers.SAMPLER_NAMES], default=DDIM,
                               tooltip="realcam_ddim = upstream DDIM (eta below). Core's 'ddim' is eta 0."),
                io.Combo.Input("scheduler", options=[TRAILING, *comfy.samplers.SCHEDULER_NAMES], default=TRAILING,
                               tooltip="realcam_trailing = upstream's trailing timesteps ending at alpha_bar(0)."),
                io.Float.Input("eta", default=1.0, min=0.0, max=1.0, step=0.01, tooltip="realcam_ddim only."),
                io.Float.Input("guidance_rescale", default=0.7, min=0.0, max=1.0, step=0.01,
                               tooltip="Rescale the guided output towards the std of the conditional one (0 = off)."),
                io.Boolean.Input("noise_shaping", default=True,
                                 tooltip="Shape the high-noise steps with the preview where shaping_mask is set."),
                io.Image.Input("preview_frames", optional=True, tooltip="Preview render (one frame per video frame)."),
                io.Mask.Input("shaping_mask", optional=True, tooltip="RealCam Point Cloud Render's shaping mask."),
                io.Vae.Input("vae", optional=True, tooltip="To encode preview_frames."),
                io.Combo.Input("shaping_mode", options=list(core_shaping.MODES), default="xt_paste",
                               tooltip="xt_paste: blend the noised preview into the sampler state (the official code); "
                                       "x0_paste: paste the preview into the predicted clean latent (the paper's text)."),
                io.Combo.Input("window_units", options=list(core_shaping.UNITS), default="timestep",
                               tooltip="timestep: DDPM timesteps 1000..0; sigma_percent: 0 (noisiest) .. 1, as core's start/end percent."),
                io.Float.Input("window_start", default=1000.0, min=0.0, max=1000.0, step=0.001,
                               tooltip="Where shaping starts (the noisy end of the window)."),
                io.Float.Input("window_end", default=900.0, min=0.0, max=1000.0, step=0.001,
                               tooltip="Where shaping ends (upstream: timestep 900, i.e. the first 3 of 25 steps)."),
            ],
            outputs=[io.Latent.Output(display_name="latent")],
        )

    @classmethod
    def execute(cls, model, positive, negative, latent, seed, steps, cfg, sampler_name, scheduler, eta,
                guidance_rescale, noise_shaping, preview_frames=None, shaping_mask=None, vae=None,
                shaping_mode="xt_paste", window_units="timestep", window_start=1000.0,
                window_end=900.0) -> io.NodeOutput:
        frames = cond_value(positive, KEY_FRAMES)
        require(frames is not None, "positive", "conditioning from RealCam Image To Video")
        m = model.clone()
        if guidance_rescale > 0:
            m.set_model_sampler_cfg_function(rm.guidance_rescale_cfg(guidance_rescale, int(frames)))
        if noise_shaping and (preview_frames is not None or shaping_mask is not None):
            require(preview_frames is not None and shaping_mask is not None and vae is not None,
                    "noise_shaping", "preview_frames, shaping_mask and vae together (or turn noise_shaping off)")
            check_preview(preview_frames, latent["samples"], int(frames))
            preview = vae.encode(preview_frames[..., :3])
            spec = ShapingSpec(preview=preview, mask=shaping_mask,
                               window=core_shaping.ShapingWindow(window_start, window_end, window_units),
                               mode=shaping_mode, start=cond_value(positive, KEY_CONCAT)[:1])  # frame 0 (interp concat has T)
            m = apply_noise_shaping(m, spec)
        ms = m.get_model_object("model_sampling")
        if scheduler == TRAILING:
            require(hasattr(ms, "num_timesteps"), "scheduler", "a discrete-timestep model for realcam_trailing")
            sigmas = rm.upstream_schedule(ms, steps)
        else:
            sigmas = comfy.samplers.calculate_sigmas(ms, scheduler, steps).cpu()
        sampler = (comfy.samplers.KSAMPLER(rm.sample_realcam_ddim, extra_options={"eta": float(eta)})
                   if sampler_name == DDIM else comfy.samplers.sampler_object(sampler_name))
        x = comfy.sample.fix_empty_latent_channels(m, latent["samples"])
        noise = comfy.sample.prepare_noise(x, seed, latent.get("batch_index"))
        callback = latent_preview.prepare_callback(m, len(sigmas) - 1)
        samples = comfy.sample.sample_custom(m, noise, cfg, sampler, sigmas, positive, negative, x,
                                             noise_mask=latent.get("noise_mask"), callback=callback,
                                             disable_pbar=not comfy.utils.PROGRESS_BAR_ENABLED, seed=seed)
        if float(sigmas[-1]) > 0:  # upstream ends at alpha_bar(0) and decodes that VP latent
            samples = rm.vp_latent(samples, float(sigmas[-1]))
        samples = paste_kept(samples, x, latent.get("noise_mask"))
        out = dict(latent)
        out["samples"] = samples
        out.pop("noise_mask", None)
        return io.NodeOutput(out)


NODES = [RealCamSampler]
