"""RealCam-I2V as a native ComfyUI model (ARCHITECTURE §4): latent format, BaseModel, model config.

Sampling (model sampling, DDIM, schedule) is in `sampling`; the conditioning keys in `conditioning`.
"""

from __future__ import annotations

from typing import Any

import comfy.conds
import comfy.latent_formats
import comfy.model_base
import comfy.model_management as mm
import comfy.model_patcher
import comfy.supported_models_base
import comfy.utils
import torch
from torch import nn

from ..realcam_core.errors import RealCamInputError, require
from ..realcam_core.model import RealCamConfig, build_models
from ..realcam_core.model.layout import frames_as_video, video_as_frames
from ..realcam_core.model.loading import POSE_PREFIX, RESAMPLER_PREFIX, UNET_PREFIX, fill_models
from .conditioning import KEY_CAMERA, KEY_CONCAT, KEY_FRAMES, KEY_FS, KEY_IMAGE, KEY_STRIDE, CONDCamera
from .sampling import dynamic_rescale_post_cfg, make_model_sampling


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
        xv = frames_as_video(x, t)
        b = xv.shape[0]
        ctx = context[::t] if context is not None else None
        img = kw.get(KEY_IMAGE)
        if img is not None and self.resampler is not None:
            tokens = self.resampler(img[::t].to(ctx.dtype if ctx is not None else x.dtype))
            ctx = tokens if ctx is None else torch.cat([ctx, tokens.to(ctx.dtype)], dim=1)
        fs = kw.get(KEY_FS)
        fs_t = None if fs is None else torch.full((b,), int(fs), device=x.device)
        out = self.unet(xv, timesteps[::t], ctx, fs_t, kw.get(KEY_CAMERA), control=control,
                        transformer_options=transformer_options)
        return video_as_frames(out)


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

    Memory-mapped `sd` tensors (`weights.lazy.open_weights`) are copied and released one at a time, so
    loading peaks at about the model's size (bench/loading.py, case `node`)."""
    mc = RealCamModelConfig(cfg)
    load_device, offload = mm.get_torch_device(), mm.unet_offload_device()
    n_params = sum(v.numel() for k, v in sd.items() if k.startswith((UNET_PREFIX, POSE_PREFIX, RESAMPLER_PREFIX)))
    unet_dtype = dtype or mm.unet_dtype(model_params=n_params, supported_dtypes=mc.supported_inference_dtypes)
    mc.set_inference_dtype(unet_dtype, mm.unet_manual_cast(unet_dtype, load_device, mc.supported_inference_dtypes))
    model = RealCamModel(mc, device="meta")  # no initialised copy: the weights are filled in tensor by tensor
    model.device = offload
    fill_models(model.diffusion_model.unet, model.diffusion_model.resampler, sd, device=offload)
    patcher = comfy.model_patcher.ModelPatcher(model, load_device=load_device, offload_device=offload)
    if cfg.diffusion.dynamic_rescale:
        patcher.set_model_sampler_post_cfg_function(dynamic_rescale_post_cfg)
    return patcher
