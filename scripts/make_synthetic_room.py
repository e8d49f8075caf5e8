"""Generate a textured synthetic room with exact metric depth (assets/synthetic_room/).

Ray-cast in closed form (planes, boxes, spheres) from a pinhole camera at the origin, OpenCV axes
(x right, y down, z forward), pixel centres at +0.5, RealCam's default intrinsics
fx = fy = 0.5 * max(W, H), cx = W/2, cy = H/2. Writes
  room_rgb.png    8-bit RGB (colour supersampled 2x2, so edges are smooth),
  room_depth.png  16-bit grey, depth z (not ray length) in millimetres at each pixel centre; the
                  stored value *is* the scene's depth, so renders of it can be checked exactly,
  room.json       size, intrinsics, depth unit and scale, depth range.
Deterministic (no random numbers, only numpy + PIL); about 0.5 MB in total at 512x320.

    python scripts/make_synthetic_room.py [--width 512 --height 320] [--out assets/synthetic_room]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

ROOM = {"x": (-3.0, 3.0), "y": (-1.6, 1.4), "z_back": 6.5}  # y down: ceiling at -1.6 m, floor at +1.4 m
BOXES = [  # (min corner, max corner, base colour)
    ((-2.4, 0.6, 3.2), (-1.2, 1.4, 4.4), (0.80, 0.35, 0.20)),
    ((1.0, -0.2, 4.6), (2.4, 1.4, 5.6), (0.25, 0.45, 0.75)),
]
SPHERES = [  # (centre, radius, base colour)
    ((0.2, 0.9, 2.6), 0.5, (0.90, 0.80, 0.25)),
    ((-0.6, -0.5, 5.2), 0.7, (0.35, 0.70, 0.40)),
]
LIGHT = np.array([0.3, -0.8, -0.5]) / np.linalg.norm([0.3, -0.8, -0.5])  # direction towards the light


def intrinsics(width: int, height: int) -> tuple[float, float, float, float]:
    f = 0.5 * max(width, height)
    return f, f, width / 2.0, height / 2.0


def _hash(*ints: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random value in [0, 1) per integer cell (for brick/tile colour variation)."""
    h = np.zeros(np.broadcast(*ints).shape, dtype=np.float64)
    for k, a in enumerate(ints):
        h = h + np.asarray(a, dtype=np.float64) * (12.9898 + 31.7 * k)
    return np.modf(np.abs(np.sin(h) * 43758.5453))[0]


def _checker(a: np.ndarray, b: np.ndarray, size: float) -> np.ndarray:
    return (np.floor(a / size) + np.floor(b / size)) % 2


def _bricks(a: np.ndarray, b: np.ndarray, w: float = 0.5, h: float = 0.22, mortar: float = 0.025):
    """Running-bond bricks on a plane with coordinates (a, b): (is_mortar, brick_id_a, brick_id_b)."""
    row = np.floor(b / h)
    a_off = a + (row % 2) * w / 2
    col = np.floor(a_off / w)
    fa, fb = a_off - col * w, b - row * h
    is_mortar = (fa < mortar) | (fb < mortar)
    return is_mortar, col, row


def _shade(colour: np.ndarray, normal: np.ndarray) -> np.ndarray:
    lam = np.clip((normal * LIGHT).sum(-1, keepdims=True), 0.0, 1.0)
    return colour * (0.55 + 0.45 * lam)


