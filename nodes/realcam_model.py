"""RealCam-I2V as a native ComfyUI model (ARCHITECTURE §4): BaseModel, model config, model sampling, sampler.

Layout. LATENTs are frames-as-batch `(B*T, 4, h, w)`, as core's SVD: the RealCam VAE is the 2D SD
KL-f8, so core VAEEncode / VAEDecode / latent previews work on them unchanged. The diffusion model
folds them back to `(B, 4, T, h, w)`; T comes with the conditioning (`realcam_frames`).

Conditioning (all inside CONDITIONING, set by RealCamImageToVideo; no batch-size heuristics):
  concat_latent_image  (1, 4, h, w) raw VAE latent of the conditioning frame (repeated over frames)
  realcam_image_tokens (1, 257, 1280) CLIP-vision last hidden state (Resampler input)
  realcam_camera       CameraCondition, one camera per video: c2w (1, T, 4, 4), K pixels (1, T, 3, 3)
  realcam_frame_stride int frame stride; the model turns it into its fs value (256: stride, 512: 29.97 // stride)
  realcam_fs           int fs value given directly (wins over the stride)
  realcam_frames       int T

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

import comfy.conds
import comfy.k_diffusion.sampling as kds
import comfy.latent_formats
import comfy.model_base
import comfy.model_management as mm
import comfy.model_patcher
import comfy.model_sampling
import comfy.supported_models_base
import comfy.utils
import torch
from torch import nn

from ..realcam_core.errors import RealCamInputError, require
from ..realcam_core.model import (
    CameraCondition,
    DiffusionConfig,
    RealCamConfig,
    Schedule,
    build_models,
    rescale_guidance,
)
from ..realcam_core.model.loading import fill_models

ZSNR_TERMINAL_ALPHA = 4.8973451890853435e-08  # ComfyUI's finite alpha-bar for zero-terminal-SNR schedules

KEY_IMAGE = "realcam_image_tokens"
KEY_CAMERA = "realcam_camera"
KEY_FS = "realcam_fs"
KEY_STRIDE = "realcam_frame_stride"
KEY_FRAMES = "realcam_frames"
KEY_CONCAT = "concat_latent_image"


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


@torch.no_grad()
def sample_realcam_ddim(model, x, sigmas, extra_args=None, callback=None, disable=None, eta=1.0, s_noise=1.0,
                        noise_sampler=None):
    """Upstream DDIM (eta = 1 by default) as a k-diffusion sampler; exact at a zero-SNR first step.

    eps comes from the un-rescaled x0 (upstream computes e_t before its dynamic rescale), x0 is the
    rescaled one, so with `dynamic_rescale_post_cfg` the step equals upstream's.
    """
    extra_args = {} if extra_args is None else extra_args
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


def vp_latent(latent: torch.Tensor, sigma: float) -> torch.Tensor:
    """A sampler state at sigma > 0 (x0 + sigma eps) -> upstream's VP latent x_t = x~ sqrt(alpha_bar)."""
    return latent / math.sqrt(1.0 + float(sigma) ** 2)


# ---------------------------------------------------------------------------------- conds
class CONDCamera(comfy.conds.CONDRegular):
    """A CameraCondition, one camera per video, batched like frames-as-batch latents."""

    def process_cond(self, batch_size: int, **kwargs: Any) -> CONDCamera:
        cam: CameraCondition = self.cond
        t = cam.c2w_rel.shape[1]
        require(batch_size % t == 0, "latent", f"a batch that is a whole number of {t}-frame videos (the camera's)",
                batch_size)
        videos = batch_size // t
        if cam.c2w_rel.shape[0] == videos:
            return self._copy_with(cam)
        rep = comfy.utils.repeat_to_batch_size
        tp = None if cam.t_pairs is None else rep(cam.t_pairs, videos)
        return self._copy_with(CameraCondition(rep(cam.c2w_rel, videos), rep(cam.K, videos), tuple(cam.image_size),
                                               cam.seed, tp))

    def can_concat(self, other: CONDCamera) -> bool:
        a, b = self.cond, other.cond
        return (tuple(a.image_size) == tuple(b.image_size) and a.seed == b.seed
                and a.c2w_rel.shape[1:] == b.c2w_rel.shape[1:] and (a.t_pairs is None) == (b.t_pairs is None))

    def concat(self, others: list[CONDCamera]) -> CameraCondition:
        cams = [self.cond] + [o.cond for o in others]
        tp = None if cams[0].t_pairs is None else torch.cat([c.t_pairs for c in cams])
        return CameraCondition(torch.cat([c.c2w_rel for c in cams]), torch.cat([c.K for c in cams]),
                               tuple(cams[0].image_size), cams[0].seed, tp)

    def size(self) -> list[int]:
        return list(self.cond.c2w_rel.shape)


