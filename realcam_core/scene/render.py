"""Point-cloud preview renderer: pure-torch z-buffer splatting, visibility and noise-shaping masks.

Conventions (ARCHITECTURE §2), relied on by every function here:
- OpenCV camera axes (x right, y down, z forward), metres;
- poses are camera-to-world ``c2w`` (N, 4, 4) acting on column vectors; the world is the scene's own
  camera (frame 0 of a trajectory is the identity), so a scene's unprojected depth is already in it;
- pixel intrinsics ``K`` (3, 3) at the size they are used at, pixel centres at +0.5: pixel (row i,
  column j) covers the continuous image square [j, j+1) x [i, i+1).

How `render_point_cloud` works, and why it is fast and deterministic without boolean indexing:
1. Each point is projected once per frame (elementwise, so every device and chunk size rounds alike).
2. A splat of size s covers the s x s pixels whose centres are nearest the point: for odd s the
   pixel containing it, (floor(u), floor(v)), and its (s-1)/2 rings; for even s the pixels around
   the nearest pixel corner (floor(u + 0.5), floor(v + 0.5)); s = 2 is upstream's open3d
   ``point_size=2`` 2x2 square. That pixel or corner is the point's *anchor*; all points with the
   same anchor have the same footprint, anchor + d with d in [-lo, hi] on each axis.
3. A z-buffer over anchors keeps the smallest packed int64 key
   ``depth_bits << 32 | rank << r | half_bits << idx_bits | point_index`` with one
   ``scatter_reduce_(..., "amin")``. Positive IEEE floats order like their bit patterns, so the
   nearest point wins, and the result never depends on scatter order (CPU threads, CUDA atomics).
   Keeping only the nearest point per anchor loses nothing, since they share the footprint.
4. A pixel q then takes the minimum over taps d of ``key[q - d]`` with the tap's rank added: a
   separable min-filter of the anchor image. The rank sits below the depth bits, so it only breaks
   exact depth ties: the tap nearest the footprint centre first, then (even s, via the half bits)
   the point whose own pixel is q, then the lower index. So an identity view reproduces a
   constant-depth image exactly for every splat size, and float noise at pixel centres is harmless.
5. Culling costs no masks: points at or behind the near plane get depth +inf (a key above the empty
   pixel's sentinel, so they never win) and a position of 0; every projected position is clamped
   into a one-pixel border around the padded anchor grid that the filter never reads.
6. The winning key gives the depth (its high word) and the point index, which gathers the colour
   from a table whose extra last row is the background, so empty pixels need no special case.
On CPU the z-buffer and filter run one frame at a time (the buffers stay in cache); on GPUs a whole
chunk of frames goes through each op at once. The arithmetic is identical. Every op writes into
buffers allocated once (see `_Workspace`). On a busy CPU a render runs on one thread
(`_threads_for_call`).

mode="mesh" (`render_scene`'s default) treats the source view as one surface, the usual way to render a
single RGB-D view: the source pixel grid's quads that the new camera stretches beyond what the splats
cover are densified or rasterised as triangles, cut where depth jumps, so grazing and magnified surfaces
stay closed and disocclusions stay empty (`realcam_core/scene/render_mesh.py`). mode="surface" is the earlier
rule that closes gaps in the output image (`_GapFill`). Both are measured against a ray-traced ground
truth in bench/render_holes.py. `render_preview` is the node's path: the outputs
for the whole trajectory, everything else one block of frames at a time.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..camera.intrinsics import denormalize_K, fit_intrinsics
from ..errors import input_error, require
from .geometry import batched_K as _batched_K
from .geometry import check_finite as _finite
from .geometry import check_tensor as _tensor
from .geometry import scene_grid_cloud, scene_point_cloud
from .render_mesh import MeshFill
from .types import Scene

__all__ = [
    "MAX_SPLAT",
    "PreviewResult",
    "RENDER_MODES",
    "RenderResult",
    "latent_mask",
    "render_point_cloud",
    "render_preview",
    "render_scene",
    "shaping_mask",
]

MAX_SPLAT = 8
RENDER_MODES = ("mesh", "surface", "points")
_FLT_MAX_BITS = 0x7F7FFFFF  # float32 bit pattern of the largest finite float: the empty pixel's depth
_LITTLE_ENDIAN = sys.byteorder == "little"
_WORKSPACE_KEEP_BYTES = 128 << 20  # CPU scratch kept between renders (512x320: ~18 MB, 1024x576: ~65 MB)


@dataclass
class RenderResult:
    """Rendered frames along a camera path.

    frames: (N, H, W, 3) float32 colours (background where nothing landed).
    depth: (N, H, W) float32 camera-space z of the visible point in metres, 0 where nothing landed.
    visible: (N, H, W) bool, True where a point's splat covers the pixel.
    """

    frames: torch.Tensor
    depth: torch.Tensor
    visible: torch.Tensor


# --------------------------------------------------------------------------------------------------
# checks


def _positive_int(v: object, name: str) -> int:
    require(isinstance(v, int) and not isinstance(v, bool) and v > 0, name, "a positive int", v)
    return int(v)


# --------------------------------------------------------------------------------------------------
# the renderer


def _default_chunk(device: torch.device, n_frames: int, n_points: int) -> int:
    """Frames per projection pass. CPU: 2 (measured best at 512x320 and 1024x576: larger passes fall
    out of cache, single frames pay more per-op overhead), 1 beyond 2M points; GPU: ~8M point-frames
    (~0.8 GB of intermediates), so 25 frames at 576p take two passes."""
    if device.type == "cpu":
        return max(1, min(n_frames, 2, (1 << 22) // max(n_points, 1)))
    return max(1, min(n_frames, (1 << 23) // max(n_points, 1)))


def _zbuffer_batch(device: torch.device, chunk: int) -> int:
    """Frames per z-buffer/filter pass: one on CPU (its buffers stay in cache), the whole chunk elsewhere."""
    return 1 if device.type == "cpu" else chunk


@dataclass(frozen=True)
class _Footprint:
    """Splat geometry for size s (see the module docstring): offsets d in [-lo, hi] from the anchor."""

    size: int
    even: bool
    lo: int
    hi: int

    @classmethod
    def of(cls, size: int) -> _Footprint:
        even = size % 2 == 0
        return cls(size, even, size // 2 if even else (size - 1) // 2, size // 2 - 1 if even else (size - 1) // 2)

    def rank(self, d: int) -> int:
        """Tie-break cost of offset d: squared distance (in pixels) of the tap from the footprint centre."""
        c = (abs(2 * d + 1) - 1) // 2 if self.even else abs(d)
        return c * c

    @property
    def rank_bits(self) -> int:
        return (2 * max(self.rank(d) for d in range(-self.lo, self.hi + 1))).bit_length() + (2 if self.even else 0)


def _project(M: torch.Tensor, pts: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """(n, 3, 4) projection of (3, P) points -> out (n, 3, P) float32.

    Elementwise on purpose: each value is the same expression on every device and chunk size
    (a batched matmul changes its rounding with the batch shape, and on GPUs may run in TF32).
    """
    torch.addcmul(M[:, :, 3:4], M[:, :, 0:1], pts[0][None, None, :], out=out)
    out.addcmul_(M[:, :, 1:2], pts[1][None, None, :])
    out.addcmul_(M[:, :, 2:3], pts[2][None, None, :])
    return out


def render_point_cloud(
    points: torch.Tensor,
    colors: torch.Tensor,
    K: torch.Tensor,
    c2w: torch.Tensor,
    height: int,
    width: int,
    *,
    splat: int = 2,
    near: float = 1e-3,
    background: float | Sequence[float] = 0.0,
    chunk: int | None = None,
    callback: Callable[[int], None] | None = None,
    out: RenderResult | None = None,
    mode: str = "points",
    grid_width: int | None = None,
) -> RenderResult:
    """Render a coloured point cloud from N cameras with a z-buffer splat (see the module docstring).

    points: (P, 3) world coordinates (the scene camera's space, metres). colors: (P, 3).
    K: (3, 3) or (N, 3, 3) pixel intrinsics at (height, width). c2w: (N, 4, 4) or (4, 4) camera-to-world.
    splat: footprint in pixels, 1..8 (2 matches upstream's open3d point_size 2).
    near: points with camera z <= near are culled. background: grey level or (r, g, b) of empty pixels.
    chunk: frames per pass (default: by point count and device). callback(frames_done) runs after
    every chunk; it may raise to interrupt (ComfyUI's cancel). out: buffers to render into (reused
    between calls they save the page faults of fresh memory, a large share of CPU time).
    mode: "points" (default here) is upstream's plain fixed-size splat; "mesh" (`render_scene`'s default)
    also rasterises the source grid's stretched quads, cut at depth jumps (`realcam_core/scene/render_mesh.py`;
    needs grid_width); "surface" instead closes the gaps between splats in the output image (`_GapFill`).
    grid_width: set when the points are the pixels of a source image of this width in row-major
    order (point i = pixel (i // W, i % W)), in the source camera's frame: points with z <= 0 there are
    pixels without depth and are never drawn; "surface" / "mesh" only join neighbours in that image.
    Runs on the device of `points`; returns a RenderResult on that device.
    """
    _tensor(points, "points", "(P, 3)")
    _tensor(colors, "colors", "(P, 3)")
    require(points.ndim == 2 and points.shape[1] == 3, "points", "shape (P, 3)", tuple(points.shape))
    require(tuple(colors.shape) == tuple(points.shape), "colors", f"shape {tuple(points.shape)} like points",
            tuple(colors.shape))
    require(points.is_floating_point() and colors.is_floating_point(), "points/colors", "floating-point tensors",
            (points.dtype, colors.dtype))
    _finite(points, "points")
    _tensor(c2w, "c2w", "(N, 4, 4)")
    if c2w.ndim == 2:
        c2w = c2w.unsqueeze(0)
    require(c2w.ndim == 3 and tuple(c2w.shape[1:]) == (4, 4), "c2w", "shape (N, 4, 4)", tuple(c2w.shape))
    n_frames = int(c2w.shape[0])
    require(n_frames >= 1, "c2w", "at least one camera", n_frames)
    _finite(c2w, "c2w")
    height = _positive_int(height, "height")
    width = _positive_int(width, "width")
    require(isinstance(splat, int) and not isinstance(splat, bool) and 1 <= splat <= MAX_SPLAT, "splat",
            f"an int footprint in pixels, 1..{MAX_SPLAT}", splat)
    require(isinstance(near, (int, float)) and math.isfinite(near) and near > 0, "near", "a positive distance", near)
    bg = [float(background)] * 3 if isinstance(background, (int, float)) else [float(b) for b in background]
    require(len(bg) == 3, "background", "a number or 3 numbers (r, g, b)", background)
    if chunk is not None:
        chunk = _positive_int(chunk, "chunk")
    require(mode in RENDER_MODES, "mode", f"one of {', '.join(RENDER_MODES)}", mode)
    require(mode != "mesh" or grid_width is not None, "grid_width", 'the source grid\'s width for mode="mesh"', None)
    if grid_width is not None:
        grid_width = _positive_int(grid_width, "grid_width")
        require(points.shape[0] % grid_width == 0, "grid_width", "the width of the points' source grid "
                "(point count a multiple of it)", grid_width)

    device = points.device
    n_points = int(points.shape[0])
    fp = _Footprint.of(splat)
    idx_bits = max(n_points.bit_length(), 1)  # index values 0..P (P = empty)
    if idx_bits + fp.rank_bits > 32:
        raise input_error("points", f"at most {2 ** (32 - fp.rank_bits) - 1} points for splat {splat}", n_points)

    Kb = _batched_K(K, n_frames)
    c2w64 = c2w.detach().to("cpu", torch.float64)
    require(bool((torch.linalg.det(c2w64).abs() > 1e-12).all()), "c2w", "invertible camera-to-world matrices",
            "a singular matrix")
    w2c = torch.linalg.inv(c2w64)
    # Anchors live in a padded grid: column = anchor + pad, with one garbage column on each side.
    # Even splats anchor at floor(u + 0.5) and work in half pixels: 2 * (u + 0.5 + pad) truncated
    # gives the anchor column (>> 1) and which half of it the point is in (& 1).
    pad = fp.hi + 1
    wp, hp = width + splat + 1, height + splat + 1
    scale = 2.0 if fp.even else 1.0
    Kp = Kb.clone()
    Kp[:, :2, 2] += pad + (0.5 if fp.even else 0.0)
    Kp[:, :2, :] *= scale
    M = (Kp @ w2c[:, :3, :]).to(device=device, dtype=torch.float32)  # (N, 3, 4) projection matrices

    pts = points.to(torch.float32).T.contiguous()  # (3, P)
    # A source grid's points all lie in front of the source camera (the world frame): z <= 0 is a pixel
    # without depth (scene_grid_cloud puts those at the origin), which must stay empty from every camera.
    holes = None
    if grid_width is not None:
        holes = pts[2] <= 0
        holes = holes if bool(holes.any()) else None
    table = torch.cat([colors.to(torch.float32), torch.tensor([bg], dtype=torch.float32, device=device)], 0)
    if out is None:
        frames = torch.empty(n_frames, height, width, 3, dtype=torch.float32, device=device)
        depth = torch.empty(n_frames, height, width, dtype=torch.float32, device=device)
        visible = torch.empty(n_frames, height, width, dtype=torch.bool, device=device)
    else:
        frames, depth, visible = out.frames, out.depth, out.visible
        for name, t, shape, dt in (("frames", frames, (n_frames, height, width, 3), torch.float32),
                                   ("depth", depth, (n_frames, height, width), torch.float32),
                                   ("visible", visible, (n_frames, height, width), torch.bool)):
            ok = tuple(t.shape) == shape and t.dtype == dt and t.device == device and t.is_contiguous()
            require(ok, f"out.{name}", f"a contiguous {dt} tensor of shape {shape} on {device}",
                    (tuple(t.shape), t.dtype, t.device))

    chunk = min(chunk or _default_chunk(device, n_frames, n_points), n_frames)
    sub = _zbuffer_batch(device, chunk)
    rank_shift = idx_bits + (2 if fp.even else 0)
    taps = [(d, fp.rank(d) << rank_shift) for d in range(-fp.lo, fp.hi + 1)]

    # Every intermediate is allocated once per render and reused through out= ops (see _Workspace).
    half_bit = idx_bits if fp.even else -1
    i32, i64, f32 = torch.int32, torch.int64, torch.float32
    specs = {
        "proj": ((chunk, 3, n_points), f32),
        "iuv": ((chunk, 2, n_points), i32),
        "flat": ((chunk, n_points), i64),
        "keys": ((chunk, n_points), i64),
        "zbuf": ((sub, hp, wp), i64),
        **_SplatFilter.buffers(sub, hp, wp, height, width, len(taps), any(r for _, r in taps), half_bit >= 0),
    }
    if mode == "surface":
        specs |= _GapFill.buffers(sub, height, width)
    if not _LITTLE_ENDIAN:
        specs |= {"key_lo": ((chunk, n_points), i32), "z_cam": ((chunk, n_points), f32)}
    def run(ws: dict[str, torch.Tensor], s0: int, n: int, cb: Callable[[int], None] | None,
            gap_fill: _GapFill | MeshFill | None) -> None:
        _render_frames(ws, M[s0 : s0 + n], pts, table, frames[s0 : s0 + n], depth[s0 : s0 + n],
                       visible[s0 : s0 + n], chunk, sub, near, scale, wp, hp, height, width, pad, taps, half_bit,
                       idx_bits, cb, gap_fill, holes)

    def make_fill(ws: dict[str, torch.Tensor]) -> _GapFill | MeshFill | None:
        if mode == "mesh":  # stretched quads of the source grid densified or as triangles (render_mesh.py)
            M_pix = (Kb @ w2c[:, :3, :]).to(device=device, dtype=torch.float32)
            return MeshFill(pts, M_pix, grid_width, height, width, near, scale, (wp, hp), idx_bits, fp.even,
                            pad + (0.5 if fp.even else 0.0), splat)
        return _GapFill(ws, height, width, idx_bits, grid_width) if mode == "surface" else None

    try:
        with _threads_for_call(device):
            with _Workspace(device, specs) as ws:
                run(ws, 0, n_frames, callback, make_fill(ws))
    except BaseException as exc:
        # Interrupted (ComfyUI's cancel raises from the callback) or failed: the caller may keep the
        # exception, and its traceback the frames' locals; drop the outputs so their memory goes now.
        frames = depth = visible = out = None  # noqa: F841
        traceback.clear_frames(exc.__traceback__)
        raise
    return RenderResult(frames=frames, depth=depth, visible=visible)


def _own_runnable() -> int:
    """Runnable threads of this process (state R in /proc/self/task/*/stat), at least 1 (the caller).

    torch's idle OpenMP workers spin, runnable, for ~1-10 ms after each parallel op (measured), so
    right after any torch work they show in /proc/loadavg as if other processes were busy.
    """
    n = 0
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # the thread has just ended
            continue
        end = stat.rfind(b")")  # the name in parentheses may contain anything
        n += stat[end + 2 : end + 3] == b"R"
    return max(n, 1)


_PROBE_ROUNDS = 3  # looks at the machine, _PROBE_GAP_S apart, while the first sees other tasks runnable
_PROBE_GAP_S = 5e-4


def _runnable() -> int:
    """Runnable tasks on the machine, the caller included (Linux /proc/loadavg, 4th field)."""
    with open("/proc/loadavg", encoding="ascii") as f:
        return int(f.read().split()[3].split("/")[0])


def _busy_look() -> int:
    """One look: runnable tasks besides this process's threads, the most of 3 back-to-back reads (a worker of
    ours runnable just before or after a read may have been counted in it: it is taken out either way)."""
    most, own = 0, _own_runnable()
    for _ in range(3):
        runnable = _runnable()
        after = _own_runnable()
        most = max(most, runnable - max(own, after))
        own = after
    return most


def _busy_cpus() -> int:
    """Runnable tasks on the machine besides this process's own threads (`_runnable` minus `_own_runnable`);
    0 where that cannot be read. A CPU-bound process is runnable whenever one looks, while other tasks pass
    (tool processes, kernel threads: well under a millisecond), and one misfire costs a render at one thread's
    speed: what the first look sees is looked for again ~0.5 ms and ~1 ms later, and the least counts.
    An idle machine costs one read (the caller alone is runnable)."""
    try:
        if _runnable() <= 1:
            return 0
        least = _busy_look()
        for _ in range(_PROBE_ROUNDS - 1):
            if least == 0:
                break
            end = time.perf_counter() + _PROBE_GAP_S
            while time.perf_counter() < end:  # a spin, not a sleep: waking up on a busy core can take ms
                pass
            least = min(least, _busy_look())
    except (OSError, ValueError, IndexError):
        return 0
    return least


_CHOICE = threading.local()  # .made: a `_threads_for_call` of this thread is active (its choice holds)


@contextmanager
def _threads_for_call(device: torch.device):
    """Torch threads for one CPU render: torch's setting while the cores are free, else one.

    Each op of a frame is short (~0.1 ms at 512x320), so torch's threads meet at a barrier after
    every op; when another process holds a core, the descheduled thread stalls the rest (measured
    up to 25x slower with two CPU-bound processes beside a 2-thread render on 2 cores), while one
    thread just runs at its share (bench/render.py --under-load). One choice per call: nested calls
    (render_preview's render_point_cloud, a render from a callback) keep it instead of probing again,
    since each probe may see a passing task and a second chance to misfire costs a one-thread render.
    """
    if device.type != "cpu" or getattr(_CHOICE, "made", False):
        yield
        return
    threads = torch.get_num_threads()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    one = threads > 1 and _busy_cpus() + threads > cpus
    if one:
        torch.set_num_threads(1)
    _CHOICE.made = True
    try:
        yield
    finally:
        _CHOICE.made = False
        if one:
            torch.set_num_threads(threads)


def _render_frames(ws: dict[str, torch.Tensor], M: torch.Tensor, pts: torch.Tensor, table: torch.Tensor,
                   frames: torch.Tensor, depth: torch.Tensor, visible: torch.Tensor, chunk: int, sub: int,
                   near: float, scale: float, wp: int, hp: int, height: int, width: int, pad: int,
                   taps: list[tuple[int, int]], half_bit: int, idx_bits: int,
                   callback: Callable[[int], None] | None, gap_fill: _GapFill | MeshFill | None = None,
                   holes: torch.Tensor | None = None) -> None:
    """The render loop of `render_point_cloud` (arguments prepared and checked there); `holes` (P,) bool marks
    grid points that are no surface (never drawn)."""
    n_frames, n_points, device = M.shape[0], pts.shape[1], pts.device
    even = half_bit >= 0
    proj, iuv, flat, keys, zbuf = ws["proj"], ws["iuv"], ws["flat"], ws["keys"], ws["zbuf"]
    point_index = torch.arange(n_points, dtype=torch.int32, device=device)
    if _LITTLE_ENDIAN:  # the keys' two int32 words: depth bits are written straight into the high ones
        words = keys.view(torch.int32).view(chunk, n_points, 2)
        key_lo, z_cam = words[..., 0], words[..., 1].view(torch.float32)
    else:
        key_lo, z_cam = ws["key_lo"], ws["z_cam"]
    if not even:
        key_lo.copy_(point_index.expand(chunk, n_points))
    splat_filter = _SplatFilter(ws, pad, taps, half_bit, height, width)
    cell_offsets = (torch.arange(sub, device=device, dtype=torch.int64) * (hp * wp))[:, None]
    idx_mask = (1 << idx_bits) - 1
    empty_key = (_FLT_MAX_BITS << 32) | n_points

    for c0 in range(0, n_frames, chunk):
        n = min(chunk, n_frames - c0)
        pr = _project(M[c0 : c0 + n], pts, proj[:n])  # (n, 3, P): (u*z, v*z, z) in padded (half) pixels
        z = F.threshold_(pr[:, 2], near, math.inf)  # z if z > near else +inf: culled points never win
        if holes is not None:  # a source grid's invalid pixels sit at the origin, in front of a camera moved back
            z.masked_fill_(holes, math.inf)
        z_cam[:n].copy_(z)
        uv = torch.div(pr[:, :2], z[:, None], out=pr[:, :2])  # culled: finite / inf = position 0
        uv[:, 0].clamp_(0, scale * wp - 1)
        uv[:, 1].clamp_(0, scale * hp - 1)
        iu = iuv[:n]
        iu.copy_(uv)  # truncation == floor: clamped coordinates are >= 0
        if even:  # low word: index + half bits (1 where the point is in the right / lower half of its anchor)
            lo = key_lo[:n]
            hb = torch.bitwise_and(iu, 1, out=flat[:n].view(torch.int32).view(n, 2, n_points))  # flat as scratch
            torch.add(point_index, hb[:, 0], alpha=1 << idx_bits, out=lo)
            lo.add_(hb[:, 1], alpha=2 << idx_bits)
            iu.bitwise_right_shift_(1)
        torch.add(iu[:, 0], iu[:, 1], alpha=wp, out=flat[:n])
        if not _LITTLE_ENDIAN:
            torch.bitwise_or(z.view(torch.int32).to(torch.int64) << 32, key_lo[:n].to(torch.int64), out=keys[:n])

        for s0 in range(0, n, sub):
            m = min(sub, n - s0)
            f0 = c0 + s0
            zb = zbuf[:m]
            zb.fill_(empty_key)
            idx = flat[s0 : s0 + m]
            if m > 1:
                idx = idx + cell_offsets[:m]
            zb.view(-1).scatter_reduce_(0, idx.reshape(-1), keys[s0 : s0 + m].reshape(-1), "amin")
            if isinstance(gap_fill, MeshFill):  # densify mildly stretched quads (anchors, before the filter)
                gap_fill.densify(zb, proj[s0 : s0 + m], f0)
            win = splat_filter(m)  # (m, H, W) winning keys
            if isinstance(gap_fill, MeshFill):
                gap_fill(win, proj[s0 : s0 + m], f0)
            elif gap_fill is not None:
                gap_fill(win)
            dep = depth[f0 : f0 + m]
            if _LITTLE_ENDIAN:  # depth = the winner's depth bits (FLT_MAX where empty, zeroed below)
                dep.view(torch.int32).copy_(win.view(torch.int32).view(m, height, width, 2)[..., 1])
            else:
                dep.view(torch.int32).copy_(win >> 32)
            win.bitwise_and_(idx_mask)  # winning point index, P where empty
            torch.index_select(table, 0, win.view(-1), out=frames[f0 : f0 + m].view(-1, 3))
            if isinstance(gap_fill, MeshFill) and gap_fill.BLEND:  # blended colours where the mesh filled gaps
                gap_fill.colour(frames[f0 : f0 + m], win, dep, table, f0)
            vis = torch.ne(win, n_points, out=visible[f0 : f0 + m])
            dep.mul_(vis)
        if callback is not None:
            callback(c0 + n)


class _Workspace:
    """Scratch tensors for one render, as a context manager: `with _Workspace(device, specs) as ws`.

    On the CPU the last set (if at most _WORKSPACE_KEEP_BYTES) is kept, one per thread, and handed
    to the next render that asks for the same shapes: the first touch of fresh memory costs a page fault per 4 KiB, which on a small
    CPU costs a good part of a short render (bench/render.py). While a render holds the set, a
    nested render gets fresh tensors. Accelerators already have PyTorch's caching allocator.
    """

    _local = threading.local()

    def __init__(self, device: torch.device, specs: dict[str, tuple[tuple[int, ...], torch.dtype]]):
        self.device, self.specs = device, specs
        self.key = tuple(sorted((k, tuple(shape), str(dt)) for k, (shape, dt) in specs.items()))
        self.tensors: dict[str, torch.Tensor] = {}

    def __enter__(self) -> dict[str, torch.Tensor]:
        cached = getattr(self._local, "entry", None) if self.device.type == "cpu" else None
        if cached is not None and cached[0] == self.key:
            self._local.entry = None  # taken
            self.tensors = cached[1]
        else:
            # normal tensors even under inference_mode: a kept set may serve a later render outside it
            with torch.inference_mode(False):
                self.tensors = {k: torch.empty(shape, dtype=dt, device=self.device) for k, (shape, dt) in self.specs.items()}
        return self.tensors

    def __exit__(self, *exc: object) -> None:
        size = sum(t.numel() * t.element_size() for t in self.tensors.values())
        if self.device.type == "cpu" and size <= _WORKSPACE_KEEP_BYTES:
            self._local.entry = (self.key, self.tensors)


class _GapFill:
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

    Each axis runs two steps on the image as the previous step left it: 1. the nearest-in-depth points
    of the windows either side, 2. the nearest covered cells either side. Only the depth tests run on the
    whole image, in int32 depth bits (window minima: for step 2 a lower bound of the nearest cells'
    depths, so a necessary condition); the few pixels that pass are finished from their REACH cells
    either side (exact keys, index ties, grid test) and written by index lists. The result equals the
    whole-image formulation bit for bit (tests/core/test_render_gapfill_exact.py keeps it as reference).
    """

    REACH = 16  # pixels each side: a gap of up to 2 * REACH - 1 pixels closes
    TOL = 0.2  # relative depth difference still counted as one surface (bench/render_holes.py)
    GRID_STEP = 3  # source-grid distance (rows and columns) of points that may be joined

    @staticmethod
    def buffers(m: int, height: int, width: int) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
        r = _GapFill.REACH
        hw, padded = (m, height, width), (m, height + 2 * r, width + 2 * r)
        i32 = torch.int32
        return {
            "gap_pad": (padded, torch.int64),
            "gap_dwin": (padded, i32),
            "gap_dwin2": (padded, i32),
            "gap_depth": (padded, i32),
            "gap_hi": (hw, i32),
            "gap_lim": (hw, torch.float32),
            "gap_ok": (((m * height * width + 7) // 8 * 8,), torch.bool),  # whole int64 words (`_nonzero`)
        }

    def __init__(self, ws: dict[str, torch.Tensor], height: int, width: int, idx_bits: int,
                 grid_width: int | None):
        self.ws, self.h, self.w, self.grid_width = ws, height, width, grid_width
        self.clear = ~(((1 << 32) - 1) ^ ((1 << idx_bits) - 1))  # keep the depth word and the index
        pad = self.ws["gap_pad"]
        pad.fill_(_FLT_MAX_BITS << 32)  # the border stays empty for good
        self.empty = torch.tensor([_FLT_MAX_BITS << 32], dtype=torch.int64, device=pad.device)
        self.near_first = torch.arange(self.REACH, 0, -1, device=pad.device)  # the first covered cell scores most
        self.ws["gap_ok"].zero_()  # the flags past the last pixel stay False
        self.ws["gap_depth"].fill_(_FLT_MAX_BITS)  # pad's depth words, contiguous (the whole-image tests read them)

    @staticmethod
    def _word(t: torch.Tensor, high: bool) -> torch.Tensor:
        """The high (float32 depth) or low (int32 index) word of int64 keys, as a view."""
        words = t.view(torch.int32).view(*t.shape[:-1], t.shape[-1], 2)
        return words[..., 1 if high == _LITTLE_ENDIAN else 0]

    def _joined(self, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        """Whether the points of keys lo and hi (1-D, a few) are source-grid neighbours (index = row * W +
        column): only the pixels that pass the depth test are checked, so the remainder stays cheap."""
        gw, g = self.grid_width, self.GRID_STEP
        d = (hi & 0xFFFFFFFF) - (lo & 0xFFFFFFFF)  # = dr * W + dc (the low word is the point index)
        # |dc| <= g  <=>  (d + g) mod W <= 2g (for g < W / 2); then |dr| <= g  <=>  |d| <= g * W + g
        return torch.remainder(d + g, gw).le(2 * g) & d.abs_().le(g * gw + g)

    def _nearest(self, pos: torch.Tensor, axis: int, other: int, band: int, fn: Callable,
                 bufs: tuple[str, str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Window reduction (max: nearest before, min: nearest after) of REACH cells along axis, by
        doubling; ping-pong between two buffers, so an op never reads what it writes. -> (window results,
        the buffer they are in: result x along axis is the window from cell x, at the same index there)."""
        m = pos.shape[0]
        bufs = (self.ws[bufs[0]][:m], self.ws[bufs[1]][:m])
        src = pos.narrow(other, self.REACH, band)
        n, span, k, buf = src.shape[axis], 1, 0, pos
        while span < self.REACH:
            dst = bufs[k].narrow(other, self.REACH, band)
            fn(src.narrow(axis, 0, n - span), src.narrow(axis, span, n - span), out=dst.narrow(axis, 0, n - span))
            src, n, span, k, buf = dst, n - span, span * 2, 1 - k, bufs[k]
        return src, buf

    def _candidates(self, bd: torch.Tensor, ad: torch.Tensor, dpad: torch.Tensor) -> torch.Tensor:
        """(k, 3) frame, row, column of the pixels whose depth is above (1 + TOL) x max(bd, ad) (bd, ad:
        int32 depth bits, of the keys before / after each pixel or lower bounds of them): the only
        whole-image test of a step (float32); `_fill` checks the rest at these pixels."""
        m, h, w, r = bd.shape[0], self.h, self.w, self.REACH
        hi, lim, ok_words = self.ws["gap_hi"][:m], self.ws["gap_lim"][:m], self.ws["gap_ok"]
        torch.maximum(bd, ad, out=hi)  # positive float bits order like the floats
        torch.mul(hi.view(torch.float32), 1.0 + self.TOL, out=lim)  # inf where a side is empty
        centre_d = dpad.view(torch.float32)[:, r : r + h, r : r + w]
        torch.gt(centre_d, lim, out=ok_words[: m * h * w].view(m, h, w))  # q empty or behind both
        return self._nonzero(ok_words, m)

    def _nonzero(self, flags: torch.Tensor, m: int) -> torch.Tensor:
        """(k, 3) frame, row, column of the True flags among the first m frames of the flat bool buffer
        flags (whole int64 words; the flags past them stay False): the nonzero words first, then
        their bytes (a bool nonzero over the whole image costs several times this)."""
        h, w = self.h, self.w
        n = (m * h * w + 7) // 8
        flags[m * h * w : n * 8] = False  # a later frame's flags, when this call has fewer frames
        words = flags[: n * 8].view(torch.int64).nonzero()[:, 0]  # the words holding a True
        hit = flags[: n * 8].view(n, 8)[words].nonzero()  # (k, 2) word in words, byte
        q = words[hit[:, 0]] * 8 + hit[:, 1]
        return torch.stack([q.div(h * w, rounding_mode="floor"), q.remainder(h * w).div(w, rounding_mode="floor"),
                            q.remainder(w)], 1)

    def _fill(self, at: torch.Tensor, kb: torch.Tensor, ka: torch.Tensor, pad: torch.Tensor,
              dpad: torch.Tensor, win: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """At the pixels at (k, 3), pad's centre = the nearer of the keys kb / ka (k,) where they are one
        surface (depths within TOL, source-grid neighbours) and the pixel is empty or behind both.
        -> the filled pixels (n, 3) and their new depth words (n,) int32."""
        r = self.REACH
        f, i, j = at.unbind(1)
        q = (f * pad.shape[1] + i + r) * pad.shape[2] + j + r  # flat cell index in pad
        keys = pad.view(-1)
        lo, hi = torch.minimum(kb, ka), torch.maximum(kb, ka)

        def depth(k: torch.Tensor) -> torch.Tensor:
            return (k >> 32).to(torch.int32).view(torch.float32)

        hi_d = depth(hi)
        ok = depth(keys[q]) > torch.mul(hi_d, 1.0 + self.TOL)  # q empty or behind both
        ok &= hi_d <= torch.mul(depth(lo), 1.0 + self.TOL)  # both sides on one surface
        if self.grid_width is not None:
            ok &= self._joined(lo, hi)
        lo, q = lo[ok], q[ok]
        keys.index_copy_(0, q, lo)
        f, i, j = at[ok].unbind(1)
        win.view(-1).index_copy_(0, (f * self.h + i) * self.w + j, lo)  # the result: win's other pixels stay
        d = (lo >> 32).to(torch.int32)
        dpad.view(-1).index_copy_(0, q, d)  # same layout as pad
        return at[ok], d

    def _lower_windows(self, buf: torch.Tensor, axis: int, at: torch.Tensor, d: torch.Tensor) -> None:
        """Window minima (in buf, from `_nearest`) after pixels at (n, 3) were filled with depth words d:
        each window that holds one takes min(itself, d). Exact, since a fill only lowers a depth."""
        r, n = self.REACH, at.shape[0]
        if n == 0:
            return
        f, i, j = at.unbind(1)
        hp, wp = buf.shape[1], buf.shape[2]
        o = torch.arange(r, device=buf.device)  # the windows from cell P - o hold cell P
        if axis == 2:
            idx = ((f * hp + i + r) * wp + j + r)[:, None] - o
        else:
            idx = ((f * hp + i + r)[:, None] - o) * wp + (j + r)[:, None]
        buf.view(-1).scatter_reduce_(0, idx.view(-1), d[:, None].expand(n, r).reshape(-1), "amin")

    def __call__(self, win: torch.Tensor) -> None:
        m, h, w, r = win.shape[0], self.h, self.w, self.REACH
        pad = self.ws["gap_pad"][:m]
        centre = pad[:, r : r + h, r : r + w]
        torch.bitwise_and(win, self.clear, out=centre)
        dpad, dwin = self.ws["gap_depth"][:m], ("gap_dwin", "gap_dwin2")
        dpad[:, r : r + h, r : r + w].copy_(self._word(win, True))
        empty, near_first = self.empty, self.near_first
        for axis in (2, 1):  # along rows, then along columns
            other, band, size = (1, h, w) if axis == 2 else (2, w, h)
            windows = pad.unfold(axis, r, 1)  # [..., x, :] = the REACH cells from x along axis

            def sides(at: torch.Tensor, axis: int = axis, windows: torch.Tensor = windows) -> tuple[torch.Tensor, torch.Tensor]:
                """The REACH keys before and after each pixel of at (k, 3), (k, REACH) each, in order along axis."""
                f, i, j = at.unbind(1)
                if axis == 2:
                    return windows[f, i + r, j], windows[f, i + r, j + r + 1]
                return windows[f, i, j + r], windows[f, i + r + 1, j + r]

            # 1. the nearest in depth within REACH on each side: finds a near surface even where a farther
            # one leaks through its gaps. Whole image: the depth words' window minima and the first
            # depth test; exact keys (index ties) and the other tests only for the few pixels that pass.
            win_min, buf = self._nearest(dpad, axis, other, band, torch.minimum, dwin)
            at = self._candidates(win_min.narrow(axis, 0, size), win_min.narrow(axis, r + 1, size), dpad)
            filled = 0
            if at.shape[0]:
                before, after = sides(at)
                done, d = self._fill(at, before.amin(1), after.amin(1), pad, dpad, win)
                self._lower_windows(buf, axis, done, d)
                filled = done.shape[0]
            # 2. the nearest covered cells before / after q within REACH. Their depths are at least the
            # window minima, so only pixels above (1 + TOL) x those minima can fill: found on the whole
            # image (the window minima of step 1, lowered where it filled; unchanged if it filled
            # nothing, and so are those pixels), then the nearest cells for those alone.
            if filled:  # else step 1's candidates (and their cells either side) are still those
                at = self._candidates(win_min.narrow(axis, 0, size), win_min.narrow(axis, r + 1, size), dpad)
                if at.shape[0]:
                    before, after = sides(at)
            if at.shape[0]:
                cov_b, cov_a = before < (_FLT_MAX_BITS << 32), after < (_FLT_MAX_BITS << 32)
                last = (cov_b * near_first.flip(0)).amax(1, keepdim=True)  # 1 + index of the last covered, 0: none
                first = (cov_a * near_first).amax(1, keepdim=True)  # r - index of the first covered, 0: none
                kb = torch.cat([empty.expand(at.shape[0], 1), before], 1).gather(1, last)[:, 0]
                ka = torch.cat([after, empty.expand(at.shape[0], 1)], 1).gather(1, r - first)[:, 0]
                self._fill(at, kb, ka, pad, dpad, win)


class _SplatFilter:
    """The separable min-filter that turns the anchor key image into per-pixel winning keys.

    Pixel q takes min over taps d of transform_d(key[q - d]): the tap's rank is added and, for even
    splats, the anchor's half bit is flipped at d = 0, so that among equal depths the point whose
    own pixel is q sorts first. Bit flips do not commute with min, so the row flip is applied to a
    copy of the anchor image before the column pass (two column passes instead of one). The op
    list for a batch size is built once: per frame only the tensor ops run.
    """

    @staticmethod
    def buffers(m: int, hp: int, wp: int, height: int, width: int, n_taps: int, ranked: bool,
                flip: bool) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
        """The int64 buffers the filter needs (m frames at a time), for _Workspace."""
        specs = {"out": (m, height, width)}
        if n_taps > 1:
            specs["cols"] = (m, hp, width)
            if flip:
                specs |= {"flipped": (m, hp, wp), "cols_flipped": (m, hp, width)}
            if (ranked or flip) and n_taps > 2:
                specs["scratch"] = (m, hp, width)
        return {f"filter_{k}": (shape, torch.int64) for k, shape in specs.items()}

    def __init__(self, ws: dict[str, torch.Tensor], pad: int, taps: list[tuple[int, int]], half_bit: int,
                 height: int, width: int):
        self.zbuf, self.pad, self.taps, self.half_bit = ws["zbuf"], pad, taps, half_bit
        self.height, self.width = height, width
        self.out, self.cols, self.flipped = ws["filter_out"], ws.get("filter_cols"), ws.get("filter_flipped")
        self.cols_flipped, self.scratch = ws.get("filter_cols_flipped"), ws.get("filter_scratch")
        self.plans: dict[int, list[tuple[Callable, torch.Tensor, torch.Tensor | int, torch.Tensor]]] = {}

    def __call__(self, m: int) -> torch.Tensor:
        plan = self.plans.get(m)
        if plan is None:
            plan = self.plans[m] = self._plan(m)
        for fn, a, b, out in plan:
            fn(a, b, out=out)
        return self.out[:m]

    def _reduce(self, items: list[tuple[torch.Tensor, int, int]], dst: torch.Tensor) -> list:
        """Steps for dst = min over items (view, xor_mask, add) of (view ^ xor_mask) + add."""
        plain = [v for v, x, r in items if not x and not r]
        ranked = [(v, x, r) for v, x, r in items if x or r]
        steps: list = []

        def transformed(v: torch.Tensor, x: int, r: int, out: torch.Tensor) -> torch.Tensor:
            if x:
                steps.append((torch.bitwise_xor, v, x, out))
                v = out
            if r:
                steps.append((torch.add, v, r, out))
            return out

        if len(plain) >= 2:
            steps.append((torch.minimum, plain[0], plain[1], dst))
            plain = plain[2:]
        elif ranked:
            transformed(*ranked.pop(0), dst)
        else:
            steps.append((torch.add, plain.pop(0), 0, dst))  # a copy
        steps += [(torch.minimum, dst, v, dst) for v in plain]
        for v, x, r in ranked:
            tmp = self.scratch[: dst.shape[0], : dst.shape[1]]
            steps.append((torch.minimum, dst, transformed(v, x, r, tmp), dst))
        return steps

    def _plan(self, m: int) -> list:
        pad, h, w = self.pad, self.height, self.width
        anchor, out = self.zbuf[:m], self.out[:m]
        if len(self.taps) == 1:
            return [(torch.add, anchor[:, pad : pad + h, pad : pad + w], 0, out)]

        def columns(src: torch.Tensor, dst: torch.Tensor) -> list:
            flip = (1 << self.half_bit) if self.half_bit >= 0 else 0
            return self._reduce([(src[:, :, pad - d : pad - d + w], flip if d == 0 else 0, r) for d, r in self.taps], dst)

        cols = self.cols[:m]
        steps = columns(anchor, cols)
        rows_src = {d: cols for d, _ in self.taps}
        if self.half_bit >= 0:
            flipped = self.flipped[:m]
            steps.append((torch.bitwise_xor, anchor, 1 << (self.half_bit + 1), flipped))
            steps += columns(flipped, self.cols_flipped[:m])
            rows_src[0] = self.cols_flipped[:m]
        steps += self._reduce([(rows_src[d][:, pad - d : pad - d + h, :], 0, r) for d, r in self.taps], out)
        return steps


def render_scene(
    scene: Scene,
    c2w: torch.Tensor,
    height: int | None = None,
    width: int | None = None,
    *,
    K: torch.Tensor | None = None,
    K_norm: torch.Tensor | None = None,
    fit: str = "crop",
    splat: int = 2,
    near: float = 1e-3,
    background: float | Sequence[float] = 0.0,
    device: torch.device | str | None = None,
    chunk: int | None = None,
    callback: Callable[[int], None] | None = None,
    mode: str = "mesh",
) -> RenderResult:
    """Render a Scene's point cloud along c2w (N, 4, 4) at (height, width) (default: the scene's size).

    Intrinsics, first that is given: K_norm (3, 3) or (N, 3, 3) normalised (a trajectory's), or K in
    pixels at the output size, else the scene's own K fitted to the output size (`fit_intrinsics`).
    device: where to render (default: the scene's device). Other arguments: `render_point_cloud`.
    """
    height = scene.height if height is None else _positive_int(height, "height")
    width = scene.width if width is None else _positive_int(width, "width")
    if K_norm is not None:
        K_out = denormalize_K(_tensor(K_norm, "K_norm", "(3, 3) or (N, 3, 3)").float(), height, width)
    elif K is not None:
        K_out = _tensor(K, "K", "(3, 3) or (N, 3, 3)")
    else:
        K_out = fit_intrinsics(scene.K.float(), (scene.height, scene.width), (height, width), fit)
    grid_width = None
    if mode in ("surface", "mesh"):  # every pixel in grid order (invalid ones at z = 0, culled), so neighbours are known
        points, colors = scene_grid_cloud(scene)
        grid_width = scene.width
    else:
        points, colors = scene_point_cloud(scene)
    dev = torch.device(device) if device is not None else points.device
    _tensor(c2w, "c2w", "(N, 4, 4)")
    return render_point_cloud(
        points.to(dev), colors.to(dev), K_out, c2w, height, width,
        splat=splat, near=near, background=background, chunk=chunk, callback=callback, mode=mode,
        grid_width=grid_width,
    )


@dataclass
class PreviewResult:
    """What the render node outputs, on the CPU: frames (N, H, W, 3), visibility and shaping masks
    (N, H, W) float32 (1 = a point's footprint covers the pixel / its whole k x k neighbourhood)."""

    frames: torch.Tensor
    visibility: torch.Tensor
    shaping: torch.Tensor


PREVIEW_BLOCK = 32  # frames rendered per block by render_preview: scratch memory stays flat for long paths


def render_preview(
    scene: Scene,
    c2w: torch.Tensor,
    height: int,
    width: int,
    *,
    mask_kernel: int = 5,
    fit: str = "crop",
    splat: int = 2,
    mode: str = "mesh",
    K: torch.Tensor | None = None,
    device: torch.device | str | None = None,
    callback: Callable[[int], None] | None = None,
    block: int = PREVIEW_BLOCK,
) -> PreviewResult:
    """`render_scene` + `shaping_mask` as the render node needs them, in blocks of `block` frames.

    Only the outputs are allocated for the whole path; depth, the bool masks and the renderer's
    scratch exist for one block at a time (400 frames at 1024x576: the outputs are 4.2 GB, the
    rest ~0.2 GB instead of another ~3 GB). If the callback raises (ComfyUI's cancel), the outputs
    are dropped before the exception leaves, so a kept exception does not keep gigabytes alive.
    K: optional (3, 3) or (N, 3, 3) pixel intrinsics at the output size (lens animation); default the
    scene's own K fitted to the output (`fit_intrinsics`).
    """
    height, width = _positive_int(height, "height"), _positive_int(width, "width")
    block = _positive_int(block, "block")
    require(mode in RENDER_MODES, "mode", f"one of {', '.join(RENDER_MODES)}", mode)
    _tensor(c2w, "c2w", "(N, 4, 4)")
    if c2w.ndim == 2:
        c2w = c2w.unsqueeze(0)
    require(c2w.ndim == 3 and tuple(c2w.shape[1:]) == (4, 4), "c2w", "shape (N, 4, 4)", tuple(c2w.shape))
    if K is None:
        K_out = fit_intrinsics(scene.K.float(), (scene.height, scene.width), (height, width), fit)
    else:
        K_out = _tensor(K, "K", "(3, 3) or (N, 3, 3)").float()
        require(tuple(K_out.shape[-2:]) == (3, 3) and (K_out.ndim == 2 or K_out.shape[0] == c2w.shape[0]),
                "K", f"(3, 3) or ({c2w.shape[0]}, 3, 3) pixel intrinsics", tuple(K_out.shape))
    with _threads_for_call(scene.depth.device):  # short ops too (see the blocks below)
        if mode in ("surface", "mesh"):
            points, colors = scene_grid_cloud(scene)
            grid_width = scene.width
        else:
            points, colors = scene_point_cloud(scene)
            grid_width = None
    dev = torch.device(device) if device is not None else points.device
    points, colors = points.to(dev), colors.to(dev)
    n = int(c2w.shape[0])
    b = min(block, n)
    frames = torch.empty(n, height, width, 3, dtype=torch.float32)
    visibility = torch.empty(n, height, width, dtype=torch.float32)
    shaping = torch.empty(n, height, width, dtype=torch.float32)
    scratch = RenderResult(torch.empty(b, height, width, 3, device=dev) if dev.type != "cpu" else frames[:0],
                           torch.empty(b, height, width, device=dev),
                           torch.empty(b, height, width, dtype=torch.bool, device=dev))
    try:
        for b0 in range(0, n, b):
            # each block, masks and copies included, on the threads the render takes (`_threads_for_call`):
            # those are short ops too, which stall on a busy machine like the render's own
            with _threads_for_call(dev):
                m = min(b, n - b0)
                out = RenderResult(frames[b0 : b0 + m] if dev.type == "cpu" else scratch.frames[:m],
                                   scratch.depth[:m], scratch.visible[:m])
                cb = None if callback is None else (lambda done, b0=b0: callback(b0 + done))
                K_blk = K_out if K_out.ndim == 2 else K_out[b0 : b0 + m]
                res = render_point_cloud(points, colors, K_blk, c2w[b0 : b0 + m], height, width, splat=splat,
                                         callback=cb, out=out, mode=mode, grid_width=grid_width)
                if dev.type != "cpu":
                    frames[b0 : b0 + m].copy_(res.frames)
                visibility[b0 : b0 + m].copy_(res.visible)
                shaping[b0 : b0 + m].copy_(shaping_mask(res.visible, k=mask_kernel))
                res = out = None
    except BaseException as exc:
        frames = visibility = shaping = scratch = out = res = None  # noqa: F841 - see the docstring
        traceback.clear_frames(exc.__traceback__)
        raise
    return PreviewResult(frames, visibility, shaping)


# --------------------------------------------------------------------------------------------------
# noise-shaping masks


def shaping_mask(visible: torch.Tensor, k: int = 5, outside: str = "ignore") -> torch.Tensor:
    """(N, H, W) or (H, W) bool -> same shape bool: True where the whole k x k neighbourhood is visible.

    k odd (upstream: 5). outside="ignore" matches upstream's `apply_thresholded_conv` (reflect padding
    makes the window at the border see only in-image pixels); outside="invisible" treats pixels beyond
    the border as holes, so a (k//2)-pixel frame is always False.
    """
    _tensor(visible, "visible", "(N, H, W) bool")
    require(visible.ndim in (2, 3), "visible", "shape (N, H, W) or (H, W)", tuple(visible.shape))
    require(isinstance(k, int) and not isinstance(k, bool) and k >= 1 and k % 2 == 1, "k", "an odd int >= 1", k)
    require(outside in ("ignore", "invisible"), "outside", "'ignore' or 'invisible'", outside)
    vis = visible.bool()
    r = k // 2
    if r == 0:
        return vis.clone()
    h, w = vis.shape[-2:]
    padded = vis.new_full((*vis.shape[:-2], h + 2 * r, w + 2 * r), outside == "ignore")
    padded[..., r : r + h, r : r + w] = vis
    cols = padded[..., :, 0:w].clone()
    for d in range(1, k):
        cols &= padded[..., :, d : d + w]
    out = cols[..., 0:h, :].clone()
    for d in range(1, k):
        out &= cols[..., d : d + h, :]
    return out


def latent_mask(mask: torch.Tensor, latent_h: int, latent_w: int, threshold: float = 0.9) -> torch.Tensor:
    """(N, H, W) pixel mask -> (N, latent_h, latent_w) bool, as upstream builds its noise-shaping mask.

    Upstream order: visibility -> `shaping_mask` (k=5) -> this: bilinear resize with align_corners=True,
    then keep values >= threshold (0.9).
    """
    _tensor(mask, "mask", "(N, H, W)")
    require(mask.ndim == 3, "mask", "shape (N, H, W)", tuple(mask.shape))
    latent_h = _positive_int(latent_h, "latent_h")
    latent_w = _positive_int(latent_w, "latent_w")
    require(isinstance(threshold, (int, float)) and 0.0 <= threshold <= 1.0, "threshold", "a number in [0, 1]",
            threshold)
    m = mask.to(torch.float32).unsqueeze(0)  # (1, N, H, W): frames as channels, like upstream
    small = F.interpolate(m, size=(latent_h, latent_w), mode="bilinear", align_corners=True)[0]
    return small >= threshold
