"""Tiny random-weight Depth Anything V2 checkpoints in both real formats.

`write_tiny_original` writes what the upstream `DepthAnythingV2(...).state_dict()` would hold
(keys `pretrained.*`, `depth_head.*`, as kijai's files), only smaller: hidden 32, 4 blocks, patch
14, a 37x37 position grid (518 px, like the real models), neck widths (8, 16, 32, 32), fusion 16,
head 8. `write_tiny_hf` writes the transformers `-hf` folder of the *same* weights (via
`save_pretrained`, so the folder is exactly what transformers writes). Weights are random with
non-trivial scales so the predicted depth varies over the image (default init gives a constant).
"""

from __future__ import annotations

import json
import os

import torch

TINY_DEPTH_ARCH = {
    "hidden": 32,
    "layers": 4,
    "patch": 14,
    "grid": 37,
    "mlp": 128,
    "out_channels": (8, 16, 32, 32),
    "features": 16,
    "head": 8,
}

_PREPROCESSOR = {
    "do_normalize": True,
    "do_pad": False,
    "do_rescale": True,
    "do_resize": True,
    "ensure_multiple_of": 14,
    "image_mean": [0.485, 0.456, 0.406],
    "image_processor_type": "DPTImageProcessor",
    "image_std": [0.229, 0.224, 0.225],
    "keep_aspect_ratio": True,
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "size": {"height": 518, "width": 518},
}


