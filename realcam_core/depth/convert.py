"""Depth Anything V2 weights: original (upstream / kijai) key names -> transformers on-disk names.

The original checkpoints (`depth_anything_v2_*.pth`, kijai's `*.safetensors`) hold the upstream
`DepthAnythingV2` state dict: `pretrained.*` (a DINOv2 ViT) and `depth_head.*` (the DPT head).
transformers' `DepthAnythingForDepthEstimation` stores the same tensors as `backbone.*`, `neck.*`
and `head.*`. The mapping is a renaming plus one split (the fused `attn.qkv` becomes query, key,
value) and one reversal (upstream `refinenet1..4` are transformers' fusion layers `3..0`).

The architecture is read from tensor shapes, never from file names: hidden size, depth, patch
size, position grid, neck widths and head widths. Whether a checkpoint is *metric* cannot be read
from its keys (Sigmoid vs ReLU has no parameters); the loader decides that (see `model.py`).

Targets the names transformers writes to disk (`attention.attention.query`,
`attention.output.dense`), which every transformers version 4.x and 5.x reads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch

from ..errors import RealCamInputError
from ..weights.lazy import track_view

# Upstream DepthAnythingV2.intermediate_layer_idx (0-based block indices) by depth.
_UPSTREAM_LAYER_IDX = {12: (2, 5, 8, 11), 24: (4, 11, 17, 23), 40: (9, 19, 29, 39)}
_ENCODER_NAMES = {384: "vits", 768: "vitb", 1024: "vitl", 1536: "vitg"}
_REASSEMBLE_FACTORS = (4, 2, 1, 0.5)

_BLOCK_RENAMES = {
    "norm1.weight": "norm1.weight",
    "norm1.bias": "norm1.bias",
    "norm2.weight": "norm2.weight",
    "norm2.bias": "norm2.bias",
    "mlp.fc1.weight": "mlp.fc1.weight",
    "mlp.fc1.bias": "mlp.fc1.bias",
    "mlp.fc2.weight": "mlp.fc2.weight",
    "mlp.fc2.bias": "mlp.fc2.bias",
    "ls1.gamma": "layer_scale1.lambda1",
    "ls2.gamma": "layer_scale2.lambda1",
    "attn.proj.weight": "attention.output.dense.weight",
    "attn.proj.bias": "attention.output.dense.bias",
}
_TOP_RENAMES = {
    "pretrained.cls_token": "backbone.embeddings.cls_token",
    "pretrained.mask_token": "backbone.embeddings.mask_token",
    "pretrained.pos_embed": "backbone.embeddings.position_embeddings",
    "pretrained.patch_embed.proj.weight": "backbone.embeddings.patch_embeddings.projection.weight",
    "pretrained.patch_embed.proj.bias": "backbone.embeddings.patch_embeddings.projection.bias",
    "pretrained.norm.weight": "backbone.layernorm.weight",
    "pretrained.norm.bias": "backbone.layernorm.bias",
    "depth_head.scratch.output_conv1.weight": "head.conv1.weight",
    "depth_head.scratch.output_conv1.bias": "head.conv1.bias",
    "depth_head.scratch.output_conv2.0.weight": "head.conv2.weight",
    "depth_head.scratch.output_conv2.0.bias": "head.conv2.bias",
    "depth_head.scratch.output_conv2.2.weight": "head.conv3.weight",
    "depth_head.scratch.output_conv2.2.bias": "head.conv3.bias",
}
_RE_BLOCK = re.compile(r"^pretrained\.blocks\.(\d+)\.(.+)$")
_RE_PROJECT = re.compile(r"^depth_head\.projects\.(\d)\.(weight|bias)$")
_RE_RESIZE = re.compile(r"^depth_head\.resize_layers\.(\d)\.(weight|bias)$")
_RE_RN = re.compile(r"^depth_head\.scratch\.layer(\d)_rn\.weight$")
_RE_REFINE = re.compile(r"^depth_head\.scratch\.refinenet(\d)\.(.+)$")
_RE_RCU = re.compile(r"^resConfUnit(\d)\.conv(\d)\.(weight|bias)$")


def is_original_format(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """True when the keys are upstream DepthAnythingV2 names (`pretrained.*`, `depth_head.*`)."""
    return any(k.startswith("pretrained.") for k in state_dict) and any(k.startswith("depth_head.") for k in state_dict)


def is_hf_format(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """True when the keys are transformers DepthAnythingForDepthEstimation names."""
    return "backbone.embeddings.cls_token" in state_dict and any(k.startswith("neck.") for k in state_dict)


def _map_refinenet(upstream_index: int, rest: str) -> str | None:
    layer = 4 - upstream_index  # refinenet4 is the first (coarsest) fusion layer
    if not 0 <= layer <= 3:
        return None
    prefix = f"neck.fusion_stage.layers.{layer}."
    if rest in ("out_conv.weight", "out_conv.bias"):
        return prefix + "projection." + rest.split(".")[-1]
    m = _RE_RCU.match(rest)
    if m and m.group(1) in "12" and m.group(2) in "12":
        return prefix + f"residual_layer{m.group(1)}.convolution{m.group(2)}.{m.group(3)}"
    return None


def original_to_hf(state_dict: Mapping[str, torch.Tensor], copy: bool = True) -> dict[str, torch.Tensor]:
    """Rename an upstream DepthAnythingV2 state dict to transformers' on-disk names.

    copy: the split query / key / value get their own memory; False keeps them views of the fused
    `qkv` (a loader that copies them anyway saves the extra copy; `release_pages` works on the views).

    Every key must map: an unknown key (e.g. `readout_projects` of a cls-token head, or the SwiGLU
    MLP of ViT-g) raises RealCamInputError rather than being silently dropped.
    """
    out: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for key, value in state_dict.items():
        if key in _TOP_RENAMES:
            out[_TOP_RENAMES[key]] = value
            continue
        m = _RE_BLOCK.match(key)
        if m:
            idx, rest = m.group(1), m.group(2)
            prefix = f"backbone.encoder.layer.{idx}."
            if rest in _BLOCK_RENAMES:
                out[prefix + _BLOCK_RENAMES[rest]] = value
            elif rest in ("attn.qkv.weight", "attn.qkv.bias"):
                if value.shape[0] % 3:
                    raise RealCamInputError(
                        f"depth checkpoint: {key} has {value.shape[0]} rows, expected a multiple of 3"
                    )
                q, k, v = value.chunk(3, dim=0)
                kind = rest.split(".")[-1]
                for name, part in (("query", q), ("key", k), ("value", v)):
                    if copy:
                        part = part.clone()
                    else:
                        track_view(part, value)
                    out[f"{prefix}attention.attention.{name}.{kind}"] = part
            else:
                unknown.append(key)
            continue
        m = _RE_PROJECT.match(key)
        if m:
            out[f"neck.reassemble_stage.layers.{m.group(1)}.projection.{m.group(2)}"] = value
            continue
        m = _RE_RESIZE.match(key)
        if m and m.group(1) in "013":
            out[f"neck.reassemble_stage.layers.{m.group(1)}.resize.{m.group(2)}"] = value
            continue
        m = _RE_RN.match(key)
        if m and m.group(1) in "1234":
            out[f"neck.convs.{int(m.group(1)) - 1}.weight"] = value
            continue
        m = _RE_REFINE.match(key)
        if m:
            mapped = _map_refinenet(int(m.group(1)), m.group(2))
            if mapped is not None:
                out[mapped] = value
                continue
        unknown.append(key)
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" (+{len(unknown) - 5} more)" if len(unknown) > 5 else "")
        raise RealCamInputError(
            f"depth checkpoint: keys that a Depth Anything V2 (ViT-S/B/L, MLP blocks, no cls-token readout) "
            f"checkpoint does not have: {shown}"
        )
    return out


def _shape(sd: Mapping[str, torch.Tensor], key: str) -> tuple[int, ...]:
    if key not in sd:
        raise RealCamInputError(f"depth checkpoint: expected the tensor {key!r}, which is missing (incomplete file?)")
    return tuple(sd[key].shape)


def _out_indices(num_layers: int) -> list[int]:
    """transformers' 1-based stage indices of the four features the DPT head reads."""
    idx = _UPSTREAM_LAYER_IDX.get(num_layers)
    if idx is None:  # non-standard depth (tiny test models): four evenly spaced blocks
        if num_layers < 4:
            raise RealCamInputError(f"depth checkpoint: expected at least 4 transformer blocks, found {num_layers}")
        idx = tuple(round((k + 1) * num_layers / 4) - 1 for k in range(4))
    return [i + 1 for i in idx]


