"""Full-size architecture on the meta device vs the released key lists; checkpoint classification and loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from realcam_core.errors import RealCamInputError
from realcam_core.model import (
    build_models,
    canonical_keys,
    classify_checkpoint,
    infer_config,
    load_weights,
    merge_checkpoints,
    preset_config,
    read_state_dict,
    split_state_dict,
)
from realcam_core.model.loading import resampler_key_to_upstream, unet_key_to_upstream

FIX = Path(__file__).resolve().parents[1] / "fixtures"
GROUPS = ("model.diffusion_model.", "pose_encoder.", "image_proj_model.")


def _released(variant: str) -> dict:
    return json.loads((FIX / f"realcam_keys_{variant}.json").read_text())


def _model_groups(variant: str) -> dict[str, list[int]]:
    data = _released(variant)
    out: dict[str, list[int]] = {}
    for g in GROUPS:
        out.update(data["groups"][g])
    return out


def _meta_sd(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    return {k: torch.empty(s, device="meta") for k, s in shapes.items()}


def _built_keys(cfg) -> dict[str, list[int]]:
    unet, res = build_models(cfg, device="meta")
    got = {unet_key_to_upstream(k): list(v.shape) for k, v in unet.state_dict().items()}
    got.update({resampler_key_to_upstream(k): list(v.shape) for k, v in res.state_dict().items()})
    return got


def _diff(got: dict, ref: dict) -> tuple[list, list, list]:
    missing = sorted(k for k in ref if k not in got)
    extra = sorted(k for k in got if k not in ref)
    shape = sorted(k for k in ref if k in got and list(got[k]) != list(ref[k]))
    return missing, extra, shape


@pytest.mark.parametrize("variant", ["256", "512"])
def test_preset_model_has_exactly_the_released_keys(variant):
    ref = _model_groups(variant)
    assert len(ref) > 1800  # UNet + pose encoder + resampler of the real model
    missing, extra, shape = _diff(_built_keys(preset_config(variant)), ref)
    assert (missing, extra, shape) == ([], [], [])


@pytest.mark.parametrize("variant", ["256", "512"])
def test_architecture_inferred_from_the_released_shapes(variant):
    ref = _model_groups(variant)
    cfg = infer_config(_meta_sd(ref))
    assert cfg.variant == variant
    assert cfg.unet == preset_config(variant).unet
    assert cfg.resampler == preset_config(variant).resampler
    assert _diff(_built_keys(cfg), ref) == ([], [], [])
    # what the weights decide
    assert cfg.unet.image_cross_attention_learnable is (variant == "256")
    assert cfg.unet.temporal_length == 16 and cfg.unet.num_head_channels == 64
    assert cfg.diffusion.parameterization == ("eps" if variant == "256" else "v")
    assert (8 in cfg.unet.epipolar_mask_factors) is (variant == "256")


def test_camera_only_full_and_base_are_told_apart():
    data = _released("256")
    shapes = _model_groups("256")
    cam_keys = {k for grp in data["camera_module_keys"].values() for k in grp} | set(data["groups"]["pose_encoder."])
    assert len(cam_keys) == 278
    camera = _meta_sd({k: v for k, v in shapes.items() if k in cam_keys})
    base = _meta_sd({k: v for k, v in shapes.items() if k not in cam_keys})
    assert classify_checkpoint(camera).kind == "camera_only"
    assert classify_checkpoint(camera).variant is None  # same keys and shapes at 256 and 512
    assert classify_checkpoint(base).kind == "base"
    full = merge_checkpoints(base, camera)
    info = classify_checkpoint(full)
    assert (info.kind, info.variant) == ("full", "256")
    no_alpha = {k: v for k, v in full.items() if not k.endswith("attn2.alpha")}
    assert classify_checkpoint(no_alpha).variant == "512"


def test_merge_camera_wins_and_framestride_is_renamed():
    base = {
        "model.diffusion_model.framestride_embed.0.weight": torch.zeros(2),
        "model.diffusion_model.x.weight": torch.zeros(1),
        "pose_encoder.a": torch.zeros(1),
    }
    camera = {"pose_encoder.a": torch.ones(1), "module.model.diffusion_model.y.epipolar.epipolar_attn.to_q.weight":
              torch.ones(3)}
    merged = merge_checkpoints(base, camera)
    assert "model.diffusion_model.fps_embedding.0.weight" in merged
    assert not any("framestride" in k for k in merged)
    assert merged["pose_encoder.a"].item() == 1.0
    assert "model.diffusion_model.y.epipolar.epipolar_attn.to_q.weight" in merged
    split = split_state_dict({**merged, "first_stage_model.z": torch.zeros(1), "betas": torch.zeros(3)})
    assert "fps_embedding.0.weight" in split.unet and "pose_encoder.a" in split.unet
    assert "first_stage_model.z" in split.passthrough and "betas" in split.ignored
    assert canonical_keys({"diffusion_model.q": torch.zeros(1)}) == {"model.diffusion_model.q": torch.zeros(1)}


def test_tiny_weights_load_from_base_plus_camera_files(tmp_path):
    sd = load_file(str(FIX / "tiny_realcam" / "model.safetensors"))
    cam_markers = ("pose_encoder.", ".pluker_projection.", ".epipolar.")
    camera = {k: v for k, v in sd.items() if any(m in k for m in cam_markers)}
    base = {k.replace("fps_embedding", "framestride_embed"): v for k, v in sd.items() if k not in camera}
    torch.save({"state_dict": base, "epoch": 3}, tmp_path / "model.ckpt")
    save_file(camera, str(tmp_path / "camera.safetensors"))
    merged = merge_checkpoints(read_state_dict(tmp_path / "model.ckpt"), read_state_dict(tmp_path / "camera.safetensors"))
    cfg = infer_config(merged, epipolar_mask_factors=(16, 8), resampler_heads=3)
    unet, res = build_models(cfg)
    rep = load_weights(unet, res, merged)
    assert rep.ok and "betas" in rep.ignored
    assert torch.equal(unet.fps_embedding[0].weight, sd["model.diffusion_model.fps_embedding.0.weight"])
    assert torch.equal(unet.pose_encoder.encoder_conv_in.weight, sd["pose_encoder.encoder_conv_in.weight"])
    # a missing camera key is reported by name
    del merged["model.diffusion_model.middle_block.2.transformer_blocks.0.pluker_projection.weight"]
    with pytest.raises(RealCamInputError, match="middle_block.2.transformer_blocks.0.pluker_projection"):
        load_weights(unet, res, merged)


class _Evil:
    def __reduce__(self):
        return (print, ("pickles must not run",))


def test_read_state_dict_refuses_unsafe_and_unknown_files(tmp_path):
    torch.save({"state_dict": {"w": _Evil()}}, tmp_path / "evil.ckpt")
    with pytest.raises(RealCamInputError, match="weights_only"):
        read_state_dict(tmp_path / "evil.ckpt")
    (tmp_path / "x.bin2").write_bytes(b"\0")
    with pytest.raises(RealCamInputError, match="checkpoint"):
        read_state_dict(tmp_path / "x.bin2")
    with pytest.raises(RealCamInputError, match="existing file"):
        read_state_dict(tmp_path / "missing.safetensors")
