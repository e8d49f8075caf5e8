"""CamI2V camera pose encoder: Plücker map -> one feature map per UNet level.

Pixel-unshuffle by `downscale` (channel index c*d^2 + dy*d + dx), 3x3 conv_in, then per level
`nums_rb` x [ResNet block (2x2 average pool first on levels > 0; 1x1 conv when the width changes;
x + conv1x1(ReLU(conv3x3(x)))), temporal transformer block over the frames of every pixel].
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .attention import FeedForward, sdpa
from .config import PoseEncoderConfig


def sinusoid_table(length: int, dim: int) -> torch.Tensor:
    """(1, length, dim) position table: sin on even, cos on odd channels (frequency 10000^(-2k/dim))."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(1, length, dim)
    pe[0, :, 0::2] = torch.sin(pos * div)
    pe[0, :, 1::2] = torch.cos(pos * div)
    return pe


class _ResnetBlock(nn.Module):
    def __init__(self, cin: int, cout: int, down: bool, ksize: int, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        self.down = down
        if cin != cout:
            self.in_conv = operations.Conv2d(cin, cout, ksize, 1, ksize // 2, **factory)
        self.block1 = operations.Conv2d(cout, cout, 3, 1, 1, **factory)
        self.block2 = operations.Conv2d(cout, cout, ksize, 1, ksize // 2, **factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = F.avg_pool2d(x, 2, 2)
        if hasattr(self, "in_conv"):
            x = self.in_conv(x)
        return x + self.block2(F.relu(self.block1(x)))


class _TemporalAttention(nn.Module):
    """Self-attention over frames with a sinusoidal frame table added to the (normed) input."""

    def __init__(self, dim: int, heads: int, max_len: int, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        self.heads = heads
        self.to_q = operations.Linear(dim, dim, bias=False, **factory)
        self.to_k = operations.Linear(dim, dim, bias=False, **factory)
        self.to_v = operations.Linear(dim, dim, bias=False, **factory)
        self.to_out = nn.ModuleList([operations.Linear(dim, dim, **factory)])
        self.pos_encoder = nn.Module()
        pe = sinusoid_table(max_len, dim)
        if factory.get("device") is not None:
            pe = pe.to(factory["device"])
        self.pos_encoder.register_buffer("pe", pe)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_encoder.pe[:, : x.shape[1]].to(device=x.device, dtype=x.dtype)
        return self.to_out[0](sdpa(self.to_q(x), self.to_k(x), self.to_v(x), self.heads))


class _TemporalBlock(nn.Module):
    """x + attn(PE(LN(x))), then x + FF(LN(x)) on ((B h w), T, C)."""

    def __init__(self, dim: int, heads: int, max_len: int, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        self.attention_blocks = nn.ModuleList([_TemporalAttention(dim, heads, max_len, operations, **factory)])
        self.norms = nn.ModuleList([operations.LayerNorm(dim, **factory)])
        self.ff = FeedForward(dim, operations=operations, **factory)
        self.ff_norm = operations.LayerNorm(dim, **factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attention_blocks[0](self.norms[0](x)) + x
        return self.ff(self.ff_norm(x)) + x


class CameraPoseEncoder(nn.Module):
    """Plücker map (B, 6, T, H, W) -> list of features (B, C_l, T, H/(d 2^l), W/(d 2^l)), one per level."""

    def __init__(self, cfg: PoseEncoderConfig, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        self.cfg = cfg
        ch = cfg.channels
        self.encoder_down_conv_blocks = nn.ModuleList()
        self.encoder_down_attention_blocks = nn.ModuleList()
        for i, c in enumerate(ch):
            convs, attns = nn.ModuleList(), nn.ModuleList()
            for j in range(cfg.nums_rb):
                cin = (ch[i - 1] if i else ch[0]) if j == 0 else c
                convs.append(_ResnetBlock(cin, c, down=(j == 0 and i > 0), ksize=cfg.ksize, operations=operations,
                                          **factory))
                attns.append(_TemporalBlock(c, cfg.heads, cfg.max_len, operations, **factory))
            self.encoder_down_conv_blocks.append(convs)
            self.encoder_down_attention_blocks.append(attns)
        self.encoder_conv_in = operations.Conv2d(cfg.cin, ch[0], 3, 1, 1, **factory)

    def forward(self, plucker: torch.Tensor) -> list[torch.Tensor]:
        b, c, t, h, w = plucker.shape
        x = plucker.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        x = F.pixel_unshuffle(x, self.cfg.downscale)
        x = self.encoder_conv_in(x)
        feats = []
        for convs, attns in zip(self.encoder_down_conv_blocks, self.encoder_down_attention_blocks, strict=True):
            for conv, attn in zip(convs, attns, strict=True):
                x = conv(x)
                _, ch, hh, ww = x.shape
                y = x.reshape(b, t, ch, hh, ww).permute(0, 3, 4, 1, 2).reshape(b * hh * ww, t, ch)
                y = attn(y)
                x = y.reshape(b, hh, ww, t, ch).permute(0, 3, 4, 1, 2).reshape(b * t, ch, hh, ww)
            feats.append(x.reshape(b, t, *x.shape[1:]).transpose(1, 2))
        return feats