def infer_architecture(hf_state_dict: Mapping[str, torch.Tensor]) -> dict:
    """Read the architecture from transformers-named tensor shapes.

    Returns plain values: hidden_size, num_layers, num_heads, patch_size, image_size, mlp_ratio,
    out_indices, neck_hidden_sizes, fusion_hidden_size, head_hidden_size, encoder (vits/vitb/vitl or
    "custom"). Heads are not visible in shapes: DINOv2 uses 64 channels per head (1 head below 64).
    """
    sd = hf_state_dict
    hidden = _shape(sd, "backbone.embeddings.cls_token")[-1]
    patch_w = _shape(sd, "backbone.embeddings.patch_embeddings.projection.weight")
    if len(patch_w) != 4 or patch_w[1] != 3 or patch_w[2] != patch_w[3]:
        raise RealCamInputError(f"depth checkpoint: patch embedding weight should be (hidden, 3, p, p), got {patch_w}")
    patch = patch_w[-1]
    n_pos = _shape(sd, "backbone.embeddings.position_embeddings")[1] - 1
    grid = math.isqrt(max(n_pos, 0))
    if grid * grid != n_pos or grid == 0:
        raise RealCamInputError(f"depth checkpoint: position embedding has {n_pos} patch positions, not a square grid")
    layer_ids = {int(k.split(".")[3]) for k in sd if k.startswith("backbone.encoder.layer.")}
    num_layers = len(layer_ids)
    if layer_ids != set(range(num_layers)):
        raise RealCamInputError(f"depth checkpoint: transformer blocks are not numbered 0..N-1: {sorted(layer_ids)}")
    fc1 = _shape(sd, "backbone.encoder.layer.0.mlp.fc1.weight")
    if fc1[0] % hidden:
        raise RealCamInputError(f"depth checkpoint: MLP width {fc1[0]} is not a multiple of hidden size {hidden}")
    neck = [_shape(sd, f"neck.reassemble_stage.layers.{i}.projection.weight")[0] for i in range(4)]
    # The resize layers must be the standard x4 / x2 / identity / x0.5 set.
    k0 = _shape(sd, "neck.reassemble_stage.layers.0.resize.weight")
    k1 = _shape(sd, "neck.reassemble_stage.layers.1.resize.weight")
    k3 = _shape(sd, "neck.reassemble_stage.layers.3.resize.weight")
    if k0[-1] != 4 or k1[-1] != 2 or k3[-1] != 3 or "neck.reassemble_stage.layers.2.resize.weight" in sd:
        raise RealCamInputError(
            f"depth checkpoint: reassemble layers should upsample x4, x2, keep, downsample x0.5; kernels {k0}, {k1}, {k3}"
        )
    fusion = _shape(sd, "neck.convs.0.weight")[0]
    head = _shape(sd, "head.conv2.weight")[0]
    return {
        "hidden_size": hidden,
        "num_layers": num_layers,
        "num_heads": max(1, hidden // 64),
        "patch_size": patch,
        "image_size": grid * patch,
        "mlp_ratio": fc1[0] // hidden,
        "out_indices": _out_indices(num_layers),
        "neck_hidden_sizes": neck,
        "fusion_hidden_size": fusion,
        "head_hidden_size": head,
        "encoder": _ENCODER_NAMES.get(hidden, "custom") if num_layers in _UPSTREAM_LAYER_IDX else "custom",
    }


def build_config(arch: dict, metric: bool, max_depth: int | None):
    """A transformers DepthAnythingConfig for `arch` (from `infer_architecture`)."""
    from transformers import DepthAnythingConfig, Dinov2Config

    backbone = Dinov2Config(
        image_size=arch["image_size"],
        patch_size=arch["patch_size"],
        hidden_size=arch["hidden_size"],
        num_hidden_layers=arch["num_layers"],
        num_attention_heads=arch["num_heads"],
        mlp_ratio=arch["mlp_ratio"],
        out_indices=list(arch["out_indices"]),
        apply_layernorm=True,
        reshape_hidden_states=False,
    )
    kwargs = {
        "backbone_config": backbone,
        "patch_size": arch["patch_size"],
        "reassemble_hidden_size": arch["hidden_size"],
        "reassemble_factors": list(_REASSEMBLE_FACTORS),
        "neck_hidden_sizes": list(arch["neck_hidden_sizes"]),
        "fusion_hidden_size": arch["fusion_hidden_size"],
        "head_hidden_size": arch["head_hidden_size"],
        "depth_estimation_type": "metric" if metric else "relative",
    }
    if max_depth is not None:
        kwargs["max_depth"] = int(max_depth)
    return DepthAnythingConfig(**kwargs)
