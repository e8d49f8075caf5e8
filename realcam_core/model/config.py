"""Architecture of the RealCam-I2V model, read from its state dict.

Everything the weights can tell (widths, levels, heads through `init_attn`, temporal length through
the pose encoder's position table, learnable image-attention `alpha`, fs embedding, camera modules)
is inferred here; what they cannot tell (diffusion parameterisation, schedule, which epipolar
levels are masked, Resampler / pose-encoder head counts) comes from a variant preset or explicit
overrides. Keys are the UNet's own names (upstream's `model.diffusion_model.` stripped, the pose
encoder under `pose_encoder.`) and the Resampler's own names (`image_proj_model.` stripped); see
`loading.py` for the renames.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from ..errors import input_error, require

TEXT_TOKENS = 77


@dataclass(frozen=True)
class PoseEncoderConfig:
    """CameraPoseEncoder: pixel-unshuffle, conv_in, then per level `nums_rb` ResNet + temporal blocks."""

    cin: int
    downscale: int
    channels: tuple[int, ...]
    nums_rb: int
    ksize: int = 1
    heads: int = 8
    max_len: int = 16


@dataclass(frozen=True)
class ResamplerConfig:
    """Perceiver resampler turning CLIP vision tokens into `num_queries` tokens per frame."""

    dim: int
    depth: int
    heads: int
    dim_head: int
    num_queries: int
    video_length: int
    embedding_dim: int
    output_dim: int
    ff_mult: int = 4


@dataclass(frozen=True)
class UNetConfig:
    """DynamiCrafter 3D UNet plus the CamI2V camera modules (hyper-parameters in upstream's terms)."""

    in_channels: int = 8
    out_channels: int = 4
    model_channels: int = 320
    channel_mult: tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = (4, 2, 1)
    num_head_channels: int = 64
    transformer_depth: int = 1
    context_dim: int = 1024
    use_linear: bool = True
    temporal_conv: bool = True
    temporal_attention: bool = True
    addition_attention: bool = True
    image_cross_attention: bool = True
    image_cross_attention_learnable: bool = True
    fs_condition: bool = True
    default_fs: int = 3
    temporal_length: int = 16
    image_tokens_per_frame: int = 16
    pluker_projection: bool = True
    epipolar: bool = True
    num_register_tokens: int = 4
    # Pixel downsampling factors d (image / feature map) whose epipolar attention is masked;
    # any other level runs full (unmasked) 3D attention, as upstream does.
    epipolar_mask_factors: tuple[int, ...] = (8, 16, 32, 64)
    pose_encoder: PoseEncoderConfig | None = None

    @property
    def has_camera(self) -> bool:
        return self.pose_encoder is not None and (self.pluker_projection or self.epipolar)


@dataclass(frozen=True)
class DiffusionConfig:
    """Diffusion settings the weights cannot tell (ARCHITECTURE §4: 256 = eps, 512 = v + zero-SNR + rescale)."""

    parameterization: str = "eps"
    zero_terminal_snr: bool = False
    dynamic_rescale: bool = False
    base_scale: float = 0.7
    turning_step: int = 400
    linear_start: float = 0.00085
    linear_end: float = 0.012
    num_timesteps: int = 1000
    fs_type: str = "fs"  # "fs": frame stride; "fps": 29.97 // stride (upstream 512)
    default_fs: int = 3


@dataclass(frozen=True)
class VariantPreset:
    """Settings of one released RealCam-I2V resolution that the weights do not carry."""

    name: str
    image_size: tuple[int, int]  # (H, W) pixels
    diffusion: DiffusionConfig
    epipolar_mask_factors: tuple[int, ...]
    resampler_dim_head: int = 64
    pose_heads: int = 8


VARIANT_256 = VariantPreset(
    name="256",
    image_size=(256, 256),
    diffusion=DiffusionConfig(parameterization="eps", fs_type="fs", default_fs=3),
    epipolar_mask_factors=(8, 16, 32, 64),
)
VARIANT_512 = VariantPreset(
    name="512",
    image_size=(320, 512),
    diffusion=DiffusionConfig(
        parameterization="v", zero_terminal_snr=True, dynamic_rescale=True, base_scale=0.7, fs_type="fps", default_fs=10
    ),
    # Upstream has no d = 8 mask for 512x320: that level is full 3D attention (trained that way).
    epipolar_mask_factors=(16, 32, 64),
)
VARIANTS = {"256": VARIANT_256, "512": VARIANT_512}


@dataclass(frozen=True)
class RealCamConfig:
    """Everything needed to build and run the model."""

    unet: UNetConfig
    resampler: ResamplerConfig | None
    diffusion: DiffusionConfig
    image_size: tuple[int, int] | None = None
    variant: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def _shape(sd: Mapping[str, torch.Tensor], key: str) -> tuple[int, ...]:
    if key not in sd:
        raise input_error("state dict", f"key '{key}' (needed to infer the architecture)", "missing")
    return tuple(sd[key].shape)


def _indices(sd: Mapping[str, torch.Tensor], pattern: str) -> list[int]:
    rx = re.compile(pattern)
    found = {int(m.group(1)) for k in sd for m in [rx.match(k)] if m}
    return sorted(found)


def infer_pose_encoder_config(sd: Mapping[str, torch.Tensor], heads: int = 8) -> PoseEncoderConfig | None:
    """Pose encoder hyper-parameters from `pose_encoder.*` keys (None when absent)."""
    if "pose_encoder.encoder_conv_in.weight" not in sd:
        return None
    require(
        not any(k.startswith("pose_encoder.") and ".skep." in k for k in sd),
        "pose_encoder",
        "the released configuration (sk=True, no skep convolutions)",
        "skep keys",
    )
    cin = _shape(sd, "pose_encoder.encoder_conv_in.weight")[1]
    down = math.isqrt(cin // 6)
    require(down * down * 6 == cin, "pose_encoder.encoder_conv_in", "6 * d^2 input channels (Plücker x unshuffle)", cin)
    levels = _indices(sd, r"pose_encoder\.encoder_down_conv_blocks\.(\d+)\.")
    nums_rb = len(_indices(sd, r"pose_encoder\.encoder_down_conv_blocks\.0\.(\d+)\."))
    channels = tuple(
        _shape(sd, f"pose_encoder.encoder_down_conv_blocks.{i}.{nums_rb - 1}.block2.weight")[0] for i in levels
    )
    ksize = _shape(sd, "pose_encoder.encoder_down_conv_blocks.0.0.block2.weight")[-1]
    pe = _shape(sd, "pose_encoder.encoder_down_attention_blocks.0.0.attention_blocks.0.pos_encoder.pe")
    for c in channels:
        require(c % heads == 0, "pose encoder heads", f"a divisor of every level width {channels}", heads)
    return PoseEncoderConfig(cin=cin, downscale=down, channels=channels, nums_rb=nums_rb, ksize=ksize, heads=heads,
                             max_len=pe[1])


def infer_unet_config(
    sd: Mapping[str, torch.Tensor],
    *,
    default_fs: int = 3,
    epipolar_mask_factors: tuple[int, ...] = (8, 16, 32, 64),
    pose_heads: int = 8,
    temporal_length: int | None = None,
    image_tokens_per_frame: int | None = None,
) -> UNetConfig:
    """UNet hyper-parameters from the UNet's own keys (prefix `model.diffusion_model.` already stripped).

    `temporal_length` defaults to the pose encoder's position-table length (16 when absent);
    `image_tokens_per_frame` to 16 (upstream's hard-coded per-frame split).
    """
    w0 = _shape(sd, "input_blocks.0.0.weight")
    require(len(w0) == 4, "input_blocks.0.0.weight", "a 2D conv weight (C, C_in, 3, 3)", w0)
    mc, cin = w0[0], w0[1]
    cout = _shape(sd, "out.2.weight")[0]
    blocks = _indices(sd, r"input_blocks\.(\d+)\.")
    # Walk the input blocks: a block with `.0.op.weight` is a downsample and closes a level.
    mult: list[int] = []
    res_per_level: list[int] = []
    attn_ds: set[int] = set()
    temporal = False
    ds, count, width = 1, 0, mc
    for i in blocks[1:]:
        if f"input_blocks.{i}.0.op.weight" in sd:
            mult.append(width // mc)
            res_per_level.append(count)
            count, ds = 0, ds * 2
            continue
        width = _shape(sd, f"input_blocks.{i}.0.out_layers.3.weight")[0]
        count += 1
        if f"input_blocks.{i}.1.norm.weight" in sd:
            attn_ds.add(ds)
        if f"input_blocks.{i}.2.norm.weight" in sd:
            temporal = True
    mult.append(width // mc)
    res_per_level.append(count)
    require(len(set(res_per_level)) == 1, "state dict", "the same number of ResBlocks on every level", res_per_level)
    # Spatial transformer probe: the first block with attention.
    probe = next((f"input_blocks.{i}.1" for i in blocks if f"input_blocks.{i}.1.norm.weight" in sd), "middle_block.1")
    depth = len(_indices(sd, re.escape(probe) + r"\.transformer_blocks\.(\d+)\."))
    ctx_dim = _shape(sd, f"{probe}.transformer_blocks.0.attn2.to_k.weight")[1]
    use_linear = len(_shape(sd, f"{probe}.proj_in.weight")) == 2
    ip = f"{probe}.transformer_blocks.0.attn2.to_k_ip.weight" in sd
    alpha = f"{probe}.transformer_blocks.0.attn2.alpha" in sd
    addition = "init_attn.0.proj_in.weight" in sd
    # init_attn has 8 heads of `num_head_channels` each (upstream hard-codes n_heads=8 there).
    head_ch = _shape(sd, "init_attn.0.proj_in.weight")[0] // 8 if addition else 64
    pose = infer_pose_encoder_config(sd, heads=pose_heads)
    t_len = temporal_length or (pose.max_len if pose else 16)
    tprobe = "middle_block.2.transformer_blocks.0"
    pluker = f"{tprobe}.pluker_projection.weight" in sd
    epi = f"{tprobe}.epipolar.epipolar_attn.to_q.weight" in sd
    n_reg = _shape(sd, f"{tprobe}.epipolar.epipolar_attn.register_tokens")[1] if epi else 0
    fs_cond = "fps_embedding.0.weight" in sd or "framestride_embed.0.weight" in sd
    cfg = UNetConfig(
        in_channels=cin,
        out_channels=cout,
        model_channels=mc,
        channel_mult=tuple(mult),
        num_res_blocks=res_per_level[0],
        attention_resolutions=tuple(sorted(attn_ds, reverse=True)),
        num_head_channels=head_ch,
        transformer_depth=max(depth, 1),
        context_dim=ctx_dim,
        use_linear=use_linear,
        temporal_conv=any(".temopral_conv." in k for k in sd),
        temporal_attention=temporal,
        addition_attention=addition,
        image_cross_attention=ip,
        image_cross_attention_learnable=alpha,
        fs_condition=fs_cond,
        default_fs=default_fs,
        temporal_length=t_len,
        image_tokens_per_frame=image_tokens_per_frame or 16,
        pluker_projection=pluker,
        epipolar=epi,
        num_register_tokens=n_reg,
        epipolar_mask_factors=tuple(epipolar_mask_factors),
        pose_encoder=pose if (pluker or epi) else None,
    )
    for m in cfg.channel_mult:
        require((m * mc) % head_ch == 0, "num_head_channels", f"a divisor of every level width (level {m * mc})", head_ch)
    return cfg


def infer_resampler_config(
    sd: Mapping[str, torch.Tensor], *, video_length: int = 16, dim_head: int = 64, heads: int | None = None
) -> ResamplerConfig | None:
    """Resampler hyper-parameters from its own keys (prefix `image_proj_model.` stripped); None when absent.

    The head split of `to_q` is not in the weights: `heads` wins when given, else `dim_head` (64 upstream).
    """
    if "latents" not in sd:
        return None
    _, n_lat, dim = _shape(sd, "latents")
    inner = _shape(sd, "layers.0.0.to_q.weight")[0]
    if heads is not None:
        require(inner % heads == 0, "resampler heads", f"a divisor of the attention width {inner}", heads)
        dim_head = inner // heads
    require(inner % dim_head == 0, "resampler dim_head", f"a divisor of the attention width {inner}", dim_head)
    require(n_lat % video_length == 0, "resampler latents", f"a multiple of the frame count {video_length}", n_lat)
    return ResamplerConfig(
        dim=dim,
        depth=len(_indices(sd, r"layers\.(\d+)\.")),
        heads=inner // dim_head,
        dim_head=dim_head,
        num_queries=n_lat // video_length,
        video_length=video_length,
        embedding_dim=_shape(sd, "proj_in.weight")[1],
        output_dim=_shape(sd, "proj_out.weight")[0],
        ff_mult=_shape(sd, "layers.0.1.1.weight")[0] // dim,
    )


def preset_config(variant: str) -> RealCamConfig:
    """Full-size configuration of a released variant without weights (e.g. to build on the meta device)."""
    require(variant in VARIANTS, "variant", f"one of {sorted(VARIANTS)}", variant)
    p = VARIANTS[variant]
    pose = PoseEncoderConfig(cin=384, downscale=8, channels=(320, 640, 1280, 1280), nums_rb=2, ksize=1,
                             heads=p.pose_heads, max_len=16)
    unet = UNetConfig(image_cross_attention_learnable=(variant == "256"), default_fs=p.diffusion.default_fs,
                      epipolar_mask_factors=p.epipolar_mask_factors, pose_encoder=pose)
    res = ResamplerConfig(dim=1024, depth=4, heads=12, dim_head=64, num_queries=16, video_length=16,
                          embedding_dim=1280, output_dim=1024, ff_mult=4)
    return RealCamConfig(unet, res, p.diffusion, p.image_size, variant)
