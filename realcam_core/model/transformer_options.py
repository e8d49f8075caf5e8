"""ComfyUI `transformer_options` honoured by the RealCam UNet, the way ComfyUI's own UNet honours them.

Model patches (core attention nodes, IPAdapter-style packs, PAG, ...) reach into the transformer blocks
through the `transformer_options` dict that the sampler hands to every model call. This module reads it
with plain dicts and callables (no ComfyUI import), with the meanings of ComfyUI's
`comfy/ldm/modules/attention.py` (BasicTransformerBlock) and `diffusionmodules/openaimodel.py`:

  patches["attn1_patch" | "attn2_patch"]   fn(n, context, value, extra) -> (n, context, value), before
                                           the attention (self-attention: context = value = n);
  patches_replace["attn1" | "attn2"][key]  fn(q, k, v, extra) -> out between to_q/to_k/to_v and to_out;
                                           key (block_name, block_id, block_index), else (block_name, block_id);
  patches["attn1_output_patch" | "attn2_output_patch"]   fn(out, extra) -> out, on the attention output;
  patches["middle_patch"]                  fn(x, extra) -> x after the attn1 residual (and the camera branch);
  patches["input_block_patch" | "input_block_patch_after_skip"]   fn(h, transformer_options) -> h;
  patches["output_block_patch"]            fn(h, skip, transformer_options) -> (h, skip).

The options carry "block" = ("input" | "middle" | "output", stage id), "block_index" (place in its
transformer), "transformer_index" (transformer layers so far), "original_shape" (frames-as-batch
[B*T, C, h, w], what the sampler sees) and "activations_shape"; the per-block `extra` adds "n_heads",
"dim_head" and "attn_precision". DynamiCrafter's temporal transformers (tokens = the T frames of one pixel)
get the same keys as the spatial ones of their stage, as core's SVD time_stack blocks do. With image
cross-attention, an attn2 replacement computes the text attention; the image-token branch is added as usual.
Without patches the blocks run exactly the unpatched code path (bit-identical output).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


class BlockHooks:
    """The patches one transformer block call must apply, and the `extra` options handed to them."""

    def __init__(self, transformer_options: dict, n_heads: int, dim_head: int) -> None:
        self.patches: dict = transformer_options.get("patches", {})
        self.replace: dict = transformer_options.get("patches_replace", {})
        self.extra = {k: v for k, v in transformer_options.items() if k not in ("patches", "patches_replace")}
        self.extra.update(n_heads=n_heads, dim_head=dim_head, attn_precision=None)
        block = transformer_options.get("block")
        self.block = block
        self.key = None if block is None else (block[0], block[1], transformer_options.get("block_index", 0))

    @classmethod
    def of(cls, transformer_options: dict | None, n_heads: int, dim_head: int) -> BlockHooks | None:
        return None if transformer_options is None else cls(transformer_options, n_heads, dim_head)

    def _replacement(self, which: str) -> Callable | None:
        table = self.replace.get(which, {})
        if self.key in table:
            return table[self.key]
        return table.get(self.block) if self.block is not None else None

    def attention(self, which: str, attn: Any, n: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        """`attn(n, context)` with the `which` ("attn1" / "attn2") patches; context None = self-attention."""
        value = None
        for p in self.patches.get(f"{which}_patch", []):
            if context is None:
                context = n
            if value is None:
                value = context
            n, context, value = p(n, context, value, self.extra)
        replace = self._replacement(which)
        if replace is None:
            out = attn(n, context, value)
        else:
            out = attn(n, context, value, attend=lambda q, k, v: replace(q, k, v, self.extra))
        for p in self.patches.get(f"{which}_output_patch", []):
            out = p(out, self.extra)
        return out

    def middle(self, x: torch.Tensor) -> torch.Tensor:
        for p in self.patches.get("middle_patch", []):
            x = p(x, self.extra)
        return x


def stage_patches(transformer_options: dict | None, name: str) -> list[Callable]:
    """The UNet-level patches `name` ("input_block_patch", ...) of `transformer_options`."""
    if transformer_options is None:
        return []
    return list(transformer_options.get("patches", {}).get(name, []))
