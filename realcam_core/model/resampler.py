"""Perceiver Resampler (`image_proj_model`): CLIP vision tokens -> `num_queries` context tokens per frame.

Learned latents (1, num_queries * T, dim) attend to [proj_in(image tokens); latents] through `depth`
x [PerceiverAttention, FF], then proj_out and a final LayerNorm. Output (B, num_queries * T, D),
frame-major, which the UNet splits per frame.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import require
from .attention import sdpa
from .config import ResamplerConfig


class PerceiverAttention(nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.norm1 = operations.LayerNorm(dim, **factory)
        self.norm2 = operations.LayerNorm(dim, **factory)
        self.to_q = operations.Linear(dim, inner, bias=False, **factory)
        self.to_kv = operations.Linear(dim, inner * 2, bias=False, **factory)
        self.to_out = operations.Linear(inner, dim, bias=False, **factory)

    def forward(self, x: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x)
        lat = self.norm2(latents)
        k, v = self.to_kv(torch.cat([x, lat], dim=1)).chunk(2, dim=-1)
        q = self.to_q(lat)
        if q.dtype in (torch.float16, torch.bfloat16):  # upstream takes the softmax in float32
            return self.to_out(sdpa(q.float(), k.float(), v.float(), self.heads).to(q.dtype))
        return self.to_out(sdpa(q, k, v, self.heads))


class Resampler(nn.Module):
    """image tokens (B, N, embedding_dim) -> (B, num_queries * video_length, output_dim)."""

    def __init__(self, cfg: ResamplerConfig, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        self.cfg = cfg
        self.latents = nn.Parameter(torch.zeros((1, cfg.num_queries * cfg.video_length, cfg.dim), **factory))
        self.proj_in = operations.Linear(cfg.embedding_dim, cfg.dim, **factory)
        self.proj_out = operations.Linear(cfg.dim, cfg.output_dim, **factory)
        self.norm_out = operations.LayerNorm(cfg.output_dim, **factory)
        inner = cfg.dim * cfg.ff_mult
        self.layers = nn.ModuleList([
            nn.ModuleList([
                PerceiverAttention(cfg.dim, cfg.heads, cfg.dim_head, operations, **factory),
                nn.Sequential(
                    operations.LayerNorm(cfg.dim, **factory),
                    operations.Linear(cfg.dim, inner, bias=False, **factory),
                    nn.GELU(),
                    operations.Linear(inner, cfg.dim, bias=False, **factory),
                ),
            ])
            for _ in range(cfg.depth)
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        require(x.ndim == 3 and x.shape[-1] == self.cfg.embedding_dim, "image embedding",
                f"(B, N, {self.cfg.embedding_dim}) CLIP vision tokens", tuple(x.shape))
        lat = self.latents.to(device=x.device, dtype=x.dtype).expand(x.shape[0], -1, -1)
        x = self.proj_in(x)
        for attn, ff in self.layers:
            lat = attn(x, lat) + lat
            lat = ff(lat) + lat
        return self.norm_out(self.proj_out(lat))
