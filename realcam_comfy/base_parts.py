"""Core CLIP / CLIP_VISION / VAE from a DynamiCrafter base checkpoint, architecture read from the weights.

The base holds the SD KL-f8 VAE (`first_stage_model.*`), the open_clip ViT-H-14 text tower
(`cond_stage_model.model.*`, used as core SD2.1 does: penultimate layer) and the ViT-H-14 visual
tower (`embedder.model.visual.*`). Each part is built by ComfyUI core classes; its sizes (width,
layers, MLP width, positions, patch, image size, VAE channels ...) come from tensor shapes, so the
real files take core's own path unchanged (their inferred configuration equals core's) and smaller
files in the same layout (tests, distilled models) load too. Attention heads are not stored in a
state dict: open_clip uses 64-wide heads except for the ViT-H/g/bigG visual towers (16 heads).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile

import comfy.clip_model
import comfy.clip_vision
import comfy.sd
import comfy.supported_models
import comfy.utils
import folder_paths
import torch

from ..realcam_core.errors import RealCamInputError

log = logging.getLogger("RealCam")
VAE_PREFIX = "first_stage_model."
TEXT_PREFIX = "cond_stage_model.model."
VISUAL_PREFIX = "embedder.model.visual."
COMFY_DIR = os.path.dirname(os.path.realpath(comfy.sd.__file__))
CORE_TEXT_CONFIG = os.path.join(COMFY_DIR, "text_encoders", "sd2_clip_config.json")
CORE_VISION_CONFIG = os.path.join(COMFY_DIR, "clip_vision_config_h.json")
CORE_VAE_DDCONFIG = {"double_z": True, "z_channels": 4, "resolution": 256, "in_channels": 3, "out_ch": 3, "ch": 128,
                     "ch_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_resolutions": [], "dropout": 0.0}
VISION_HEADS = {1280: 16, 1408: 16, 1664: 16}  # open_clip ViT-H/14 (head 80), ViT-g/14 (88), ViT-bigG/14 (104)


def _part(sd: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k: v for k, v in sd.items() if k.startswith(prefix)}


def _count(sd: dict, pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in sd if (m := rx.match(k))})


def _shape(sd: dict, key: str, what: str) -> torch.Size:
    if key not in sd:
        raise RealCamInputError(f"base_checkpoint: expected {key} in the {what}, the file's {what} is incomplete")
    return sd[key].shape


def _read_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


# ------------------------------------------------------------------------------------------ text
def text_config(part: dict[str, torch.Tensor], prefix: str = TEXT_PREFIX) -> dict:
    """transformers-style CLIPTextModel config of an open_clip text tower (`{prefix}transformer.resblocks.N`)."""
    what = "text encoder (cond_stage_model)"
    vocab, width = _shape(part, prefix + "token_embedding.weight", what)
    return {"hidden_size": int(width), "num_attention_heads": max(1, int(width) // 64),
            "num_hidden_layers": _count(part, re.escape(prefix) + r"transformer\.resblocks\.(\d+)\."),
            "intermediate_size": int(_shape(part, prefix + "transformer.resblocks.0.mlp.c_fc.weight", what)[0]),
            "max_position_embeddings": int(_shape(part, prefix + "positional_embedding", what)[0]),
            "vocab_size": int(vocab), "projection_dim": int(width)}


def text_overrides(cfg: dict) -> dict:
    """The entries of `cfg` that differ from core's SD2 CLIP-H config (empty for the real ViT-H-14 tower)."""
    core = _read_json(CORE_TEXT_CONFIG)
    return {k: v for k, v in cfg.items() if core.get(k) != v}


def text_encoder_parts(sd: dict[str, torch.Tensor]) -> tuple[dict, dict[str, torch.Tensor]] | None:
    """(config overrides for core's SD2 CLIP-H, state dict in core's `clip_h.transformer.*` names) or None."""
    part = _part(sd, TEXT_PREFIX)
    if not part:
        return None
    cfg = text_config(part)
    if cfg["num_hidden_layers"] < 3:
        raise RealCamInputError(f"base_checkpoint: expected a text encoder of at least 3 layers (SD2 uses the "
                                f"penultimate one), got {cfg['num_hidden_layers']}")
    if cfg["vocab_size"] != 49408:
        raise RealCamInputError(f"base_checkpoint: expected the CLIP BPE vocabulary (49408 tokens) in the text "
                                f"encoder, got {cfg['vocab_size']}")
    converted = comfy.supported_models.SD20({}).process_clip_state_dict(part)
    return text_overrides(cfg), converted


def clip_from(sd: dict[str, torch.Tensor]):
    """Core CLIP: SD2.1 OpenCLIP-H text encoder (penultimate layer), sized from `cond_stage_model.model.*`."""
    parts = text_encoder_parts(sd)
    if parts is None:
        return None
    overrides, converted = parts
    if overrides:
        log.info("RealCam: text encoder differs from OpenCLIP-H: %s", overrides)
    target = comfy.supported_models.SD20({}).clip_target(converted)
    clip = comfy.sd.CLIP(target, embedding_directory=folder_paths.get_folder_paths("embeddings"),
                         tokenizer_data=converted, parameters=comfy.utils.calculate_parameters(converted),
                         model_options={"clip_h_model_config": overrides} if overrides else {})
    missing, _ = clip.load_sd(converted, full_model=True)
    missing = [k for k in missing if not k.endswith(".logit_scale")]
    if missing:
        raise RealCamInputError(f"base_checkpoint: text encoder weights missing: {missing[:4]} ({len(missing)})")
    return clip


