"""Noise-shaping maths (realcam_core.shaping), checked against upstream's tensors where they exist.

`tests/fixtures/shaping_upstream.safetensors` is cut from the shared tiny_realcam fixture (upstream
code on stand-in data, see its README): run `python tests/core/test_shaping.py --make-fixture` to
rebuild it. Latents are cropped to 8x8 latent pixels (the blend is elementwise); the preview
visibility is kept whole, bit-packed, because erosion and resizing look at neighbours.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from realcam_core import shaping as S
from realcam_core.errors import RealCamInputError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "shaping_upstream.safetensors"
UPSTREAM_IO = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_realcam" / "io.safetensors"


def make_fixture(src: Path = UPSTREAM_IO, dst: Path = FIXTURE) -> None:
    from safetensors.torch import load_file, save_file

    d = load_file(str(src))
    crop = (..., slice(0, 8), slice(0, 8))
    visible = (d["in.ns_preview_pixels"] != 0).any(dim=-1).numpy()  # (8, 128, 128): not pure black
    abar = d["sched.alphas_cumprod"]
    out = {
        "visible_packed": torch.from_numpy(np.packbits(visible, axis=-1)),
        "scene_mask": d["in.ns_scene_mask"][0, 0].contiguous(),
        "preview_raw": d["in.ns_preview_latents_raw"][crop].contiguous(),
        "cond_latent": d["in.cond_latent"][0:1][crop].contiguous(),
        "scene_frames": d["in.ns_scene_frames"][crop].contiguous(),
        "x_T": d["in.ddim_x_T"][crop].contiguous(),
        "unet_in": d["out.ddim_ns_unet_input_per_step"][:2][crop].contiguous(),
        "q_noise": d["rng.ns_q_sample_noise"][crop].contiguous(),
        "abar_999_749": torch.stack([abar[999], abar[749]]),
    }
    save_file(out, str(dst))


@pytest.fixture(scope="module")
def fx() -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(FIXTURE))


# -- a discrete (DDPM) schedule the way ComfyUI's ModelSamplingDiscrete builds it -------------
BETAS = torch.linspace(math.sqrt(0.00085), math.sqrt(0.012), 1000, dtype=torch.float64) ** 2
SIGMAS = (((1 - torch.cumprod(1 - BETAS, 0)) / torch.cumprod(1 - BETAS, 0)) ** 0.5).float()
LOG_SIGMAS = SIGMAS.log()


def timestep_fn(sigma: torch.Tensor) -> torch.Tensor:
    return (sigma.log()[None] - LOG_SIGMAS[:, None]).abs().argmin(dim=0)


def percent_to_sigma(p: float) -> float:
    if p <= 0:
        return 999999999.9
    if p >= 1:
        return 0.0
    t = torch.tensor((1 - p) * 999.0)
    lo, hi, w = t.floor().long(), t.ceil().long(), t.frac()
    return float(((1 - w) * LOG_SIGMAS[lo] + w * LOG_SIGMAS[hi]).exp())


def trailing(steps: int) -> torch.Tensor:
    """ComfyUI's `simple` scheduler = upstream's uniform_trailing DDIM timesteps (999, 959, ... for 25)."""
    idx = [999 - int(i * 1000 / steps) for i in range(steps)]
    return torch.cat([SIGMAS[idx], torch.zeros(1)])


# -- window --------------------------------------------------------------------------------
def test_upstream_window_shapes_t_999_959_919():
    inside = S.window_predicate(S.ShapingWindow(1000, 900, "timestep"), timestep_fn, percent_to_sigma)
    sig = trailing(25)
    steps = S.window_steps(sig, inside)
    assert steps == [0, 1, 2]
    assert [int(timestep_fn(sig[i:i + 1])) for i in steps] == [999, 959, 919]


@pytest.mark.parametrize("end", [900.0, 919.0, 959.0, 500.0, 0.0])
def test_timestep_and_percent_windows_agree(end):
    sig = trailing(25)
    w = S.ShapingWindow(1000, end, "timestep")
    p = S.convert_window(w, "sigma_percent")
    assert p.units == "sigma_percent" and p.start == 0.0
    a = S.window_steps(sig, S.window_predicate(w, timestep_fn, percent_to_sigma))
    b = S.window_steps(sig, S.window_predicate(p, timestep_fn, percent_to_sigma))
    assert a == b
    assert len(a) == sum(1 for i in range(25) if 999 - 40 * i >= end)  # a bound on a step (919, 959) counts


def test_window_conversion_round_trip_and_order():
    w = S.ShapingWindow(900, 1000, "timestep").validated()
    assert (w.start, w.end) == (1000, 900)
    assert S.timestep_to_sigma_percent(999) == 0.0 and S.timestep_to_sigma_percent(0) == 1.0
    assert S.sigma_percent_to_timestep(S.timestep_to_sigma_percent(900)) == pytest.approx(900)
    back = S.convert_window(S.convert_window(w, "sigma_percent"), "timestep")
    assert back.start == pytest.approx(999) and back.end == pytest.approx(900)
    assert S.ShapingWindow(0.3, 0.1, "sigma_percent").validated().start == 0.1


@pytest.mark.parametrize("window,name", [
    (S.ShapingWindow(1000, 0.1, "sigma_percent"), "window_start"),
    (S.ShapingWindow(0, 1.5, "sigma_percent"), "window_end"),
    (S.ShapingWindow(float("nan"), 900, "timestep"), "window_start"),
    (S.ShapingWindow(1000, 900, "steps"), "window_units"),
])
def test_bad_window_names_the_input(window, name):
    with pytest.raises(RealCamInputError, match=f"^{name}:"):
        window.validated()


def test_zero_sigma_is_never_shaped():
    inside = S.window_predicate(S.ShapingWindow(0.0, 1.0, "sigma_percent"), timestep_fn, percent_to_sigma)
    assert inside(1.0) and not inside(0.0)


# -- chunks --------------------------------------------------------------------------------
def test_plan_chunks():
    assert S.plan_chunks(6, [0, 1, 2]) == [S.Chunk(0, 1, True), S.Chunk(1, 2, True), S.Chunk(2, 3, True),
                                          S.Chunk(3, 6, False)]
    assert S.plan_chunks(5, [2, 4]) == [S.Chunk(0, 2, False), S.Chunk(2, 3, True), S.Chunk(3, 4, False),
                                        S.Chunk(4, 5, True)]
    assert S.plan_chunks(3, []) == [S.Chunk(0, 3, False)]


def test_sample_in_chunks_equals_blending_inside_the_loop():
    torch.manual_seed(0)
    sig = trailing(8)
    x0 = torch.randn(2, 3)
    z, m = torch.randn(2, 3), (torch.rand(2, 3) > 0.5).float()
    noise = [torch.randn(2, 3) for _ in range(8)]

    def denoise(x, s):
        return torch.tanh(x) / (1 + s)

    def euler(x, sigmas, offset):
        for i in range(len(sigmas) - 1):
            x = x + (x - denoise(x, sigmas[i])) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
        return x

    def blend(x, i, s):
        return S.blend_xt(x, S.q_sample(z, s, noise[i]), m)

    shaped = [0, 1, 3]
    got = S.sample_in_chunks(euler, x0, sig, shaped, blend)
    ref = x0
    for i in range(8):
        if i in shaped:
            ref = m * (z + sig[i] * noise[i]) + (1 - m) * ref
        ref = ref + (ref - denoise(ref, sig[i])) / sig[i] * (sig[i + 1] - sig[i])
    torch.testing.assert_close(got, ref, rtol=0, atol=0)
    assert not torch.equal(got, euler(x0, sig, 0))


# -- masks ---------------------------------------------------------------------------------
def test_render_shaping_mask_then_latent_mask_is_upstreams_chain(fx):
    """RealCamPointCloudRender's shaping mask (5x5 erosion) -> latent_mask gives upstream's latent mask."""
    from realcam_core.scene.render import shaping_mask

    visible = torch.from_numpy(np.unpackbits(fx["visible_packed"].numpy(), axis=-1, count=128).astype(bool))
    eroded = shaping_mask(visible, k=5)
    got = S.latent_mask(eroded, 8, (16, 16))
    assert got.shape == (8, 16, 16)
    assert 0 < got.mean() < 1
    torch.testing.assert_close(got, fx["scene_mask"], rtol=0, atol=0)
    # the threshold matters: 0.5 would shape more
    assert S.latent_mask(eroded, 8, (16, 16), threshold=0.5).sum() > got.sum()


@pytest.mark.parametrize("pixel,latent,k", [(16, 16, 1), (1, 5, 1), (17, 5, 4), (16, 4, 4), (81, 21, 4),
                                            (33, 5, 8), (121, 16, 8)])
def test_temporal_compression(pixel, latent, k):
    assert S.infer_temporal_compression(pixel, latent) == k


def test_temporal_groups_for_16_and_17_frames():
    assert S.temporal_groups(16, 4, 4) == [[0], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    assert S.temporal_groups(17, 5, 4) == [[0], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]
    assert S.temporal_groups(16, 16, 1)[5] == [5]
    with pytest.raises(RealCamInputError, match="^shaping_mask:"):
        S.infer_temporal_compression(10, 5)


@pytest.mark.parametrize("frames,latent_frames", [(16, 4), (17, 5)])
def test_latent_frame_is_and_of_its_pixel_frames(frames, latent_frames):
    mask = torch.ones(frames, 64, 64)
    mask[6, :32, :32] = 0  # a hole in pixel frame 6 only -> latent frame 2 (frames 5..8)
    mask[0, 32:, 32:] = 0  # frame 0 is its own latent frame
    m = S.latent_mask(mask, latent_frames, (8, 8))
    assert m.shape == (latent_frames, 8, 8)
    assert m[2, :4, :4].sum() == 0 and m[2, 4:, 4:].all()
    assert m[0, 4:, 4:].sum() == 0 and m[0, :4, :4].all()
    for j in set(range(latent_frames)) - {0, 2}:
        assert m[j].all()
    if frames == 16:  # frames 13..15 are past the VAE's last group: a hole there changes nothing
        mask[14] = 0
        assert torch.equal(S.latent_mask(mask, 4, (8, 8)), m)


@pytest.mark.parametrize("mask,match", [
    (torch.ones(16, 300, 512), "aspect ratio"),
    (torch.ones(16, 320, 512) * 2, "0..1"),
    (torch.full((16, 320, 512), float("nan")), "finite"),
    (torch.ones(10, 320, 512), "frames"),
    (torch.ones(2, 3, 320, 512), "shape"),
])
def test_bad_mask_names_the_input(mask, match):
    with pytest.raises(RealCamInputError, match=f"^shaping_mask: .*{match}"):
        S.latent_mask(mask, 16, (40, 64))


def test_mask_at_other_scales_and_bool():
    m = torch.zeros(4, 320, 512, dtype=torch.bool)
    m[:, :160] = True
    a = S.latent_mask(m, 4, (40, 64))
    b = S.latent_mask(m.float()[:, ::2, ::2], 4, (40, 64))  # a half-resolution render
    assert a[:, :19].all() and not a[:, 21:].any()
    assert torch.equal(a, b)


# -- latents -------------------------------------------------------------------------------
def test_layouts_between_frames_as_batch_and_video():
    v = torch.randn(1, 4, 6, 5, 7)
    fb = S.to_state_layout(v, (6, 4, 5, 7), "preview_latent")
    assert fb.shape == (6, 4, 5, 7) and torch.equal(fb[3], v[0, :, 3])
    assert torch.equal(S.to_state_layout(fb, (2, 4, 6, 5, 7), "preview_latent"), v)
    m = S.mask_for_state(torch.rand(6, 5, 7), (6, 4, 5, 7))
    assert m.shape == (6, 1, 5, 7)


@pytest.mark.parametrize("shape", [(1, 4, 6, 5, 8), (1, 16, 6, 5, 7), (1, 4, 5, 5, 7), (3, 4, 6, 5, 7)])
def test_preview_of_the_wrong_size_names_the_input(shape):
    with pytest.raises(RealCamInputError, match=r"^preview_latent: .*\(2, 4, 6, 5, 7\)"):
        S.to_state_layout(torch.zeros(shape), (2, 4, 6, 5, 7), "preview_latent")


def test_frame_zero_is_the_conditioning_latent_like_upstream(fx):
    state = tuple(fx["preview_raw"].shape)
    z = S.prepare_scene_latent(fx["preview_raw"], state, start_latent=fx["cond_latent"])
    torch.testing.assert_close(z, fx["scene_frames"], rtol=0, atol=0)
    assert not torch.equal(fx["preview_raw"][:, :, 0], z[:, :, 0])
    scaled = S.prepare_scene_latent(fx["preview_raw"], state, start_latent=fx["cond_latent"], process_in=lambda t: 2 * t)
    torch.testing.assert_close(scaled, 2 * fx["scene_frames"])


def test_blend_in_sigma_space_is_upstreams_q_sample(fx):
    """Upstream's x_t = sqrt(ab) x_ve: the same blend, checked on the stored per-step UNet inputs."""
    m = S.mask_for_state(fx["scene_mask"][:, :8, :8], fx["x_T"].shape)
    assert 0 < m.mean() < 1
    z, ab999, ab749 = fx["scene_frames"], float(fx["abar_999_749"][0]), float(fx["abar_999_749"][1])
    # t = 999 with zero terminal SNR: q_sample is pure noise; the rest of x_T is kept as is
    assert ab999 == 0.0
    q0 = S.q_sample(z * math.sqrt(ab999), math.sqrt(1 - ab999), fx["q_noise"][0])
    torch.testing.assert_close(S.blend_xt(fx["x_T"], q0, m), fx["unet_in"][0], rtol=0, atol=1e-6)
    # t = 749: in sampler space sigma = sqrt((1 - ab) / ab), q = z + sigma eps; times sqrt(ab) = upstream
    sigma = math.sqrt((1 - ab749) / ab749)
    q1 = S.q_sample(z, sigma, fx["q_noise"][1]) * math.sqrt(ab749)
    masked = m.expand_as(q1).bool()
    torch.testing.assert_close(q1[masked], fx["unet_in"][1][masked], rtol=1e-5, atol=1e-6)


