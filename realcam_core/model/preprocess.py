"""The conditioning image as the model wants it: upstream's resize-then-centre-crop, CLIP's squashed input."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..camera.intrinsics import upstream_resized_size


def resize_crop(image: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """IMAGE (B, H, W, 3) -> (B, height, width, 3): aspect-preserving resize then centre crop (upstream).

    Returns the image and the resized size (Hr, Wr) before the crop (the intrinsics refer to it).
    """
    _, h0, w0, _ = image.shape
    hr, wr = upstream_resized_size(h0, w0, height, width)
    x = F.interpolate(image.movedim(-1, 1).float(), size=(hr, wr), mode="bilinear", antialias=True,
                      align_corners=False)
    top, left = (hr - height) // 2, (wr - width) // 2
    return x[:, :, top:top + height, left:left + width].movedim(1, -1).clamp(0, 1), (hr, wr)


def clip_squash(image: torch.Tensor, size: int = 224) -> torch.Tensor:
    """IMAGE (B, H, W, 3) -> (B, size, size, 3) squashed (no crop), kornia bicubic as upstream."""
    import kornia

    x = kornia.geometry.resize(image.movedim(-1, 1).float(), (size, size), interpolation="bicubic",
                               align_corners=True, antialias=True)
    return x.movedim(1, -1).clamp(0, 1)
