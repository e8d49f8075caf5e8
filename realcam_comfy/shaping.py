"""RealCam Noise Shaping: a MODEL patch that shapes the early, high-noise steps with the scene preview.

It hooks ComfyUI's SAMPLER_SAMPLE wrapper (around `KSAMPLER.sample`), so KSampler, KSamplerAdvanced
and SamplerCustomAdvanced with any guider and any core sampler get it. The maths is in
`realcam_core.shaping`; this module only finds the model's sampling space and drives the sampler.

xt_paste (upstream code): the steps inside the window run one sigma interval at a time through the
sampler's own function, the state is blended before each, and the rest runs in one call. Ancestral
and SDE samplers get one noise sampler for all chunks, and callbacks keep their step indices.
x0_paste (paper text): a post-CFG hook pastes the preview into the predicted clean latent.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable

import comfy.k_diffusion.sampling as kds
import comfy.patcher_extension as pe
import torch

from ..realcam_core import shaping as core
from ..realcam_core import wan as core_wan
from ..realcam_core.errors import RealCamInputError, require
from ..realcam_core.shaping import ShapingSpec
from .wan import resize_like_core

WRAPPER_KEY = "realcam_noise_shaping"
log = logging.getLogger("RealCam")

# SDE samplers that build a Brownian tree over the whole schedule (cpu=True) or on the device (False).
_BROWNIAN = {
    "sample_dpmpp_sde": True, "sample_dpmpp_2m_sde": True, "sample_dpmpp_2m_sde_heun": True,
    "sample_dpmpp_3m_sde": True, "sample_dpmpp_sde_gpu": False, "sample_dpmpp_2m_sde_gpu": False,
    "sample_dpmpp_2m_sde_heun_gpu": False, "sample_dpmpp_3m_sde_gpu": False,
}

# Samplers that break the chunk contract "return the state at the chunk's last sigma" (see
# chunked_sampler_function): uni_pc takes no step in a one-step call, sa_solver drops its last
# predictor step unless the schedule ends at sigma 0.
_NO_SINGLE_STEP = {"sample_unipc", "sample_unipc_bh2"}
_NEEDS_FULL_RUN = {"sample_sa_solver", "sample_sa_solver_pece"}

def persistent_noise_sampler(fn: Callable, x: torch.Tensor, sigmas: torch.Tensor, seed: int | None):
    """The noise sampler `fn` would build for the whole schedule, so chunked runs draw the same noise."""
    cpu = _BROWNIAN.get(getattr(fn, "__name__", ""))
    if cpu is not None:
        positive = sigmas[sigmas > 0]
        return kds.BrownianTreeNoiseSampler(x, positive.min(), sigmas.max(), seed=seed, cpu=cpu)
    return kds.default_noise_sampler(x, seed=seed)


def chunked_sampler_function(fn: Callable, shaper: core.ShapingRun, steps: list[int]) -> Callable:
    """Wrap a k-diffusion sampler function so the shaped steps run one at a time, state blended first.

    A chunk must return the state at its last sigma. uni_pc cannot take a single step (it only
    evaluates the model) and sa_solver returns the state one step short unless it ends at sigma 0;
    those chunks are taken with euler, the first-order step both solvers start from.
    """
    name = getattr(fn, "__name__", "")
    takes_noise_sampler = "noise_sampler" in inspect.signature(fn).parameters

    def chunked(model, x, sigmas, *args, extra_args=None, callback=None, disable=None, **kwargs):
        extra_args = {} if extra_args is None else extra_args
        if takes_noise_sampler and kwargs.get("noise_sampler") is None:
            kwargs["noise_sampler"] = persistent_noise_sampler(fn, x, sigmas, extra_args.get("seed"))
        last = len(sigmas) - 1

        def run(xc: torch.Tensor, sig: torch.Tensor, offset: int) -> torch.Tensor:
            cb = None
            if callback is not None:
                def cb(d: dict, offset: int = offset) -> None:
                    callback({**d, "i": d["i"] + offset})
            n = len(sig) - 1
            if (name in _NO_SINGLE_STEP and n == 1) or (name in _NEEDS_FULL_RUN and offset + n != last):
                log.info("RealCam noise shaping: %s cannot stop after steps %d..%d; euler takes them",
                         name, offset, offset + n - 1)
                return kds.sample_euler(model, xc, sig, extra_args=dict(extra_args), callback=cb, disable=disable)
            # a copy per chunk: cfg_pp samplers add a post-CFG hook to extra_args["model_options"] in place
            return fn(model, xc, sig, *args, extra_args=dict(extra_args), callback=cb, disable=disable, **kwargs)

        return core.sample_in_chunks(run, x, sigmas, steps, shaper.blend)

    return chunked


class NoiseShapingWrapper:
    """SAMPLER_SAMPLE wrapper: prepares preview and mask for this run, then shapes the window's steps."""

    def __init__(self, spec: ShapingSpec):
        self.spec = spec.validated()

    def prepare(self, model_wrap, noise: torch.Tensor, seed: int | None) -> core.ShapingRun:
        base = model_wrap.inner_model  # comfy.model_base.BaseModel
        ms = base.model_sampling
        shape = tuple(noise.shape)
        frames, hw = core.state_frames_hw(shape)
        z = core.prepare_scene_latent(self.spec.preview.float(), shape,
                                      None if self.spec.start_latent is None else self.spec.start_latent.float(),
                                      base.process_latent_in)
        mask = core.latent_mask(self.spec.mask, frames, hw, self.spec.threshold)
        factory = self.spec.noise_factory or core.SeededStepNoise
        return core.ShapingRun(
            z=z.to(device=noise.device, dtype=noise.dtype),
            mask=core.mask_for_state(mask, shape).to(device=noise.device, dtype=noise.dtype),
            inside=core.window_predicate(self.spec.window, ms.timestep, ms.percent_to_sigma),
            noise_fn=factory(seed),
            scaling=lambda sigma, eps, z0: ms.noise_scaling(sigma, eps, z0, max_denoise=False),
        )

    def __call__(self, executor, model_wrap, sigmas, extra_args, callback, noise, *args, **kwargs):
        shaper = self.prepare(model_wrap, noise, extra_args.get("seed"))
        steps = core.window_steps(sigmas, shaper.inside)
        log.info("RealCam noise shaping (%s): steps %s of %d", self.spec.mode, steps, len(sigmas) - 1)
        if not steps:
            self._warn_empty(model_wrap, sigmas)
        if self.spec.mode == "x0_paste":
            options = extra_args["model_options"]
            post = [*options.get("sampler_post_cfg_function", []),
                    lambda a: shaper.paste(a["denoised"], float(a["sigma"].flatten()[0]))]
            extra_args = {**extra_args, "model_options": {**options, "sampler_post_cfg_function": post}}
            return executor(model_wrap, sigmas, extra_args, callback, noise, *args, **kwargs)
        if not steps:
            return executor(model_wrap, sigmas, extra_args, callback, noise, *args, **kwargs)
        sampler = executor.class_obj
        fn = getattr(sampler, "sampler_function", None)
        if fn is None:
            raise RealCamInputError(
                f"mode: xt_paste needs one of ComfyUI's k-diffusion samplers (KSAMPLER), got {type(sampler).__name__}; "
                "use mode x0_paste with this sampler")
        sampler.sampler_function = chunked_sampler_function(fn, shaper, steps)
        try:
            return executor(model_wrap, sigmas, extra_args, callback, noise, *args, **kwargs)
        finally:
            sampler.sampler_function = fn


    def _warn_empty(self, model_wrap, sigmas: torch.Tensor) -> None:
        """No step in the window is legal, but a window in the wrong units is the usual cause."""
        w = self.spec.window
        values = sigmas[:-1] if w.units == "sigma_percent" else model_wrap.inner_model.model_sampling.timestep(sigmas[:-1])
        what = "sigmas" if w.units == "sigma_percent" else "timesteps"
        log.warning("RealCam noise shaping: no step of this schedule is inside the window %s..%s (%s); its %s run "
                    "%.4g..%.4g. Nothing is shaped: set window_start / window_end so a step falls inside. For models "
                    "whose timesteps are not 0..1000 (e.g. LTXV: 0..1) use window_units sigma_percent.",
                    w.start, w.end, w.units, what, float(values.max()), float(values.min()))


