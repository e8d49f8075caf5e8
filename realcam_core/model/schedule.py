"""Diffusion schedule of DynamiCrafter / RealCam-I2V, recomputed (never read from checkpoint buffers).

Betas are "linear" in sqrt space (linspace(sqrt(b0), sqrt(b1))^2) in float64, optionally rescaled to
zero terminal SNR (Lin et al. 2023, Alg. 1). Tables used for sampling are float32, as upstream
registers them. DDIM uses `uniform_trailing` timesteps (S = 25 -> 39, 79, ..., 999).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import require
from .config import DiffusionConfig


def linear_betas(linear_start: float, linear_end: float, num_timesteps: int) -> torch.Tensor:
    """(N,) float64 betas, linear in sqrt(beta) (upstream's "linear" = scaled-linear)."""
    return torch.linspace(linear_start**0.5, linear_end**0.5, num_timesteps, dtype=torch.float64) ** 2


def rescale_zero_terminal_snr(betas: torch.Tensor) -> torch.Tensor:
    """(N,) float64 betas whose last alpha-bar is exactly 0, first alpha-bar unchanged."""
    ab_sqrt = torch.cumprod(1.0 - betas.double(), 0).sqrt()
    first, last = ab_sqrt[0].clone(), ab_sqrt[-1].clone()
    ab_sqrt = (ab_sqrt - last) * (first / (first - last))
    ab = ab_sqrt**2
    alphas = torch.cat([ab[:1], ab[1:] / ab[:-1]])
    return 1.0 - alphas


def ddim_timesteps(steps: int, num_timesteps: int = 1000) -> torch.Tensor:
    """(S,) int64 ascending `uniform_trailing` timesteps: round(arange(N, 0, -N/S)) - 1, flipped."""
    require(1 <= steps <= num_timesteps, "steps", f"1..{num_timesteps}", steps)
    c = num_timesteps / steps
    ts = torch.round(torch.arange(num_timesteps, 0, -c, dtype=torch.float64)).flip(0).long() - 1
    return ts


def dynamic_rescale_table(base_scale: float, turning_step: int = 400, num_timesteps: int = 1000) -> torch.Tensor:
    """(turning_step + N,) float32: linspace(1, base_scale, turning_step) then base_scale (DynamiCrafter 512)."""
    head = torch.linspace(1.0, base_scale, turning_step, dtype=torch.float64)
    return torch.cat([head, torch.full((num_timesteps,), base_scale, dtype=torch.float64)]).float()


@dataclass
class DDIMTables:
    """Per-step DDIM constants, index i = i-th ascending timestep (sampling runs i = S-1 .. 0)."""

    timesteps: torch.Tensor  # (S,) int64
    alphas: torch.Tensor  # (S,) float32 alpha-bar at the timesteps
    alphas_prev: torch.Tensor  # (S,) float64 alpha-bar of the next-lower timestep; entry 0 = alpha-bar[0]
    sigmas: torch.Tensor  # (S,) float64
    sqrt_one_minus_alphas: torch.Tensor  # (S,) float32
    scale: torch.Tensor | None  # (S,) float32 dynamic-rescale factor at the timesteps
    scale_prev: torch.Tensor | None  # (S,) float32 factor of the next-lower timestep (entry 0 repeats)


class Schedule:
    """Alpha-bar tables for one DiffusionConfig (float64 masters, float32 working copies)."""

    def __init__(self, cfg: DiffusionConfig) -> None:
        require(cfg.parameterization in ("eps", "v"), "parameterization", "'eps' or 'v'", cfg.parameterization)
        self.cfg = cfg
        betas = linear_betas(cfg.linear_start, cfg.linear_end, cfg.num_timesteps)
        if cfg.zero_terminal_snr:
            betas = rescale_zero_terminal_snr(betas)
        self.betas64 = betas
        self.alphas_cumprod64 = torch.cumprod(1.0 - betas, 0)
        self.betas = betas.float()
        self.alphas_cumprod = self.alphas_cumprod64.float()
        self.sqrt_alphas_cumprod = self.alphas_cumprod64.sqrt().float()
        self.sqrt_one_minus_alphas_cumprod = (1.0 - self.alphas_cumprod64).sqrt().float()
        self.scale_arr = (
            dynamic_rescale_table(cfg.base_scale, cfg.turning_step, cfg.num_timesteps) if cfg.dynamic_rescale else None
        )

    @property
    def num_timesteps(self) -> int:
        return self.cfg.num_timesteps

    def ddim(self, steps: int, eta: float = 1.0) -> DDIMTables:
        """DDIM tables as upstream's `make_schedule` builds them (from the float32 alpha-bar table)."""
        ts = ddim_timesteps(steps, self.num_timesteps)
        ac = self.alphas_cumprod
        alphas = ac[ts]
        prev = torch.cat([ac[:1], ac[ts[:-1]]]).double()
        a64 = alphas.double()
        sigmas = eta * torch.sqrt((1 - prev) / (1 - a64) * (1 - a64 / prev))
        scale = scale_prev = None
        if self.scale_arr is not None:
            scale = self.scale_arr[ts]
            scale_prev = torch.cat([scale[:1], scale[:-1]])
        return DDIMTables(ts, alphas, prev, sigmas, (1.0 - a64).sqrt().float(), scale, scale_prev)

    def q_sample(self, x0: torch.Tensor, t: int, noise: torch.Tensor) -> torch.Tensor:
        """Forward diffusion sqrt(ab_t) x0 + sqrt(1 - ab_t) noise at integer timestep t."""
        return self.sqrt_alphas_cumprod[t].to(x0) * x0 + self.sqrt_one_minus_alphas_cumprod[t].to(x0) * noise
