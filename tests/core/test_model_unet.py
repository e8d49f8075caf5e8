"""RealCamUNet call contract: camera caching and batch sharing, per-frame context, validation, dtypes."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from realcam_core.errors import RealCamInputError
from realcam_core.model import CameraCondition, build_models, load_weights

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny(tiny_fixture_model):
    return tiny_fixture_model


def _inputs(io, b=slice(0, 1)):
    x = torch.cat([io["in.x_t"][b], io["in.cond_latent"][b].expand(-1, -1, 8, -1, -1)], dim=1)
    return x, io["in.timesteps"][b], io["out.context"][b], io["in.fs"][b]


def _cam(io, b=slice(0, 1), **kw):
    return CameraCondition(io["in.camera_c2w_rel"][b], io["in.camera_K"][b], (128, 128), **kw)


@torch.no_grad()
def test_camera_products_are_cached_per_camera(tiny):
    unet, _, io, _, _ = tiny
    unet.clear_camera_cache()
    x, t, ctx, fs = _inputs(io)
    misses = unet.camera_cache_misses
    a = unet(x, t, ctx, fs, _cam(io))
    b = unet(x, t + 10, ctx, fs, _cam(io))  # a later step, same camera: no recomputation
    assert unet.camera_cache_misses == misses + 1
    assert not torch.equal(a, b)
    unet(x, t, ctx, fs, _cam(io, slice(1, 2)))  # another path
    assert unet.camera_cache_misses == misses + 2
    unet(x, t, ctx, fs, _cam(io, seed=5))  # another seed changes the same-frame masks
    assert unet.camera_cache_misses == misses + 3
    again = unet(x, t, ctx, fs, _cam(io))
    assert unet.camera_cache_misses == misses + 3 and torch.equal(again, a)


@torch.no_grad()
def test_cfg_batch_shares_one_camera_and_matches_separate_calls(tiny):
    unet, _, io, _, _ = tiny
    x, t, ctx, fs = _inputs(io)
    ctx_u = io["out.context_uncond"][:1]
    sep = torch.cat([unet(x, t, ctx, fs, _cam(io)), unet(x, t, ctx_u, fs, _cam(io))])
    xb, tb, cb, fb = torch.cat([x, x]), torch.cat([t, t]), torch.cat([ctx, ctx_u]), torch.cat([fs, fs])
    both = CameraCondition(torch.cat([io["in.camera_c2w_rel"][:1]] * 2), torch.cat([io["in.camera_K"][:1]] * 2),
                           (128, 128))
    misses = unet.camera_cache_misses
    joint = unet(xb, tb, cb, fb, both)
    broadcast = unet(xb, tb, cb, fb, _cam(io))  # B = 1 camera over a batch of 2
    assert unet.camera_cache_misses == misses  # both rows hit the entry made by the separate calls
    assert torch.allclose(joint, sep, atol=1e-5) and torch.allclose(broadcast, sep, atol=1e-5)
    # two different cameras in one batch equal the two separate calls
    x2, t2, c2, f2 = _inputs(io, slice(0, 2))
    mixed = unet(x2, t2, c2, f2, _cam(io, slice(0, 2)))
    singles = torch.cat([unet(*_inputs(io, slice(i, i + 1)), _cam(io, slice(i, i + 1))) for i in range(2)])
    assert torch.allclose(mixed, singles, atol=1e-5)


@torch.no_grad()
def test_camera_and_per_frame_image_tokens_change_the_output(tiny):
    unet, _, io, _, _ = tiny
    x, t, ctx, fs = _inputs(io)
    with_cam = unet(x, t, ctx, fs, _cam(io))
    without = unet(x, t, ctx, fs, None)
    assert (with_cam - without).abs().max() > 0.1
    # frame-major split: frame f sees image tokens [16f, 16f + 16); permuting the frames' token groups matters
    img = ctx[:, 77:].reshape(1, 8, 16, -1).flip(1).reshape(1, 128, -1)
    flipped = unet(x, t, torch.cat([ctx[:, :77], img], dim=1), fs, None)
    assert (flipped - without).abs().max() > 1e-2
    # any other context length is shared by all frames (and still runs)
    shared = unet(x, t, ctx[:, :77 + 20], fs, None)
    assert shared.shape == without.shape


@torch.no_grad()
def test_level_without_mask_runs_full_attention(tiny):
    unet, res, io, cfg, sd = tiny
    x, t, ctx, fs = _inputs(io)
    full8 = replace(cfg, unet=replace(cfg.unet, epipolar_mask_factors=(16,)))
    u2, r2 = build_models(full8)
    load_weights(u2, r2, sd)
    u2.eval()
    masked = unet(x, t, ctx, fs, _cam(io))
    unmasked = u2(x, t, ctx, fs, _cam(io))
    assert torch.isfinite(unmasked).all()
    assert (masked - unmasked).abs().max() > 1e-2
    prep = u2.prepare_camera(_cam(io), 0, x.device, x.dtype)
    assert set(prep.masks) == {16}


@torch.no_grad()
def test_bfloat16_call_tracks_float32(tiny):
    unet, _, io, cfg, sd = tiny
    x, t, ctx, fs = _inputs(io)
    ref = unet(x, t, ctx, fs, _cam(io))
    u16, r16 = build_models(cfg, dtype=torch.bfloat16)
    load_weights(u16, r16, sd)
    out = u16.eval()(x.bfloat16(), t, ctx.bfloat16(), fs, _cam(io))
    assert out.dtype == torch.bfloat16
    err = (out.float() - ref).abs().max() / ref.abs().max()
    assert err < 0.1


def test_bad_inputs_raise_named_errors(tiny):
    unet, res, io, _, _ = tiny
    x, t, ctx, fs = _inputs(io)
    with pytest.raises(RealCamInputError, match="x: expected 8 channels"):
        unet(x[:, :4], t, ctx, fs)
    with pytest.raises(RealCamInputError, match="control"):
        unet(x, t, ctx, fs, control={"output": []}, transformer_options={})
    with pytest.raises(RealCamInputError, match="camera.image_size"):
        unet(x, t, ctx, fs, CameraCondition(io["in.camera_c2w_rel"][:1], io["in.camera_K"][:1], (256, 256)))
    with pytest.raises(RealCamInputError, match="camera.c2w_rel"):
        unet(x, t, ctx, fs, CameraCondition(io["in.camera_c2w_rel"][:1, :4], io["in.camera_K"][:1, :4], (128, 128)))
    with pytest.raises(RealCamInputError, match="context"):
        unet(x, t, ctx[..., :32], fs)
    with pytest.raises(RealCamInputError, match="timesteps"):
        unet(x, torch.cat([t, t]), ctx, fs)
    with pytest.raises(RealCamInputError, match="image embedding"):
        res(torch.zeros(1, 257, 12))
