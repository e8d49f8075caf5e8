"""Wan 2.2 TI2V-5B files for tests, in the layouts core ComfyUI 0.3.75 loads: a tiny random-weight diffusion model
and the Wan 2.2 VAE's encoder at full width.

Diffusion model: core's `model_detection` reads dim, in_dim, out_dim, ffn_dim and the block count from the
weights; "t2v" (no img_emb, no control_adapter) with out_dim 48 is `WAN22_T2V` (model_base.WAN22, latent format
Wan22), as the official `wan2.2_ti2v_5B_fp16.safetensors` is (dim 3072, 30 blocks there; 128 and 1 here).

VAE: core's VAE detection (comfy/sd.py, "Wan 2.2 VAE" branch) hard-codes `"dim": 160`, z_dim 48 and the
[1, 2, 4, 4] multipliers; nothing is read from the weights, so the VAE cannot be made small (705 M parameters,
1.4 GB in bf16). Shaping only encodes, so the file holds the encoder (150 M parameters), conv1 and conv2 at
their real shapes, plus the two decoder tensors core's detection looks for; core loads it with `strict=False` and warns
that the rest of the decoder is missing (those weights stay uninitialised; nothing here decodes).
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file
from tiny_wan import DIT_DIM, DIT_FFN, _random_like

# The keys core's comfy/sd.py tests to pick the Wan 2.2 VAE branch (Wan 2.1 lacks the second).
VAE22_DETECTION_KEYS = ("decoder.middle.0.residual.0.gamma", "decoder.upsamples.0.upsamples.0.residual.2.weight")
VAE22_CONFIG = dict(dim=160, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                    temperal_downsample=[False, True, True], dropout=0.0)  # comfy/sd.py's fixed ddconfig


def ti2v_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    import comfy.ldm.wan.model as wm
    import comfy.ops

    model = wm.WanModel(model_type="t2v", in_dim=48, out_dim=48, dim=DIT_DIM, ffn_dim=DIT_FFN, num_heads=1,
                        num_layers=1, device="meta", operations=comfy.ops.disable_weight_init)
    return _random_like({k: v.shape for k, v in model.state_dict().items()}, seed)


def write_tiny_ti2v(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.to(torch.bfloat16) for k, v in ti2v_state_dict(seed).items()}, str(path))
    return path


def write_vae22_encoder(path: Path, seed: int = 1) -> Path:
    """The Wan 2.2 VAE's encoder side (+ detection keys) at core's fixed size, random weights, bf16 (~360 MB)."""
    import comfy.ldm.wan.vae2_2 as wv

    with torch.device("meta"):
        vae = wv.WanVAE(**VAE22_CONFIG)
    shapes = {k: v.shape for k, v in vae.state_dict().items()
              if k.startswith(("encoder.", "conv1.", "conv2.")) or k in VAE22_DETECTION_KEYS}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.to(torch.bfloat16) for k, v in _random_like(shapes, seed).items()}, str(path))
    return path


def write_vae22_full(path: Path, seed: int = 1) -> Path:
    """The whole Wan 2.2 VAE (encoder and decoder) at core's fixed size, random weights, bf16 (1.4 GB on disk): for
    graphs that decode (templates). Drawn tensor by tensor so the peak stays near the file's size."""
    import comfy.ldm.wan.vae2_2 as wv

    with torch.device("meta"):
        vae = wv.WanVAE(**VAE22_CONFIG)
    weights = {k: _random_like({k: v.shape}, seed + i)[k].to(torch.bfloat16)
               for i, (k, v) in enumerate(vae.state_dict().items())}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(path))
    return path
