"""A picture of a camera path: top view (x-z) and side view (z-y) with frustums, in metres.

Drawn with PIL so it needs no plotting library; OpenCV axes (x right, y down, z forward), so
"up" in the side view is -y.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

from .types import Trajectory

_BG = (24, 26, 30)
_GRID = (52, 56, 64)
_PATH = (90, 170, 255)
_FRUSTUM = (235, 200, 80)
_KEY = (255, 110, 90)
_TEXT = (200, 204, 212)


def _frustum_corners(c2w: np.ndarray, size: float) -> np.ndarray:
    """(N, 5, 3): camera centre + 4 image-plane corners at depth `size` in world space."""
    local = np.array([[0, 0, 0], [-0.6, -0.4, 1], [0.6, -0.4, 1], [0.6, 0.4, 1], [-0.6, 0.4, 1]], dtype=np.float64)
    local[1:] *= size
    return np.einsum("nij,kj->nki", c2w[:, :3, :3], local) + c2w[:, None, :3, 3]


def plot_trajectory(traj: Trajectory, width: int = 768, height: int = 384, max_frustums: int = 12) -> torch.Tensor:
    """(H, W, 3) float 0..1 image: left panel top view (x right, z up the page), right panel side view."""
    c2w = traj.c2w.double().cpu().numpy()
    centres = c2w[:, :3, 3]
    span = float(np.ptp(centres, axis=0).max()) if len(centres) > 1 else 0.0
    size = max(span * 0.12, 0.05)
    step = max(1, len(c2w) // max_frustums)
    frames = list(range(0, len(c2w), step))
    if frames[-1] != len(c2w) - 1:
        frames.append(len(c2w) - 1)
    corners = _frustum_corners(c2w[frames], size)
    keys = traj.key_c2w.double().cpu().numpy()[:, :3, 3] if traj.key_c2w is not None and len(traj.key_c2w) < len(c2w) else None

    img = Image.new("RGB", (width, height), _BG)
    draw = ImageDraw.Draw(img)
    panel_w = width // 2
    views = (("top (x, z)", 0, 2, 1.0, 0), ("side (z, -y)", 2, 1, -1.0, panel_w))
    every = np.concatenate([centres, corners.reshape(-1, 3)], axis=0)
    for title, ax_u, ax_v, sign_v, x0 in views:
        u_all, v_all = every[:, ax_u], sign_v * every[:, ax_v]
        lo_u, hi_u, lo_v, hi_v = u_all.min(), u_all.max(), v_all.min(), v_all.max()
        extent = max(hi_u - lo_u, hi_v - lo_v, 1e-3) * 1.15
        cu, cv = (lo_u + hi_u) / 2, (lo_v + hi_v) / 2
        scale = (min(panel_w, height) - 40) / extent

        def to_px(p: np.ndarray, cu=cu, cv=cv, scale=scale, x0=x0, ax_u=ax_u, ax_v=ax_v, sign_v=sign_v) -> tuple:
            u = (p[..., ax_u] - cu) * scale + x0 + panel_w / 2
            v = height / 2 - (sign_v * p[..., ax_v] - cv) * scale
            return u, v

        # metre grid
        grid = 10 ** np.floor(np.log10(extent / 2))
        for g in np.arange(np.floor((cu - extent) / grid) * grid, cu + extent, grid):
            px = (g - cu) * scale + x0 + panel_w / 2
            if x0 <= px < x0 + panel_w:
                draw.line([(px, 0), (px, height)], fill=_GRID)
        for g in np.arange(np.floor((cv - extent) / grid) * grid, cv + extent, grid):
            py = height / 2 - (g - cv) * scale
            draw.line([(x0, py), (x0 + panel_w, py)], fill=_GRID)
        for fr in corners:
            u, v = to_px(fr)
            for a in range(1, 5):
                draw.line([(u[0], v[0]), (u[a], v[a])], fill=_FRUSTUM)
                b = 1 + a % 4
                draw.line([(u[a], v[a]), (u[b], v[b])], fill=_FRUSTUM)
        u, v = to_px(centres)
        draw.line(list(zip(u.tolist(), v.tolist(), strict=True)), fill=_PATH, width=2)
        draw.ellipse([u[0] - 4, v[0] - 4, u[0] + 4, v[0] + 4], outline=_PATH, width=2)
        if keys is not None:
            ku, kv = to_px(keys)
            for a, b in zip(ku.tolist(), kv.tolist(), strict=True):
                draw.rectangle([a - 3, b - 3, a + 3, b + 3], fill=_KEY)
        draw.text((x0 + 8, 6), f"{title}  grid {grid:g} m", fill=_TEXT)
    draw.line([(panel_w, 0), (panel_w, height)], fill=_TEXT)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)
