"""Block-gathered epipolar attention: each block of queries attends only to the keys its mask allows.

The epipolar mask of the 256 model at d = 8 is ~5 % true, but its true entries are scattered
(lines cross every tile of the key frames), so fixed key blocks (FlexAttention's BlockMask, 64 or
128 wide) are almost all partly true and skip nothing. What does shrink is the set of keys a small,
spatially compact group of queries needs: the queries of a 4x8 cell tile of one frame together need
~25 % of all keys. So the plan, built once per mask (and cached on it), is:

- queries ordered by `mask.query_order` (epipolar masks: the angle of their epipolar line), else by
  (frame, tile, cell), and cut into blocks of `block` queries;
- per block the sorted union of the key columns any of its queries may see, register tokens first;
- per block the mask restricted to (its queries x its keys), bit-packed;
- blocks sorted by key count and grouped into buckets that share one padded key count (padding keys
  are masked out), so one SDPA call handles a bucket;
- on the CPU, where the mask carries `self_order`, a query's own frame is planned apart ("split"): its
  own-frame line comes from the perturbed zero translation, a different pencil from the other frames'
  lines, so in line-angle blocks the own frame alone was ~2/3 of each block's key union (256 model,
  d = 8: 680 of 1024 cells per block of 64 while a query sees 44). Own-frame blocks are ordered by that
  pencil; the two parts' softmaxes are merged by their log-sum-exp (the CPU flash kernel returns it):
  at d = 8 the computed pairs fall from 15.4 % (blocks of 64) to 8.2 % (blocks of 32, split).

A call gathers q / k / v of one bucket, runs `scaled_dot_product_attention` with the bucket's mask
and scatters the rows back: the same kernel as the dense path on a subset of the keys, so the
result matches the dense path up to summation order (and fully masked rows behave the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .camera import PackedMask, pack_bits, unpack_bits

# Queries per block and the tile (rows, cols of feature cells) they are drawn from.
DEFAULT_BLOCK = 32
DEFAULT_TILE = (4, 8)
# Upper bound on gathered key/value entries (batch * blocks * keys * channels) per SDPA call.
GATHER_CHUNK_ELEMS = 1 << 24
# Rows unpacked at a time while planning (rows * L bools).
PLAN_CHUNK_ELEMS = 1 << 25
# The CPU flash kernel that also returns the log-sum-exp (needed to merge split plans).
_HAS_CPU_LSE = hasattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu")


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
    # Split plans: `buckets` hold only the keys outside each query's frame (plus the registers), `own` the
    # keys inside it, with query blocks ordered for the own-frame lines; the two softmax parts are merged
    # by their log-sum-exp. Empty: `buckets` hold every allowed key.
    own: list[Bucket] = field(default_factory=list)

    def nbytes(self) -> int:
        return sum(b.queries.numel() * 8 + b.keys.numel() * 8 + b.mask.numel() for b in self.buckets + self.own)


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


def _blocks(order: torch.Tensor, block: int) -> torch.Tensor:
    """(nb, block) query blocks of `order`, the last one padded by repeating its last index."""
    nb = -(-order.numel() // block)
    pad = nb * block - order.numel()
    if pad:
        order = torch.cat([order, order[-1:].expand(pad)])
    return order.reshape(nb, block)


def _bucketize(packed: torch.Tensor, length: int, qblocks: torch.Tensor, registers: int, bucket_blocks: int,
               keep: str = "all", frame_cells: int = 0) -> tuple[list[Bucket], int, bool]:
    """Buckets for `qblocks` over the mask rows `packed`; keep = "all", "other" (keys outside the query's
    frame) or "own" (keys in it). Returns the buckets, the number of (query, key) pairs they compute and
    whether every query may see at least one key."""
    nb, block = qblocks.shape
    dev = packed.device
    per = max(1, PLAN_CHUNK_ELEMS // (block * length))
    keys: list[torch.Tensor] = []  # per block: allowed token columns, ascending
    masks: list[torch.Tensor] = []  # per block: (block, count) bool
    every_row = True
    with torch.no_grad():
        for s in range(0, nb, per):
            q = qblocks[s:s + per]
            rows = unpack_bits(packed[q.reshape(-1)], length).reshape(q.shape[0], block, length)
            if keep != "all":
                own = (torch.arange(length, device=dev) // frame_cells)[None, None] == (q // frame_cells)[..., None]
                rows &= own if keep == "own" else ~own
            every_row = every_row and bool(rows.any(dim=2).all())
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
    return buckets, computed, every_row


def build_plan(mask: PackedMask, registers: int, batch_index: int = 0, block: int = DEFAULT_BLOCK,
               tile: tuple[int, int] = DEFAULT_TILE, bucket_blocks: int = 64, split: bool | None = None) -> SparsePlan:
    """Plan for element `batch_index` of `mask` with `registers` always-visible keys in front.

    split (default and at most: where possible): the keys of a query's own frame get their own query blocks (ordered by
    `mask.self_order`), merged with the other frames' part by log-sum-exp; see `SparsePlan.own`.
    """
    packed = mask.packed[batch_index]
    length = mask.length
    dev = packed.device
    if mask.query_order is not None:
        order = mask.query_order[batch_index].to(dev)
    else:
        order = tile_order(length, mask.grid, tile, dev)
    cells = mask.grid[0] * mask.grid[1]
    possible = (mask.self_order is not None and registers > 0 and dev.type == "cpu" and _HAS_CPU_LSE
                and length % cells == 0 and length > cells)
    total = -(-length // block) * block * (length + registers)
    if possible if split is None else split and possible:
        own_order = mask.self_order[batch_index].to(dev)
        # blocks never straddle two frames: each frame's queries padded to whole blocks on their own
        own_blocks = torch.cat([_blocks(own_order[f:f + cells], block) for f in range(0, length, cells)])
        own, own_computed, every_row = _bucketize(packed, length, own_blocks, 0, bucket_blocks, "own", cells)
        # a query seeing nothing of its own frame would have no own-part softmax to merge: plan unsplit
        if every_row:
            buckets, computed, _ = _bucketize(packed, length, _blocks(order, block), registers, bucket_blocks,
                                              "other", cells)
            return SparsePlan(buckets, (computed + own_computed) / max(1, total), own)
    buckets, computed, _ = _bucketize(packed, length, _blocks(order, block), registers, bucket_blocks)
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


def _run_buckets(buckets: list[Bucket], qs: torch.Tensor, ks: torch.Tensor, vs: torch.Tensor, heads: int,
                 bufs: tuple[torch.Tensor, torch.Tensor, torch.Tensor], with_lse: bool):
    """Yield (query indices (m,), output (nbatch, m, C), log-sum-exp (nbatch, heads, m) or None) per chunk."""
    nbatch, _, c = qs.shape
    d = c // heads
    qbuf, kbuf, vbuf = bufs
    for bucket in buckets:
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
            args = (qg.view(nbatch * nn, block, heads, d).transpose(1, 2),
                    kg.view(nbatch * nn, width, heads, d).transpose(1, 2),
                    vg.view(nbatch * nn, width, heads, d).transpose(1, 2))
            if with_lse:
                fm = torch.zeros(am.shape, dtype=qs.dtype, device=qs.device).masked_fill_(~am, float("-inf"))
                o, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(*args, attn_mask=fm)
                lse = lse.reshape(nbatch, nn, heads, block).transpose(1, 2).reshape(nbatch, heads, nn * block)
            else:
                o, lse = F.scaled_dot_product_attention(*args, attn_mask=am), None
            yield qi, o.transpose(1, 2).reshape(nbatch, nn * block, c), lse


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
        for bk in plan.buckets + plan.own:
            n, block = bk.queries.shape
            per = min(n, max(1, GATHER_CHUNK_ELEMS // max(1, nbatch * bk.width * c)))
            need_kv = max(need_kv, nbatch * per * bk.width * c)
            need_q = max(need_q, nbatch * per * block * c)
    bufs = (q.new_empty(need_q), q.new_empty(need_kv), q.new_empty(need_kv))
    for sel, plan in plans:
        qs, ks, vs = q[sel], k[sel], v[sel]
        split = bool(plan.own)
        lse_other = q.new_empty((nbatch, heads, length), dtype=torch.float32) if split else None  # float32 always
        for qi, o, lse in _run_buckets(plan.buckets, qs, ks, vs, heads, bufs, split):
            out[sel].index_copy_(1, qi, o)
            if split:
                lse_other.index_copy_(2, qi, lse)
        # own-frame part: softmax over both parts = the two outputs weighted by sigmoid(lse difference);
        # padded queries of a block repeat a real query, so writing them twice writes the same value
        for qi, o, lse in _run_buckets(plan.own, qs, ks[:, registers:], vs[:, registers:], heads, bufs, True):
            w = torch.sigmoid(lse - lse_other.index_select(2, qi))  # (nbatch, heads, m): weight of the own part
            prev = out[sel].index_select(1, qi).view(nbatch, -1, heads, d).float()
            o = o.view(nbatch, -1, heads, d).float()
            merged = prev + w.transpose(1, 2)[..., None] * (o - prev)
            out[sel].index_copy_(1, qi, merged.reshape(nbatch, -1, c).to(out.dtype))
    return out


def plan_summary(plan: SparsePlan) -> str:
    widths = [b.width for b in plan.buckets]
    return (f"{len(plan.buckets)} buckets, keys {min(widths)}..{max(widths)}, computed {plan.computed_fraction:.1%}, "
            f"plan {plan.nbytes() / 2**20:.1f} MiB, mean {math.fsum(widths) / len(widths):.0f}")
