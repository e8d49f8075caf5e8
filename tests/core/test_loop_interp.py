"""Conditioning layouts of interp / loop / transition / continuation against upstream's definitions.

`_upstream_*` below transcribe CamI2V's `get_batch_input` (base.py) and `ddim_sampling`
(ddim.py) line by line on plain tensors, so the layouts are compared with what upstream computes,
not with a restatement of our own code.
"""

from __future__ import annotations

import pytest
import torch

from realcam_core.camera import se3
from realcam_core.errors import RealCamInputError
from realcam_core.trajectory import loop as li

B, C, T, H, W = 2, 4, 16, 5, 6


def _video_latent(seed: int = 0) -> torch.Tensor:
    """Every (batch, frame) slot holds a distinct latent, so a slot's content names its source."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(B, C, T, H, W, generator=g)
    return z + torch.arange(T, dtype=torch.float32)[None, None, :, None, None] * 10.0


# -- upstream, transcribed -----------------------------------------------------------------
def _upstream_concat(z: torch.Tensor, cond_frame_index: torch.Tensor, interp_mode: bool) -> torch.Tensor:
    batch_size = z.shape[0]
    if interp_mode:
        img_cat_cond = torch.zeros_like(z)
        img_cat_cond[:, :, 0, :, :] = z[:, :, 0, :, :]
        img_cat_cond[:, :, -1, :, :] = z[:, :, -1, :, :]
    else:
        img_cat_cond = z[torch.arange(batch_size), :, cond_frame_index, :, :]
        img_cat_cond = img_cat_cond.unsqueeze(2)
        img_cat_cond = img_cat_cond.repeat(1, 1, z.shape[2], 1, 1)  # einops 'b c t h w -> b c (repeat t) h w'
    return img_cat_cond


def _upstream_relative_pose(RT_4x4: torch.Tensor, cond_frame_index: torch.Tensor) -> torch.Tensor:
    b = RT_4x4.shape[0]
    first_frame_RT = RT_4x4[torch.arange(b), cond_frame_index, ...].unsqueeze(1)
    return first_frame_RT.inverse() @ RT_4x4


def _upstream_overlap_step(img, origin_z_0, n, q_sample):
    img = img.clone()
    img[:, :, :n, :, :] = q_sample(origin_z_0[:, :, :n, :, :])
    return img


def _random_c2w(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return se3.se3_exp(torch.randn(n, 6, generator=g, dtype=torch.float64) * 0.4)


# -- layouts -------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [0, 3, 15])
def test_repeat_concat_is_upstreams_cond_frame_layout(k):
    z = _video_latent()
    ours = li.repeat_concat(z, k)
    ref = _upstream_concat(z, torch.full((B,), k), interp_mode=False)
    assert torch.equal(ours, ref)
    # every slot holds frame k's latent (and nothing else)
    for t in range(T):
        assert torch.equal(ours[:, :, t], z[:, :, k])


def test_interp_concat_is_upstreams_interp_mode():
    z = _video_latent(1)
    ours = li.interp_concat(z)
    assert torch.equal(ours, _upstream_concat(z, torch.zeros(B, dtype=torch.long), interp_mode=True))
    assert torch.equal(ours[:, :, 0], z[:, :, 0]) and torch.equal(ours[:, :, -1], z[:, :, -1])
    assert not ours[:, :, 1:-1].any()


def test_interp_concat_from_ends_equals_interp_mode_on_the_video():
    start, end = torch.randn(B, C, H, W), torch.randn(1, C, 1, H, W)
    video = start[:, :, None].repeat(1, 1, T, 1, 1)
    video[:, :, -1] = end[:, :, 0]  # upstream `ref_img2`: the end image replaces video frame 15
    ours = li.interp_concat_from_ends(start, end, T)
    assert torch.equal(ours, _upstream_concat(video, torch.zeros(B, dtype=torch.long), interp_mode=True))
    # loop: end = start puts the start latent in both end slots
    loop = li.interp_concat_from_ends(start, start, T)
    assert torch.equal(loop[:, :, 0], start) and torch.equal(loop[:, :, -1], start)


def test_layouts_refuse_wrong_shapes():
    with pytest.raises(RealCamInputError, match="cond_frame_index"):
        li.repeat_concat(_video_latent(), 16)
    with pytest.raises(RealCamInputError, match="latent"):
        li.interp_concat(torch.zeros(1, 4, 5, 5))
    with pytest.raises(RealCamInputError, match="end_latent"):
        li.interp_concat_from_ends(torch.zeros(1, 4, 5, 5), torch.zeros(1, 4, 5, 6), T)


@pytest.mark.parametrize("k", [0, 7, 15])
def test_poses_relative_to_frame_k_match_upstream(k):
    c2w = _random_c2w(T, seed=k)
    ours = li.relative_to_frame(c2w.float(), k)
    w2c = torch.linalg.inv(c2w).float()  # upstream gets w2c RT and inverts it in float32
    ref = _upstream_relative_pose(torch.linalg.inv(w2c)[None], torch.tensor([k]))[0]
    assert torch.allclose(ours, ref, atol=2e-5)
    assert torch.equal(ours[k], torch.eye(4))
    batched = li.relative_to_frame(torch.stack([c2w, c2w.flip(0)]).float(), k)
    assert torch.allclose(batched[0], ours) and torch.allclose(batched[1, k], torch.eye(4))


# -- continuation --------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 4])
def test_continuation_layout_matches_upstream_overlap_and_cond_frame(n):
    prev = _video_latent(2)
    lay = li.continuation_layout(prev, overlap=n, num_frames=T)
    # origin_z_0[:, :, :n] is the previous clip's last n frames
    assert torch.equal(lay.latent[:, :, :n], prev[:, :, T - n:])
    assert not lay.latent[:, :, n:].any()
    assert lay.cond_frame_index == n - 1
    # concat: upstream's default layout on cond_frame_index = the previous clip's last frame
    ref = _upstream_concat(lay.latent, torch.full((B,), n - 1), interp_mode=False)
    assert torch.equal(lay.concat, ref) and torch.equal(lay.concat[:, :, 0], prev[:, :, -1])
    # ComfyUI noise_mask: keep the overlap, generate the rest
    assert lay.noise_mask.shape == (1, 1, T, H, W)
    assert not lay.noise_mask[:, :, :n].any() and bool((lay.noise_mask[:, :, n:] == 1).all())


def test_overlap_pastes_match_upstream():
    z = _video_latent(3)
    x = torch.randn_like(z)
    noise = torch.randn_like(z)
    a = 0.3
    ref = _upstream_overlap_step(x, z, 3, lambda z0: a * z0 + (1 - a * a) ** 0.5 * noise[:, :, :3])
    assert torch.allclose(li.paste_overlap_xt(x, z, 3, a, noise), ref, atol=1e-6)
    pasted = li.paste_overlap(x, z, 3)
    assert torch.equal(pasted[:, :, :3], z[:, :, :3]) and torch.equal(pasted[:, :, 3:], x[:, :, 3:])


def test_continuation_refuses_a_previous_clip_shorter_than_the_overlap():
    with pytest.raises(RealCamInputError, match=r"previous_latent: expected at least overlap=4 frames.*got 2"):
        li.continuation_layout(torch.zeros(1, 4, 2, 5, 5), overlap=4, num_frames=T)
    with pytest.raises(RealCamInputError, match="cond_frame_index"):
        li.continuation_layout(torch.zeros(1, 4, 16, 5, 5), overlap=2, num_frames=T, cond_frame_index=5)
    with pytest.raises(RealCamInputError, match="overlap"):
        li.continuation_layout(torch.zeros(1, 4, 16, 5, 5), overlap=0, num_frames=T)


def test_continuation_keeps_the_model_latent_outside_the_overlap():
    prev, fill = _video_latent(4), torch.randn(1, C, T, H, W)
    lay = li.continuation_layout(prev, 2, T, fill=fill)
    assert torch.equal(lay.latent[:, :, 2:], fill[:, :, 2:].expand(B, -1, -1, -1, -1))


# -- images for shaping --------------------------------------------------------------------
def test_end_frame_shaping_makes_the_end_a_fully_visible_preview_frame():
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(9, 8, 10, 3, generator=g)
    mask = (torch.rand(9, 8, 10, generator=g) > 0.5).float()
    end = torch.rand(1, 8, 10, 3, generator=g)
    f, m = li.end_frame_shaping(frames, mask, end)
    assert torch.equal(f[-1], end[0]) and bool((m[-1] == 1).all())
    assert torch.equal(f[:-1], frames[:-1]) and torch.equal(m[:-1], mask[:-1])
    # transition: the start scene's preview is trusted only for the first half
    f, m = li.end_frame_shaping(frames, mask, end, handoff=li.default_preview_handoff("transition"))
    assert torch.equal(m[:5], mask[:5]) and not m[5:8].any() and bool((m[-1] == 1).all())
    with pytest.raises(RealCamInputError, match="end_image"):
        li.end_frame_shaping(frames, mask, torch.rand(1, 8, 12, 3))


def test_match_image_size_errors_or_resizes_by_option():
    img = torch.rand(1, 20, 40, 3)
    with pytest.raises(RealCamInputError, match=r"end_image: expected the start image's size 32x16.*got 40x20"):
        li.match_image_size(img, 16, 32)
    assert li.match_image_size(img, 20, 40) is not None
    assert li.match_image_size(img, 16, 16, "crop").shape == (1, 16, 16, 3)
    st = li.match_image_size(img, 10, 30, "stretch")
    assert st.shape == (1, 10, 30, 3)
    # crop keeps the centre: a vertical stripe in the middle stays in the middle
    stripe = torch.zeros(1, 20, 40, 3)
    stripe[:, :, 19:21] = 1.0
    out = li.match_image_size(stripe, 20, 20, "crop")
    assert int(out[0, 10, :, 0].argmax()) in (9, 10)