def apply_noise_shaping(model, spec: ShapingSpec):
    """A clone of `model` (ModelPatcher) that shapes sampling with `spec`; replaces an earlier shaping patch."""
    patched = model.clone()
    patched.remove_wrappers_with_key(pe.WrappersMP.SAMPLER_SAMPLE, WRAPPER_KEY)
    patched.add_wrapper_with_key(pe.WrappersMP.SAMPLER_SAMPLE, WRAPPER_KEY, NoiseShapingWrapper(spec))
    return patched


def model_timesteps(model) -> tuple[float, float]:
    """(lowest, highest) timestep of a MODEL's schedule: the range a timestep window must overlap."""
    ms = model.get_model_object("model_sampling")
    t = ms.timestep(torch.stack([torch.as_tensor(ms.sigma_min), torch.as_tensor(ms.sigma_max)]).float().flatten())
    return float(t.min()), float(t.max())


def shape_model(model, spec: ShapingSpec):
    """The nodes' entry: refuse a timestep window outside the model's timesteps, then patch (a clone of) it."""
    core.check_window_reaches(spec.window, *model_timesteps(model))
    return apply_noise_shaping(model, spec)


def latent_samples(latent: dict | None) -> torch.Tensor | None:
    return None if latent is None else latent["samples"]


def encode_frames(vae, images: torch.Tensor, name: str) -> torch.Tensor:
    require(vae is not None, "vae", f"a VAE to encode {name}")
    require(torch.is_tensor(images) and images.ndim == 4 and images.shape[-1] >= 3, name,
            "an IMAGE (frames, height, width, 3)", tuple(images.shape) if torch.is_tensor(images) else None)
    return vae.encode(images[..., :3])


