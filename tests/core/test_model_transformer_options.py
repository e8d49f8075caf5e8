"""ComfyUI `transformer_options` on the RealCam UNet: attention patches, replacements and block patches
take effect the way ComfyUI's UNet applies them, and no patch leaves the output bit-identical.

The replacement reference is a hand-written softmax attention (not the model's sdpa), so a replacement
that reproduces the unpatched output proves q / k / v / to_out are wired as ComfyUI hands them out.
"""

from __future__ import annotations

import math

import pytest
import torch

from realcam_core.model import CameraCondition

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny(tiny_fixture_model):
    unet, _, io, _, _ = tiny_fixture_model
    x = torch.cat([io["in.x_t"][:1], io["in.cond_latent"][:1].expand(-1, -1, 8, -1, -1)], dim=1)
    args = (x, io["in.timesteps"][:1], io["out.context"][:1], io["in.fs"][:1],
            CameraCondition(io["in.camera_c2w_rel"][:1], io["in.camera_K"][:1], (128, 128)))
    with torch.no_grad():
        plain = unet(*args)
    return unet, args, plain


def plain_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, extra: dict) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v per head on (N, L, heads * d) tensors, written out by hand."""
    h = extra["n_heads"]

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(t.shape[0], t.shape[1], h, -1).transpose(1, 2)

    w = torch.softmax(split(q) @ split(k).transpose(-1, -2) / math.sqrt(extra["dim_head"]), dim=-1)
    return (w @ split(v)).transpose(1, 2).reshape(q.shape)


def run(tiny, options: dict) -> torch.Tensor:
    unet, args, _ = tiny
    with torch.no_grad():
        return unet(*args, transformer_options=options)


def seen_blocks(tiny) -> list[dict]:
    """One record per attn1 call of one UNet call (identity patch)."""
    calls: list[dict] = []

    def record(n, context, value, extra):
        calls.append({k: extra[k] for k in ("block", "block_index", "transformer_index", "n_heads", "dim_head")}
                     | {"tokens": n.shape[1], "self": context is n and value is n})
        return n, context, value

    out = run(tiny, {"patches": {"attn1_patch": [record]}})
    assert torch.equal(out, tiny[2])  # an identity patch changes nothing
    return calls


def test_no_patch_gives_bit_identical_output(tiny):
    plain = tiny[2]
    assert torch.equal(run(tiny, {}), plain)
    assert torch.equal(run(tiny, {"patches": {}, "patches_replace": {}, "cond_or_uncond": [0]}), plain)


def test_attn1_patch_reaches_every_transformer_block_with_core_keys(tiny):
    unet = tiny[0]
    calls = seen_blocks(tiny)
    blocks = {c["block"] for c in calls}
    with_attn = {("input", i) for i, s in enumerate(unet.input_blocks) if any("Transformer" in type(m).__name__
                                                                               for m in s)}
    with_attn |= {("output", i) for i, s in enumerate(unet.output_blocks) if any("Transformer" in type(m).__name__
                                                                                  for m in s)}
    assert blocks == with_attn | {("middle", 0)} | {("input", 0)}  # ("input", 0): init_attn after the first conv
    idx = [c["transformer_index"] for c in calls]
    assert idx == sorted(idx) and len(set(idx)) == len(idx) == len(calls)  # one block per transformer layer here
    frames = tiny[1][0].shape[2]
    assert {c["tokens"] for c in calls} >= {frames}  # temporal blocks attend over the frames
    assert all(c["self"] and c["n_heads"] * c["dim_head"] > 0 for c in calls)


def test_attention_patches_change_the_output(tiny):
    plain = tiny[2]
    louder = run(tiny, {"patches": {"attn1_patch": [lambda n, c, v, e: (n * 1.5, c, v)]}})
    assert not torch.allclose(louder, plain, atol=1e-4)
    only_mid = run(tiny, {"patches": {"attn2_output_patch": [
        lambda n, e: n * 0 if e["block"] == ("middle", 0) else n]}})
    assert not torch.allclose(only_mid, plain, atol=1e-4)
    middle = run(tiny, {"patches": {"middle_patch": [lambda x, e: x + 0.1]}})
    assert not torch.allclose(middle, plain, atol=1e-4)


def test_replacement_with_hand_written_attention_reproduces_the_model(tiny):
    plain = tiny[2]
    keys = {(*c["block"], c["block_index"]) for c in seen_blocks(tiny)}
    both = {"attn1": dict.fromkeys(keys, plain_attention), "attn2": dict.fromkeys(keys, plain_attention)}
    assert torch.allclose(run(tiny, {"patches_replace": both}), plain, atol=2e-5)

    hit: list[tuple] = []

    def drop(q, k, v, extra):
        hit.append(extra["block"])
        return torch.zeros_like(q)

    out = run(tiny, {"patches_replace": {"attn1": {("middle", 0): drop}}})  # the (block, id) form
    assert hit and set(hit) == {("middle", 0)}
    assert not torch.allclose(out, plain, atol=1e-4)


def test_block_patches(tiny):
    unet, _, plain = tiny
    shapes: list[tuple] = []

    def record(h, options):
        shapes.append((options["block"], tuple(h.shape), tuple(options["original_shape"])))
        return h

    assert torch.equal(run(tiny, {"patches": {"input_block_patch": [record]}}), plain)
    assert [s[0] for s in shapes] == [("input", i) for i in range(len(unet.input_blocks))]
    x = tiny[1][0]
    b, c, t, hh, ww = x.shape
    assert shapes[0][2] == (b * t, c, hh, ww) and shapes[0][1][0] == b * t  # frames as batch, as in ComfyUI
    out = run(tiny, {"patches": {"output_block_patch": [lambda h, skip, o: (h, skip * 0.5)]}})
    assert not torch.allclose(out, plain, atol=1e-4)
