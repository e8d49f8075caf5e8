"""Tiny random-weight Wan 2.x files in the layouts core ComfyUI loads: diffusion models (bare keys, as the
official / Comfy-Org repackaged files) and the Wan 2.1 VAE, built at test time.

The key layout is taken from core's own Wan classes (instantiated on the meta device, no memory), so the
files are exactly what core's `model_detection` and VAE loader read from a real download: Wan 2.2 Fun
Camera (control_adapter, no img_emb -> "camera_2.2"), Wan 2.2 I2V (in_dim 36, no img_emb -> i2v via
concat), Wan 2.1 Fun Camera (img_emb + control_adapter -> "camera") and Wan 2.1 FLF2V (img_emb.emb_pos). dim 128 is the smallest core accepts (num_heads = dim // 128); the VAE width is read from the
file (decoder.head.0.gamma), so dim 8 works. Needs ComfyUI importable (run inside a booted host).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from safetensors.torch import save_file

DIT_KINDS = ("fun_camera_2.2", "i2v_2.2", "fun_camera_2.1", "flf2v_2.1")
FLF_TOKENS = 514  # Wan 2.1 FLF2V: two CLIP-H images of 257 tokens
DIT_DIM, DIT_FFN = 128, 256


def _random_like(shapes: dict[str, torch.Size], seed: int) -> dict[str, torch.Tensor]:
    """Unit-scale random weights: norms/gammas 1, biases small, matrices 1/sqrt(fan_in), modulations small."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, shape in shapes.items():
        if k.endswith("gamma") or "norm" in k.split(".")[-2] and k.endswith("weight") and len(shape) == 1:
            t = torch.ones(shape)
        elif k.endswith("modulation") or k.endswith("bias") or len(shape) < 2:
            t = torch.randn(shape, generator=g) * 0.02
        else:
            fan_in = math.prod(shape[1:])
            t = torch.randn(shape, generator=g) / math.sqrt(fan_in)
        out[k] = t.contiguous()
    return out


def dit_state_dict(kind: str, seed: int = 0) -> dict[str, torch.Tensor]:
    import comfy.ldm.wan.model as wm
    import comfy.ops

    ops = comfy.ops.disable_weight_init
    common = dict(in_dim=36, dim=DIT_DIM, ffn_dim=DIT_FFN, num_heads=1, num_layers=1, out_dim=16, device="meta",
                  operations=ops)
    if kind == "fun_camera_2.2":
        model = wm.CameraWanModel(model_type="camera_2.2", **common)
    elif kind == "i2v_2.2":
        model = wm.WanModel(model_type="t2v", **common)
    elif kind == "fun_camera_2.1":  # img_emb (CLIP vision) + control_adapter -> "camera"; noise + image, no mask
        model = wm.CameraWanModel(model_type="camera", **{**common, "in_dim": 32})
    elif kind == "flf2v_2.1":  # img_emb with emb_pos -> i2v with flf_pos_embed_token_number
        model = wm.WanModel(model_type="i2v", flf_pos_embed_token_number=FLF_TOKENS, **common)
    else:
        raise ValueError(f"kind: one of {DIT_KINDS}, got {kind!r}")
    return _random_like({k: v.shape for k, v in model.state_dict().items()}, seed)


def write_tiny_dit(path: Path, kind: str, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.to(torch.bfloat16) for k, v in dit_state_dict(kind, seed).items()}, str(path))
    return path


def write_tiny_vae(path: Path, seed: int = 1, dim: int = 8) -> Path:
    import comfy.ldm.wan.vae as wv

    with torch.device("meta"):
        vae = wv.WanVAE(dim=dim, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                        temperal_downsample=[False, True, True], dropout=0.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(_random_like({k: v.shape for k, v in vae.state_dict().items()}, seed), str(path))
    return path