# ---------------------------------------------------------------------------------- the model
class RealCamLatentFormat(comfy.latent_formats.SD15):
    """SD KL-f8 latents (x 0.18215), frames as batch."""


class RealCamDiffusion(nn.Module):
    """UNet + Resampler as BaseModel's `diffusion_model`: folds frames-as-batch into (B, C, T, h, w)."""

    def __init__(self, realcam: RealCamConfig, dtype: torch.dtype | None = None, device: Any = None,
                 operations: Any = nn, **_: Any) -> None:
        super().__init__()
        self.cfg = realcam
        self.dtype = dtype or torch.float32
        self.unet, self.resampler = build_models(realcam, operations=operations, dtype=dtype, device=device)

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor | None = None,
                control: Any = None, transformer_options: dict | None = None, **kw: Any) -> torch.Tensor:
        """x (B*T, C_in, h, w), timesteps (B*T,), context (B*T, 77, D) -> (B*T, C_out, h, w)."""
        frames = kw.get(KEY_FRAMES)
        require(frames is not None, "conditioning", "RealCam conditioning (RealCam Image To Video)", "none")
        t = int(frames)
        require(x.shape[0] % t == 0, "latent", f"a batch of whole {t}-frame videos", x.shape[0])
        b = x.shape[0] // t
        xv = x.reshape(b, t, *x.shape[1:]).transpose(1, 2)
        ctx = context[::t] if context is not None else None
        img = kw.get(KEY_IMAGE)
        if img is not None and self.resampler is not None:
            tokens = self.resampler(img[::t].to(ctx.dtype if ctx is not None else x.dtype))
            ctx = tokens if ctx is None else torch.cat([ctx, tokens.to(ctx.dtype)], dim=1)
        fs = kw.get(KEY_FS)
        fs_t = None if fs is None else torch.full((b,), int(fs), device=x.device)
        out = self.unet(xv, timesteps[::t], ctx, fs_t, kw.get(KEY_CAMERA), control=control,
                        transformer_options=transformer_options)
        return out.transpose(1, 2).reshape(b * t, *out.shape[1:2], *out.shape[3:])


class RealCamModelConfig(comfy.supported_models_base.BASE):
    """Model config of one loaded checkpoint (the architecture is the inferred RealCamConfig)."""

    unet_config: dict = {}
    unet_extra_config: dict = {}
    latent_format = RealCamLatentFormat
    memory_usage_factor = 2.0
    supported_inference_dtypes = [torch.float16, torch.bfloat16, torch.float32]

    def __init__(self, realcam: RealCamConfig):
        super().__init__({"realcam": realcam})
        self.realcam = realcam


