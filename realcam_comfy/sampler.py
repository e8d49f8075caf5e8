"""RealCam Sampler's path (ARCHITECTURE §4): upstream's sampler and schedule registered with core, so KSampler
users get them too, and the node = guidance rescale + optional noise shaping + KSampler's own sampling call
(`nodes.common_ksampler`) + upstream's final VP rescale and overlap paste."""

from __future__ import annotations

import comfy.k_diffusion.sampling as kds
import comfy.sample
import comfy.samplers

from ..realcam_core.errors import require
from ..realcam_core.shaping import ShapingSpec, ShapingWindow
from .conditioning import KEY_CONCAT, KEY_FRAMES, cond_value
from .sampling import (
    DDIM,
    DDIM_ETA_OPTION,
    TRAILING,
    check_preview,
    guidance_rescale_cfg,
    paste_kept,
    sample_realcam_ddim,
    trailing_scheduler,
    vp_latent,
)
from .shaping import shape_model


def register_with_core() -> None:
    """Add `realcam_ddim` (k-diffusion sampler table) and `realcam_trailing` (scheduler table) to core's lists,
    which KSampler, KSamplerAdvanced, KSamplerSelect and BasicScheduler offer. Idempotent."""
    setattr(kds, f"sample_{DDIM}", sample_realcam_ddim)  # comfy.samplers.ksampler looks it up by name
    for names in (comfy.samplers.KSAMPLER_NAMES, comfy.samplers.SAMPLER_NAMES):  # SAMPLER_NAMES is a copy
        if DDIM not in names:
            names.append(DDIM)
    comfy.samplers.SCHEDULER_HANDLERS[TRAILING] = comfy.samplers.SchedulerHandler(trailing_scheduler)
    if TRAILING not in comfy.samplers.SCHEDULER_NAMES:
        comfy.samplers.SCHEDULER_NAMES.append(TRAILING)


def sampler_names() -> list[str]:
    """Core's sampler names with realcam_ddim first (RealCam Sampler's default)."""
    return [DDIM, *(n for n in comfy.samplers.SAMPLER_NAMES if n != DDIM)]


def scheduler_names() -> list[str]:
    return [TRAILING, *(n for n in comfy.samplers.SCHEDULER_NAMES if n != TRAILING)]


def sampling_model(model, positive, eta: float, guidance_rescale: float):
    """A clone of the MODEL with the sampler's settings: realcam_ddim's eta, upstream's guidance rescale."""
    frames = cond_value(positive, KEY_FRAMES)
    require(frames is not None, "positive", "conditioning from RealCam Image To Video")
    m = model.clone()
    m.model_options[DDIM_ETA_OPTION] = float(eta)
    if guidance_rescale > 0:
        m.set_model_sampler_cfg_function(guidance_rescale_cfg(guidance_rescale, int(frames)))
    return m


def shaped_model(model, positive, latent: dict, preview_frames, shaping_mask, vae, mode: str,
                 window: ShapingWindow):
    """The sampler's noise shaping: the preview encoded with `vae`, latent frame 0 from the conditioning."""
    require(preview_frames is not None and shaping_mask is not None and vae is not None,
            "noise_shaping", "preview_frames, shaping_mask and vae together (or turn noise_shaping off)")
    check_preview(preview_frames, latent["samples"], int(cond_value(positive, KEY_FRAMES)))
    spec = ShapingSpec(preview=vae.encode(preview_frames[..., :3]), mask=shaping_mask, window=window, mode=mode,
                       start_latent=cond_value(positive, KEY_CONCAT)[:1])  # frame 0 (interp concat has T)
    return shape_model(model, spec)


def sample(model, seed: int, steps: int, cfg: float, sampler_name: str, scheduler: str, positive, negative,
           latent: dict) -> dict:
    """KSampler's own call, then upstream's end: a schedule that stops at sigma > 0 (realcam_trailing ends at
    alpha_bar(0)) gives upstream's VP latent, and the frames the noise mask keeps come back exactly."""
    import nodes as comfy_nodes  # ComfyUI's nodes.py (KSampler's path)

    out = dict(comfy_nodes.common_ksampler(model, seed, steps, cfg, sampler_name, scheduler, positive, negative,
                                           latent)[0])
    samples = out["samples"]
    last = float(comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), scheduler, steps)[-1])
    if last > 0:
        samples = vp_latent(samples, last)
    kept = comfy.sample.fix_empty_latent_channels(model, latent["samples"])  # as common_ksampler sampled it
    out["samples"] = paste_kept(samples, kept, latent.get("noise_mask"))
    out.pop("noise_mask", None)
    return out