def test_blend_keeps_unmasked_state_bit_exact_and_flow_form():
    x, z, n = torch.randn(1, 4, 3, 5, 5), torch.randn(1, 4, 3, 5, 5), torch.randn(1, 4, 3, 5, 5)
    m = S.mask_for_state((torch.rand(3, 5, 5) > 0.5).float(), x.shape)
    out = S.blend_xt(x, S.q_sample(z, 0.7, n, flow=True), m)
    keep = (m == 0).expand_as(x)
    assert torch.equal(out[keep], x[keep])
    torch.testing.assert_close(out[~keep], (0.3 * z + 0.7 * n)[~keep])
    torch.testing.assert_close(S.q_sample_scaling(True)(torch.tensor(0.7), n, z), 0.3 * z + 0.7 * n)
    torch.testing.assert_close(S.paste_x0(x, z, m)[~keep], z[~keep])


def test_noise_shaper_blend_and_paste_window():
    x, z = torch.randn(1, 4, 2, 3, 3), torch.randn(1, 4, 2, 3, 3)
    m = torch.ones(1, 1, 2, 3, 3)
    rec = S.RecordedNoise([torch.zeros(1, 4, 2, 3, 3), torch.ones(1, 4, 2, 3, 3)])
    sh = S.ShapingRun(z, m, inside=lambda s: s > 5, noise_fn=rec, scaling=S.q_sample_scaling())
    torch.testing.assert_close(sh.blend(x, 0, 10.0), z)
    torch.testing.assert_close(sh.blend(x, 1, 2.0), z + 2.0)
    with pytest.raises(RealCamInputError, match="^noise:"):
        sh.blend(x, 2, 1.0)
    assert torch.equal(sh.paste(x, 1.0), x) and torch.equal(sh.paste(x, 6.0), z)


