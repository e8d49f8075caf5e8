"""Weight files: reading checkpoints safely, memory-mapped loading, and staged hub downloads.

- `checkpoint`: read a .safetensors / .ckpt / .pt state dict (weights only, with clear errors).
- `lazy`: memory-mapped tensors copied into meta-built modules one at a time (no second copy).
- `hub`: downloads staged in a partial folder, verified by size and sha256, then moved into place.
"""
