"""RealCam sampling in ComfyUI (ARCHITECTURE §4): model sampling, the upstream DDIM sampler and schedule.


Sampling. ComfyUI keeps discrete (VP) models in sigma space, x~ = x_t / sqrt(alpha_bar). Our model
sampling uses upstream's float32 alpha-bar table; a zero-terminal-SNR schedule gets ComfyUI's finite
stand-in alpha_bar(999) = 4.9e-8 (sigma_max ~ 4518) so core samplers stay stable. DDIM eta = 1 is an
ancestral step in sigma space (sigma_up = sigma_ddim / sqrt(alpha_prev)); `sample_realcam_ddim`
takes it stably (x = denoised + sigma_down * eps + sigma_up * n, no x + d*dt cancellation) and takes
the terminal step as its alpha_bar -> 0 limit. DynamiCrafter's dynamic rescale (x0 *= s(t_next) /
s(t), ratio 1 on the last step) needs the next step: it reads `transformer_options["sample_sigmas"]`
in a post-CFG function, so KSampler & co. get it too.
"""

from __future__ import annotations

import math
from typing import Any

import comfy.k_diffusion.sampling as kds
import comfy.model_sampling
import comfy.utils
import torch
from torch import nn

from ..realcam_core.errors import require
from ..realcam_core.model import DiffusionConfig, Schedule, rescale_guidance

ZSNR_TERMINAL_ALPHA = 4.8973451890853435e-08  # ComfyUI's finite alpha-bar for zero-terminal-SNR schedules


# ---------------------------------------------------------------------------------- sampling
class RealCamSampling(comfy.model_sampling.ModelSamplingDiscrete):
    """Discrete VP sigmas from upstream's schedule (float32 alpha-bar), plus the dynamic-rescale table."""

    def __init__(self, diffusion: DiffusionConfig):
        nn.Module.__init__(self)
        sched = Schedule(diffusion)
        ac = sched.alphas_cumprod.double().clone()
        if diffusion.zero_terminal_snr:
            ac[-1] = ZSNR_TERMINAL_ALPHA
        self.num_timesteps = diffusion.num_timesteps
        self.linear_start, self.linear_end = diffusion.linear_start, diffusion.linear_end
        self.zsnr = diffusion.zero_terminal_snr
        self.zero_terminal_snr = diffusion.zero_terminal_snr
        self.sigma_data = 1.0
        self.set_sigmas(((1.0 - ac) / ac).sqrt())
        self.scale_arr = sched.scale_arr  # (turning + N,) or None; indexed by timestep

    def rescale_ratio(self, sigma: float | torch.Tensor, sample_sigmas: torch.Tensor | None) -> float:
        """Dynamic rescale factor s(t_next) / s(t) for a model call at `sigma` (1 when off / last step)."""
        if self.scale_arr is None or sample_sigmas is None:
            return 1.0
        sig = [float(v) for v in sample_sigmas.flatten().tolist()]
        s = float(sigma)
        if s <= 0 or len(sig) < 3:
            return 1.0
        cands = [i for i in range(len(sig) - 1) if sig[i] > 0]
        i = min(cands, key=lambda j: abs(math.log(sig[j]) - math.log(s)))
        if i + 1 >= len(sig) - 1 or sig[i + 1] <= 0:  # the schedule's last step: upstream uses ratio 1
            return 1.0
        t = int(self.timestep(torch.tensor([s], dtype=torch.float32))[0])
        tn = int(self.timestep(torch.tensor([sig[i + 1]], dtype=torch.float32))[0])
        return float(self.scale_arr[tn] / self.scale_arr[t])


class RealCamSamplingEPS(RealCamSampling, comfy.model_sampling.EPS):
    pass


class RealCamSamplingV(RealCamSampling, comfy.model_sampling.V_PREDICTION):
    pass


def make_model_sampling(diffusion: DiffusionConfig) -> RealCamSampling:
    cls = RealCamSamplingV if diffusion.parameterization == "v" else RealCamSamplingEPS
    return cls(diffusion)


