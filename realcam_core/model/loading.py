"""State-dict handling for RealCam-I2V checkpoints (ARCHITECTURE §4).

Accepted inputs: the DynamiCrafter base checkpoint (Lightning `.ckpt` with `state_dict`) plus the
RealCam/CamI2V camera file (merged, camera file wins), or one merged file; `.safetensors`, or
`.ckpt` / `.pt` / `.pth` read with `torch.load(weights_only=True)` only.

Renames (upstream name -> ours):
  model.diffusion_model.X                  -> UNet X
  model.diffusion_model.framestride_embed.* -> UNet fps_embedding.*  (DynamiCrafter 256 base)
  pose_encoder.X                           -> UNet pose_encoder.X
  image_proj_model.X                       -> Resampler X
Everything else keeps upstream's names (including the `temopral_conv` typo). VAE / CLIP keys
(`first_stage_model.`, `cond_stage_model.`, `embedder.`) are passed through for the host to load.
Schedule buffers (`betas`, `alphas_cumprod`, `scale_arr`, ...) are ignored: the schedule is
recomputed from the variant's settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from ..errors import input_error, require
from ..weights.checkpoint import read_weights
from .config import (
    VARIANTS,
    DiffusionConfig,
    RealCamConfig,
    infer_resampler_config,
    infer_unet_config,
)
from .resampler import Resampler
from .unet import RealCamUNet

UNET_PREFIX = "model.diffusion_model."
POSE_PREFIX = "pose_encoder."
RESAMPLER_PREFIX = "image_proj_model."
PASS_THROUGH_PREFIXES = ("first_stage_model.", "cond_stage_model.", "embedder.", "depth_predictor.")
SCHEDULE_BUFFERS = frozenset({
    "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
    "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "scale_arr", "logvar",
    "lvlb_weights", "depth_predictor_normalizer_mean", "depth_predictor_normalizer_std",
})
BASE_PROBE = UNET_PREFIX + "input_blocks.0.0.weight"
CAMERA_MARKERS = (POSE_PREFIX, ".pluker_projection.", ".epipolar.epipolar_attn.")


def read_state_dict(path: str | os.PathLike, what: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Tensors of a `.safetensors` or `.ckpt/.pt/.pth` file (weights_only); a Lightning `state_dict` is unwrapped."""
    return read_weights(path, what)