def start_at_preview_size(start_image, preview_frames, preview: torch.Tensor, vae) -> torch.Tensor:
    """The start image's first frame at the preview's pixel size, resized and centre-cropped as core's Wan /
    SVD nodes resize their start image (so the unscaled image given to WanCameraImageToVideo fits)."""
    if not (torch.is_tensor(start_image) and start_image.ndim == 4 and vae is not None):
        return start_image  # encode_frames names what is wrong
    if preview_frames is not None:
        h, w = int(preview_frames.shape[1]), int(preview_frames.shape[2])
    else:
        ratio = vae.spacial_compression_encode() if hasattr(vae, "spacial_compression_encode") else 8
        h, w = int(preview.shape[-2]) * ratio, int(preview.shape[-1]) * ratio
    image = start_image[:1]
    if tuple(image.shape[1:3]) == (h, w):
        return image
    return resize_like_core(image, w, h)


def preview_and_start(preview_latent, preview_frames, vae, start_image) -> tuple[torch.Tensor, torch.Tensor | None]:
    """RealCam Noise Shaping's inputs -> (preview latent, start latent or None): a preview_latent, or
    preview_frames encoded with `vae`; the start image at the preview's size, encoded with `vae`."""
    if (preview_latent is None) == (preview_frames is None):
        raise RealCamInputError("preview_latent: expected either preview_latent or preview_frames (+ vae), "
                                f"got {'both' if preview_latent is not None else 'neither'}")
    preview = latent_samples(preview_latent)
    if preview is None:
        preview = encode_frames(vae, preview_frames, "preview_frames")
    if start_image is None:
        return preview, None
    return preview, encode_frames(vae, start_at_preview_size(start_image, preview_frames, preview, vae), "start_image")


def wan_preview_and_start(vae, preview_frames, shaping_mask, width: int, height: int, length: int,
                          start_image) -> tuple[torch.Tensor, torch.Tensor | None]:
    """RealCam Wan Noise Shaping's inputs -> (preview latent, start latent or None), sizes as core's Wan nodes."""
    core_wan.check_preview(preview_frames, shaping_mask, length, width, height)
    require(vae is not None, "vae", "the Wan VAE")
    preview = vae.encode(preview_frames[..., :3])
    if start_image is None:
        return preview, None
    first = resize_like_core(core_wan.check_image(start_image, "start_image")[:1], width, height)
    return preview, vae.encode(first[..., :3])
