"""Memory-mapped loading onto meta-built modules equals the whole-file read + load_state_dict, bit for bit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from realcam_core.conformance import _fixture_settings
from realcam_core.errors import RealCamInputError
from realcam_core.model import build_models, infer_config, load_weights, merge_checkpoints, read_state_dict
from realcam_core.model.loading import CAMERA_MARKERS, POSE_PREFIX, load_models
from realcam_core.weights.lazy import open_weights

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_realcam" / "model.safetensors"


def _fixture_infer() -> dict:
    """infer_config settings of the tiny upstream fixture (as the conformance runner reads them)."""
    params, _, diff, factors, _ = _fixture_settings(json.loads((TINY.parent / "config.json").read_text()))
    rp = (params.get("image_proj_stage_config") or {}).get("params", {})
    pp = (params.get("pose_encoder_config") or {}).get("params", {})
    return {"diffusion": diff, "epipolar_mask_factors": factors, "resampler_heads": rp.get("heads"),
            "pose_heads": pp.get("temporal_attention_nhead")}


INFER = _fixture_infer()


def _old_path(base, camera=None):
    sd = merge_checkpoints(read_state_dict(base), read_state_dict(camera) if camera else None)
    cfg = infer_config(sd, **INFER)
    unet, res = build_models(cfg)
    load_weights(unet, res, sd)
    return unet, res


def _assert_same(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sb[k].device.type == "cpu" and sa[k].dtype == sb[k].dtype, k
        assert torch.equal(sa[k], sb[k]), k


def test_merged_safetensors_loads_bit_exactly(one_thread):
    new = load_models(TINY, **INFER)
    old_unet, old_res = _old_path(TINY)
    _assert_same(new.unet, old_unet)
    _assert_same(new.resampler, old_res)
    assert not any(p.is_meta for p in new.unet.parameters())
    # the loaded tensors own their memory: not views of the file mapping
    sd = open_weights(TINY)
    ptrs = {t.untyped_storage().data_ptr() for t in sd.values()}
    assert not ptrs & {p.untyped_storage().data_ptr() for p in new.unet.parameters()}


def test_ckpt_base_plus_camera_safetensors_pair_loads_bit_exactly(one_thread, tmp_path):
    sd = load_file(str(TINY))
    is_cam = [k for k in sd if k.startswith(POSE_PREFIX) or any(m in k for m in CAMERA_MARKERS[1:])]
    assert is_cam
    base = {k: v for k, v in sd.items() if k not in is_cam}
    base[is_cam[0]] = torch.zeros_like(sd[is_cam[0]])  # the camera file must win over the base
    camera = {k: sd[k] for k in is_cam}
    torch.save({"state_dict": base, "epoch": 3}, tmp_path / "base.ckpt")  # Lightning layout, zip format
    save_file(camera, str(tmp_path / "camera.safetensors"))
    new = load_models(tmp_path / "base.ckpt", tmp_path / "camera.safetensors", **INFER)
    old_unet, old_res = _old_path(tmp_path / "base.ckpt", tmp_path / "camera.safetensors")
    _assert_same(new.unet, old_unet)
    _assert_same(new.resampler, old_res)
    ref_unet, _ = _old_path(TINY)
    _assert_same(new.unet, ref_unet)


def test_half_precision_build_matches_load_state_dict_casting(one_thread):
    new = load_models(TINY, dtype=torch.float16, **INFER)
    sd = read_state_dict(TINY)
    unet, res = build_models(infer_config(sd, **INFER), dtype=torch.float16)
    load_weights(unet, res, sd)
    _assert_same(new.unet, unet)


def test_missing_and_misshapen_tensors_are_named(one_thread, tmp_path):
    sd = load_file(str(TINY))
    key = next(k for k in sd if k.endswith("time_embed.0.weight"))
    broken = dict(sd)
    del broken[key]
    save_file(broken, str(tmp_path / "missing.safetensors"))
    with pytest.raises(RealCamInputError, match="time_embed.0.weight"):
        load_models(tmp_path / "missing.safetensors", **INFER)
    broken = dict(sd)
    broken[key] = torch.zeros(3, 3)
    save_file(broken, str(tmp_path / "shape.safetensors"))
    with pytest.raises(RealCamInputError, match=r"time_embed.0.weight.*\(3, 3\)"):
        load_models(tmp_path / "shape.safetensors", **INFER)


def test_open_weights_refuses_pickled_code_and_truncation(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"state_dict": {"w": torch.ones(2)}, "x": Evil()}, tmp_path / "evil.ckpt")
    with pytest.raises(RealCamInputError, match="refused"):
        open_weights(tmp_path / "evil.ckpt")
    data = TINY.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(RealCamInputError, match="truncated"):
        open_weights(tmp_path / "cut.safetensors")


@pytest.mark.parametrize("name", ["w.pt", "w.safetensors"])
def test_release_pages_only_touches_file_mapped_tensors(tmp_path, name):
    from realcam_core.weights.lazy import _FILE_MAPPED, release_pages

    big = torch.arange(1 << 20, dtype=torch.float32)  # 4 MiB: whole pages
    if name.endswith(".pt"):
        torch.save({"w": big}, tmp_path / name)
    else:
        save_file({"w": big}, str(tmp_path / name))
    mapped = open_weights(tmp_path / name)["w"]
    assert _FILE_MAPPED.get(id(mapped)) is mapped  # found inside the file's mapping
    assert torch.equal(mapped, big)
    anon = big.clone()
    release_pages(anon)  # not from a mapped file: must stay as it is
    assert torch.equal(anon, big)
    release_pages(mapped)  # dropped pages come back from the file when read again
    assert torch.equal(mapped, big)