def canonical_keys(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Upstream key names: strip `module.`, map `diffusion_model.` -> `model.diffusion_model.`,
    rename `framestride_embed` -> `fps_embedding`."""
    out: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if k.startswith("module."):
            k = k[len("module."):]
        if k.startswith("diffusion_model."):
            k = "model." + k
        k = k.replace(UNET_PREFIX + "framestride_embed.", UNET_PREFIX + "fps_embedding.")
        out[k] = v
    return out


@dataclass
class CheckpointInfo:
    """What a (canonical) state dict holds."""

    kind: str  # "full" (base UNet + camera), "camera_only", "base" (no camera modules), "unknown"
    variant: str | None  # "256" / "512" when the base UNet is present, else None
    evidence: list[str] = field(default_factory=list)


def classify_checkpoint(sd: Mapping[str, torch.Tensor]) -> CheckpointInfo:
    """Camera-only vs full vs base, and 256 vs 512 (only decidable from base keys).

    256: image-attention `attn2.alpha` scalars (learnable scale) / `framestride_embed` name;
    512: no alpha, `scale_arr` buffer (DynamiCrafter 512). Architecture is never read from file names.
    """
    has_base = BASE_PROBE in sd
    has_cam = any(k.startswith(POSE_PREFIX) or any(m in k for m in CAMERA_MARKERS[1:]) for k in sd)
    kind = "full" if has_base and has_cam else "camera_only" if has_cam else "base" if has_base else "unknown"
    evidence: list[str] = []
    variant = None
    if has_base:
        alpha = any(k.startswith(UNET_PREFIX) and k.endswith(".attn2.alpha") for k in sd)
        if alpha:
            evidence.append("attn2.alpha present (learnable image-attention scale: 256 model)")
        if "scale_arr" in sd:
            evidence.append("scale_arr present (dynamic rescale: 512 model)")
        variant = "256" if alpha else "512"
    return CheckpointInfo(kind, variant, evidence)


def merge_checkpoints(base: Mapping[str, torch.Tensor] | None,
                      camera: Mapping[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """base | camera on canonical keys (the camera file wins, as upstream's dict union)."""
    out = canonical_keys(base or {})
    out.update(canonical_keys(camera or {}))
    return out


@dataclass
class SplitStateDict:
    """A canonical upstream state dict split by destination module."""

    unet: dict[str, torch.Tensor]  # RealCamUNet keys (pose encoder under pose_encoder.)
    resampler: dict[str, torch.Tensor]  # Resampler keys
    passthrough: dict[str, torch.Tensor]  # VAE / CLIP / depth keys, upstream names
    ignored: list[str]  # schedule buffers and unknown keys


def split_state_dict(sd: Mapping[str, torch.Tensor]) -> SplitStateDict:
    sd = canonical_keys(sd)
    unet, res, other, ignored = {}, {}, {}, []
    for k, v in sd.items():
        if k.startswith(UNET_PREFIX):
            unet[k[len(UNET_PREFIX):]] = v
        elif k.startswith(POSE_PREFIX):
            unet[k] = v
        elif k.startswith(RESAMPLER_PREFIX):
            res[k[len(RESAMPLER_PREFIX):]] = v
        elif k.startswith(PASS_THROUGH_PREFIXES):
            other[k] = v
        else:
            ignored.append(k)
    return SplitStateDict(unet, res, other, ignored)


def unet_key_to_upstream(key: str) -> str:
    """Inverse of the UNet part of `split_state_dict`."""
    return key if key.startswith(POSE_PREFIX) else UNET_PREFIX + key


def resampler_key_to_upstream(key: str) -> str:
    return RESAMPLER_PREFIX + key


def infer_config(sd: Mapping[str, torch.Tensor], variant: str | None = None,
                 diffusion: DiffusionConfig | None = None, epipolar_mask_factors: tuple[int, ...] | None = None,
                 resampler_heads: int | None = None, resampler_dim_head: int | None = None,
                 pose_heads: int | None = None, image_size: tuple[int, int] | None = None) -> RealCamConfig:
    """Full config from a canonical upstream state dict; unspecified settings come from the variant preset
    (detected from the keys when `variant` is None)."""
    split = split_state_dict(sd)
    require(bool(split.unet), "state dict", f"UNet keys ({UNET_PREFIX}*)", "none")
    info = classify_checkpoint(canonical_keys(sd))
    name = variant or info.variant or "256"
    require(name in VARIANTS, "variant", f"one of {sorted(VARIANTS)}", name)
    preset = VARIANTS[name]
    diff = diffusion or preset.diffusion
    unet_cfg = infer_unet_config(
        split.unet,
        default_fs=diff.default_fs,
        epipolar_mask_factors=epipolar_mask_factors or preset.epipolar_mask_factors,
        pose_heads=pose_heads or preset.pose_heads,
    )
    res_cfg = infer_resampler_config(split.resampler, video_length=unet_cfg.temporal_length,
                                     dim_head=resampler_dim_head or preset.resampler_dim_head, heads=resampler_heads)
    if res_cfg is not None:
        unet_cfg = replace(unet_cfg, image_tokens_per_frame=res_cfg.num_queries)
    return RealCamConfig(unet_cfg, res_cfg, diff, image_size or preset.image_size, name, tuple(info.evidence))


@dataclass
class LoadReport:
    missing: list[str]
    unexpected: list[str]
    ignored: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unexpected


def build_models(cfg: RealCamConfig, operations: Any = torch.nn, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None) -> tuple[RealCamUNet, Resampler | None]:
    unet = RealCamUNet(cfg.unet, operations, dtype, device)
    res = Resampler(cfg.resampler, operations, dtype=dtype, device=device) if cfg.resampler else None
    return unet, res


def load_weights(unet: RealCamUNet, resampler: Resampler | None, sd: Mapping[str, torch.Tensor],
                 strict: bool = True) -> LoadReport:
    """Load a canonical upstream state dict into the modules; strict raises naming the first bad keys."""
    split = split_state_dict(sd)
    u = unet.load_state_dict(split.unet, strict=False)
    missing, unexpected = list(u.missing_keys), list(u.unexpected_keys)
    if resampler is not None:
        r = resampler.load_state_dict(split.resampler, strict=False)
        missing += [RESAMPLER_PREFIX + k for k in r.missing_keys]
        unexpected += [RESAMPLER_PREFIX + k for k in r.unexpected_keys]
    unet.clear_camera_cache()
    rep = LoadReport(missing, unexpected, split.ignored)
    if strict and not rep.ok:
        raise input_error("checkpoint", "every model key and no unknown ones",
                          f"missing {missing[:5]} ({len(missing)}), unexpected {unexpected[:5]} ({len(unexpected)})")
    return rep


@dataclass
class LoadedModels:
    """What `load_models` returns: the config, the two modules, the passthrough (VAE / CLIP / depth) tensors."""

    cfg: RealCamConfig
    unet: RealCamUNet
    resampler: Resampler | None
    passthrough: dict[str, torch.Tensor]
    ignored: list[str]


def load_models(base_path: str | os.PathLike | None, camera_path: str | os.PathLike | None = None, *,
                operations: Any = torch.nn, dtype: torch.dtype | None = None,
                device: torch.device | str | None = None, **infer: Any) -> LoadedModels:
    """Read, merge (camera file wins), configure and load, holding the weights about once in memory.

    The files are memory-mapped (`weights.lazy.open_weights`), the modules are built on the meta device
    and each tensor is copied into its module and released from the mapping in turn, so the peak is
    about the loaded model's size (bench/loading.py) instead of file + model. Same result, bit for bit,
    as `read_state_dict` + `build_models` + `load_weights`. `infer` goes to `infer_config`.
    """
    from ..weights.lazy import open_weights

    require(base_path is not None or camera_path is not None, "checkpoint", "a base or merged file", None)
    base = open_weights(base_path) if base_path is not None else None
    cam = open_weights(camera_path, "camera checkpoint") if camera_path is not None else None
    sd = merge_checkpoints(base, cam)
    del base, cam
    cfg = infer_config(sd, **infer)
    unet, res = build_models(cfg, operations, dtype, device="meta")
    rep = fill_models(unet, res, sd, device)
    passthrough = split_state_dict(sd).passthrough
    del sd
    return LoadedModels(cfg, unet, res, passthrough, rep.ignored)


def fill_models(unet: RealCamUNet, resampler: Resampler | None, sd: Mapping[str, torch.Tensor],
                device: torch.device | str | None = None) -> LoadReport:
    """Give meta-built modules their weights from canonical state dict `sd`, one tensor at a time (strict).

    The memory-light counterpart of `load_weights` (same tensors, same dtype casts, bit for bit): each
    tensor is copied into fresh memory on `device` (default CPU) and, when it comes from a memory-mapped
    file (`weights.lazy.open_weights`), its file pages are released at once, so the peak is about the
    model's size instead of model + file. `sd` itself keeps its entries (VAE / CLIP tensors in it stay
    usable; released model tensors read back from the file if touched). Used by `load_models` and by
    the ComfyUI loader node, whose model is built on the meta device for this.
    """
    from ..weights.lazy import materialize

    split = split_state_dict(sd)
    missing = materialize(unet, split.unet, lambda k: k, device)
    if resampler is not None:
        missing += [RESAMPLER_PREFIX + k for k in materialize(resampler, split.resampler, lambda k: k, device)]
    unexpected = [unet_key_to_upstream(k) for k in split.unet] + [RESAMPLER_PREFIX + k for k in split.resampler]
    if missing or unexpected:
        raise input_error("checkpoint", "every model key and no unknown ones",
                          f"missing {missing[:5]} ({len(missing)}), unexpected {unexpected[:5]} ({len(unexpected)})")
    unet.clear_camera_cache()
    return LoadReport(missing, unexpected, split.ignored)
