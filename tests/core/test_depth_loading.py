"""Depth Anything V2 loaded on the meta device (issue 12) equals transformers' own `from_pretrained` load.

The meta-device path renames on-disk names to transformers' in-memory ones itself; it must give the
same model, bit for bit, as `from_pretrained` (which applies transformers' own renames), take the
memory-light path for every on-disk format, own its memory (no weight left a view of the file), and
hand weights that do not fit to `from_pretrained`, whose error names what is wrong.
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

import realcam_core.depth.model as dm
from realcam_core.errors import RealCamInputError
from realcam_core.testing import write_tiny_hf, write_tiny_original
from realcam_core.weights.lazy import _FILE_MAPPED, open_weights

NAME = "depth_anything_v2_metric_hypersim_tiny.safetensors"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("depth_loading")
    return {"orig": write_tiny_original(str(d / NAME), seed=4),
            "pth": write_tiny_original(str(d / "depth_anything_v2_metric_hypersim_tiny.pth"), seed=4),
            "hf": write_tiny_hf(str(d / "Tiny-Metric-Indoor-hf"), seed=4)}


def _paths(monkeypatch) -> list[str]:
    """Which path each load took."""
    taken: list[str] = []
    fill, slow = dm._fill_on_meta, dm._from_pretrained

    def spy_fill(*a):
        model = fill(*a)
        taken.append("meta" if model is not None else "declined")
        return model

    def spy_slow(*a):
        taken.append("from_pretrained")
        return slow(*a)

    monkeypatch.setattr(dm, "_fill_on_meta", spy_fill)
    monkeypatch.setattr(dm, "_from_pretrained", spy_slow)
    return taken


@pytest.mark.parametrize("fmt", ["orig", "pth", "hf"])
def test_meta_load_equals_from_pretrained(files, fmt, monkeypatch, one_thread):
    taken = _paths(monkeypatch)
    fast = dm.load_depth_model(files[fmt])
    assert taken == ["meta"]
    monkeypatch.setattr(dm, "_fill_on_meta", lambda *a: None)
    ref = dm.load_depth_model(files[fmt])
    assert taken == ["meta", "from_pretrained"]
    a, b = fast.state_dict(), ref.state_dict()
    assert a.keys() == b.keys() and len(a) > 50
    for k in a:
        assert a[k].dtype == b[k].dtype == torch.float32 and torch.equal(a[k], b[k]), k
    assert not fast.training and fast.realcam_depth_info == ref.realcam_depth_info
    x = torch.rand(1, 3, 140, 140, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(fast(pixel_values=x).predicted_depth, ref(pixel_values=x).predicted_depth)


def test_split_qkv_are_copied_and_their_file_pages_tracked(files, one_thread):
    sd = open_weights(files["orig"])
    qkv = next(k for k in sd if k.endswith("attn.qkv.weight"))
    hf = dm.original_to_hf(sd, copy=False)
    prefix = "backbone.encoder.layer." + qkv.split(".")[2] + ".attention.attention."
    parts = [hf[prefix + n + ".weight"] for n in ("query", "key", "value")]
    assert all(p.untyped_storage().data_ptr() == sd[qkv].untyped_storage().data_ptr() for p in parts)  # views
    assert all(_FILE_MAPPED.get(id(p)) is p for p in parts)  # release_pages may drop their pages
    model = dm.load_depth_model(files["orig"])
    file_ptrs = {t.untyped_storage().data_ptr() for t in open_weights(files["orig"]).values()}
    assert not file_ptrs & {p.untyped_storage().data_ptr() for p in model.parameters()}
    n = sd[qkv].shape[0] // 3  # the query: the first third of the fused weight
    params = dict(model.named_parameters())
    got = params[next(k for k in params if dm._disk_name(k, hf) == prefix + "query.weight")]
    assert torch.equal(got, load_file(files["orig"])[qkv][:n])


def test_weights_that_do_not_fit_get_from_pretrained_errors(files, tmp_path, monkeypatch, one_thread):
    sd = load_file(files["orig"])
    broken = dict(sd)
    broken.pop(next(k for k in sd if k.endswith("mlp.fc2.bias")))
    save_file(broken, str(tmp_path / NAME))
    taken = _paths(monkeypatch)
    with pytest.raises(RealCamInputError, match="depth model .*(missing|incomplete|fit)"):
        dm.load_depth_model(str(tmp_path / NAME))
    assert taken == ["declined", "from_pretrained"]
