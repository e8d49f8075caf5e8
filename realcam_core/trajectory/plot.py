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

    img, draw, views = two_view_canvas(np.concatenate([centres, corners.reshape(-1, 3)], axis=0), width, height,
                                       pad=1.15, margin=40, unit=" m")
    for to_px in views:
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
    return finish_views(img, draw, views)


class _View:
    """One panel: world point -> pixel (u, v), plus its label drawn last (over the content)."""

    def __init__(self, label: str, ax_u: int, ax_v: int, sign_v: float, x0: int, cu: float, cv: float,
                 scale: float, panel_w: int, height: int):
        self.label, self.ax_u, self.ax_v, self.sign_v, self.x0 = label, ax_u, ax_v, sign_v, x0
        self.cu, self.cv, self.scale, self.panel_w, self.height = cu, cv, scale, panel_w, height

    def __call__(self, p: np.ndarray) -> tuple:
        u = (p[..., self.ax_u] - self.cu) * self.scale + self.x0 + self.panel_w / 2
        v = self.height / 2 - (self.sign_v * p[..., self.ax_v] - self.cv) * self.scale
        return u, v


def two_view_canvas(points: np.ndarray, width: int, height: int, pad: float, margin: int,
                    unit: str = "") -> tuple[Image.Image, ImageDraw.ImageDraw, list[_View]]:
    """A canvas with a top view (x right, z up the page) and a side view (z right, -y up) fitted to `points`
    (M, 3) with `pad` room around them, each with a grid of a power of ten (`unit` in its label)."""
    img = Image.new("RGB", (width, height), _BG)
    draw = ImageDraw.Draw(img)
    panel_w = width // 2
    views = []
    for label, ax_u, ax_v, sign_v, x0 in (("top (x, z)", 0, 2, 1.0, 0), ("side (z, -y)", 2, 1, -1.0, panel_w)):
        u_all, v_all = points[:, ax_u], sign_v * points[:, ax_v]
        extent = max(u_all.max() - u_all.min(), v_all.max() - v_all.min(), 1e-3) * pad
        cu, cv = (u_all.min() + u_all.max()) / 2, (v_all.min() + v_all.max()) / 2
        scale = (min(panel_w, height) - margin) / extent
        grid = 10 ** np.floor(np.log10(extent / 2))
        for g in np.arange(np.floor((cu - extent) / grid) * grid, cu + extent, grid):
            gx = (g - cu) * scale + x0 + panel_w / 2
            if x0 <= gx < x0 + panel_w:
                draw.line([(gx, 0), (gx, height)], fill=_GRID)
        for g in np.arange(np.floor((cv - extent) / grid) * grid, cv + extent, grid):
            gy = height / 2 - (g - cv) * scale
            draw.line([(x0, gy), (x0 + panel_w, gy)], fill=_GRID)
        views.append(_View(f"{label}  grid {grid:g}{unit}", ax_u, ax_v, sign_v, x0, cu, cv, scale, panel_w, height))
    return img, draw, views


def finish_views(img: Image.Image, draw: ImageDraw.ImageDraw, views: list[_View]) -> torch.Tensor:
    """Labels and the divider over the drawn content; the canvas as an IMAGE (H, W, 3) float 0..1."""
    for view in views:
        draw.text((view.x0 + 8, 6), view.label, fill=_TEXT)
    draw.line([(views[1].x0, 0), (views[1].x0, img.height)], fill=_TEXT)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)
