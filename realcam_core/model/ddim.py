"""Reference DDIM sampler of RealCam-I2V, with scene-constrained noise shaping (used by conformance).

A straightforward transcription of upstream's step (ARCHITECTURE §11.1) for checking numbers; the
ComfyUI path maps the same maths onto core samplers. Per step, from the largest timestep down:
  1. noise shaping (t >= threshold): x <- m * q_sample(scene, t, fresh noise) + (1 - m) * x
  2. o = o_u + s (o_c - o_u), guidance rescale phi on std(o_c) / std(o)
  3. eps / x0 from o (eps or v), x0 *= dynamic-rescale ratio (512 model)
  4. x <- sqrt(a_prev) x0 + sqrt(max(0, 1 - a_prev - sigma^2)) eps + sigma n
Noise is drawn through `noise_fn(kind, shape)` (kind "step" or "shaping"), so a run can replay
recorded draws; by default it comes from `generator`.

Upstream's optional camera CFG (a third pass without camera, off at its default 1.0, which the paper
samples with) is not implemented: neither this reference nor the ComfyUI sampler offers it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from .schedule import Schedule

ModelFn = Callable[[torch.Tensor, torch.Tensor, Any], torch.Tensor]
ReferenceNoise = Callable[[str, torch.Size], torch.Tensor]


@dataclass
class ReferenceShaping:
    """Scene latents (B, C, T, h, w) (frame 0 = conditioning latent) and 0/1 mask (B, C|1, T, h, w)."""

    scene: torch.Tensor
    mask: torch.Tensor
    min_timestep: int = 900


@dataclass
class DDIMResult:
    final: torch.Tensor
    unet_inputs: list[torch.Tensor] = field(default_factory=list)
    out_cond: list[torch.Tensor] = field(default_factory=list)
    out_uncond: list[torch.Tensor] = field(default_factory=list)
    timesteps: list[int] = field(default_factory=list)


def rescale_guidance(o: torch.Tensor, o_cond: torch.Tensor, phi: float) -> torch.Tensor:
    """phi * o * std(o_cond) / std(o) + (1 - phi) * o, std over non-batch dims (unbiased)."""
    dims = list(range(1, o.ndim))
    rescaled = o * (o_cond.std(dim=dims, keepdim=True) / o.std(dim=dims, keepdim=True))
    return phi * rescaled + (1 - phi) * o


def ddim_sample(
    model: ModelFn,
    x_T: torch.Tensor,
    schedule: Schedule,
    steps: int,
    cond: Any,
    uncond: Any = None,
    cfg_scale: float = 1.0,
    guidance_rescale: float = 0.0,
    eta: float = 1.0,
    noise_shaping: ReferenceShaping | None = None,
    noise_fn: ReferenceNoise | None = None,
    generator: torch.Generator | None = None,
    record: bool = False,
) -> DDIMResult:
    """Run S DDIM steps from x_T (B, C, T, h, w); `model(x, t (B,), cond)` returns eps or v."""

    def draw(kind: str, shape: torch.Size) -> torch.Tensor:
        if noise_fn is not None:
            return noise_fn(kind, shape).to(x_T)
        return torch.randn(shape, generator=generator, device=x_T.device, dtype=x_T.dtype)

    tab = schedule.ddim(steps, eta)
    v_pred = schedule.cfg.parameterization == "v"
    x = x_T.float()
    b = x.shape[0]
    res = DDIMResult(final=x)
    for i in reversed(range(steps)):
        t = int(tab.timesteps[i])
        ts = torch.full((b,), t, dtype=torch.long, device=x.device)
        if noise_shaping is not None and t >= noise_shaping.min_timestep:
            noisy = schedule.q_sample(noise_shaping.scene.to(x), t, draw("shaping", x.shape))
            m = noise_shaping.mask.to(x)
            x = noisy * m + (1.0 - m) * x
        o_c = model(x, ts, cond).float()
        o = o_c
        o_u = None
        if uncond is not None and cfg_scale != 1.0:
            o_u = model(x, ts, uncond).float()
            o = o_u + cfg_scale * (o_c - o_u)
            if guidance_rescale > 0.0:
                o = rescale_guidance(o, o_c, guidance_rescale)
        if record:
            res.unet_inputs.append(x.clone())
            res.out_cond.append(o_c)
            if o_u is not None:
                res.out_uncond.append(o_u)
            res.timesteps.append(t)
        a_t = float(tab.alphas[i])
        a_prev = float(tab.alphas_prev[i])
        sigma = float(tab.sigmas[i])
        if v_pred:
            sa, s1a = schedule.sqrt_alphas_cumprod[t].item(), schedule.sqrt_one_minus_alphas_cumprod[t].item()
            e_t = sa * o + s1a * x
            x0 = sa * x - s1a * o
        else:
            e_t = o
            x0 = (x - float(tab.sqrt_one_minus_alphas[i]) * e_t) / math.sqrt(a_t)
        if tab.scale is not None:
            x0 = x0 * (float(tab.scale_prev[i]) / float(tab.scale[i]))
        dir_xt = math.sqrt(max(1.0 - a_prev - sigma**2, 0.0)) * e_t
        x = math.sqrt(a_prev) * x0 + dir_xt + sigma * draw("step", x.shape)
    res.final = x
    return res
