"""Requested vs estimated camera path, top view (x, z) and side view (z, -y), drawn with PIL."""

from __future__ import annotations

import numpy as np
import torch

from ..trajectory.plot import finish_views, two_view_canvas

__all__ = ["plot_paths"]

_TEXT = (200, 204, 212)
_REQ = (90, 170, 255)
_EST = (255, 150, 60)


def _arrows(c2w: np.ndarray, size: float) -> np.ndarray:
    """(N, 2, 3): each camera centre and a point `size` along its viewing direction (+z)."""
    return np.stack([c2w[:, :3, 3], c2w[:, :3, 3] + size * c2w[:, :3, 2]], axis=1)


def plot_paths(requested: torch.Tensor, estimated: torch.Tensor | None, width: int = 768, height: int = 384,
               title: str = "") -> torch.Tensor:
    """(H, W, 3) float 0..1: requested (blue) and estimated (orange) c2w (N, 4, 4), frame 0 = identity.

    Short ticks show where each camera looks. `estimated` None draws the requested path only.
    """
    paths = [(requested.double().cpu().numpy(), _REQ, "requested")]
    if estimated is not None:
        est = estimated.double().cpu().numpy()
        paths.append((est[np.isfinite(est).all(axis=(1, 2))], _EST, "estimated"))
    centres = np.concatenate([p[:, :3, 3] for p, _, _ in paths], axis=0)
    span = float(np.ptp(centres, axis=0).max()) if len(centres) > 1 else 0.0
    tick = max(span * 0.08, 0.05)
    every = np.concatenate([centres] + [_arrows(p, tick).reshape(-1, 3) for p, _, _ in paths if len(p)], axis=0)
    img, draw, views = two_view_canvas(every, width, height, pad=1.2, margin=48)
    for px in views:
        for c2w, colour, _ in paths:
            if not len(c2w):
                continue
            u, v = px(c2w[:, :3, 3])
            if len(u) > 1:
                draw.line(list(zip(u.tolist(), v.tolist(), strict=True)), fill=colour, width=2)
            for a, b in _arrows(c2w, tick):
                (ua, ub), (va, vb) = px(np.stack([a, b]))
                draw.line([(ua, va), (ub, vb)], fill=colour, width=1)
            draw.ellipse([u[0] - 4, v[0] - 4, u[0] + 4, v[0] + 4], outline=colour, width=2)
    y = height - 16
    for i, (_, colour, label) in enumerate(paths):
        draw.rectangle([8 + i * 110, y + 3, 20 + i * 110, y + 9], fill=colour)
        draw.text((24 + i * 110, y), label, fill=_TEXT)
    if title:
        draw.text((width // 2 + 8, height - 16), title, fill=_TEXT)
    return finish_views(img, draw, views)
