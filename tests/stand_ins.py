"""Deterministic stand-ins for core VAE / CLIP_VISION objects, for in-process node tests that must not
depend on full-size encoders (the real-format tiny encoders are exercised through the server tests)."""

from __future__ import annotations

import torch


class FakeVAE:
    """Core VAE interface, per frame and deterministic: encode = 8x8 average (+ a 4th channel), decode = repeat."""

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        x = images[..., :3].movedim(-1, 1).float()
        pooled = torch.nn.functional.avg_pool2d(x, 8)
        return torch.cat([pooled, pooled.mean(1, keepdim=True)], dim=1) * 4 - 2

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.interpolate((latent[:, :3] + 2) / 4, scale_factor=8, mode="nearest")
        return x.movedim(1, -1)


class FakeClipVision:
    """Core CLIP_VISION interface: encode_image -> {"last_hidden_state": (B, 257, 32)}."""

    def encode_image(self, image: torch.Tensor, crop: bool = True) -> dict:
        assert image.shape[1:3] == (224, 224) and not crop  # squashed by the node, as upstream
        x = image.movedim(-1, 1).float()
        patches = torch.nn.functional.avg_pool2d(x, 14).flatten(2).transpose(1, 2)  # (B, 256, 3)
        tokens = torch.cat([patches.mean(1, keepdim=True), patches], dim=1)
        return {"last_hidden_state": tokens @ torch.linspace(-1, 1, 3 * 32).reshape(3, 32)}
