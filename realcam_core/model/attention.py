"""Attention blocks of the DynamiCrafter UNet and the CamI2V epipolar attention.

All attention goes through `torch.nn.functional.scaled_dot_product_attention` (no xformers).
Layers are built from `operations` (torch.nn by default; ComfyUI passes its `comfy.ops` classes for
weight casting / offload), and parameters that are not layers (`alpha`, `register_tokens`) are cast
to the activation's device and dtype at use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .camera import PackedMask
from .config import TEXT_TOKENS
from .sparse_attention import plan_for, sparse_epipolar_attention
from .transformer_options import BlockHooks

# Query rows per masked-attention call: rows * keys <= this many mask entries (32M = 32 MB as bool).
EPIPOLAR_QUERY_CHUNK_ELEMS = 1 << 25
# CUDA kernels limit one grid dimension to 65535: split larger batch * heads.
_MAX_BATCH_HEADS = 65535
# Masked epipolar attention: "dense" = SDPA with the full boolean mask (the reference), "sparse" = only the
# keys each block of queries may see (sparse_attention.py), "auto" = sparse where it measured faster.
EPIPOLAR_BACKENDS = ("auto", "sparse", "dense")
# auto: sparse on the CPU when the plan computes at most this fraction of the (query, key) pairs. The
# gathered path does more work per computed pair than dense SDPA (gathers, short rows, the own-frame merge):
# measured (bench/epipolar_attention.py) it wins at 8-24 % (256: d = 8, 16; 512: d = 16 at 12 %, 0.37x) and
# loses at 34 % (512: d = 32, 2,560 tokens, 1.14x), hence 0.3. On CUDA dense stays the default until a GPU
# run of bench/gpu_generate.py --compare-attention says otherwise (not measured yet).
AUTO_SPARSE_MAX_FRACTION = 0.3
AUTO_SPARSE_MIN_TOKENS = 1024


def sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
         mask: torch.Tensor | None = None) -> torch.Tensor:
    """Multi-head attention on (B, L, H*D) tensors; mask bool (B|1, Lq, Lk) True = may attend."""
    b, lq, inner = q.shape
    d = inner // heads

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(t.shape[0], t.shape[1], heads, d).transpose(1, 2)

    if mask is not None:
        mask = mask[:, None]
    if b * heads <= _MAX_BATCH_HEADS or b == 1:
        out = F.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=mask)
    else:
        step = max(1, _MAX_BATCH_HEADS // heads)
        parts = []
        for s in range(0, b, step):
            m = None if mask is None else (mask if mask.shape[0] == 1 else mask[s:s + step])
            parts.append(F.scaled_dot_product_attention(split(q[s:s + step]), split(k[s:s + step]),
                                                        split(v[s:s + step]), attn_mask=m))
        out = torch.cat(parts)
    return out.transpose(1, 2).reshape(b, lq, inner)


class GEGLU(nn.Module):
    """Linear to 2*inner, value half times exact GELU of the gate half."""

    def __init__(self, dim_in: int, dim_out: int, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        self.proj = operations.Linear(dim_in, dim_out * 2, **factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.gelu(gate)


class FeedForward(nn.Module):
    """GEGLU feed-forward (keys net.0.proj, net.2), width multiplier 4."""

    def __init__(self, dim: int, mult: int = 4, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        inner = dim * mult
        self.net = nn.Sequential(GEGLU(dim, inner, operations, **factory), nn.Identity(),
                                 operations.Linear(inner, dim, **factory))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CrossAttention(nn.Module):
    """Self- or cross-attention; with `image_cross_attention` the context is split after 77 text tokens
    and image tokens get their own keys/values (`to_k_ip`, `to_v_ip`), the two results summed, the image
    part scaled by tanh(alpha) + 1 when `learnable_scale`."""

    def __init__(self, query_dim: int, context_dim: int | None, heads: int, dim_head: int,
                 image_cross_attention: bool = False, learnable_scale: bool = False,
                 operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        inner = heads * dim_head
        ctx = context_dim or query_dim
        self.heads = heads
        self.is_cross = context_dim is not None
        self.image_cross_attention = image_cross_attention and self.is_cross
        self.to_q = operations.Linear(query_dim, inner, bias=False, **factory)
        self.to_k = operations.Linear(ctx, inner, bias=False, **factory)
        self.to_v = operations.Linear(ctx, inner, bias=False, **factory)
        self.to_out = nn.ModuleList([operations.Linear(inner, query_dim, **factory)])
        if self.image_cross_attention:
            self.to_k_ip = operations.Linear(ctx, inner, bias=False, **factory)
            self.to_v_ip = operations.Linear(ctx, inner, bias=False, **factory)
            if learnable_scale:
                self.alpha = nn.Parameter(torch.zeros((), **factory))
        self.learnable_scale = learnable_scale and self.image_cross_attention

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, value: torch.Tensor | None = None,
                attend: Any = None) -> torch.Tensor:
        """`value` (from an attention patch) replaces the value tokens; `attend(q, k, v)` replaces the
        (text) attention between the projections (ComfyUI's patches_replace, see transformer_options.py)."""
        def att(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return sdpa(q, k, v, self.heads) if attend is None else attend(q, k, v)

        q = self.to_q(x)
        if not self.is_cross or context is None:
            ctx = x if context is None else context  # self-attention; a patch may hand it other tokens
            out = att(q, self.to_k(ctx), self.to_v(ctx if value is None else value))
        elif self.image_cross_attention:
            text, img = context[:, :TEXT_TOKENS], context[:, TEXT_TOKENS:]
            v = context if value is None else value
            out = att(q, self.to_k(text), self.to_v(v[:, :TEXT_TOKENS]))
            out_ip = sdpa(q, self.to_k_ip(img), self.to_v_ip(v[:, TEXT_TOKENS:]), self.heads)
            if self.learnable_scale:
                out_ip = out_ip * (torch.tanh(self.alpha.to(device=x.device, dtype=x.dtype)) + 1)
            out = out + out_ip
        else:
            text = context[:, :TEXT_TOKENS]
            out = att(q, self.to_k(text), self.to_v((context if value is None else value)[:, :TEXT_TOKENS]))
        return self.to_out[0](out)


class EpipolarAttention(nn.Module):
    """CamI2V epipolar attention over all frames' tokens, keys/values prefixed by learned register tokens.

    Module path `epipolar.epipolar_attn.*` as upstream; a missing mask means full 3D attention.
    """

    def __init__(self, dim: int, heads: int, num_register_tokens: int, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        self.heads = heads
        self.num_register_tokens = num_register_tokens
        self.to_q = operations.Linear(dim, dim, bias=False, **factory)
        self.to_k = operations.Linear(dim, dim, bias=False, **factory)
        self.to_v = operations.Linear(dim, dim, bias=False, **factory)
        self.to_out = nn.ModuleList([operations.Linear(dim, dim, **factory)])
        if num_register_tokens:
            self.register_tokens = nn.Parameter(torch.zeros((1, num_register_tokens, dim), **factory))
        self.backend = "auto"

    def _use_sparse(self, mask: PackedMask, device: torch.device) -> bool:
        if self.backend != "auto":
            return self.backend == "sparse"
        if device.type != "cpu" or mask.length < AUTO_SPARSE_MIN_TOKENS:
            return False
        plans = [plan_for(mask, self.num_register_tokens, i) for i in range(mask.batch)]
        return max(p.computed_fraction for p in plans) <= AUTO_SPARSE_MAX_FRACTION

    def forward(self, tokens: torch.Tensor, mask: PackedMask | None) -> torch.Tensor:
        """tokens (B, L, C) frame-major; mask (Bm, L, L) or None -> (B, L, C)."""
        b, length, _ = tokens.shape
        q = self.to_q(tokens)
        ctx = tokens
        r = self.num_register_tokens
        if r:
            reg = self.register_tokens.to(device=tokens.device, dtype=tokens.dtype).expand(b, -1, -1)
            ctx = torch.cat([reg, tokens], dim=1)
        k, v = self.to_k(ctx), self.to_v(ctx)
        if mask is None:
            out = sdpa(q, k, v, self.heads)
        elif self._use_sparse(mask, tokens.device):
            out = sparse_epipolar_attention(q, k, v, self.heads, mask, r)
        else:
            step = max(1, min(length, EPIPOLAR_QUERY_CHUNK_ELEMS // (length + r)))
            parts = []
            for s in range(0, length, step):
                e = min(length, s + step)
                rows = mask.rows(s, e)
                # registers always visible; row stride padded to 16 so memory-efficient SDPA takes it as is
                width = r + length
                m = torch.ones((rows.shape[0], e - s, -(-width // 16) * 16), dtype=torch.bool, device=rows.device)
                m = m[:, :, :width]
                m[:, :, r:] = rows
                parts.append(sdpa(q[:, s:e], k, v, self.heads, m))
            out = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        return self.to_out[0](out)


class EpipolarBlock(nn.Module):
    """Holder so the state-dict path is `epipolar.epipolar_attn.*` (upstream's Epipolar wrapper)."""

    def __init__(self, dim: int, heads: int, num_register_tokens: int, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        self.epipolar_attn = EpipolarAttention(dim, heads, num_register_tokens, operations, **factory)


@dataclass
class BlockCamera:
    """Camera input of one temporal transformer: pose features (B, C, T, h, w) and the level's mask."""

    features: torch.Tensor
    mask: PackedMask | None


class BasicTransformerBlock(nn.Module):
    """attn1 -> attn2 -> GEGLU FF with pre-LayerNorms; optional CamI2V camera branch on attn1.

    Camera branch ("add_to_main_branch"): with n = norm1(x) and y = n + pose feature,
    x <- x + pluker_projection(y) + epipolar(y) + attn1(n).
    """

    def __init__(self, dim: int, heads: int, dim_head: int, context_dim: int | None,
                 image_cross_attention: bool = False, learnable_scale: bool = False,
                 pluker_projection: bool = False, epipolar: bool = False, num_register_tokens: int = 0,
                 operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        self.attn1 = CrossAttention(dim, None, heads, dim_head, operations=operations, **factory)
        self.ff = FeedForward(dim, operations=operations, **factory)
        self.attn2 = CrossAttention(dim, context_dim, heads, dim_head, image_cross_attention, learnable_scale,
                                    operations=operations, **factory)
        self.norm1 = operations.LayerNorm(dim, **factory)
        self.norm2 = operations.LayerNorm(dim, **factory)
        self.norm3 = operations.LayerNorm(dim, **factory)
        if pluker_projection:
            self.pluker_projection = operations.Linear(dim, dim, **factory)
        if epipolar:
            self.epipolar = EpipolarBlock(dim, heads, num_register_tokens, operations, **factory)
        self.n_heads, self.d_head = heads, dim_head

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, camera: BlockCamera | None = None,
                grid: tuple[int, int, int] | None = None, transformer_options: dict | None = None) -> torch.Tensor:
        """x (N, L, C); for the camera branch x is ((B h w), T, C) and grid = (B, h, w).

        `transformer_options`: ComfyUI's attention patches (transformer_options.py); None = none.
        """
        hooks = BlockHooks.of(transformer_options, self.n_heads, self.d_head)
        n = self.norm1(x)
        h = (self.attn1(n) if hooks is None else hooks.attention("attn1", self.attn1, n, None)) + x
        if camera is not None and (hasattr(self, "pluker_projection") or hasattr(self, "epipolar")):
            b, hh, ww = grid
            t, c = x.shape[1], x.shape[2]
            p = camera.features.to(device=x.device, dtype=x.dtype).permute(0, 3, 4, 2, 1).reshape(b * hh * ww, t, c)
            y = n + p
            if hasattr(self, "pluker_projection"):
                h = h + self.pluker_projection(y)
            if hasattr(self, "epipolar"):
                tok = y.reshape(b, hh, ww, t, c).permute(0, 3, 1, 2, 4).reshape(b, t * hh * ww, c)
                e = self.epipolar.epipolar_attn(tok, camera.mask)
                h = h + e.reshape(b, t, hh, ww, c).permute(0, 2, 3, 1, 4).reshape(b * hh * ww, t, c)
        if hooks is None:
            x = self.attn2(self.norm2(h), context) + h
        else:
            h = hooks.middle(h)
            x = hooks.attention("attn2", self.attn2, self.norm2(h), context if self.attn2.is_cross else None) + h
        return self.ff(self.norm3(x)) + x


def group_norm32(norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """GroupNorm computed in float32 (upstream's GroupNormSpecific / autocast behaviour).

    Layers that cast their own weights (ComfyUI's manual-cast ops set `comfy_cast_weights`) are called
    as they are; otherwise low-precision weights are upcast here.
    """
    w = getattr(norm, "weight", None)
    if w is None or w.dtype == torch.float32 or getattr(norm, "comfy_cast_weights", False):
        return norm(x.float()).to(x.dtype)
    b = norm.bias.float() if norm.bias is not None else None
    return F.group_norm(x.float(), norm.num_groups, w.float(), b, norm.eps).to(x.dtype)


def _projections(conv: Any, channels: int, inner: int, use_linear: bool, operations: Any,
                 factory: dict) -> tuple[nn.Module, nn.Module]:
    """proj_in (channels -> inner) and proj_out (inner -> channels) of a transformer: Linear or 1x1 `conv`."""
    if use_linear:
        return operations.Linear(channels, inner, **factory), operations.Linear(inner, channels, **factory)
    return conv(channels, inner, 1, **factory), conv(inner, channels, 1, **factory)


class SpatialTransformer(nn.Module):
    """Per-frame transformer over h*w tokens: GN -> proj_in -> blocks -> proj_out, plus residual."""

    def __init__(self, channels: int, heads: int, dim_head: int, depth: int, context_dim: int, use_linear: bool,
                 image_cross_attention: bool, learnable_scale: bool, operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        inner = heads * dim_head
        self.use_linear = use_linear
        self.norm = operations.GroupNorm(32, channels, eps=1e-6, affine=True, **factory)
        self.proj_in, self.proj_out = _projections(operations.Conv2d, channels, inner, use_linear, operations, factory)
        self.transformer_blocks = nn.ModuleList([
            BasicTransformerBlock(inner, heads, dim_head, context_dim, image_cross_attention, learnable_scale,
                                  operations=operations, **factory)
            for _ in range(depth)
        ])

    def forward(self, x: torch.Tensor, context: torch.Tensor, transformer_options: dict | None = None) -> torch.Tensor:
        """x (N, C, h, w), context (N, L, D) -> (N, C, h, w)."""
        n, c, h, w = x.shape
        if transformer_options is not None:
            transformer_options["activations_shape"] = list(x.shape)
        y = group_norm32(self.norm, x)
        if not self.use_linear:
            y = self.proj_in(y)
        y = y.flatten(2).transpose(1, 2)
        if self.use_linear:
            y = self.proj_in(y)
        for i, blk in enumerate(self.transformer_blocks):
            if transformer_options is not None:
                transformer_options["block_index"] = i
            y = blk(y, context, transformer_options=transformer_options)
        if self.use_linear:
            y = self.proj_out(y)
        y = y.transpose(1, 2).reshape(n, -1, h, w)
        if not self.use_linear:
            y = self.proj_out(y)
        return y + x


class TemporalTransformer(nn.Module):
    """Transformer over the T frames of every pixel: GN over (C, T, h, w) -> proj_in -> blocks -> proj_out.

    Both attentions are self-attention (temporal_selfatt_only); `use_linear=False` gives Conv1d
    projections (init_attn). Camera modules are added to the blocks when requested.
    """

    def __init__(self, channels: int, heads: int, dim_head: int, depth: int, use_linear: bool,
                 pluker_projection: bool = False, epipolar: bool = False, num_register_tokens: int = 0,
                 operations: Any = nn, **factory: Any) -> None:
        super().__init__()
        inner = heads * dim_head
        self.use_linear = use_linear
        self.norm = operations.GroupNorm(32, channels, eps=1e-6, affine=True, **factory)
        self.proj_in, self.proj_out = _projections(operations.Conv1d, channels, inner, use_linear, operations, factory)
        self.transformer_blocks = nn.ModuleList([
            BasicTransformerBlock(inner, heads, dim_head, None, pluker_projection=pluker_projection,
                                  epipolar=epipolar, num_register_tokens=num_register_tokens,
                                  operations=operations, **factory)
            for _ in range(depth)
        ])

    @property
    def has_camera(self) -> bool:
        blk = self.transformer_blocks[0]
        return hasattr(blk, "pluker_projection") or hasattr(blk, "epipolar")

    def forward(self, x: torch.Tensor, camera: BlockCamera | None = None,
                transformer_options: dict | None = None) -> torch.Tensor:
        """x (B, C, T, h, w) -> (B, C, T, h, w)."""
        b, c, t, h, w = x.shape
        if transformer_options is not None:
            transformer_options["activations_shape"] = list(x.shape)
        y = group_norm32(self.norm, x)
        y = y.permute(0, 3, 4, 1, 2).reshape(b * h * w, c, t)
        if not self.use_linear:
            y = self.proj_in(y)
        y = y.transpose(1, 2)
        if self.use_linear:
            y = self.proj_in(y)
        for i, blk in enumerate(self.transformer_blocks):
            if transformer_options is not None:
                transformer_options["block_index"] = i
            y = blk(y, None, camera if self.has_camera else None, (b, h, w), transformer_options)
        if self.use_linear:
            y = self.proj_out(y)
        else:
            y = self.proj_out(y.transpose(1, 2)).transpose(1, 2)
        y = y.reshape(b, h, w, t, -1).permute(0, 4, 3, 1, 2)
        return y + x
