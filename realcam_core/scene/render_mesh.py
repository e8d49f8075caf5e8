"""The `mesh` render mode: the source view as a surface (its pixel grid a mesh cut at depth jumps) on 2-px splats.

A single RGB-D view is a surface sampled on the source pixel grid. Where the grid's quads project small
(both diagonals at most BIG pixels along x and y) the 2-px splats of their four corners already cover every
pixel centre inside them, so nothing more is done there: that is nearly all of an unmagnified render. The
stretched quads - a surface the source camera saw at a grazing angle, seen from the side, or a magnified
view - leave gaps between splats, where farther points also leak through. Only those quads get more, and
only where they lie on one surface (`_validity`: corners valid, depths within TOL, not seen edge-on by the
source camera beyond MAX_SLANT; across a depth jump the mesh is cut, so a disocclusion stays open):
  - mildly stretched ones (diagonals up to MID px, whole quad on one surface, inside the splat grid) are
    densified before the splat filter (`densify`): three more splats at the midpoints of the top and left
    edges and the centre, so the grid is sampled at half its spacing and the 2-px splats close. They carry
    the quad's farthest corner depth (one float step farther) and corner 00's colour: where a corner's own
    splat reaches it wins, and the new splats fill only the gaps, in front of any farther surface;
  - the rest (stretched further, cut on one side at a silhouette, or at the border) are rasterised after the
    filter (`__call__`) as two triangles each: every pixel centre inside (edge functions, a small tolerance
    so shared edges leave no crack) gets the perspective-correct depth there (1/z is linear in screen space)
    and the index of the corner nearest the pixel (largest barycentric weight), so the colour is a source
    pixel's, as a splat's would be. Corners are projected again exactly (the splat pass clamps positions).
Both write the splat pass's packed keys (depth bits << 32 | point index) with `scatter_reduce_(..., "amin")`,
so the nearer surface wins whatever the order, and `visible` (and the shaping mask derived from it) is the
true coverage of splats, added splats and triangles. Measured against a ray-traced ground truth in
bench/render_holes.py; timed in bench/render_surface_speed.py.
"""

from __future__ import annotations

import math

import torch

__all__ = ["MeshFill"]


def _lowest(t: torch.Tensor, dim: int) -> torch.Tensor:
    """min over a short dim (3 or 4 entries) by elementwise minima: torch's amin over a short inner dim is
    several times slower on CPU."""
    parts = t.unbind(dim)
    out = torch.minimum(parts[0], parts[1])
    for p in parts[2:]:
        out = torch.minimum(out, p, out=out)
    return out


def _highest(t: torch.Tensor, dim: int) -> torch.Tensor:
    """max over a short dim, as `_lowest`."""
    parts = t.unbind(dim)
    out = torch.maximum(parts[0], parts[1])
    for p in parts[2:]:
        out = torch.maximum(out, p, out=out)
    return out