def test_seeded_step_noise_is_fresh_reproducible_and_not_the_initial_noise():
    like = torch.zeros(1, 4, 3, 8, 8)
    a, b = S.SeededStepNoise(7), S.SeededStepNoise(7)
    a0, a1 = a(0, 1.0, like), a(1, 0.5, like)
    assert torch.equal(a0, b(0, 1.0, like)) and not torch.equal(a0, a1)
    initial = torch.randn(like.shape, generator=torch.manual_seed(7))  # what ComfyUI's prepare_noise draws
    assert not torch.equal(a0, initial)
    assert abs(float(a0.std()) - 1) < 0.1


if __name__ == "__main__" and "--make-fixture" in sys.argv:
    make_fixture()
    print("wrote", FIXTURE)


def test_percent_window_given_timesteps_names_the_widget_and_the_converted_value():
    with pytest.raises(RealCamInputError, match=r"^window_start: .*0\.\.1.*percent 0 on a DDPM schedule.*got 1000"):
        S.ShapingWindow(1000, 900, "sigma_percent").validated()
    with pytest.raises(RealCamInputError, match=r"^window_end: .*reads as a timestep, which is percent 0\.0991"):
        S.ShapingWindow(0.0, 900, "sigma_percent").validated()


def test_timestep_window_must_reach_the_model_timesteps():
    S.check_window_reaches(S.ShapingWindow(1000, 900), 0.0, 999.0)  # upstream's window on a DDPM model
    S.check_window_reaches(S.ShapingWindow(0.0, 0.1, "sigma_percent"), 7.9, 1000.0)  # percents always reach
    S.check_window_reaches(S.ShapingWindow(1.0, 0.9), 0.001, 1.0)  # LTXV-like timesteps 0..1
    with pytest.raises(RealCamInputError, match=r"^window_start/window_end: .*timesteps 7\.9\.\.1000.*got 0\.1\.\.0"):
        S.check_window_reaches(S.ShapingWindow(0.0, 0.1), 7.9, 1000.0)  # Wan's percents left as timesteps
    with pytest.raises(RealCamInputError, match="^window_start/window_end:"):
        S.check_window_reaches(S.ShapingWindow(1000, 999.5), 0.0, 999.0)