def _trace(dx: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rays (dx, dy, 1) from the origin -> (depth z (...), colour (..., 3) in 0..1)."""
    return trace_rays(np.zeros(3), np.stack([dx, dy, np.ones(dx.shape)], -1))


def trace_rays(origin: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rays origin + t d (d (..., 3), any length) -> (t of the first hit (...), colour (..., 3) in 0..1).

    With d = R (x, y, 1) for a camera's rotation R, t is the hit's depth z in that camera, so one
    function gives the asset (camera at the origin) and the ground truth for any other camera.
    """
    shape = d.shape[:-1]
    o = np.asarray(origin, dtype=np.float64)
    dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
    depth = np.full(shape, np.inf)
    colour = np.zeros(shape + (3,))
    normal = np.zeros(shape + (3,))
    kind = np.full(shape, -1)

    def hit_plane(t: np.ndarray, k: int, n: tuple[float, float, float]) -> None:
        better = (t > 1e-6) & (t < depth)
        depth[better] = t[better]
        kind[better] = k
        normal[better] = n

    with np.errstate(divide="ignore", invalid="ignore"):
        x0, x1 = ROOM["x"]
        y0, y1 = ROOM["y"]
        hit_plane((x0 - o[0]) / dx, 0, (1.0, 0.0, 0.0))  # left wall
        hit_plane((x1 - o[0]) / dx, 1, (-1.0, 0.0, 0.0))  # right wall
        hit_plane((y1 - o[1]) / dy, 2, (0.0, -1.0, 0.0))  # floor (y down)
        hit_plane((y0 - o[1]) / dy, 3, (0.0, 1.0, 0.0))  # ceiling
        hit_plane((ROOM["z_back"] - o[2]) / dz, 4, (0.0, 0.0, -1.0))  # back wall
        for b, (lo, hi, _) in enumerate(BOXES):  # slab method
            lo_, hi_ = np.array(lo), np.array(hi)
            t0, t1 = (lo_ - o) / d, (hi_ - o) / d
            tmin = np.minimum(t0, t1).max(-1)
            tmax = np.maximum(t0, t1).min(-1)
            ok = (tmax >= tmin) & (tmin > 1e-6) & (tmin < depth)
            depth[ok] = tmin[ok]
            kind[ok] = 10 + b
            p = o + d[ok] * tmin[ok][:, None]
            face = np.abs(np.stack([p - lo_, p - hi_], 1)).reshape(-1, 6).argmin(-1)
            n = np.zeros((ok.sum(), 3))
            n[np.arange(len(face)), face % 3] = np.where(face < 3, -1.0, 1.0)
            normal[ok] = n
        for s, (c, r, _) in enumerate(SPHERES):
            c_ = np.array(c) - o
            a = (d * d).sum(-1)
            bq = (d * c_).sum(-1)
            disc = bq * bq - a * ((c_ * c_).sum() - r * r)
            t = (bq - np.sqrt(np.maximum(disc, 0))) / a
            ok = (disc > 0) & (t > 1e-6) & (t < depth)
            depth[ok] = t[ok]
            kind[ok] = 20 + s
            normal[ok] = (o + d[ok] * t[ok][:, None] - np.array(c)) / r

    p = o + d * depth[..., None]
    px, py, pz = p[..., 0], p[..., 1], p[..., 2]
    # left wall: blue-grey checker; right wall: warm vertical stripes
    m = kind == 0
    colour[m] = np.where(_checker(pz[m], py[m], 0.4)[:, None] > 0, [0.55, 0.60, 0.72], [0.30, 0.34, 0.48])
    m = kind == 1
    stripes = (np.floor(pz[m] / 0.25) % 3)[:, None]
    colour[m] = np.select([stripes == 0, stripes == 1], [[0.85, 0.72, 0.55], [0.70, 0.45, 0.35]], [0.92, 0.88, 0.80])
    # floor: wooden planks with per-plank tone; ceiling: pale plaster with a coarse grid
    m = kind == 2
    plank = np.floor(px[m] / 0.3)
    tone = _hash(plank, np.floor((pz[m] + 0.7 * plank) / 1.2))[:, None]
    seam = ((px[m] / 0.3) % 1.0 < 0.04)[:, None]
    colour[m] = np.where(seam, [0.25, 0.16, 0.10], np.array([0.55, 0.36, 0.20]) * (0.75 + 0.5 * tone))
    m = kind == 3
    grid = (((px[m] / 1.0) % 1.0 < 0.03) | ((pz[m] / 1.0) % 1.0 < 0.03))[:, None]
    colour[m] = np.where(grid, [0.70, 0.70, 0.68], [0.93, 0.92, 0.88])
    # back wall: red bricks
    m = kind == 4
    mortar, bc, br = _bricks(px[m], py[m])
    tone = _hash(bc, br)[:, None]
    colour[m] = np.where(mortar[:, None], [0.80, 0.78, 0.72], np.array([0.62, 0.22, 0.15]) * (0.8 + 0.4 * tone))
    for b, (lo, _, base) in enumerate(BOXES):
        m = kind == 10 + b
        q = p[m] - np.array(lo)
        lines = (((q % 0.2) < 0.015) & (np.abs(normal[m]) < 0.5)).any(-1)[:, None]  # grid on each face
        colour[m] = np.where(lines, np.array(base) * 0.5, base)
    for s, (_, _, base) in enumerate(SPHERES):
        m = kind == 20 + s
        n = normal[m]
        lon = np.floor((np.arctan2(n[:, 0], n[:, 2]) + np.pi) / (np.pi / 6))
        lat = np.floor((np.arcsin(np.clip(n[:, 1], -1, 1)) + np.pi / 2) / (np.pi / 6))
        colour[m] = np.where(((lon + lat) % 2)[:, None] > 0, base, np.array(base) * 0.6 + 0.3)
    colour = _shade(colour, normal)
    return depth, np.clip(colour, 0.0, 1.0)


def make_room(width: int = 512, height: int = 320) -> tuple[np.ndarray, np.ndarray, dict]:
    """-> rgb (H, W, 3) uint8, depth (H, W) uint16 millimetres, metadata dict (room.json)."""
    fx, fy, cx, cy = intrinsics(width, height)
    u = (np.arange(width) + 0.5 - cx) / fx
    v = (np.arange(height) + 0.5 - cy) / fy
    depth, _ = _trace(*np.meshgrid(u, v, indexing="xy"))  # depth at the pixel centres
    depth_mm = np.round(depth * 1000.0)
    assert np.isfinite(depth_mm).all() and depth_mm.max() < 65536 and depth_mm.min() > 0
    # colour: mean of a 2x2 grid of samples inside each pixel
    acc = np.zeros((height, width, 3))
    for oy in (0.25, 0.75):
        for ox in (0.25, 0.75):
            us = (np.arange(width) + ox - cx) / fx
            vs = (np.arange(height) + oy - cy) / fy
            acc += _trace(*np.meshgrid(us, vs, indexing="xy"))[1]
    rgb = np.round(acc / 4 * 255.0).astype(np.uint8)
    meta = {
        "width": width,
        "height": height,
        "fx": fx,
        "fy": fy,
        "cx": cx,
        "cy": cy,
        "pixel_centre": 0.5,
        "axes": "OpenCV: x right, y down, z forward",
        "rgb": "room_rgb.png",
        "depth": "room_depth.png",
        "depth_unit": "millimetre",
        "depth_scale_to_metres": 0.001,
        "depth_kind": "z (distance along the optical axis), at pixel centres",
        "depth_min_m": float(depth_mm.min()) / 1000.0,
        "depth_max_m": float(depth_mm.max()) / 1000.0,
        "generator": "scripts/make_synthetic_room.py",
    }
    return rgb, depth_mm.astype(np.uint16), meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--height", type=int, default=320)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "assets" / "synthetic_room")
    args = ap.parse_args()
    rgb, depth_mm, meta = make_room(args.width, args.height)
    args.out.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb, "RGB").save(args.out / meta["rgb"], optimize=True)
    Image.fromarray(depth_mm).save(args.out / meta["depth"], optimize=True)
    (args.out / "room.json").write_text(json.dumps(meta, indent=2) + "\n")
    sizes = {p.name: p.stat().st_size for p in sorted(args.out.iterdir())}
    print(f"wrote {args.out}: {sizes}, depth {meta['depth_min_m']:.3f}..{meta['depth_max_m']:.3f} m")


if __name__ == "__main__":
    main()