class RealCamModel(comfy.model_base.BaseModel):
    """The RealCam-I2V denoiser as a core model: eps (256) or v + zero-SNR (512) discrete sampling."""

    def __init__(self, model_config: RealCamModelConfig, device: Any = None):
        diff = model_config.realcam.diffusion
        mtype = comfy.model_base.ModelType.V_PREDICTION if diff.parameterization == "v" else \
            comfy.model_base.ModelType.EPS
        super().__init__(model_config, mtype, device=device, unet_model=RealCamDiffusion)
        self.model_sampling = make_model_sampling(diff)
        self.realcam = model_config.realcam

    def extra_conds(self, **kwargs: Any) -> dict:
        out = {}
        noise = kwargs["noise"]
        require(noise.ndim == 4, "latent", "a RealCam video latent (frames, 4, h, w) from RealCam Image To Video",
                tuple(noise.shape))
        cfg = self.realcam
        frames = kwargs.get(KEY_FRAMES)
        if frames is None:
            raise RealCamInputError("positive/negative: expected conditioning from RealCam Image To Video "
                                    "(it carries the image latent, image tokens and camera), got plain conditioning")
        if cfg.image_size is not None:
            hw = (noise.shape[-2] * 8, noise.shape[-1] * 8)
            require(hw == tuple(cfg.image_size), "width/height",
                    f"{cfg.image_size[1]}x{cfg.image_size[0]}, the resolution this checkpoint was trained for",
                    f"{hw[1]}x{hw[0]}")
        if cfg.resampler is not None:
            require(int(frames) == cfg.resampler.video_length, "length",
                    f"{cfg.resampler.video_length} frames (the checkpoint's)", frames)
        cross = kwargs.get("cross_attn")
        if cross is not None:
            out["c_crossattn"] = comfy.conds.CONDCrossAttn(cross)
        concat = kwargs.get(KEY_CONCAT)
        if concat is not None:
            lat = self.process_latent_in(concat.to(noise.device, noise.dtype))
            require(tuple(lat.shape[1:]) == tuple(noise.shape[1:]), "concat latent",
                    f"the video latent's channels and size {tuple(noise.shape[1:])}", tuple(lat.shape[1:]))
            out["c_concat"] = comfy.conds.CONDNoiseShape(comfy.utils.repeat_to_batch_size(lat, noise.shape[0]))
        img = kwargs.get(KEY_IMAGE)
        if img is not None:
            out[KEY_IMAGE] = comfy.conds.CONDRegular(img)
        cam = kwargs.get(KEY_CAMERA)
        if cam is not None:
            out[KEY_CAMERA] = CONDCamera(cam)
        fs = kwargs.get(KEY_FS)
        stride = kwargs.get(KEY_STRIDE)
        if fs is None and stride is not None:
            require(int(stride) >= 1, "frame_stride", "at least 1", stride)
            fs = int(29.97 // int(stride)) if cfg.diffusion.fs_type == "fps" else int(stride)
        if fs is not None:
            out[KEY_FS] = comfy.conds.CONDConstant(int(fs))
        out[KEY_FRAMES] = comfy.conds.CONDConstant(int(frames))
        return out


def build_model_patcher(sd: dict[str, torch.Tensor], cfg: RealCamConfig, dtype: torch.dtype | None = None,
                        ) -> comfy.model_patcher.ModelPatcher:
    """A ModelPatcher around a RealCamModel with the weights of canonical state dict `sd` loaded (strict).

    Memory-mapped `sd` tensors (`lazy_weights.open_weights`) are copied and released one at a time, so
    loading peaks at about the model's size (bench/loading.py, case `node`)."""
    mc = RealCamModelConfig(cfg)
    load_device, offload = mm.get_torch_device(), mm.unet_offload_device()
    n_params = sum(v.numel() for k, v in sd.items() if k.startswith(("model.diffusion_model.", "pose_encoder.",
                                                                      "image_proj_model.")))
    unet_dtype = dtype or mm.unet_dtype(model_params=n_params, supported_dtypes=mc.supported_inference_dtypes)
    mc.set_inference_dtype(unet_dtype, mm.unet_manual_cast(unet_dtype, load_device, mc.supported_inference_dtypes))
    model = RealCamModel(mc, device="meta")  # no initialised copy: the weights are filled in tensor by tensor
    model.device = offload
    fill_models(model.diffusion_model.unet, model.diffusion_model.resampler, sd, device=offload)
    patcher = comfy.model_patcher.ModelPatcher(model, load_device=load_device, offload_device=offload)
    if cfg.diffusion.dynamic_rescale:
        patcher.set_model_sampler_post_cfg_function(dynamic_rescale_post_cfg)
    return patcher