class MeshFill:
    """Densifies or rasterises the stretched quads of a source grid, one render (see the module docstring).

    pts: (3, P) float32 points of a (P // grid_width, grid_width) source grid in row-major order, in the
    source camera's frame (the world of a scene render; invalid ones at the origin). M_pix: (N, 3, 4)
    float32 projections world -> (u z, v z, z) in output pixels (pixel (i, j) covers [j, j+1) x [i, i+1)).
    scale: the splat pass's positions are in 1 / scale pixels (see `render_point_cloud`).
    """

    BIG = 2.0  # px (2-px splats): a quad with a diagonal longer than this along x or y is densified or rasterised
    # One surface or a depth jump? From one depth map the two look alike where the source camera saw a
    # surface nearly edge-on. Measured on the synthetic room (bench/render_holes.py, orbit presets at 1024x576):
    # cutting at 85-88 degrees leaves 0.7 % holes on faces the source saw edge-on, 89.5 degrees and a 30 %
    # depth spread 0.46 %; a 40 % spread closes more but bridges a person 3 m in front of a wall at 4 m.
    TOL = 0.3  # relative depth spread of a triangle's corners still counted as one surface
    MAX_SLANT = 89.5  # degrees: the steepest triangle kept, as the source camera saw it (matters for long lenses)
    EPS = 1e-4  # inside tolerance on barycentric weights: shared edges leave no crack
    MID = 3.6  # px (2-px splats): quads up to this stretched (diagonals along x and y) are densified
    FEW = 2048  # fewer triangles than this in a frame: all take the general box walk (fewer ops than the slots)
    SLOTS = 3  # triangles whose box holds at most SLOTS x SLOTS pixel centres: tested on that fixed grid
    # A pixel a densified splat won: blend its quad's corners' colours (`colour`, True), or show corner 00's (the
    # winning point's own colour, as a splat does). Off by default: measured 0.1-2.1 (of 255) closer to the truth
    # on the pixels only the mesh covers in magnified views (it blurs sharp texture edges), at +10-12 % of the
    # mesh render time on bench/render_surface_speed.py's path and up to +58 % at 2x magnification
    # (bench/render_mesh_colour_speed.py; BENCHMARKS.md, mesh section).
    BLEND = False
    SEARCH = 0.5  # added splats' footprints searched for their pixels while fewer than this x the image's pixels

    def __init__(self, pts: torch.Tensor, M_pix: torch.Tensor, grid_width: int, height: int, width: int,
                 near: float, scale: float, anchor_grid: tuple[int, int], idx_bits: int, even: bool, offset: float,
                 splat: int = 2):
        self.pts, self.M, self.gw = pts, M_pix, grid_width
        self.gh = pts.shape[1] // grid_width
        self.h, self.w, self.near, self.scale = height, width, near, scale
        self.wp, self.hp = anchor_grid
        self.idx_bits, self.even = idx_bits, even
        # the thresholds scale with the splat; 2 % slack, so that float noise in an unmagnified view of
        # 1-px splats (diagonals of exactly 1 px) adds nothing
        self.big, self.mid = self.BIG * splat / 2 * 1.02, self.MID * splat / 2
        # (2, 1) bounds in the splat pass's units: of the splat grid (unclamped positions), of the view
        self.grid_end = torch.tensor([[scale * self.wp - 1], [scale * self.hp - 1]], device=pts.device)
        self.view_start = torch.tensor([[scale * offset], [scale * offset]], device=pts.device)
        self.view_end = torch.tensor([[scale * (width + offset)], [scale * (height + offset)]], device=pts.device)
        self.splat = splat
        self.pending: dict[int, torch.Tensor] = {}  # frame -> quads left for the triangles
        dev = pts.device
        s = self.SLOTS
        self.slot_dx = torch.arange(s * s, device=dev, dtype=torch.float32).remainder_(s)
        self.slot_dy = torch.arange(s * s, device=dev).div(s, rounding_mode="floor").to(torch.float32)
        self.cos2 = math.cos(math.radians(self.MAX_SLANT)) ** 2
        # the three points a densified quad adds (rows: corners 00, 01, 10, 11): the midpoints of its top and
        # left edges and its centre; its neighbours add theirs, so the grid is sampled twice as densely
        self.mid_weights = torch.tensor([[0.5, 0.5, 0.25], [0.5, 0.0, 0.25], [0.0, 0.5, 0.25], [0.0, 0.0, 0.25]],
                                        device=dev)
        self.corner_offsets = torch.tensor([0, 1, grid_width, grid_width + 1], device=dev)
        self.tri_b, self.tri_d = torch.tensor([1, 3], device=dev), torch.tensor([3, 2], device=dev)  # see `_validity`
        # triangles 00-01-11 and 00-11-10 of a quad: their corners' offsets from corner 00
        self.tri_offsets = torch.tensor([[0, 1, grid_width + 1], [0, grid_width + 1, grid_width]], device=dev)
        self.size = torch.tensor([[float(width)], [float(height)]], device=dev)  # clamps of the triangles' boxes
        self.size_1 = self.size - 1
        n = max(pts.shape[1] - grid_width - 1, 0)  # quads are named by their corner 00: points 0..n-1
        self.diff = torch.empty(2, n, dtype=torch.float32, device=dev)
        self.diag = torch.empty(2, n, dtype=torch.float32, device=dev)
        self.flags = torch.empty(n, dtype=torch.bool, device=dev)
        last = torch.zeros(pts.shape[1], dtype=torch.bool, device=dev)
        last.view(self.gh, grid_width)[:, -1] = True
        self.last_col = last[:n]  # no quad starts in the last column
        self.valid = torch.zeros(2, n, dtype=torch.bool, device=dev)  # see `_validity`
        self.known = self.last_col.clone()  # quads tested so far (none starts in the last column)
        self.dense: dict[int, tuple[torch.Tensor, ...]] = {}  # frame -> its densified quads, for `colour`
        self.slot_of: torch.Tensor | None = None  # (2, P + 1) int32, see `_colour_dense`
        self.channels: tuple[torch.Tensor, torch.Tensor] | None = None  # (table, its channels (3, P + 1))

    def _stretched(self, uv: torch.Tensor) -> torch.Tensor:
        """(2, P) splat-pass positions of one frame -> corner-00 point indices of the stretched quads: those with
        a diagonal longer than BIG pixels along x or y (contiguous shifts of the flat grid)."""
        gw, n = self.gw, self.diff.shape[1]
        if n == 0:  # a single row or column: no quads
            return torch.empty(0, dtype=torch.int64, device=uv.device)
        for k, (a, b) in enumerate(((gw + 1, 0), (gw, 1))):  # diagonals 00-11 and 01-10
            d = torch.sub(uv[:, a : a + n], uv[:, b : b + n], out=self.diff).abs_()
            torch.maximum(d[0], d[1], out=self.diag[k])
        torch.maximum(self.diag[0], self.diag[1], out=self.diag[0])  # per quad: the longer diagonal along x or y
        # (quads starting in the last column wrap around: `_validity` drops them)
        return torch.gt(self.diag[0], self.big * self.scale, out=self.flags).nonzero()[:, 0]

    def densify(self, zbuf: torch.Tensor, proj: torch.Tensor, f0: int) -> None:
        """Before the splat filter: zbuf (m, hp, wp) anchor keys of frames f0.. (changed in place); proj: (m, 3, P)
        the splat pass's positions (scaled, offset, clamped) and depths. Mildly stretched quads (diagonals up to
        MID px, whole quad on one surface, corners inside the splat grid) get three more splats: with the
        grid sampled at half its spacing the 2-px splats close the gaps. The other stretched quads are kept
        for the triangles (`__call__`)."""
        for k in range(zbuf.shape[0]):
            self.pending[f0 + k] = self._densify(zbuf[k], proj[k], f0 + k)

    def _densify(self, zbuf: torch.Tensor, proj: torch.Tensor, f: int) -> torch.Tensor:
        v00 = self._stretched(proj[:2])
        if v00.shape[0] == 0:
            return v00
        c = proj.index_select(1, (v00[:, None] + self.corner_offsets).view(-1)).view(3, -1, 4)  # corners 00 01 10 11
        mild = self.diag[0].index_select(0, v00).le(self.mid * self.scale)
        uv = c[:2]
        lo, hi = _lowest(uv, 2), _highest(uv, 2)  # (2, k) the quads' boxes in the splat pass's units
        mild &= (lo > 0).all(0)  # not clamped by the splat pass (nor culled: those sit at 0)
        mild &= (hi < self.grid_end).all(0)
        valid = self._validity(v00)
        mild &= valid.all(0)
        take = mild.nonzero()[:, 0]
        if take.shape[0]:
            ct = c.index_select(1, take)
            iu = torch.matmul(ct[:2], self.mid_weights).to(torch.int64)  # (2, k, 3): the new points' cells
            # (truncation == floor: the positions are > 0)
            # depth: the quad's farthest corner's, one float step farther, so that where a corner's own splat
            # reaches, it wins (ties too: the colours there stay the corners' own) and the new points fill only
            # the gaps, in front of any farther surface showing through them
            zbits = _highest(ct[2], 1).view(torch.int32) + 1
            q00 = v00.index_select(0, take)
            key = (q00 | (zbits.to(torch.int64) << 32))[:, None].expand(-1, 3)  # index: corner 00's
            if self.even:  # as the splat pass: anchor = half-pixel position >> 1, the half bits above the index
                hb = iu & 1
                key = key + (torch.add(hb[0], hb[1], alpha=2) << self.idx_bits)
                iu >>= 1
            cell = torch.add(iu[0], iu[1], alpha=self.wp)
            zbuf.view(-1).scatter_reduce_(0, cell.view(-1), key.reshape(-1), "amin")
            if self.BLEND:  # for `colour`
                self.dense[f] = (q00, zbits, ct[:2], iu)
        # the rest (stretched further, cut, or at the border) for the triangles, unless wholly outside the view
        rest = mild.logical_not_().nonzero()[:, 0]
        if rest.shape[0] == 0:
            return rest
        lo, hi = lo.index_select(1, rest), hi.index_select(1, rest)
        seen = (hi > self.view_start).all(0)
        seen &= (lo < self.view_end).all(0)
        seen &= valid.any(0).index_select(0, rest)
        rest = rest.index_select(0, seen.nonzero()[:, 0])
        return v00.index_select(0, rest)

    def __call__(self, win: torch.Tensor, proj: torch.Tensor, f0: int) -> None:
        """After the splat filter: win (m, H, W) int64 winning keys of frames f0.. (changed in place): the
        stretched quads `densify` left get their triangles."""
        for k in range(win.shape[0]):
            v00 = self.pending.pop(f0 + k, None)
            if v00 is not None and v00.shape[0]:
                self._frame(win[k], v00, f0 + k)

    def _validity(self, v00: torch.Tensor) -> torch.Tensor:
        """Corner-00 indices (k,) of quads -> (2, k) bool: whether their triangles 00-01-11 and 00-11-10 lie on
        one surface: corners valid (depth > 0), depths within TOL, and not seen edge-on by the source camera
        (a depth jump between two surfaces looks like a surface at a grazing angle: cutting it keeps a
        disocclusion open). View-independent: each quad is tested once per render, when first stretched (the
        whole grid at once measured slower inside the render, even on long magnifying paths; BENCHMARKS.md).
        Both triangles in one set of ops, on (3, 2, k) corners."""
        new = v00.index_select(0, self.known.index_select(0, v00).logical_not_().nonzero()[:, 0])  # sorted, unique
        if new.shape[0]:
            c = self.pts.index_select(1, (new[:, None] + self.corner_offsets).T.reshape(-1)).view(3, 4, -1)
            a = c[:, 0:1]  # corner 00 of both triangles; then 01, 11 and 11, 10
            b, d = c.index_select(1, self.tri_b), c.index_select(1, self.tri_d)
            za, zb, zc = a[2], b[2], d[2]
            zmin = torch.minimum(torch.minimum(za, zb), zc)
            zmax = torch.maximum(torch.maximum(za, zb), zc)
            ok = (zmin > 0) & (zmax <= zmin * (1.0 + self.TOL))
            nrm = torch.linalg.cross(b - a, d - a, dim=0)
            ray = a + b + d
            dot = (nrm * ray).sum(0)
            ok &= dot * dot >= self.cos2 * (nrm * nrm).sum(0) * (ray * ray).sum(0)
            self.valid.index_copy_(1, new, ok)
            self.known.index_fill_(0, new, True)
        return self.valid.index_select(1, v00)

    def _triangles(self, v00: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Corner-00 indices of quads -> their valid triangles: (T, 3) corner indices, (3, T * 3) corner points."""
        kind = self.valid.index_select(1, v00).nonzero()  # (T, 2): 0 for 00-01-11, 1 for 00-11-10; which quad
        vid = v00.index_select(0, kind[:, 1])[:, None] + self.tri_offsets.index_select(0, kind[:, 0])
        return vid, self.pts.index_select(1, vid.view(-1))

    def _frame(self, win: torch.Tensor, v00: torch.Tensor, f: int) -> None:
        # (few triangles per frame: the cost is the number of torch ops, so x and y go through them together)
        vid, p = self._triangles(v00)
        M = self.M[f]
        q = (M[:, :3] @ p + M[:, 3:]).view(3, -1, 3)  # u z, v z, z per corner
        z = q[2]
        xy = q[:2].div_(z).sub_(0.5)  # (2, T, 3) pixel centres at integers
        (xa, xb, xc), (ya, yb, yc) = xy[0].unbind(1), xy[1].unbind(1)
        area = (xb - xa) * (yc - ya) - (yb - ya) * (xc - xa)
        # the boxes' first pixel centres (x0, y0) and sizes (nx, ny), in pixels
        x0y0 = torch.minimum(_lowest(xy, 2).sub_(self.EPS).ceil_().clamp_min_(0), self.size)
        nxny = torch.minimum(_highest(xy, 2).add_(self.EPS).floor_(), self.size_1).sub_(x0y0).add_(1)
        ok = _lowest(z, 1) > self.near
        ok &= area.abs() > 1e-9
        ok &= (nxny > 0).all(0)
        sel = ok.nonzero()[:, 0]
        if sel.shape[0] == 0:
            return
        box = torch.cat([x0y0, nxny])  # (4, T): x0, y0, nx, ny
        if sel.shape[0] < ok.shape[0]:
            xy, box, area = xy.index_select(1, sel), box.index_select(1, sel), area.index_select(0, sel)
            vid, z = vid.index_select(0, sel), z.index_select(0, sel)
        iz, inv = z.reciprocal(), area.reciprocal_()
        x0, y0, nx, ny = box
        # planes over the screen: barycentric weights w_k = A_k x + B_k y + C_k, and 1/z = (A.iz) x + ...
        # (corners b, c, a and c, a, b: A = (yb - yc, yc - ya, ya - yb), B = (xc - xb, ...), C = (xb yc - xc yb, ...))
        (x1, y1), (x2, y2) = (t.unbind(0) for t in torch.cat([xy, xy], 2).unfold(2, 3, 1)[:, :, 1:3].unbind(2))
        ABC = torch.stack([y1 - y2, x2 - x1, x1 * y2 - x2 * y1], 1).mul_(inv[:, None, None])  # (T, 3 planes, 3)
        Z = (ABC * iz[:, None, :]).sum(2)
        A, B, C = ABC.unbind(1)
        s = self.SLOTS
        # many triangles: those whose box holds at most s x s pixel centres test them from (x0, y0) at once,
        # by broadcasting; a few (fewer than FEW): all go the general way, which takes fewer ops
        if nx.shape[0] >= self.FEW:
            small = (nx <= s) & (ny <= s)
            ts = small.nonzero()[:, 0]
            tl = small.logical_not_().nonzero()[:, 0]
        else:
            ts, tl = None, None
        if ts is not None and ts.shape[0]:
            A_s, B_s, x0_s, y0_s = A.index_select(0, ts), B.index_select(0, ts), x0.index_select(0, ts), y0.index_select(0, ts)
            w0 = torch.addcmul(C.index_select(0, ts), A_s, x0_s[:, None]).addcmul_(B_s, y0_s[:, None])
            wts = torch.addcmul(w0[:, :, None], A_s[:, :, None], self.slot_dx).addcmul_(B_s[:, :, None], self.slot_dy)
            px = x0_s[:, None] + self.slot_dx
            py = y0_s[:, None] + self.slot_dy
            inside = (_lowest(wts, 1) >= -self.EPS) & (px < self.w) & (py < self.h)
            hit = inside.view(-1).nonzero()[:, 0]  # = triangle * s * s + slot
            wsel = wts.transpose(1, 2).reshape(-1, 3).index_select(0, hit)
            tri = ts.index_select(0, hit.div(s * s, rounding_mode="floor"))
            self._emit(win, tri, px.view(-1).index_select(0, hit), py.view(-1).index_select(0, hit), wsel, Z, vid)
        # the others (all of a few): every centre of their box
        if tl is None or tl.shape[0]:
            cnt = (nx * ny if tl is None else nx.index_select(0, tl) * ny.index_select(0, tl)).to(torch.int64)
            k = torch.repeat_interleave(cnt)
            tri = k if tl is None else tl.index_select(0, k)
            local = torch.arange(k.shape[0], device=k.device).sub_((cnt.cumsum(0) - cnt).index_select(0, k))
            bt = box.index_select(1, tri)
            nxt = bt[2].to(torch.int64)
            px = bt[0] + (local % nxt)
            py = bt[1] + local.div_(nxt, rounding_mode="floor")
            abc = ABC.index_select(0, tri)
            wts = torch.addcmul(abc[:, 2], abc[:, 0], px[:, None]).addcmul_(abc[:, 1], py[:, None])
            hit = (_lowest(wts, 1) >= -self.EPS).nonzero()[:, 0]
            self._emit(win, tri.index_select(0, hit), px.index_select(0, hit), py.index_select(0, hit),
                       wts.index_select(0, hit), Z, vid)

    def _emit(self, win: torch.Tensor, tri: torch.Tensor, px: torch.Tensor, py: torch.Tensor, wts: torch.Tensor,
              Z: torch.Tensor, vid: torch.Tensor) -> None:
        """Fragments (pixel px, py of triangle tri, barycentric weights wts (k, 3)) -> win, nearest first."""
        zc = Z.index_select(0, tri)
        zp = torch.addcmul(zc[:, 2], zc[:, 0], px).addcmul_(zc[:, 1], py).reciprocal_()  # perspective-correct
        idx = vid.index_select(0, tri).gather(1, wts.argmax(1, keepdim=True))[:, 0]  # the corner nearest the pixel
        key = (zp.view(torch.int32).to(torch.int64) << 32).bitwise_or_(idx)
        cell = py.mul_(self.w).add_(px).to(torch.int64)
        win.view(-1).scatter_reduce_(0, cell, key, "amin")

    def colour(self, frames: torch.Tensor, idx: torch.Tensor, depth: torch.Tensor, table: torch.Tensor,
               f0: int) -> None:
        """After the colour gather: frames (m, H, W, 3) of frames f0.. (changed in place), idx (m, H, W) their
        winning point indices, depth (m, H, W) the winners' depths (bits as written), table (P + 1, 3) colours.

        A pixel a densified splat won shows a magnified source's nearest sample (corner 00 of its quad). It gets
        the source image's colour at the pixel centre's place instead, bilinear between the quad's corners
        (measured in bench/render_holes.py: closer to the truth on the magnified presets; blending triangle
        fragments too was measured no better, so they keep their nearest corner's colour). Such a pixel is known
        by its quad's corner 00 winning with the added splats' depth, one float step beyond the farthest corner,
        so never a corner's own. Winners and depth are unchanged."""
        for k in range(frames.shape[0]):
            dense = self.dense.pop(f0 + k, None)
            if dense is None:
                continue
            if self.channels is None or self.channels[0] is not table:  # colours channel-major: 1-D gathers
                self.channels = (table, table.T.contiguous())
            self._colour_dense(frames[k].view(-1, 3), idx[k], depth[k].view(torch.int32), *dense)

    def _dense_won(self, win: torch.Tensor, bits: torch.Tensor, q00: torch.Tensor, zbits: torch.Tensor,
                   anchors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The pixels a densified splat won -> flat cells, x, y (float) and the row of its quad in the frame's
        list. Few added splats: their footprints are searched (splat x splat pixels each, from the anchor cell
        (anchors (2, k, 3), padded by `splat` - 1 + 1 as the splat pass pads); many: the whole image."""
        k, S, h, w = q00.shape[0], self.splat, self.h, self.w
        if k * 3 * S * S < h * w * self.SEARCH:
            # (the added splats along the last dim: broadcasting over short inner dims is slow on CPUs)
            i32 = torch.int32  # (int32 cells: half the memory traffic of int64)
            off = torch.arange(-S, 0, device=win.device, dtype=i32)[:, None]  # footprint: anchor - S .. anchor - 1
            x, y = anchors[0].reshape(-1).to(i32) + off, anchors[1].reshape(-1).to(i32) + off  # (S, 3 k)
            inb = ((y >= 0) & (y < h))[:, None] & ((x >= 0) & (x < w))[None]  # (S, S, 3 k)
            cells = torch.add(x.clamp_(0, w - 1)[None], y.clamp_(0, h - 1)[:, None], alpha=w).view(-1)
            owner = q00[:, None].expand(k, 3).reshape(-1)
            hit = win.view(-1).index_select(0, cells).view(S, S, -1) == owner  # won by the quad's corner 00 ...
            hit = hit.logical_and_(inb).view(-1).nonzero()[:, 0]
            cell = cells.index_select(0, hit).to(torch.int64)
            q = hit.remainder_(3 * k).div_(3, rounding_mode="floor")
            at = (bits.view(-1).index_select(0, cell) == zbits.index_select(0, q)).nonzero()[:, 0]  # ... added
            cell, q = cell.index_select(0, at), q.index_select(0, at)
            yi = cell.div(w, rounding_mode="floor")
            return cell, (cell - yi * w).to(torch.float32), yi.to(torch.float32), q
        if self.slot_of is None:  # per point: its densified quad's depth bits (0: none) and row in this frame
            self.slot_of = torch.zeros(2, self.pts.shape[1] + 1, dtype=torch.int32, device=win.device)
        dz, slot_of = self.slot_of.unbind(0)
        dz.index_copy_(0, q00, zbits)
        slot_of.index_copy_(0, q00, torch.arange(k, dtype=torch.int32, device=q00.device))
        yx = (dz.index_select(0, win.view(-1)) == bits.view(-1)).view(win.shape).nonzero()
        dz.index_fill_(0, q00, 0)
        cell = torch.add(yx[:, 1], yx[:, 0], alpha=w)
        q = slot_of.index_select(0, win.view(-1).index_select(0, cell))
        return cell, yx[:, 1].to(torch.float32), yx[:, 0].to(torch.float32), q

    def _colour_dense(self, out: torch.Tensor, win: torch.Tensor, bits: torch.Tensor, q00: torch.Tensor,
                      zbits: torch.Tensor, c: torch.Tensor, anchors: torch.Tensor) -> None:
        """out (H W, 3); win, bits (H, W) winners and their depth bits; the frame's densified quads: corner 00
        (k,), added splats' depth bits (k,), corner positions (2, k, 4) in the splat pass's units and the added
        splats' anchor cells (2, k, 3)."""
        gw = self.gw
        cell, x, y, q = self._dense_won(win, bits, q00, zbits, anchors)
        if cell.shape[0] == 0:
            return
        # Per quad, the place (s, t) of a pixel (x, y) in it, as a parallelogram spanned by corners 01 and 10 from
        # corner 00 (exact for an affinely projected grid): s = A x + B y + C, t = D x + E y + G. Pixel centres
        # in the splat pass's units: scale (x + 0.5) + view_start[0] (y: view_start[1]); the derivatives per pixel.
        o, a, b = c[:, :, 0], c[:, :, 1] - c[:, :, 0], c[:, :, 2] - c[:, :, 0]
        det = a[0] * b[1] - a[1] * b[0]
        ok = det.abs() > 1e-6
        inv = torch.where(ok, det, torch.ones_like(det)).reciprocal_().mul_(ok).mul_(self.scale)
        ox = o[0].sub(self.view_start[0, 0]).div_(self.scale).sub_(0.5)  # corner 00 in pixel-centre units
        oy = o[1].sub(self.view_start[1, 0]).div_(self.scale).sub_(0.5)
        coef = torch.stack([b[1] * inv, -b[0] * inv, a[0] * inv, -a[1] * inv])  # ds/dx, ds/dy, dt/dy, dt/dx
        coef = torch.cat([coef, (-coef[0] * ox - coef[1] * oy)[None], (-coef[3] * ox - coef[2] * oy)[None]])
        coef = coef.index_select(1, q)  # (6, n)
        s = torch.addcmul(coef[4], coef[0], x).addcmul_(coef[1], y)
        t = torch.addcmul(coef[5], coef[3], x).addcmul_(coef[2], y)
        base = q00.index_select(0, q)
        rgb = self._bilinear(base, s.clamp(0.0, 1.0), t.clamp(0.0, 1.0))
        out.index_copy_(0, cell, rgb.T)
        # A splat reaches up to a pixel beyond its quad (where a neighbour's splats tie at the same depth): the
        # place lies in a neighbouring quad then, whose corners are blended instead if it is on one surface
        # (both its triangles tested valid); else the quad's own, at the place clamped to it (above).
        off = ((s < 0) | (s > 1) | (t < 0) | (t > 1)).nonzero()[:, 0]
        if off.shape[0] == 0:
            return
        base, s, t = base.index_select(0, off), s.index_select(0, off), t.index_select(0, off)
        ds, dt = s.floor().clamp_(-1, 1), t.floor().clamp_(-1, 1)
        col = torch.remainder(base, gw) + ds.to(torch.int64)
        row = base.div(gw, rounding_mode="floor") + dt.to(torch.int64)
        other = torch.add(col, row, alpha=gw)
        fine = (col >= 0) & (col <= gw - 2) & (row >= 0) & (row <= self.gh - 2)
        fine &= self.valid.index_select(1, other.mul_(fine)).all(0)  # untested quads: False
        take = fine.nonzero()[:, 0]
        if take.shape[0]:
            s, t = s.index_select(0, take).sub_(ds.index_select(0, take)), t.index_select(0, take).sub_(dt.index_select(0, take))
            rgb = self._bilinear(other.index_select(0, take), s.clamp_(0.0, 1.0), t.clamp_(0.0, 1.0))
            out.index_copy_(0, cell.index_select(0, off.index_select(0, take)), rgb.T)

    def _bilinear(self, q00: torch.Tensor, s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Quads (corner 00 indices, n) and places (s, t) in them, each in [0, 1] -> (3, n) colours, bilinear."""
        pid = torch.stack([q00, q00 + 1, q00 + self.gw, q00 + (self.gw + 1)])  # corners 00 01 10 11
        rgb = self.channels[1].index_select(1, pid.view(-1)).view(3, 4, -1)
        top = torch.lerp(rgb[:, 0], rgb[:, 1], s)
        return top.lerp_(torch.lerp(rgb[:, 2], rgb[:, 3], s), t)
