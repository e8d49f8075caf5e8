"""Schedules (256 eps, 512 v + zero-SNR + dynamic rescale) and the reference DDIM sampler."""

from __future__ import annotations

import math

import pytest
import torch

from realcam_core.errors import RealCamInputError
from realcam_core.model import VARIANTS, ReferenceShaping, Schedule, ddim_sample, ddim_timesteps, rescale_guidance
from realcam_core.model.config import DiffusionConfig


def test_trailing_timesteps():
    assert ddim_timesteps(25).tolist() == list(range(39, 1000, 40))
    assert ddim_timesteps(4).tolist() == [249, 499, 749, 999]
    assert ddim_timesteps(3).tolist() == [332, 666, 999]
    with pytest.raises(RealCamInputError, match="steps"):
        ddim_timesteps(0)


@pytest.mark.parametrize(
    "variant, sqrt_ab, sigma_first, sigma_last",
    [("256", (0.0683, 0.0863, 0.1076), 0.611, 0.0288), ("512", (0.0, 0.0194, 0.0422), 0.9998, 0.0289)],
)
def test_reference_numbers(variant, sqrt_ab, sigma_first, sigma_last):
    s = Schedule(VARIANTS[variant].diffusion)
    got = [s.sqrt_alphas_cumprod[t].item() for t in (999, 959, 919)]
    assert got == pytest.approx(sqrt_ab, abs=6e-5)
    tab = s.ddim(25, eta=1.0)
    assert tab.sigmas[-1].item() == pytest.approx(sigma_first, abs=6e-4)
    assert tab.sigmas[0].item() == pytest.approx(sigma_last, abs=6e-5)
    assert tab.alphas_prev[0].item() == pytest.approx(s.alphas_cumprod[0].item())  # last step lands on ab[0], not 1


def test_zero_snr_and_dynamic_rescale():
    s = Schedule(VARIANTS["512"].diffusion)
    plain = Schedule(VARIANTS["256"].diffusion)
    assert s.alphas_cumprod64[-1].item() == 0.0
    assert s.alphas_cumprod64[0].item() == pytest.approx(plain.alphas_cumprod64[0].item(), rel=1e-12)
    assert plain.scale_arr is None and s.scale_arr.shape == (1400,)
    tab = s.ddim(25)
    ratio = tab.scale_prev / tab.scale
    low = tab.timesteps <= 399
    assert ratio[0] == 1.0 and torch.all(ratio[~low] == 1.0)
    assert ratio[low][1:].min() > 1.03 and ratio[low].max() < 1.044


def _exact_model(x0: torch.Tensor, sched: Schedule, v: bool):
    """A denoiser that knows x0: returns the exact eps (or v) for the current x."""

    def model(x, t, cond):
        ab = sched.alphas_cumprod64[int(t[0])]
        eps = (x.double() - ab.sqrt() * x0.double()) / (1 - ab).sqrt()
        if v:
            return (ab.sqrt() * eps - (1 - ab).sqrt() * x0.double()).float()
        return eps.float()

    return model


@pytest.mark.parametrize("param", ["eps", "v"])
def test_deterministic_ddim_follows_the_exact_trajectory(param):
    cfg = DiffusionConfig(parameterization=param, zero_terminal_snr=False)
    sched = Schedule(cfg)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(1, 4, 2, 4, 4, generator=g)
    eps = torch.randn(1, 4, 2, 4, 4, generator=g)
    ab = sched.alphas_cumprod64
    x_T = (ab[999].sqrt() * x0 + (1 - ab[999]).sqrt() * eps).float()
    out = ddim_sample(_exact_model(x0, sched, param == "v"), x_T, sched, 10, cond=None, eta=0.0, record=True)
    expect = ab[0].sqrt() * x0 + (1 - ab[0]).sqrt() * eps  # eps is constant along the exact DDIM path
    assert torch.allclose(out.final, expect.float(), atol=2e-4)
    assert out.timesteps == ddim_timesteps(10).flip(0).tolist()


def test_noise_shaping_pastes_q_sample_where_mask_is_one():
    sched = Schedule(VARIANTS["512"].diffusion)
    g = torch.Generator().manual_seed(1)
    x_T = torch.randn(1, 4, 3, 4, 4, generator=g)
    scene = torch.randn(1, 4, 3, 4, 4, generator=g)
    mask = torch.zeros(1, 1, 3, 4, 4)
    mask[..., :2, :] = 1
    draws = {"step": [torch.randn(1, 4, 3, 4, 4, generator=g) for _ in range(4)],
             "shaping": [torch.randn(1, 4, 3, 4, 4, generator=g) for _ in range(4)]}

    def run(shaping):
        it = {k: iter(v) for k, v in draws.items()}
        return ddim_sample(lambda x, t, c: 0.5 * x, x_T, sched, 4, None, noise_shaping=shaping,
                           noise_fn=lambda kind, shape: next(it[kind]), record=True)

    base = run(None)
    shaped = run(ReferenceShaping(scene, mask, min_timestep=749))
    ts = ddim_timesteps(4).flip(0).tolist()  # 999, 749, 499, 249: the first two are shaped
    for k, t in enumerate(ts):
        inp = shaped.unet_inputs[k]
        if t >= 749:
            q = sched.q_sample(scene, t, draws["shaping"][k])
            assert torch.allclose(inp[..., :2, :], q[..., :2, :], atol=1e-6)
        else:
            assert not torch.allclose(inp, base.unet_inputs[k])
    assert torch.equal(shaped.unet_inputs[0][..., 2:, :], base.unet_inputs[0][..., 2:, :])  # outside the mask


def test_guidance_and_rescale():
    g = torch.Generator().manual_seed(2)
    oc, ou = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    assert torch.allclose(rescale_guidance(oc, oc, 0.7), oc, atol=1e-6)
    o = ou + 7.5 * (oc - ou)
    r = rescale_guidance(o, oc, 1.0)
    assert torch.allclose(r.std(dim=(1, 2)), oc.std(dim=(1, 2)), atol=1e-5)
    sched = Schedule(VARIANTS["256"].diffusion)
    calls = []

    def model(x, t, cond):
        calls.append(cond)
        return {"c": oc[:1], "u": ou[:1], "n": torch.zeros_like(oc[:1])}[cond].reshape(x.shape)

    x_T = torch.randn(1, 3, 4, 1, 1, generator=g)
    ddim_sample(model, x_T, sched, 2, "c", "u", cfg_scale=7.5, noise_fn=lambda k, s: torch.zeros(s))
    assert calls == ["c", "u", "c", "u"]  # two passes per step: no camera-CFG pass (not implemented)
    assert math.isfinite(float(sched.sqrt_one_minus_alphas_cumprod[999]))
