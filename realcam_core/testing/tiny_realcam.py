"""Tiny random-weight RealCam-I2V checkpoints in the real key layout (DynamiCrafter base + camera file).

The base file holds what a DynamiCrafter checkpoint holds for the denoiser: the UNet
(`model.diffusion_model.*`, `framestride_embed` at 256 as DynamiCrafter's 256 base, `fps_embedding`
and a `scale_arr` buffer at 512), the Resampler (`image_proj_model.*`) and the schedule buffers;
`.ckpt` files are Lightning-style `{"state_dict": ...}`. The camera file holds only the modules
CamI2V/RealCam add (`pose_encoder.*`, every `pluker_projection` / `epipolar.epipolar_attn`), as the
released `{256,512}_realcam-i2v_50k.safetensors`. With `parts=True` the base also holds a tiny VAE,
text encoder and image encoder in the real layout (`tiny_base_parts`), sized to the UNet's context
width and the Resampler's input width, so the loader's CLIP / CLIP_VISION / VAE outputs work too.

Resolution: a real checkpoint does not say what it was trained at (the variant preset does), so
tiny models, which must run small, carry a `realcam_image_size` tensor [H, W] that the loader honours.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from ..model.config import VARIANTS, PoseEncoderConfig, RealCamConfig, ResamplerConfig, UNetConfig
from ..model.loading import build_models, resampler_key_to_upstream, unet_key_to_upstream
from ..model.pairing import IMAGE_SIZE_KEY
from ..model.schedule import Schedule

CAMERA_MARKERS = (".pluker_projection.", ".epipolar.")


@dataclass(frozen=True)
class TinySpec:
    """Sizes of a tiny model: 2 UNet levels of width 32/64, 4 frames, 64x64 pixels by default."""

    variant: str = "512"
    frames: int = 4
    image_size: tuple[int, int] = (64, 64)
    clip_vision_width: int = 32
    context_dim: int = 32
    seed: int = 0


def tiny_config(spec: TinySpec = TinySpec()) -> RealCamConfig:
    preset = VARIANTS[spec.variant]
    pose = PoseEncoderConfig(cin=384, downscale=8, channels=(32, 64), nums_rb=1, ksize=1, heads=preset.pose_heads,
                             max_len=spec.frames)
    unet = UNetConfig(model_channels=32, channel_mult=(1, 2), num_res_blocks=1, attention_resolutions=(1, 2),
                      num_head_channels=16, context_dim=spec.context_dim, temporal_length=spec.frames,
                      image_tokens_per_frame=2, image_cross_attention_learnable=spec.variant == "256",
                      default_fs=preset.diffusion.default_fs, epipolar_mask_factors=preset.epipolar_mask_factors,
                      pose_encoder=pose)
    res = ResamplerConfig(dim=64, depth=1, heads=1, dim_head=preset.resampler_dim_head, num_queries=2,
                          video_length=spec.frames, embedding_dim=spec.clip_vision_width, output_dim=spec.context_dim,
                          ff_mult=2)
    return RealCamConfig(unet, res, preset.diffusion, spec.image_size, spec.variant)


def tiny_state_dict(spec: TinySpec = TinySpec()) -> dict[str, torch.Tensor]:
    """Full upstream-named state dict (base + camera + schedule buffers + resolution stamp), random weights."""
    cfg = tiny_config(spec)
    unet, res = build_models(cfg)
    gen = torch.Generator().manual_seed(spec.seed)
    out: dict[str, torch.Tensor] = {}
    for module, rename in ((unet, unet_key_to_upstream), (res, resampler_key_to_upstream)):
        params = dict(module.named_parameters())
        for k, v in module.state_dict().items():
            if k in params:  # buffers (position tables) keep their computed values
                scale = 0.2 if v.ndim > 1 else 0.05
                v = torch.randn(v.shape, generator=gen) * scale + (1.0 if k.endswith(("norm.weight", "0.weight"))
                                                                    and v.ndim == 1 else 0.0)
            out[rename(k)] = v.detach().clone().contiguous()
    if spec.variant == "256":
        out = {k.replace("model.diffusion_model.fps_embedding.", "model.diffusion_model.framestride_embed."): v
               for k, v in out.items()}
    sched = Schedule(cfg.diffusion)
    out["betas"], out["alphas_cumprod"] = sched.betas.clone(), sched.alphas_cumprod.clone()
    if sched.scale_arr is not None:
        out["scale_arr"] = sched.scale_arr.clone()
    out[IMAGE_SIZE_KEY] = torch.tensor(spec.image_size, dtype=torch.int64)
    return out


def is_camera_key(key: str) -> bool:
    return key.startswith("pose_encoder.") or any(m in key for m in CAMERA_MARKERS)


def split_base_camera(sd: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(DynamiCrafter base, camera-only) parts of a full state dict."""
    base = {k: v for k, v in sd.items() if not is_camera_key(k)}
    cam = {k: v for k, v in sd.items() if is_camera_key(k)}
    return base, cam


def save(sd: dict[str, torch.Tensor], path: str | os.PathLike) -> str:
    """`.safetensors` or Lightning-style `.ckpt` / `.pt` ({"state_dict": sd}), by extension."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if path.endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in sd.items()}, path)
    else:
        torch.save({"state_dict": sd, "global_step": 0}, path)
    return path


def write_tiny_realcam(folder: str | os.PathLike, spec: TinySpec = TinySpec(), base_name: str | None = None,
                       camera_name: str | None = None, parts: bool = False) -> tuple[str, str]:
    """Write `<variant>_dynamicrafter_tiny.ckpt` (base) and `<variant>_realcam-i2v_tiny.safetensors` (camera).

    parts: also write tiny `first_stage_model.*`, `cond_stage_model.model.*`, `embedder.model.*` into the base.
    """
    base, cam = split_base_camera(tiny_state_dict(spec))
    if parts:
        from .tiny_base_parts import tiny_parts

        base.update(tiny_parts(text_width=spec.context_dim, vision_width=spec.clip_vision_width, seed=spec.seed + 1))
    base_path = save(base, os.path.join(folder, base_name or f"{spec.variant}_dynamicrafter_tiny.ckpt"))
    cam_path = save(cam, os.path.join(folder, camera_name or f"{spec.variant}_realcam-i2v_tiny.safetensors"))
    return base_path, cam_path
