"""Sparse (block-gathered) epipolar attention against the dense masked SDPA and a float64 hand computation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from realcam_core.conformance import run_conformance
from realcam_core.model import CameraCondition, epipolar_masks
from realcam_core.model import attention as attn_mod
from realcam_core.model.attention import EpipolarAttention
from realcam_core.model.camera import PackedMask, pack_bits, unpack_bits
from realcam_core.model.sparse_attention import build_plan, plan_for, sparse_epipolar_attention

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "tiny_realcam"


def _reference(q, k, v, heads, mask, registers):
    """float64 softmax(q k^T / sqrt(d)) v over allowed keys; a row with no allowed key gives 0 (as SDPA)."""
    b, length, c = q.shape
    d = c // heads
    allowed = torch.cat([torch.ones(mask.shape[0], length, registers, dtype=torch.bool), mask], dim=2)
    qh = q.double().reshape(b, length, heads, d).transpose(1, 2)
    kh = k.double().reshape(b, -1, heads, d).transpose(1, 2)
    vh = v.double().reshape(b, -1, heads, d).transpose(1, 2)
    s = qh @ kh.transpose(-1, -2) / math.sqrt(d)
    s = s.masked_fill(~allowed[:, None], float("-inf"))
    p = torch.softmax(s, dim=-1).nan_to_num(0.0)
    return (p @ vh).transpose(1, 2).reshape(b, length, c)


def _random_mask(bm, length, density, gen):
    m = torch.rand(bm, length, length, generator=gen) < density
    m[:, 3] = False  # empty rows
    m[:, 5] = True  # fully true rows
    m[:, length - 1] = False
    return m


def _module(dim, heads, registers, seed=0):
    torch.manual_seed(seed)
    mod = EpipolarAttention(dim, heads, registers).eval()
    with torch.no_grad():
        for p in mod.parameters():
            p.normal_(0, 0.3)
    return mod


def _qkv(mod, x):
    q = mod.to_q(x)
    ctx = x
    if mod.num_register_tokens:
        ctx = torch.cat([mod.register_tokens.expand(x.shape[0], -1, -1), x], dim=1)
    return q, mod.to_k(ctx), mod.to_v(ctx)


@pytest.mark.parametrize("registers", [4, 0])
@pytest.mark.parametrize("mask_batch", [1, 2])
def test_sparse_matches_dense_and_hand_reference_on_random_masks(one_thread, registers, mask_batch):
    gen = torch.Generator().manual_seed(registers * 10 + mask_batch)
    frames, grid = 3, (5, 7)  # 105 tokens: not a multiple of the block size
    length = frames * grid[0] * grid[1]
    dense_bool = _random_mask(mask_batch, length, 0.15, gen)
    mask = PackedMask(pack_bits(dense_bool), length, grid)
    mod = _module(32, 4, registers)
    x = torch.randn(2, length, 32, generator=gen)
    with torch.no_grad():
        q, k, v = _qkv(mod, x)
        got = sparse_epipolar_attention(q, k, v, 4, mask, registers)
        mod.backend = "dense"
        dense = mod(x, mask)
        mod.backend = "sparse"
        sparse_mod = mod(x, mask)
    ref = _reference(q, k, v, 4, dense_bool.expand(2, -1, -1), registers)
    torch.testing.assert_close(got.double(), ref, atol=2e-6, rtol=1e-5)
    torch.testing.assert_close(sparse_mod, dense, atol=2e-6, rtol=1e-5)
    if registers == 0:  # an empty row has nothing to attend to: 0, as dense SDPA gives
        assert got[:, 3].abs().max() == 0
    else:
        assert got[:, 3].abs().max() > 0  # registers are always visible


def test_plan_covers_every_allowed_pair_and_skips_most_of_a_real_epipolar_mask(one_thread):
    t, (h, w) = 6, (64, 96)
    c2w = torch.eye(4).repeat(1, t, 1, 1)
    yaw = torch.linspace(0, 0.4, t)
    c2w[0, :, 0, 0], c2w[0, :, 0, 2], c2w[0, :, 2, 0], c2w[0, :, 2, 2] = yaw.cos(), yaw.sin(), -yaw.sin(), yaw.cos()
    c2w[0, :, 0, 3], c2w[0, :, 2, 3] = torch.linspace(0, 0.2, t), torch.linspace(0, 0.6, t)
    K = torch.tensor([[60.0, 0, 48], [0, 60, 32], [0, 0, 1]]).repeat(1, t, 1, 1)
    mask = epipolar_masks(CameraCondition(c2w, K, (h, w)), [4])[4]  # 16 x 24 cells, 2304 tokens
    order = mask.query_order[0]
    n = mask.grid[0] * mask.grid[1]
    assert torch.equal(order.sort().values, torch.arange(mask.length))
    assert torch.equal(order // n, torch.arange(mask.length) // n)  # frame by frame
    assert torch.equal(mask.self_order[0].sort().values, torch.arange(mask.length))
    assert torch.equal(mask.self_order[0] // n, torch.arange(mask.length) // n)
    dense = mask.dense()[0]
    own_frame = (torch.arange(mask.length)[:, None] // n) == (torch.arange(mask.length)[None] // n)
    unsplit = build_plan(mask, 4, 0, block=32, split=False)
    plan = build_plan(mask, 4, 0, block=32)
    assert not unsplit.own and plan.own  # the own-frame keys get their own blocks by default on the CPU
    for parts in ([(unsplit.buckets, 4, dense)], [(plan.buckets, 4, dense & ~own_frame), (plan.own, 0, dense & own_frame)]):
        for buckets, registers, expected in parts:
            covered = torch.zeros_like(dense)
            for bucket in buckets:
                sub = unpack_bits(bucket.mask, bucket.width)
                for qi, ki, mi in zip(bucket.queries, bucket.keys, sub, strict=True):
                    r, col = (mi & (ki >= registers)[None]).nonzero(as_tuple=True)
                    covered[qi[r], ki[col] - registers] = True
                    assert torch.equal(ki[:registers], torch.arange(registers)) and mi[:, :registers].all()
                    assert not mi[:, registers:][:, ki[registers:] < registers].any()  # padding keys masked out
            assert torch.equal(covered, expected)  # the plan reproduces the mask exactly
    # the own frame's lines are a different pencil: blocking them apart skips more pairs
    assert plan.computed_fraction < 0.9 * unsplit.computed_fraction, (plan.computed_fraction, unsplit.computed_fraction)
    assert plan.computed_fraction < 0.5 and dense.float().mean() < 0.15
    x = torch.randn(1, mask.length, 64)
    mod = _module(64, 2, 4, seed=1)
    with torch.no_grad():
        mod.backend = "dense"
        ref = mod(x, mask)
        mod.backend = "sparse"
        got = mod(x, mask)
    # float32 sums in another order: differences ~1e-6 of outputs ~|10|
    assert (got - ref).abs().max() <= 1e-6 * max(1.0, float(ref.abs().max())), (got - ref).abs().max()
    # half precision on the CPU: the split plan's log-sum-exp comes back in float32, the output in bf16
    mod_bf16 = _module(64, 2, 4, seed=1).to(torch.bfloat16)
    with torch.no_grad():
        mod_bf16.backend = "sparse"
        got_bf16 = mod_bf16(x.to(torch.bfloat16), mask)
    assert got_bf16.dtype == torch.bfloat16
    assert (got_bf16.float() - ref).abs().max() <= 0.05 * max(1.0, float(ref.abs().max()))


def test_auto_picks_sparse_only_on_large_sparse_cpu_masks(one_thread, monkeypatch):
    grid = (8, 16)
    length = 4 * grid[0] * grid[1]
    tok = torch.arange(length)
    same_frame_row = (tok // grid[1])[:, None] == (tok // grid[1])[None]  # each query sees its own cell row
    sparse_mask = PackedMask(pack_bits(same_frame_row[None]), length, grid)
    full_mask = PackedMask(pack_bits(torch.ones(1, length, length, dtype=torch.bool)), length, grid)
    mod = _module(16, 2, 4)
    assert not mod._use_sparse(sparse_mask, torch.device("cpu"))  # below AUTO_SPARSE_MIN_TOKENS
    monkeypatch.setattr(attn_mod, "AUTO_SPARSE_MIN_TOKENS", 16)
    assert plan_for(sparse_mask, 4, 0).computed_fraction <= attn_mod.AUTO_SPARSE_MAX_FRACTION
    assert mod._use_sparse(sparse_mask, torch.device("cpu"))
    assert not mod._use_sparse(full_mask, torch.device("cpu"))  # nothing to skip: dense is faster
    assert not mod._use_sparse(sparse_mask, torch.device("meta"))  # not measured off the CPU: dense
    mod.backend = "sparse"
    assert mod._use_sparse(full_mask, torch.device("cpu"))


def test_upstream_fixture_conforms_with_the_sparse_backend(one_thread):
    # (the dense backend on this fixture: tests/core/test_conformance.py)
    report = run_conformance(TINY, epipolar_backend="sparse")
    assert report.passed, report.table()
    names = {c.name for c in report.checks}
    assert "unet_out (with camera)" in names and "ddim_final" in names


def test_second_fixture_conforms_with_the_sparse_backend(one_thread, tmp_path):
    """The second fixture is written by this very dense code path, so its DDIM chain checks (eta 1, random
    weights with sharp attention) sit at float-noise level: torch's own math SDPA kernel, on the dense path,
    misses them too. Per-call checks must pass; DDIM chains may deviate no more than that kernel's."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from tests.core.test_conformance import _write_fixture

    _write_fixture(tmp_path)
    sparse = {c.name: c for c in run_conformance(tmp_path, epipolar_backend="sparse").checks}
    with sdpa_kernel(SDPBackend.MATH):
        other_kernel = {c.name: c for c in run_conformance(tmp_path, epipolar_backend="dense").checks}
    chain = {n for n in sparse if n.startswith("ddim") and ("final" in n or "unet_input" in n)}
    assert chain and all(sparse[n].passed for n in sparse if n not in chain), [n for n in sparse if not sparse[n].passed]
    assert sparse["unet_out (with camera)"].value < 1e-5
    for n in chain:
        assert sparse[n].passed or sparse[n].value <= 2 * other_kernel[n].value, (n, sparse[n], other_kernel[n])


