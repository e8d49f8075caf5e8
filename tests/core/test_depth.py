"""Depth Anything V2 metric: loading both formats, key conversion, preprocessing, errors.

Uses tiny random-weight models written at test time in the real on-disk formats. The conversion
is checked against an independent functional implementation of the ORIGINAL architecture that
reads the upstream key names directly, so a wrong mapping cannot cancel itself out.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from realcam_core.depth import (
    KNOWN_DEPTH_MODELS,
    infer_architecture,
    list_depth_models,
    load_depth_model,
    lower_bound_size,
    original_to_hf,
    predict_metric_depth,
    preprocess,
    resolve_depth_model,
)
from realcam_core.errors import RealCamInputError
from realcam_core.testing import tiny_original_state_dict, write_tiny_hf, write_tiny_original
from realcam_core.testing.tiny_depth import original_shapes

ORIG_NAME = "depth_anything_v2_metric_hypersim_tiny.safetensors"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("depth")
    return {
        "dir": d,
        "orig": write_tiny_original(str(d / ORIG_NAME), seed=3),
        "pth": write_tiny_original(str(d / "depth_anything_v2_metric_hypersim_tiny.pth"), seed=3),
        "hf": write_tiny_hf(str(d / "Tiny-Metric-Indoor-hf"), seed=3),
    }


@pytest.fixture(scope="module")
def orig_model(files):
    return load_depth_model(files["orig"])


@pytest.fixture(scope="module")
def image():
    g = torch.Generator().manual_seed(0)
    return torch.rand(2, 64, 96, 3, generator=g)


# ------------------------------------------------------------------ independent reference (original code's maths)


def _conv(x, sd, key, **kw):
    return F.conv2d(x, sd[key + ".weight"], sd.get(key + ".bias"), **kw)


def reference_forward(sd: dict, x: torch.Tensor, heads: int, layer_idx, max_depth: float) -> torch.Tensor:
    """Upstream DepthAnythingV2 (metric) forward from upstream-named weights; x (B, 3, H, W) at the pos grid."""
    b, _, h, w = x.shape
    ph, pw = h // 14, w // 14
    d = sd["pretrained.cls_token"].shape[-1]
    t = _conv(x, sd, "pretrained.patch_embed.proj", stride=14).flatten(2).transpose(1, 2)
    t = torch.cat([sd["pretrained.cls_token"].expand(b, -1, -1), t], 1)
    assert t.shape[1] == sd["pretrained.pos_embed"].shape[1], "reference runs at the native position grid only"
    t = t + sd["pretrained.pos_embed"]
    n = t.shape[1]
    feats = []
    blocks = sorted({int(k.split(".")[2]) for k in sd if k.startswith("pretrained.blocks.")})
    for i in blocks:
        p = f"pretrained.blocks.{i}."
        y = F.layer_norm(t, (d,), sd[p + "norm1.weight"], sd[p + "norm1.bias"], eps=1e-6)
        qkv = F.linear(y, sd[p + "attn.qkv.weight"], sd[p + "attn.qkv.bias"])
        q, k, v = qkv.reshape(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        att = ((q * (d // heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        y = F.linear((att @ v).transpose(1, 2).reshape(b, n, d), sd[p + "attn.proj.weight"], sd[p + "attn.proj.bias"])
        t = t + sd[p + "ls1.gamma"] * y
        y = F.layer_norm(t, (d,), sd[p + "norm2.weight"], sd[p + "norm2.bias"], eps=1e-6)
        y = F.linear(
            F.gelu(F.linear(y, sd[p + "mlp.fc1.weight"], sd[p + "mlp.fc1.bias"])),
            sd[p + "mlp.fc2.weight"],
            sd[p + "mlp.fc2.bias"],
        )
        t = t + sd[p + "ls2.gamma"] * y
        if i in layer_idx:
            feats.append(
                F.layer_norm(t, (d,), sd["pretrained.norm.weight"], sd["pretrained.norm.bias"], eps=1e-6)[:, 1:]
            )
    h_ = "depth_head."
    outs = []
    for i, f in enumerate(feats):
        f = _conv(f.permute(0, 2, 1).reshape(b, d, ph, pw), sd, f"{h_}projects.{i}")
        rl = f"{h_}resize_layers.{i}"
        if i == 0:
            f = F.conv_transpose2d(f, sd[rl + ".weight"], sd[rl + ".bias"], stride=4)
        elif i == 1:
            f = F.conv_transpose2d(f, sd[rl + ".weight"], sd[rl + ".bias"], stride=2)
        elif i == 3:
            f = _conv(f, sd, rl, stride=2, padding=1)
        outs.append(f)
    rn = [F.conv2d(o, sd[f"{h_}scratch.layer{i + 1}_rn.weight"], padding=1) for i, o in enumerate(outs)]

    def rcu(x, pre):
        y = _conv(F.relu(_conv(F.relu(x), sd, pre + "conv1", padding=1)), sd, pre + "conv2", padding=1)
        return y + x

    def fuse(r, x0, x1=None, size=None):
        pre = f"{h_}scratch.refinenet{r}."
        out = x0 if x1 is None else x0 + rcu(x1, pre + "resConfUnit1.")
        out = rcu(out, pre + "resConfUnit2.")
        kw = {"size": size} if size is not None else {"scale_factor": 2}
        out = F.interpolate(out, mode="bilinear", align_corners=True, **kw)
        return _conv(out, sd, pre + "out_conv")

    p4 = fuse(4, rn[3], size=rn[2].shape[2:])
    p3 = fuse(3, p4, rn[2], size=rn[1].shape[2:])
    p2 = fuse(2, p3, rn[1], size=rn[0].shape[2:])
    p1 = fuse(1, p2, rn[0])
    out = _conv(p1, sd, f"{h_}scratch.output_conv1", padding=1)
    out = F.interpolate(out, (ph * 14, pw * 14), mode="bilinear", align_corners=True)
    out = F.relu(_conv(out, sd, f"{h_}scratch.output_conv2.0", padding=1))
    out = torch.sigmoid(_conv(out, sd, f"{h_}scratch.output_conv2.2"))
    return (out * max_depth).squeeze(1)


def test_converted_model_matches_original_architecture(orig_model):
    sd = tiny_original_state_dict(seed=3)
    x = torch.randn(1, 3, 518, 518, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = reference_forward(sd, x, heads=1, layer_idx=(0, 1, 2, 3), max_depth=20)
        got = orig_model(pixel_values=x).predicted_depth
    assert got.shape == ref.shape == (1, 518, 518)
    assert ref.std() > 0.5  # random weights give a varied map, not a constant
    assert (got - ref).abs().max() < 1e-4


def test_original_pth_and_hf_twin_give_same_metres(files, orig_model, image):
    hf = load_depth_model(files["hf"])
    pth = load_depth_model(files["pth"])
    assert hf.realcam_depth_info["format"] == "hf-folder" and orig_model.realcam_depth_info["format"] == "original"
    a = predict_metric_depth(orig_model, image)
    b = predict_metric_depth(hf, image)
    c = predict_metric_depth(pth, image)
    assert a.shape == (2, 64, 96) and a.dtype == torch.float32
    assert (a - b).abs().max() <= 1e-5 and (a - c).abs().max() <= 1e-5
    assert 0 <= a.min() and a.max() <= 20 and a.std() > 0.1


def test_relative_config_is_forced_metric_by_name(files, image, tmp_path, orig_model):
    rel = write_tiny_hf(str(tmp_path / "Tiny-Metric-Indoor-hf"), seed=3, metric=False)
    assert json.load(open(os.path.join(rel, "config.json")))["depth_estimation_type"] == "relative"
    m = load_depth_model(rel)
    assert m.config.depth_estimation_type == "metric" and m.config.max_depth == 20
    ref = predict_metric_depth(orig_model, image, input_size=140)
    assert (predict_metric_depth(m, image, input_size=140) - ref).abs().max() <= 1e-5
    # Neutral name + relative config: refused unless forced, and forcing needs a max_depth.
    neutral = shutil.copytree(rel, tmp_path / "tiny-hf")
    with pytest.raises(RealCamInputError, match="relative"):
        load_depth_model(str(neutral))
    with pytest.raises(RealCamInputError, match="max_depth"):
        load_depth_model(str(neutral), metric=True)
    forced = load_depth_model(str(neutral), metric=True, max_depth=20)
    assert (predict_metric_depth(forced, image, input_size=140) - ref).abs().max() <= 1e-5


def test_legacy_config_key_loads_metric(tmp_path, image, orig_model):
    folder = write_tiny_hf(str(tmp_path / "tiny-hf"), seed=3, legacy_config=True)
    cfg = json.load(open(os.path.join(folder, "config.json")))
    assert "depth_estimation_type" not in cfg and cfg["depth_estimation"] == "metric"
    m = load_depth_model(folder)
    assert m.config.depth_estimation_type == "metric"
    ref = predict_metric_depth(orig_model, image, input_size=140)
    assert (predict_metric_depth(m, image, input_size=140) - ref).abs().max() <= 1e-5


def test_max_depth_from_name_and_override(files, image, orig_model, tmp_path):
    outdoor = shutil.copy(files["orig"], tmp_path / "depth_anything_v2_metric_vkitti_tiny.safetensors")
    m80 = load_depth_model(str(outdoor))
    assert m80.config.max_depth == 80 and isinstance(m80.config.max_depth, int)
    m40 = load_depth_model(files["orig"], max_depth=40.0)
    assert m40.config.max_depth == 40
    ref = predict_metric_depth(orig_model, image, input_size=140)
    assert torch.allclose(predict_metric_depth(m80, image, input_size=140), ref * 4, atol=1e-4)
    assert torch.allclose(predict_metric_depth(m40, image, input_size=140), ref * 2, atol=1e-4)
    with pytest.raises(RealCamInputError, match="max_depth"):
        load_depth_model(files["orig"], max_depth=12.5)


def test_fp16_file_is_upcast(tmp_path, image):
    p16 = write_tiny_original(str(tmp_path / ORIG_NAME), seed=5, dtype=torch.float16)
    sd32 = {k: v.float() for k, v in tiny_original_state_dict(seed=5, dtype=torch.float16).items()}
    from safetensors.torch import save_file

    p32 = str(tmp_path / "depth_anything_v2_metric_hypersim_tiny32.safetensors")
    save_file(sd32, p32)
    m16, m32 = load_depth_model(p16), load_depth_model(p32)
    assert all(p.dtype == torch.float32 for p in m16.parameters())
    assert torch.equal(
        predict_metric_depth(m16, image, input_size=140), predict_metric_depth(m32, image, input_size=140)
    )


def test_real_vitl_sizes_are_inferred_from_shapes():
    arch = {
        "hidden": 1024,
        "layers": 24,
        "patch": 14,
        "grid": 37,
        "mlp": 4096,
        "out_channels": (256, 512, 1024, 1024),
        "features": 256,
        "head": 32,
    }
    sd = {k: torch.empty(s, device="meta") for k, s, _ in original_shapes(arch)}
    hf = original_to_hf(sd)
    a = infer_architecture(hf)
    assert a["encoder"] == "vitl" and a["num_heads"] == 16 and a["out_indices"] == [5, 12, 18, 24]
    assert a["neck_hidden_sizes"] == [256, 512, 1024, 1024] and a["fusion_hidden_size"] == 256
    assert a["image_size"] == 518 and a["mlp_ratio"] == 4 and a["head_hidden_size"] == 32
    from transformers import DepthAnythingForDepthEstimation

    from realcam_core.depth.convert import build_config

    with torch.device("meta"):
        model = DepthAnythingForDepthEstimation(build_config(a, True, 20))
    on_disk = sum(v.numel() for v in hf.values())
    assert sum(p.numel() for p in model.parameters()) == on_disk
    assert round(on_disk / 1e6, 1) == 335.3  # the model card's ViT-L count


# ------------------------------------------------------------------ preprocessing


@pytest.mark.parametrize(
    ("hw", "expected"),
    [
        ((320, 512), (518, 826)),
        ((512, 320), (826, 518)),
        ((518, 518), (518, 518)),
        ((1080, 1920), (518, 924)),
        ((64, 96), (518, 784)),
    ],
)
def test_lower_bound_size(hw, expected):
    got = lower_bound_size(*hw, input_size=518)
    assert got == expected
    assert min(got) >= 518 and got[0] % 14 == 0 and got[1] % 14 == 0
    assert abs(got[1] / got[0] - hw[1] / hw[0]) < 0.03  # aspect kept


def test_preprocess_normalises_and_resizes():
    mean = torch.tensor([0.485, 0.456, 0.406])
    x = preprocess(mean.expand(1, 320, 512, 3).clone())
    assert x.shape == (1, 3, 518, 826)
    assert x.abs().max() < 1e-5
    ones = preprocess(torch.ones(1, 28, 28, 3), input_size=28)  # no resize at the exact size
    assert torch.allclose(ones[0, :, 0, 0], (1 - mean) / torch.tensor([0.229, 0.224, 0.225]))


class _RampModel(torch.nn.Module):
    """Stub depth model: records its input, returns a horizontal ramp 0..1 at the network size."""

    def __init__(self):
        super().__init__()
        self.p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        self.config = argparse.Namespace(depth_estimation_type="metric")
        self.seen = []

    def forward(self, pixel_values):
        self.seen.append((tuple(pixel_values.shape), pixel_values.dtype))
        b, _, h, w = pixel_values.shape
        return argparse.Namespace(predicted_depth=torch.linspace(0, 1, w, dtype=self.p.dtype).expand(b, h, w))


def test_predict_runs_at_network_size_and_resizes_back_bilinear_corners():
    stub = _RampModel()
    out = predict_metric_depth(stub, torch.rand(2, 320, 512, 3))
    assert stub.seen == [((2, 3, 518, 826), torch.float64)]
    # bilinear with align_corners=True maps a corner-sampled ramp to the exact ramp at (H, W)
    assert out.shape == (2, 320, 512) and out.dtype == torch.float32
    assert torch.allclose(out, torch.linspace(0, 1, 512).expand(2, 320, 512), atol=1e-6)


def test_batching_and_progress(orig_model):
    img = torch.rand(3, 50, 70, 3, generator=torch.Generator().manual_seed(2))
    calls = []
    one = predict_metric_depth(orig_model, img, input_size=70, batch_size=1, progress=lambda i, n: calls.append((i, n)))
    many = predict_metric_depth(orig_model, img, input_size=70, batch_size=3)
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert one.shape == (3, 50, 70) and (one - many).abs().max() < 1e-4
    assert (one[0] - one[1]).abs().max() > 1e-3  # different images, different depth


def test_bad_images_and_relative_model(orig_model, files):
    for bad in (torch.rand(64, 96, 3), torch.rand(1, 64, 96, 4), torch.zeros(1, 8, 8, 3, dtype=torch.uint8)):
        with pytest.raises(RealCamInputError, match="image"):
            predict_metric_depth(orig_model, bad)
    with pytest.raises(RealCamInputError, match="finite"):
        predict_metric_depth(orig_model, torch.full((1, 20, 20, 3), float("nan")))
    relative = load_depth_model(files["orig"], metric=False)
    with pytest.raises(RealCamInputError, match="metric"):
        predict_metric_depth(relative, torch.rand(1, 20, 20, 3))


# ------------------------------------------------------------------ errors on files


def test_truncated_safetensors(files, tmp_path):
    data = open(files["orig"], "rb").read()
    cut = tmp_path / ORIG_NAME
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(RealCamInputError, match="truncated"):
        load_depth_model(str(cut))
    cut.write_bytes(data[:5])
    with pytest.raises(RealCamInputError, match="safetensors"):
        load_depth_model(str(cut))


def test_unsafe_pickle_is_refused(tmp_path):
    path = tmp_path / "depth_anything_v2_metric_hypersim_evil.pth"
    torch.save({"pretrained.cls_token": torch.zeros(1), "extra": argparse.Namespace(code="x")}, path)
    with pytest.raises(RealCamInputError, match="weights_only"):
        load_depth_model(str(path))


def test_truncated_pth(files, tmp_path):
    data = open(files["pth"], "rb").read()
    cut = tmp_path / "depth_anything_v2_metric_hypersim_cut.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(RealCamInputError, match="truncated"):
        load_depth_model(str(cut))


def test_not_a_depth_anything_checkpoint(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "depth_anything_v2_metric_hypersim_other.safetensors"
    save_file({"model.diffusion_model.conv.weight": torch.zeros(4, 4)}, str(path))
    with pytest.raises(RealCamInputError, match="Depth Anything"):
        load_depth_model(str(path))
    folder = tmp_path / "other-hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "dpt"}))
    with pytest.raises(RealCamInputError, match="depth_anything"):
        load_depth_model(str(folder))
    sd = tiny_original_state_dict()
    sd["depth_head.readout_projects.0.0.weight"] = torch.zeros(2, 2)
    save_file(sd, str(path))
    with pytest.raises(RealCamInputError, match="readout_projects"):
        load_depth_model(str(path))
    with pytest.raises(RealCamInputError, match="existing"):
        load_depth_model(str(tmp_path / "nope.safetensors"))


# ------------------------------------------------------------------ resolving


def test_resolve_finds_local_files(files, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    dirs = [str(empty), str(files["dir"])]
    assert resolve_depth_model(dirs, ORIG_NAME, allow_download=False) == os.path.join(files["dir"], ORIG_NAME)
    assert resolve_depth_model(dirs, "Tiny-Metric-Indoor-hf", allow_download=False) == files["hf"]
    names = list_depth_models(dirs)
    assert names[0] == "depth_anything_v2_metric_hypersim_vitl_fp32.safetensors"
    assert ORIG_NAME in names and "Tiny-Metric-Indoor-hf" in names


def test_resolve_missing_names_folder_and_source(tmp_path):
    with pytest.raises(RealCamInputError) as e:
        resolve_depth_model(str(tmp_path), "depth_anything_v2_metric_hypersim_vitl_fp32.safetensors", False)
    msg = str(e.value)
    assert str(tmp_path) in msg and "huggingface.co/Kijai/DepthAnythingV2-safetensors" in msg
    with pytest.raises(RealCamInputError, match="not found"):
        resolve_depth_model(str(tmp_path), "my_depth.safetensors", True)


def test_resolve_downloads_known_names(tmp_path, monkeypatch):
    import huggingface_hub

    calls = []

    import realcam_core.weights.hub as hub

    def fake_file(repo_id, filename, local_dir):
        calls.append((repo_id, filename))
        Path(local_dir, filename).write_bytes(b"x")
        return os.path.join(local_dir, filename)

    def fake_snapshot(repo_id, local_dir, allow_patterns):
        calls.append((repo_id, None))
        assert "model.safetensors" in allow_patterns
        Path(local_dir, "config.json").write_text("{}")
        Path(local_dir, "model.safetensors").write_bytes(b"x")
        return local_dir

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_file)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    monkeypatch.setattr(hub, "_hf_expected", lambda repo_id: {})
    name = "depth_anything_v2_metric_vkitti_vitl_fp32.safetensors"
    assert resolve_depth_model(str(tmp_path), name, True) == os.path.join(tmp_path, name)
    folder = resolve_depth_model([str(tmp_path)], "depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf", True)
    assert folder == os.path.join(tmp_path, "Depth-Anything-V2-Metric-Indoor-Small-hf")
    assert calls == [
        ("Kijai/DepthAnythingV2-safetensors", name),
        ("depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf", None),
    ]
    assert all(math.isfinite(m.max_depth) and m.max_depth in (20, 80) for m in KNOWN_DEPTH_MODELS.values())