def original_shapes(arch: dict | None = None) -> list[tuple[str, tuple[int, ...], str]]:
    """(key, shape, kind) of the upstream DepthAnythingV2 state dict, in upstream order.

    arch: keys as TINY_DEPTH_ARCH (the default); the real ViT-L is hidden 1024, layers 24, grid 37,
    mlp 4096, out_channels (256, 512, 1024, 1024), features 256, head 32.
    """
    a = TINY_DEPTH_ARCH if arch is None else arch
    d, p, n, m = a["hidden"], a["patch"], a["grid"] ** 2 + 1, a["mlp"]
    oc, f, hd = a["out_channels"], a["features"], a["head"]
    s: list[tuple[str, tuple[int, ...], str]] = [
        ("pretrained.cls_token", (1, 1, d), "embed"),
        ("pretrained.pos_embed", (1, n, d), "embed"),
        ("pretrained.mask_token", (1, d), "embed"),
        ("pretrained.patch_embed.proj.weight", (d, 3, p, p), "weight"),
        ("pretrained.patch_embed.proj.bias", (d,), "bias"),
    ]
    for i in range(a["layers"]):
        b = f"pretrained.blocks.{i}."
        s += [
            (b + "norm1.weight", (d,), "norm_w"),
            (b + "norm1.bias", (d,), "bias"),
            (b + "attn.qkv.weight", (3 * d, d), "weight"),
            (b + "attn.qkv.bias", (3 * d,), "bias"),
            (b + "attn.proj.weight", (d, d), "weight"),
            (b + "attn.proj.bias", (d,), "bias"),
            (b + "ls1.gamma", (d,), "gamma"),
            (b + "norm2.weight", (d,), "norm_w"),
            (b + "norm2.bias", (d,), "bias"),
            (b + "mlp.fc1.weight", (m, d), "weight"),
            (b + "mlp.fc1.bias", (m,), "bias"),
            (b + "mlp.fc2.weight", (d, m), "weight"),
            (b + "mlp.fc2.bias", (d,), "bias"),
            (b + "ls2.gamma", (d,), "gamma"),
        ]
    s += [("pretrained.norm.weight", (d,), "norm_w"), ("pretrained.norm.bias", (d,), "bias")]
    h = "depth_head."
    for i, c in enumerate(oc):
        s += [(f"{h}projects.{i}.weight", (c, d, 1, 1), "weight"), (f"{h}projects.{i}.bias", (c,), "bias")]
    # ConvTranspose2d weights are (in, out, k, k); the x0.5 layer is a stride-2 Conv2d.
    s += [
        (f"{h}resize_layers.0.weight", (oc[0], oc[0], 4, 4), "weight_t"),
        (f"{h}resize_layers.0.bias", (oc[0],), "bias"),
        (f"{h}resize_layers.1.weight", (oc[1], oc[1], 2, 2), "weight_t"),
        (f"{h}resize_layers.1.bias", (oc[1],), "bias"),
        (f"{h}resize_layers.3.weight", (oc[3], oc[3], 3, 3), "weight"),
        (f"{h}resize_layers.3.bias", (oc[3],), "bias"),
    ]
    for i, c in enumerate(oc):
        s.append((f"{h}scratch.layer{i + 1}_rn.weight", (f, c, 3, 3), "weight"))
    for r in range(1, 5):
        rb = f"{h}scratch.refinenet{r}."
        s += [(rb + "out_conv.weight", (f, f, 1, 1), "weight"), (rb + "out_conv.bias", (f,), "bias")]
        for u in (1, 2):
            for c in (1, 2):
                s += [
                    (rb + f"resConfUnit{u}.conv{c}.weight", (f, f, 3, 3), "weight"),
                    (rb + f"resConfUnit{u}.conv{c}.bias", (f,), "bias"),
                ]
    s += [
        (f"{h}scratch.output_conv1.weight", (f // 2, f, 3, 3), "weight"),
        (f"{h}scratch.output_conv1.bias", (f // 2,), "bias"),
        (f"{h}scratch.output_conv2.0.weight", (hd, f // 2, 3, 3), "weight"),
        (f"{h}scratch.output_conv2.0.bias", (hd,), "bias"),
        (f"{h}scratch.output_conv2.2.weight", (1, hd, 1, 1), "weight"),
        (f"{h}scratch.output_conv2.2.bias", (1,), "zero"),
    ]
    return s


def tiny_original_state_dict(seed: int = 0, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """A random upstream-format DepthAnythingV2 state dict at the tiny sizes (deterministic per seed)."""
    g = torch.Generator().manual_seed(int(seed))
    sd: dict[str, torch.Tensor] = {}
    for key, shape, kind in original_shapes():
        r = torch.randn(shape, generator=g)
        if kind in ("weight", "weight_t"):
            # Conv/Linear: fan-in = prod(shape[1:]); stride-k ConvTranspose (in, out, k, k): one tap per input.
            fan_in = shape[0] if kind == "weight_t" else int(torch.tensor(shape[1:]).prod())
            gain = 1.5 if key.startswith("pretrained.") else 0.5 if "resConfUnit" in key else 1.0
            t = r * (gain / fan_in**0.5)
        elif kind == "norm_w":
            t = 1.0 + 0.2 * r
        elif kind == "gamma":
            t = 0.5 + 0.2 * r
        elif kind == "embed":
            t = 0.5 * r
        elif kind == "zero":
            t = torch.zeros(shape)
        else:
            t = 0.1 * r
        sd[key] = t.to(dtype).contiguous()
    return sd


def _metric_name_ok(name: str) -> bool:
    from ..depth.model import metric_hint

    is_metric, depth = metric_hint(name)
    return is_metric and depth is not None


def write_tiny_original(path: str, seed: int = 0, metric: bool = True, dtype: torch.dtype = torch.float32) -> str:
    """Write a tiny upstream-format checkpoint to `path` (.safetensors, or .pth/.pt via torch.save).

    The format cannot record metric mode (the Sigmoid has no weights): loaders read it from the
    name, so with metric=True the file name must say it (e.g. `..._metric_hypersim_tiny.safetensors`).
    """
    path = os.fspath(path)
    if metric and not _metric_name_ok(os.path.basename(path)):
        raise ValueError(
            f"write_tiny_original: metric=True needs a name with metric_hypersim/metric_vkitti, got {path!r}"
        )
    sd = tiny_original_state_dict(seed, dtype)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if path.lower().endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file(sd, path)
    elif path.lower().endswith((".pth", ".pt")):
        torch.save(sd, path)
    else:
        raise ValueError(f"write_tiny_original: expected a .safetensors, .pth or .pt path, got {path!r}")
    return path


def write_tiny_hf(
    folder: str,
    seed: int = 0,
    metric: bool = True,
    max_depth: int = 20,
    legacy_config: bool = False,
) -> str:
    """Write the transformers `-hf` folder of the same weights as `write_tiny_original(seed)`.

    metric=False writes a config that says relative (as a wrong/old config would); legacy_config
    writes the pre-release key `"depth_estimation": "metric"` instead of `depth_estimation_type`
    (as an early snapshot of the official Large-hf config did). Returns the folder.
    """
    from transformers import DepthAnythingForDepthEstimation

    from ..depth.convert import build_config, infer_architecture, original_to_hf

    folder = os.fspath(folder)
    sd = original_to_hf(tiny_original_state_dict(seed))
    config = build_config(infer_architecture(sd), metric, max_depth if metric else None)
    model = DepthAnythingForDepthEstimation.from_pretrained(None, config=config, state_dict=sd)
    model.save_pretrained(folder)
    cfg_path = os.path.join(folder, "config.json")
    if legacy_config:
        with open(cfg_path, encoding="utf-8") as f:
            cfg = json.load(f)
        cfg.pop("depth_estimation_type", None)
        cfg["depth_estimation"] = "metric"
        cfg["max_depth"] = int(max_depth)
        with open(cfg_path, "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2)
    with open(os.path.join(folder, "preprocessor_config.json"), "w", encoding="utf-8") as f:
        json.dump(_PREPROCESSOR, f, indent=2)
    return folder