def dynamic_rescale_post_cfg(args: dict) -> torch.Tensor:
    """Post-CFG: x0 *= s(t_next) / s(t) (DynamiCrafter 512), the next step from `sample_sigmas`."""
    ms = args["model"].model_sampling
    sample_sigmas = args["model_options"].get("transformer_options", {}).get("sample_sigmas")
    r = ms.rescale_ratio(args["sigma"].flatten()[0], sample_sigmas) if hasattr(ms, "rescale_ratio") else 1.0
    return args["denoised"] if r == 1.0 else args["denoised"] * r


def _to_model_output(x0: torch.Tensor, x: torch.Tensor, sigma: torch.Tensor, v_pred: bool) -> torch.Tensor:
    """Denoised x0 at sampler state x (sigma space) -> the model's output space (eps or v)."""
    eps = (x - x0) / sigma
    return (eps - sigma * x0) / torch.sqrt(1.0 + sigma**2) if v_pred else eps


def _from_model_output(o: torch.Tensor, x: torch.Tensor, sigma: torch.Tensor, v_pred: bool) -> torch.Tensor:
    if v_pred:
        return x / (1.0 + sigma**2) - sigma * o / torch.sqrt(1.0 + sigma**2)
    return x - sigma * o


def guidance_rescale_cfg(phi: float, frames: int):
    """sampler_cfg_function: CFG then upstream's guidance rescale phi on the model output (eps / v).

    std over each video's frames, channels and pixels (unbiased), as upstream on (B, C, T, h, w).
    """

    def fn(args: dict) -> torch.Tensor:
        x, s = args["input"], args["sigma"]
        ms = args["model"].model_sampling
        v_pred = isinstance(ms, comfy.model_sampling.V_PREDICTION)
        sigma = s.reshape(-1, *([1] * (x.ndim - 1))).to(x)
        o_c = _to_model_output(args["cond_denoised"], x, sigma, v_pred)
        o_u = _to_model_output(args["uncond_denoised"], x, sigma, v_pred)
        o = o_u + args["cond_scale"] * (o_c - o_u)
        if phi > 0:
            b = max(x.shape[0] // max(frames, 1), 1)  # frames-as-batch -> one row per video
            o = rescale_guidance(o.reshape(b, -1), o_c.reshape(b, -1), phi).reshape(o.shape)
        return x - _from_model_output(o, x, sigma, v_pred)

    return fn


def _model_sampling_of(model: Any):
    """The BaseModel's model_sampling behind k-diffusion's model wrapper chain, or None."""
    m = model
    for _ in range(4):
        if hasattr(m, "model_sampling"):
            return m.model_sampling
        m = getattr(m, "inner_model", None)
        if m is None:
            return None
    return None


def ddim_ancestral_sigmas(sigma: float, sigma_next: float, eta: float, terminal: bool) -> tuple[float, float]:
    """(sigma_down, sigma_up) of a DDIM(eta) step in sigma space; `terminal` = alpha_bar(t) -> 0 limit."""
    if sigma_next <= 0:
        return 0.0, 0.0
    if terminal:
        up = min(sigma_next, eta * sigma_next)
    else:
        up = min(sigma_next, eta * math.sqrt(max(sigma_next**2 * (sigma**2 - sigma_next**2) / sigma**2, 0.0)))
    return math.sqrt(max(sigma_next**2 - up**2, 0.0)), up


DDIM_ETA_OPTION = "realcam_ddim_eta"  # model_options key: RealCam Sampler's eta for realcam_ddim (KSampler: 1)


@torch.no_grad()
def sample_realcam_ddim(model, x, sigmas, extra_args=None, callback=None, disable=None, eta=None, s_noise=1.0,
                        noise_sampler=None):
    """Upstream DDIM as a k-diffusion sampler (core's `realcam_ddim`); exact at a zero-SNR first step.

    eta: given, else the model's `model_options[DDIM_ETA_OPTION]` (set by RealCam Sampler), else upstream's 1.
    eps comes from the un-rescaled x0 (upstream computes e_t before its dynamic rescale), x0 is the
    rescaled one, so with `dynamic_rescale_post_cfg` the step equals upstream's.
    """
    extra_args = {} if extra_args is None else extra_args
    if eta is None:
        eta = float(extra_args.get("model_options", {}).get(DDIM_ETA_OPTION, 1.0))
    noise_sampler = kds.default_noise_sampler(x, seed=extra_args.get("seed")) if noise_sampler is None else noise_sampler
    ms = _model_sampling_of(model)
    sample_sigmas = extra_args.get("model_options", {}).get("transformer_options", {}).get("sample_sigmas", sigmas)
    zsnr = bool(getattr(ms, "zero_terminal_snr", False))
    s_max = float(ms.sigma_max) if ms is not None else float("inf")
    s_in = x.new_ones([x.shape[0]])
    for i in kds.trange(len(sigmas) - 1, disable=disable):
        s, s_next = float(sigmas[i]), float(sigmas[i + 1])
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        if s_next <= 0:
            x = denoised
            continue
        r = ms.rescale_ratio(s, sample_sigmas) if hasattr(ms, "rescale_ratio") else 1.0
        eps = (x - denoised / r) / s
        down, up = ddim_ancestral_sigmas(s, s_next, eta, zsnr and s >= s_max * (1 - 1e-4))
        x = denoised + down * eps
        if up > 0:
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * (s_noise * up)
    return x


def upstream_schedule(model_sampling: RealCamSampling, steps: int) -> torch.Tensor:
    """(steps + 1,) sigmas of upstream's DDIM: trailing timesteps, then alpha_bar(0) (not 0), as upstream."""
    from ..realcam_core.model import ddim_timesteps

    ts = ddim_timesteps(steps, model_sampling.num_timesteps).flip(0).tolist() + [0]
    return torch.stack([model_sampling.sigmas[t] for t in ts]).float()


def trailing_scheduler(model_sampling, steps: int) -> torch.Tensor:
    """Core scheduler `realcam_trailing`: `upstream_schedule` for discrete-timestep models."""
    require(hasattr(model_sampling, "num_timesteps"), "scheduler",
            "a discrete-timestep model for realcam_trailing (upstream's DDPM steps)", type(model_sampling).__name__)
    return upstream_schedule(model_sampling, steps)


def vp_latent(latent: torch.Tensor, sigma: float) -> torch.Tensor:
    """A sampler state at sigma > 0 (x0 + sigma eps) -> upstream's VP latent x_t = x~ sqrt(alpha_bar)."""
    return latent / math.sqrt(1.0 + float(sigma) ** 2)


# ---------------------------------------------------------------------------------- the sampler node's parts
DDIM = "realcam_ddim"
TRAILING = "realcam_trailing"


def paste_kept(samples: torch.Tensor, latent: torch.Tensor, noise_mask: torch.Tensor | None) -> torch.Tensor:
    """Where `noise_mask` is 0 the input latent comes back exactly (upstream's final overlap paste).

    The mask keeps those frames during sampling, but a schedule that stops at sigma > 0 (realcam_trailing ends
    at alpha_bar(0) < 1) leaves them with a trace of noise and the VP rescale. samples, latent (B, C, h, w);
    noise_mask broadcastable as core's (frames-as-batch (T, 1, h, w) for continuation). Soft (0 < m < 1) mask
    values are left to core sampling.
    """
    if noise_mask is None:
        return samples
    keep = comfy.utils.reshape_mask(noise_mask.float(), samples.shape).to(samples.device) == 0
    return torch.where(keep, latent.to(samples), samples)


def check_preview(preview_frames, samples: torch.Tensor, frames: int) -> None:
    """The preview must match the video latent (frames, 8x its size) before the mask is looked at."""
    require(torch.is_tensor(preview_frames) and preview_frames.ndim == 4, "preview_frames",
            "an IMAGE batch (frames, H, W, 3)", getattr(preview_frames, "shape", type(preview_frames).__name__))
    h, w = int(samples.shape[-2]) * 8, int(samples.shape[-1]) * 8
    require(preview_frames.shape[0] == frames, "preview_frames",
            f"{frames} frames (the latent's length, one preview frame per video frame)",
            f"{preview_frames.shape[0]} frames")
    require(tuple(preview_frames.shape[1:3]) == (h, w), "preview_frames",
            f"{w}x{h} pixels (the latent's size x 8; render the preview at the video size)",
            f"{preview_frames.shape[2]}x{preview_frames.shape[1]}")
