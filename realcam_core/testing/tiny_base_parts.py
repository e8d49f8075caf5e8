"""The VAE, text encoder and image encoder of a DynamiCrafter base checkpoint, in its real key layout.

A DynamiCrafter `model.ckpt` holds, besides the UNet and Resampler:
- `first_stage_model.*`: the SD KL-f8 autoencoder (LDM `Encoder` / `Decoder` names),
- `cond_stage_model.model.*`: the open_clip ViT-H-14 text tower (`transformer.resblocks.N.*`),
- `embedder.model.*`: the open_clip ViT-H-14 visual tower (`visual.*`) plus the text parameters open_clip
  keeps outside the text transformer (`token_embedding`, `positional_embedding`, `ln_final`, ...).

`part_shapes` lays these keys out for any sizes; at the default (full) sizes it reproduces the key
lists of `tests/fixtures/realcam_keys_*.json` exactly, so tiny sizes give tiny files with the same
layout, which the loader must read through the same code as the real files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

VAE_PREFIX = "first_stage_model."
TEXT_PREFIX = "cond_stage_model.model."
EMBEDDER_PREFIX = "embedder.model."
VISUAL_PREFIX = EMBEDDER_PREFIX + "visual."

Shape = tuple[int, ...]


@dataclass(frozen=True)
class TextDims:
    """open_clip text tower; defaults = ViT-H-14 (width 1024, 24 layers, CLIP BPE vocab, 77 positions)."""

    width: int = 1024
    layers: int = 24
    vocab: int = 49408
    positions: int = 77
    mlp_ratio: int = 4


@dataclass(frozen=True)
class VisionDims:
    """open_clip visual tower; defaults = ViT-H-14 (width 1280, 32 layers, patch 14, 224 px, proj 1024)."""

    width: int = 1280
    layers: int = 32
    patch: int = 14
    image_size: int = 224
    proj_dim: int = 1024
    mlp_ratio: int = 4


@dataclass(frozen=True)
class VAEDims:
    """LDM AutoencoderKL; defaults = SD KL-f8 (ch 128, ch_mult 1,2,4,4, 2 res blocks, 4 latent channels)."""

    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    z_channels: int = 4
    embed_dim: int = 4
    in_channels: int = 3
    out_ch: int = 3


def _ln(p: str, w: int) -> dict[str, Shape]:
    return {p + "weight": (w,), p + "bias": (w,)}


def _resblocks(p: str, w: int, layers: int, mlp_ratio: int) -> dict[str, Shape]:
    out: dict[str, Shape] = {}
    h = w * mlp_ratio
    for i in range(layers):
        b = f"{p}transformer.resblocks.{i}."
        out.update(_ln(b + "ln_1.", w))
        out[b + "attn.in_proj_weight"], out[b + "attn.in_proj_bias"] = (3 * w, w), (3 * w,)
        out[b + "attn.out_proj.weight"], out[b + "attn.out_proj.bias"] = (w, w), (w,)
        out.update(_ln(b + "ln_2.", w))
        out[b + "mlp.c_fc.weight"], out[b + "mlp.c_fc.bias"] = (h, w), (h,)
        out[b + "mlp.c_proj.weight"], out[b + "mlp.c_proj.bias"] = (w, h), (w,)
    return out


def _text_leftovers(p: str, t: TextDims, proj: int) -> dict[str, Shape]:
    out = {p + "positional_embedding": (t.positions, t.width), p + "text_projection": (t.width, proj),
           p + "logit_scale": (), p + "token_embedding.weight": (t.vocab, t.width)}
    out.update(_ln(p + "ln_final.", t.width))
    return out


def text_shapes(t: TextDims = TextDims()) -> dict[str, Shape]:
    """`cond_stage_model.model.*`: the whole text tower (open_clip deletes `visual` here)."""
    out = _text_leftovers(TEXT_PREFIX, t, t.width)
    out.update(_resblocks(TEXT_PREFIX, t.width, t.layers, t.mlp_ratio))
    return out


def embedder_shapes(v: VisionDims = VisionDims(), t: TextDims = TextDims()) -> dict[str, Shape]:
    """`embedder.model.*`: the visual tower plus the text parameters left outside `transformer`."""
    p, w = VISUAL_PREFIX, v.width
    tokens = (v.image_size // v.patch) ** 2 + 1
    out = _text_leftovers(EMBEDDER_PREFIX, t, v.proj_dim)
    out.update({p + "class_embedding": (w,), p + "positional_embedding": (tokens, w), p + "proj": (w, v.proj_dim),
                p + "conv1.weight": (w, 3, v.patch, v.patch)})
    out.update(_ln(p + "ln_pre.", w))
    out.update(_resblocks(p, w, v.layers, v.mlp_ratio))
    out.update(_ln(p + "ln_post.", w))
    return out


def _resnet(p: str, cin: int, cout: int) -> dict[str, Shape]:
    out = {**_ln(p + "norm1.", cin), p + "conv1.weight": (cout, cin, 3, 3), p + "conv1.bias": (cout,),
           **_ln(p + "norm2.", cout), p + "conv2.weight": (cout, cout, 3, 3), p + "conv2.bias": (cout,)}
    if cin != cout:
        out[p + "nin_shortcut.weight"], out[p + "nin_shortcut.bias"] = (cout, cin, 1, 1), (cout,)
    return out


def _mid(p: str, c: int) -> dict[str, Shape]:
    out = {**_resnet(p + "block_1.", c, c), **_ln(p + "attn_1.norm.", c)}
    for n in ("q", "k", "v", "proj_out"):
        out[f"{p}attn_1.{n}.weight"], out[f"{p}attn_1.{n}.bias"] = (c, c, 1, 1), (c,)
    out.update(_resnet(p + "block_2.", c, c))
    return out


def vae_shapes(d: VAEDims = VAEDims()) -> dict[str, Shape]:
    """`first_stage_model.*`: LDM Encoder / Decoder (mid-block attention only) and the quant convs."""
    e, dec, levels = VAE_PREFIX + "encoder.", VAE_PREFIX + "decoder.", len(d.ch_mult)
    out: dict[str, Shape] = {e + "conv_in.weight": (d.ch, d.in_channels, 3, 3), e + "conv_in.bias": (d.ch,)}
    cin = d.ch
    for i, m in enumerate(d.ch_mult):
        for j in range(d.num_res_blocks):
            out.update(_resnet(f"{e}down.{i}.block.{j}.", cin, d.ch * m))
            cin = d.ch * m
        if i != levels - 1:
            out[f"{e}down.{i}.downsample.conv.weight"], out[f"{e}down.{i}.downsample.conv.bias"] = (cin, cin, 3, 3), (cin,)
    out.update(_mid(e + "mid.", cin))
    out.update(_ln(e + "norm_out.", cin))
    out[e + "conv_out.weight"], out[e + "conv_out.bias"] = (2 * d.z_channels, cin, 3, 3), (2 * d.z_channels,)
    cin = d.ch * d.ch_mult[-1]
    out[dec + "conv_in.weight"], out[dec + "conv_in.bias"] = (cin, d.z_channels, 3, 3), (cin,)
    out.update(_mid(dec + "mid.", cin))
    for i in reversed(range(levels)):
        for j in range(d.num_res_blocks + 1):
            out.update(_resnet(f"{dec}up.{i}.block.{j}.", cin, d.ch * d.ch_mult[i]))
            cin = d.ch * d.ch_mult[i]
        if i != 0:
            out[f"{dec}up.{i}.upsample.conv.weight"], out[f"{dec}up.{i}.upsample.conv.bias"] = (cin, cin, 3, 3), (cin,)
    out.update(_ln(dec + "norm_out.", cin))
    out[dec + "conv_out.weight"], out[dec + "conv_out.bias"] = (d.out_ch, cin, 3, 3), (d.out_ch,)
    q = VAE_PREFIX
    out[q + "quant_conv.weight"], out[q + "quant_conv.bias"] = (2 * d.embed_dim, 2 * d.z_channels, 1, 1), (2 * d.embed_dim,)
    out[q + "post_quant_conv.weight"], out[q + "post_quant_conv.bias"] = (d.z_channels, d.embed_dim, 1, 1), (d.z_channels,)
    return out


def part_shapes(text: TextDims = TextDims(), vision: VisionDims = VisionDims(),
                vae: VAEDims = VAEDims()) -> dict[str, Shape]:
    """Every VAE / text / image-encoder key of a DynamiCrafter base with its shape."""
    return {**vae_shapes(vae), **text_shapes(text), **embedder_shapes(vision, text)}


def _is_norm_weight(key: str) -> bool:
    leaf = key.rsplit(".", 2)
    return key.endswith(".weight") and ("norm" in leaf[-2] or leaf[-2].startswith("ln_"))


def random_parts(shapes: dict[str, Shape], seed: int = 0, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Random weights of a stable scale: fan-in scaled matrices, unit-ish norms, small biases."""
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for k, shape in shapes.items():
        if k.endswith("logit_scale"):
            v = torch.tensor(math.log(1 / 0.07))
        elif _is_norm_weight(k):
            v = 1.0 + 0.05 * torch.randn(shape, generator=gen)
        elif len(shape) <= 1 and not k.endswith("class_embedding"):
            v = 0.02 * torch.randn(shape, generator=gen)
        elif k.endswith(("embedding", "embedding.weight")):
            v = 0.1 * torch.randn(shape, generator=gen)
        else:
            fan_in = math.prod(shape[1:]) if len(shape) > 1 else shape[0]
            v = torch.randn(shape, generator=gen) / math.sqrt(fan_in)
        out[k] = v.to(dtype).contiguous()
    return out


def tiny_dims(text_width: int, vision_width: int) -> tuple[TextDims, VisionDims, VAEDims]:
    """Small towers in the real layout: a 3-layer text encoder (core's penultimate-layer CLIP needs 3; vocab and
    77 positions kept for the real tokenizer), a 2-layer ViT with patch 14 at 224 px (257 tokens, as ViT-H), and
    an f8 VAE of width 32 (GroupNorm needs multiples of 32)."""
    return (TextDims(width=text_width, layers=3), VisionDims(width=vision_width, layers=2, proj_dim=text_width),
            VAEDims(ch=32, ch_mult=(1, 2, 2, 2), num_res_blocks=1))


def tiny_parts(text_width: int = 32, vision_width: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random `first_stage_model.*`, `cond_stage_model.model.*` and `embedder.model.*` tensors (about 4M values)."""
    return random_parts(part_shapes(*tiny_dims(text_width, vision_width)), seed=seed)