def test_unet_batch_of_different_cameras_sparse_equals_dense(one_thread):
    from realcam_core.model import build_models
    from realcam_core.testing.tiny_realcam import TinySpec, tiny_config

    cfg = tiny_config(TinySpec(variant="256", frames=4, image_size=(64, 64)))
    unet, _ = build_models(cfg)
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in unet.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
    unet.eval()
    t = 4
    c2w = torch.eye(4).repeat(2, t, 1, 1)
    c2w[0, :, 0, 3] = torch.linspace(0, 0.5, t)  # sideways
    c2w[1, :, 2, 3] = torch.linspace(0, 0.5, t)  # forward
    K = torch.tensor([[40.0, 0, 32], [0, 40, 32], [0, 0, 1]]).repeat(2, t, 1, 1)
    cam = CameraCondition(c2w, K, (64, 64))
    x = torch.randn(2, cfg.unet.in_channels, t, 8, 8, generator=gen)
    ctx = torch.randn(2, 77 + t * cfg.unet.image_tokens_per_frame, cfg.unet.context_dim, generator=gen)
    ts = torch.tensor([500.0, 500.0])
    with torch.no_grad():
        unet.set_epipolar_backend("dense")
        ref = unet(x, ts, ctx, None, cam)
        unet.set_epipolar_backend("sparse")
        got = unet(x, ts, ctx, None, cam)
        got2 = unet(x, ts, ctx, None, cam)  # plans cached on the per-camera masks
    assert (got - ref).abs().max() <= 1e-5 * max(1.0, float(ref.abs().max()))
    assert torch.equal(got, got2)
    preps = list(unet._camera_cache.values())
    assert len(preps) == 2 and all("_sparse_plans" in p.masks[8].__dict__ for p in preps)
    with pytest.raises(Exception, match="epipolar backend"):
        unet.set_epipolar_backend("flex")
