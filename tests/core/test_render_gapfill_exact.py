"""The optimised `_GapFill` (mode="surface") equals a straightforward implementation of the same rule bit for bit.

`_ReferenceGapFill` below is the gap filler as first written (every test and every write over the whole
image, window reductions by doubling); the renderer's own `_GapFill` only tests and writes the pixels
that pass the depth tests. Both run inside the real renderer (the reference swapped in), on the synthetic
room along presets that leave holes, leaks and disocclusions, magnified and not, and on small random scenes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import realcam_core.scene.render as R
from realcam_core.scene.types import Scene
from realcam_core.trajectory.presets import preset_c2w

ROOT = Path(__file__).resolve().parents[2]
ASSET = ROOT / "assets" / "synthetic_room"
_FLT_MAX_BITS = 0x7F7FFFFF
_LITTLE_ENDIAN = R._LITTLE_ENDIAN


class _ReferenceGapFill:
    """Closes the gaps between splats of one surface, in place on the winning-key image.

    A single RGB-D view is a surface, not a set of points: neighbouring source pixels whose depths
    agree are joined, as in a mesh of the source pixel grid cut where depth jumps. Here that rule is
    applied in the output image: a pixel q is filled when, along its row (then along its column),
    the nearest-in-depth points within REACH pixels on both sides
      - lie on one surface: their depths agree within TOL, and (when the points are the pixels of a
        source grid, `grid_width`) they are neighbours there, at most GRID_STEP pixels apart, and
      - q is empty or shows something farther than both (a surface behind leaking through the gap).
    q takes the nearer of the two (smallest depth, then lower index). Across a silhouette the two
    sides disagree, so a disocclusion stays empty. Keys are compared with their tie-break bits
    cleared: only depth and index decide. Window minima are built by doubling (REACH a power of 2).
    """

    REACH = 16  # pixels each side: a gap of up to 2 * REACH - 1 pixels closes
    TOL = 0.2  # relative depth difference still counted as one surface (bench/render_holes.py)
    GRID_STEP = 3  # source-grid distance (rows and columns) of points that may be joined

    @staticmethod
    def buffers(m: int, height: int, width: int) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
        r = _ReferenceGapFill.REACH
        hw, padded = (m, height, width), (m, height + 2 * r, width + 2 * r)
        return {
            "gap_pad": (padded, torch.int64),
            "gap_pos": (padded, torch.int64),
            "gap_win": (padded, torch.int64),
            "gap_win2": (padded, torch.int64),
            "gap_cov": (padded, torch.bool),
            "gap_a": (hw, torch.int64),
            "gap_at": (hw, torch.int64),
            "gap_b": (hw, torch.int64),
            "gap_lo": (hw, torch.int64),
            "gap_hi": (hw, torch.int64),
            "gap_lim": (hw, torch.float32),
            "gap_d": (hw, torch.int32),
            "gap_e": (hw, torch.int32),
            "gap_ok": (hw, torch.bool),
            "gap_ok2": (hw, torch.bool),
        }

    def __init__(self, ws: dict[str, torch.Tensor], height: int, width: int, idx_bits: int,
                 grid_width: int | None):
        self.ws, self.h, self.w, self.grid_width = ws, height, width, grid_width
        self.clear = ~(((1 << 32) - 1) ^ ((1 << idx_bits) - 1))  # keep the depth word and the index
        pad = self.ws["gap_pad"]
        pad.fill_(_FLT_MAX_BITS << 32)  # the border stays empty for good
        m, hp, wp = pad.shape
        self.flat = torch.arange(m * hp * wp, device=pad.device, dtype=torch.int64).view(m, hp, wp)
        self.last_t = torch.tensor(m * hp * wp - 1, device=pad.device)  # a border cell: always empty

    @staticmethod
    def _word(t: torch.Tensor, high: bool) -> torch.Tensor:
        """The high (float32 depth) or low (int32 index) word of int64 keys, as a view."""
        words = t.view(torch.int32).view(*t.shape[:-1], t.shape[-1], 2)
        return words[..., 1 if high == _LITTLE_ENDIAN else 0]

    def _joined(self, lo: torch.Tensor, hi: torch.Tensor, ok: torch.Tensor) -> None:
        """ok &= the points of keys lo and hi are source-grid neighbours (index = row * W + column)."""
        gw, g = self.grid_width, self.GRID_STEP
        m = lo.shape[0]
        d, e, ok2 = self.ws["gap_d"][:m], self.ws["gap_e"][:m], self.ws["gap_ok2"][:m]
        torch.sub(self._word(hi, False), self._word(lo, False), out=d)  # = dr * W + dc
        # |dc| <= g  <=>  (d + g) mod W <= 2g (for g < W / 2); then |dr| <= g  <=>  |d| <= g * W + g
        torch.remainder(torch.add(d, g, out=e), gw, out=e)
        ok &= torch.le(e, 2 * g, out=ok2)
        ok &= torch.le(d.abs_(), g * gw + g, out=ok2)

    def _nearest(self, pos: torch.Tensor, axis: int, other: int, band: int, fn: Callable) -> torch.Tensor:
        """Window reduction (max: nearest before, min: nearest after) of REACH cells along axis, by
        doubling; ping-pong between two buffers, so an op never reads what it writes."""
        m = pos.shape[0]
        bufs = (self.ws["gap_win"][:m], self.ws["gap_win2"][:m])
        src = pos.narrow(other, self.REACH, band)
        n, span, k = src.shape[axis], 1, 0
        while span < self.REACH:
            dst = bufs[k].narrow(other, self.REACH, band)
            fn(src.narrow(axis, 0, n - span), src.narrow(axis, span, n - span), out=dst.narrow(axis, 0, n - span))
            src, n, span, k = dst, n - span, span * 2, 1 - k
        return src

    def _fill(self, before: torch.Tensor, after: torch.Tensor, centre: torch.Tensor, lo: torch.Tensor,
              hi: torch.Tensor, lim: torch.Tensor, ok: torch.Tensor, ok2: torch.Tensor) -> None:
        """centre = the nearer of before/after where they are one surface and centre is empty or behind."""
        torch.minimum(before, after, out=lo)
        torch.maximum(before, after, out=hi)
        lo_d, hi_d = self._word(lo, True).view(torch.float32), self._word(hi, True).view(torch.float32)
        torch.mul(hi_d, 1.0 + self.TOL, out=lim)  # inf where a side is empty
        torch.gt(self._word(centre, True).view(torch.float32), lim, out=ok)  # q empty or behind both
        torch.mul(lo_d, 1.0 + self.TOL, out=lim)
        ok &= torch.le(hi_d, lim, out=ok2)  # both sides on one surface
        if self.grid_width is not None:
            self._joined(lo, hi, ok)
        torch.where(ok, lo, centre, out=centre)

    def __call__(self, win: torch.Tensor) -> None:
        m, h, w, r = win.shape[0], self.h, self.w, self.REACH
        pad, pos, cov = self.ws["gap_pad"][:m], self.ws["gap_pos"][:m], self.ws["gap_cov"][:m]
        flat = self.flat[:m]
        centre = pad[:, r : r + h, r : r + w]
        torch.bitwise_and(win, self.clear, out=centre)
        a, b = self.ws["gap_a"][:m], self.ws["gap_b"][:m]
        lo, hi, lim = self.ws["gap_lo"][:m], self.ws["gap_hi"][:m], self.ws["gap_lim"][:m]
        ok, ok2 = self.ws["gap_ok"][:m], self.ws["gap_ok2"][:m]
        keys = pad.view(-1)
        for axis in (2, 1):  # along rows, then along columns
            other, band, size = (1, h, w) if axis == 2 else (2, w, h)
            for nearest_first in (False, True):
                if nearest_first:
                    # the nearest covered cells before / after q within REACH (largest / smallest flat
                    # index of a covered cell; uncovered cells point at an always-empty border cell)
                    torch.lt(pad, _FLT_MAX_BITS << 32, out=cov)
                    torch.mul(flat, cov, out=pos)
                    before = self._nearest(pos, axis, other, band, torch.maximum).narrow(axis, 0, size)
                    at = self.ws["gap_at"][:m]
                    at.copy_(before)  # contiguous, in the workspace: reshape would allocate every frame
                    torch.index_select(keys, 0, at.view(-1), out=a.view(-1))
                    # (as first written: self.last_t, the last cell of the whole workspace, out of range
                    # for a smaller batch of frames; here the last cell of this batch, also a border cell)
                    torch.where(cov, flat, flat[-1, -1, -1], out=pos)
                    after = self._nearest(pos, axis, other, band, torch.minimum).narrow(axis, r + 1, size)
                    at.copy_(after)
                    torch.index_select(keys, 0, at.view(-1), out=b.view(-1))
                    before, after = a, b
                else:
                    # the nearest in depth within REACH on each side: finds a near surface even where a
                    # farther one leaks through its gaps
                    win_min = self._nearest(pad, axis, other, band, torch.minimum)
                    before, after = win_min.narrow(axis, 0, size), win_min.narrow(axis, r + 1, size)
                self._fill(before, after, centre, lo, hi, lim, ok, ok2)
        win.copy_(centre)



def _render(scene: Scene, c2w: torch.Tensor, h: int, w: int, fill: type | None = None) -> R.RenderResult:
    orig = R._GapFill
    if fill is not None:
        R._GapFill = fill
    try:
        return R.render_scene(scene, c2w, h, w, mode="surface")
    finally:
        R._GapFill = orig


def _assert_same(scene: Scene, c2w: torch.Tensor, h: int, w: int) -> R.RenderResult:
    ref = _render(scene, c2w, h, w, _ReferenceGapFill)
    new = _render(scene, c2w, h, w)
    pts = R.render_scene(scene, c2w, h, w, mode="points")
    for name in ("frames", "depth", "visible"):
        a, b = getattr(ref, name), getattr(new, name)
        assert torch.equal(a.view(torch.uint8) if a.dtype == torch.bool else a.view(torch.int32),
                           b.view(torch.uint8) if b.dtype == torch.bool else b.view(torch.int32)), name
    # the case is not trivial: the gap filling changed pixels here
    assert (new.visible & ~pts.visible).sum() > 0
    return new


@pytest.fixture(scope="module")
def room() -> Scene:
    meta = json.loads((ASSET / "room.json").read_text())
    rgb = np.array(Image.open(ASSET / meta["rgb"]).convert("RGB"))
    depth = torch.from_numpy(np.array(Image.open(ASSET / meta["depth"])).astype(np.float32)) * meta["depth_scale_to_metres"]
    K = torch.tensor([[meta["fx"], 0.0, meta["cx"]], [0.0, meta["fy"], meta["cy"]], [0.0, 0.0, 1.0]])
    return Scene(image=torch.from_numpy(rgb).float() / 255.0, depth=depth, K=K, mask=depth > 0).validate()


@pytest.mark.parametrize(("preset", "size"), [("orbit_left", (160, 256)), ("zoom_in", (288, 512)),
                                               ("orbit_right", (240, 416)), ("pan_up", (160, 256))])
def test_surface_fill_equals_reference_on_the_room(room: Scene, preset: str, size: tuple[int, int], one_thread) -> None:
    c2w = preset_c2w(preset, 16)[[5, 10, 15]]
    room_small = room
    if size[1] <= 256:  # a half-size source: the case runs fast and the output is magnified less
        room_small = Scene(image=room.image[::2, ::2].contiguous(), depth=room.depth[::2, ::2].contiguous(),
                           K=torch.cat([room.K[:2] / 2, room.K[2:]]), mask=room.mask[::2, ::2].contiguous()).validate()
    _assert_same(room_small, c2w, *size)


def test_surface_fill_equals_reference_on_random_scenes(one_thread) -> None:
    g = torch.Generator().manual_seed(3)
    for _ in range(3):
        h, w = 40, 56
        # blocky depth (equal depths: key ties), random holes in the mask, a steep ramp
        depth = 1.0 + torch.randint(0, 4, (h // 8, w // 8), generator=g).float().repeat_interleave(8, 0).repeat_interleave(8, 1)
        depth = depth + torch.linspace(0, 1.5, h)[:, None] * torch.rand((), generator=g)
        mask = torch.rand(h, w, generator=g) > 0.1
        K = torch.tensor([[40.0, 0.0, w / 2], [0.0, 40.0, h / 2], [0.0, 0.0, 1.0]])
        scene = Scene(image=torch.rand(h, w, 3, generator=g), depth=depth, K=K, mask=mask).validate()
        c2w = torch.eye(4).repeat(2, 1, 1)
        c2w[:, 0, 3] = torch.tensor([0.15, -0.1])
        c2w[:, 2, 3] = torch.tensor([0.4, 0.2])
        _assert_same(scene, c2w, 2 * h, 2 * w)


def test_surface_fill_equals_reference_with_frames_batched(room: Scene, monkeypatch, one_thread) -> None:
    # GPUs run the z-buffer, filter and gap filling on a whole chunk of frames at once (`_zbuffer_batch`);
    # the same path here on the CPU: 3 frames per pass, then a pass of 1 (flags and windows of unequal batches)
    monkeypatch.setattr(R, "_zbuffer_batch", lambda device, chunk: chunk)
    half = Scene(image=room.image[::2, ::2].contiguous(), depth=room.depth[::2, ::2].contiguous(),
                 K=torch.cat([room.K[:2] / 2, room.K[2:]]), mask=room.mask[::2, ::2].contiguous()).validate()
    c2w = preset_c2w("orbit_left", 16)[[3, 6, 9, 15]]
    orig = R._GapFill
    results = []
    for fill in (_ReferenceGapFill, orig):
        R._GapFill = fill
        try:
            results.append(R.render_scene(half, c2w, 150, 250, mode="surface", chunk=3))
        finally:
            R._GapFill = orig
    ref, new = results
    assert torch.equal(ref.depth.view(torch.int32), new.depth.view(torch.int32))
    assert torch.equal(ref.frames.view(torch.int32), new.frames.view(torch.int32))
    assert torch.equal(ref.visible, new.visible)
    pts = R.render_scene(half, c2w, 150, 250, mode="points")
    assert (new.visible & ~pts.visible).sum() > 0