# ------------------------------------------------------------------------------------------ vision
def vision_config(part: dict[str, torch.Tensor], prefix: str = VISUAL_PREFIX) -> dict:
    """Core CLIP-vision JSON config of an open_clip visual tower."""
    what = "image encoder (embedder.model.visual)"
    width, channels, patch, _ = _shape(part, prefix + "conv1.weight", what)
    tokens = int(_shape(part, prefix + "positional_embedding", what)[0])
    side = round((tokens - 1) ** 0.5)
    if side * side != tokens - 1:
        raise RealCamInputError(f"base_checkpoint: expected a square patch grid plus a class token in "
                                f"{prefix}positional_embedding, got {tokens} positions")
    cfg = {"hidden_act": "gelu", "hidden_size": int(width), "image_size": int(side * patch),
           "intermediate_size": int(_shape(part, prefix + "transformer.resblocks.0.mlp.c_fc.weight", what)[0]),
           "layer_norm_eps": 1e-05, "model_type": "clip_vision_model",
           "num_attention_heads": VISION_HEADS.get(int(width), max(1, int(width) // 64)), "num_channels": int(channels),
           "num_hidden_layers": _count(part, re.escape(prefix) + r"transformer\.resblocks\.(\d+)\."),
           "patch_size": int(patch)}
    if prefix + "proj" in part:
        cfg["projection_dim"] = int(part[prefix + "proj"].shape[1])
    return cfg


def is_core_vision(cfg: dict) -> bool:
    core = _read_json(CORE_VISION_CONFIG)
    return all(core.get(k) == v for k, v in cfg.items())


def vision_encoder_parts(sd: dict[str, torch.Tensor]) -> tuple[dict, dict[str, torch.Tensor]] | None:
    """(core CLIP-vision config, state dict in core's `vision_model.*` names) or None."""
    part = _part(sd, VISUAL_PREFIX)
    if not part:
        return None
    cfg = vision_config(part)
    return cfg, comfy.clip_vision.convert_to_transformers(dict(part), VISUAL_PREFIX)


def clip_vision_from(sd: dict[str, torch.Tensor]):
    """Core CLIP_VISION sized from `embedder.model.visual.*`; ViT-H/14 itself goes through core's loader."""
    parts = vision_encoder_parts(sd)
    if parts is None:
        return None
    cfg, converted = parts
    if is_core_vision(cfg):
        return comfy.clip_vision.load_clipvision_from_sd(_part(sd, VISUAL_PREFIX), prefix=VISUAL_PREFIX,
                                                         convert_keys=True)
    log.info("RealCam: image encoder differs from ViT-H/14: %s", cfg)
    with tempfile.TemporaryDirectory() as tmp:  # core's ClipVisionModel reads its config from a file
        path = os.path.join(tmp, "clip_vision_config.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        model = comfy.clip_vision.ClipVisionModel(path)
    missing, _ = model.load_sd(converted)
    if missing:
        raise RealCamInputError(f"base_checkpoint: image encoder weights missing: {missing[:4]} ({len(missing)})")
    return model


# ------------------------------------------------------------------------------------------ VAE
def vae_config(part: dict[str, torch.Tensor]) -> tuple[dict, int]:
    """(LDM ddconfig, embed_dim) of an AutoencoderKL state dict without prefix (`encoder.*`, `decoder.*`)."""
    what = "VAE (first_stage_model)"
    ch, cin = (int(v) for v in _shape(part, "encoder.conv_in.weight", what)[:2])
    levels = _count(part, r"encoder\.down\.(\d+)\.")
    mult = [int(_shape(part, f"encoder.down.{i}.block.0.conv1.weight", what)[0]) // ch for i in range(levels)]
    z = int(_shape(part, "decoder.conv_in.weight", what)[1])
    attn = sorted({256 // 2 ** int(i) for i in re.findall(r"^encoder\.down\.(\d+)\.attn\.", "\n".join(part),
                                                               flags=re.M)}, reverse=True)
    cfg = {"double_z": int(_shape(part, "encoder.conv_out.weight", what)[0]) == 2 * z, "z_channels": z,
           "resolution": 256, "in_channels": cin, "out_ch": int(_shape(part, "decoder.conv_out.weight", what)[0]),
           "ch": ch, "ch_mult": mult, "num_res_blocks": _count(part, r"encoder\.down\.0\.block\.(\d+)\."),
           "attn_resolutions": attn, "dropout": 0.0}
    embed = int(_shape(part, "post_quant_conv.weight", what)[1]) if "post_quant_conv.weight" in part else z
    return cfg, embed


def vae_from(sd: dict[str, torch.Tensor]):
    """Core VAE from `first_stage_model.*`: SD KL-f8 through core's own detection, other sizes by config."""
    part = comfy.utils.state_dict_prefix_replace(_part(sd, VAE_PREFIX), {VAE_PREFIX: ""}, filter_keys=True)
    if not part:
        return None
    ddconfig, embed = vae_config(part)
    if ddconfig == CORE_VAE_DDCONFIG and embed == 4:
        return comfy.sd.VAE(sd=part)
    log.info("RealCam: VAE differs from SD KL-f8: %s, embed_dim %d", ddconfig, embed)
    vae = comfy.sd.VAE(sd=part, config={"params": {"ddconfig": ddconfig, "embed_dim": embed}})
    missing = sorted(set(vae.first_stage_model.state_dict()) - set(part))
    if missing:
        raise RealCamInputError(f"base_checkpoint: VAE weights missing: {missing[:4]} ({len(missing)})")
    ratio = 2 ** (len(ddconfig["ch_mult"]) - 1)
    vae.downscale_ratio = vae.upscale_ratio = ratio
    vae.latent_channels = ddconfig["z_channels"]
    return vae
