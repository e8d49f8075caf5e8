"""Block-gathered epipolar attention: each block of queries attends only to the keys its mask allows.

The epipolar mask of the 256 model at d = 8 is ~5 % true, but its true entries are scattered
(lines cross every tile of the key frames), so fixed key blocks (FlexAttention's BlockMask, 64 or
128 wide) are almost all partly true and skip nothing. What does shrink is the set of keys a small,
spatially compact group of queries needs: the queries of a 4x8 cell tile of one frame together need
~25 % of all keys. So the plan, built once per mask (and cached on it), is:

- queries ordered by (frame, tile, cell) and cut into blocks of `block` queries;
- per block the sorted union of the key columns any of its queries may see, register tokens first;
- per block the mask restricted to (its queries x its keys), bit-packed;
- blocks sorted by key count and grouped into buckets that share one padded key count (padding keys
  are masked out), so one SDPA call handles a bucket.

A call gathers q / k / v of one bucket, runs `scaled_dot_product_attention` with the bucket's mask
and scatters the rows back: the same kernel as the dense path on a subset of the keys, so the
result matches the dense path up to summation order (and fully masked rows behave the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .camera import PackedMask, pack_bits, unpack_bits

# Queries per block and the tile (rows, cols of feature cells) they are drawn from.
DEFAULT_BLOCK = 64
DEFAULT_TILE = (4, 8)
# Upper bound on gathered key/value entries (batch * blocks * keys * channels) per SDPA call.
GATHER_CHUNK_ELEMS = 1 << 24
# Rows unpacked at a time while planning (rows * L bools).
PLAN_CHUNK_ELEMS = 1 << 25


@dataclass
class Bucket:
    """Blocks with similar key counts, padded to one key count."""

    queries: torch.Tensor  # (n, block) int64 token indices (the last block may repeat its last index)
    keys: torch.Tensor  # (n, U) int64 indices into [registers, tokens]; padding points at key 0
    mask: torch.Tensor  # (n, block, ceil(U / 8)) uint8, packed (queries x keys) mask, False on padding
    width: int  # U


@dataclass
class SparsePlan:
    """Buckets of one mask batch element plus the fraction of (query, key) pairs that will be computed."""

    buckets: list[Bucket]
    computed_fraction: float

    def nbytes(self) -> int:
        return sum(b.queries.numel() * 8 + b.keys.numel() * 8 + b.mask.numel() for b in self.buckets)


def tile_order(length: int, grid: tuple[int, int], tile: tuple[int, int] = DEFAULT_TILE,
               device: torch.device | None = None) -> torch.Tensor:
    """Token indices (frame-major, row-major cells) reordered by (frame, tile row, tile col, cell)."""
    rows, cols = grid
    n = rows * cols
    idx = torch.arange(length, device=device)
    frame, cell = idx // n, idx % n
    r, c = cell // cols, cell % cols
    tiles_per_row = -(-cols // tile[1])
    tiles_per_frame = -(-rows // tile[0]) * tiles_per_row
    key = (frame * tiles_per_frame + (r // tile[0]) * tiles_per_row + c // tile[1]) * n + cell
    return torch.argsort(key)


def build_plan(mask: PackedMask, registers: int, batch_index: int = 0, block: int = DEFAULT_BLOCK,
               tile: tuple[int, int] = DEFAULT_TILE, bucket_blocks: int = 64) -> SparsePlan:
    """Plan for element `batch_index` of `mask` with `registers` always-visible keys in front."""
    packed = mask.packed[batch_index]
    length = mask.length
    dev = packed.device
    if mask.query_order is not None:
        order = mask.query_order[batch_index].to(dev)
    else:
        order = tile_order(length, mask.grid, tile, dev)
    nb = -(-length // block)
    pad = nb * block - length
    if pad:
        order = torch.cat([order, order[-1:].expand(pad)])
    qblocks = order.reshape(nb, block)
    per = max(1, PLAN_CHUNK_ELEMS // (block * length))
    keys: list[torch.Tensor] = []  # per block: allowed token columns, ascending
    masks: list[torch.Tensor] = []  # per block: (block, count) bool
    with torch.no_grad():
        for s in range(0, nb, per):
            q = qblocks[s:s + per]
            rows = unpack_bits(packed[q.reshape(-1)], length).reshape(q.shape[0], block, length)
            union = rows.any(dim=1)  # (n, L)
            count = union.sum(dim=1)
            # stable sort of "not allowed" puts each block's allowed columns first, in ascending order
            cols = torch.argsort((~union).to(torch.uint8), dim=1, stable=True)[:, :max(1, int(count.max()))]
            sub = rows.gather(2, cols[:, None, :].expand(-1, block, -1))
            for i, u in enumerate(count.tolist()):
                keys.append(cols[i, :u])
                masks.append(sub[i, :, :u])
            del rows, union, sub
    counts = torch.tensor([k.numel() for k in keys])
    sort = torch.argsort(counts, stable=True).tolist()
    buckets = []
    computed = 0
    for s in range(0, nb, bucket_blocks):
        members = sort[s:s + bucket_blocks]
        width = -(-(registers + max(1, int(counts[members].max()))) // 8) * 8
        kk = torch.zeros((len(members), width), dtype=torch.int64, device=dev)
        mm = torch.zeros((len(members), block, width), dtype=torch.bool, device=dev)
        kk[:, :registers] = torch.arange(registers, device=dev)
        mm[:, :, :registers] = True  # register tokens are always visible
        for j, m in enumerate(members):
            u = registers + keys[m].numel()
            kk[j, registers:u] = keys[m] + registers
            mm[j, :, registers:u] = masks[m]
        buckets.append(Bucket(qblocks[members], kk, pack_bits(mm), width))
        computed += len(members) * block * width
    total = nb * block * (length + registers)
    return SparsePlan(buckets, computed / max(1, total))


def plan_for(mask: PackedMask, registers: int, batch_index: int) -> SparsePlan:
    """Cached plan (kept on the mask object, which the UNet caches per camera)."""
    if mask.parts is not None:
        return plan_for(mask.parts[batch_index], registers, 0)
    cache = mask.__dict__.setdefault("_sparse_plans", {})
    key = (registers, batch_index)
    if key not in cache:
        cache[key] = build_plan(mask, registers, batch_index)
    return cache[key]


def sparse_epipolar_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
                              mask: PackedMask, registers: int) -> torch.Tensor:
    """q (B, L, C), k / v (B, registers + L, C), mask (Bm, L, L) -> (B, L, C), as the dense masked SDPA."""
    b, length, c = q.shape
    d = c // heads
    out = torch.empty_like(q)
    groups = [(slice(0, b), 0)] if mask.batch == 1 else [(slice(i, i + 1), i) for i in range(b)]
    plans = [(sel, plan_for(mask, registers, mi)) for sel, mi in groups]
    nbatch = plans[0][0].stop - plans[0][0].start
    # One set of gather buffers for the whole call, filled with index_select(out=): a fresh allocation
    # per chunk is a fresh mmap whose page faults cost more than the gather itself (~5x measured).
    need_kv = need_q = 0
    for _, plan in plans:
        for bk in plan.buckets:
            n, block = bk.queries.shape
            per = min(n, max(1, GATHER_CHUNK_ELEMS // max(1, nbatch * bk.width * c)))
            need_kv = max(need_kv, nbatch * per * bk.width * c)
            need_q = max(need_q, nbatch * per * block * c)
    kbuf = q.new_empty(need_kv)
    vbuf = q.new_empty(need_kv)
    qbuf = q.new_empty(need_q)
    for sel, plan in plans:
        qs, ks, vs = q[sel], k[sel], v[sel]
        for bucket in plan.buckets:
            n, block = bucket.queries.shape
            width = bucket.width
            per = max(1, GATHER_CHUNK_ELEMS // max(1, nbatch * width * c))
            for s in range(0, n, per):
                qi = bucket.queries[s:s + per].reshape(-1)
                ki = bucket.keys[s:s + per].reshape(-1)
                nn = qi.numel() // block
                qg = qbuf[:nbatch * qi.numel() * c].view(nbatch, qi.numel(), c)
                kg = kbuf[:nbatch * ki.numel() * c].view(nbatch, ki.numel(), c)
                vg = vbuf[:nbatch * ki.numel() * c].view(nbatch, ki.numel(), c)
                for j in range(nbatch):
                    torch.index_select(qs[j], 0, qi, out=qg[j])
                    torch.index_select(ks[j], 0, ki, out=kg[j])
                    torch.index_select(vs[j], 0, ki, out=vg[j])
                m = unpack_bits(bucket.mask[s:s + per], width)  # (n', block, U)
                # 4-D (batch * blocks, heads, rows, dim): 5-D inputs fall back to the unfused math path
                am = m[None, :, None].expand(nbatch, -1, -1, -1, -1).reshape(nbatch * nn, 1, block, width)
                o = F.scaled_dot_product_attention(
                    qg.view(nbatch * nn, block, heads, d).transpose(1, 2),
                    kg.view(nbatch * nn, width, heads, d).transpose(1, 2),
                    vg.view(nbatch * nn, width, heads, d).transpose(1, 2), attn_mask=am)
                out[sel].index_copy_(1, qi, o.transpose(1, 2).reshape(nbatch, nn * block, c))
    return out


def plan_summary(plan: SparsePlan) -> str:
    widths = [b.width for b in plan.buckets]
    return (f"{len(plan.buckets)} buckets, keys {min(widths)}..{max(widths)}, computed {plan.computed_fraction:.1%}, "
            f"plan {plan.nbytes() / 2**20:.1f} MiB, mean {math.fsum(widths) / len(widths):.0f}")
