"""Camera conditioning of CamI2V / RealCam-I2V: Plücker rays and epipolar attention masks.

Conventions (ARCHITECTURE §2): OpenCV axes (x right, y down, z forward); poses are camera-to-world 4x4
matrices acting on column vectors, relative to the conditioning frame; intrinsics are pixels at the
stated image size with pixel centres at +0.5. All camera maths runs in float32 (as upstream), with
autocast off.

Epipolar masks: for query cell p of frame i and key cell q of frame j, q may be attended iff its
distance to the epipolar line F_ij p is below d*sqrt(2)/2 pixels (d = image / feature downsampling).
They are built in row chunks directly as bits, never as the (T, T, N, N) float distance tensor, and
kept bit-packed (1 bit per entry) until an attention call unpacks the rows it needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import require

# Float distances per mask-build chunk (2M floats = 8 MB of scratch besides the packed result).
MASK_BUILD_CHUNK_ELEMS = 1 << 21
_BIT_SHIFTS = (7, 6, 5, 4, 3, 2, 1, 0)  # big-endian bit order, as numpy.packbits


@dataclass
class CameraCondition:
    """Camera input of one denoiser call; the UNet derives Plücker maps, pose features and masks from it.

    c2w_rel: (B, T, 4, 4) camera-to-world relative to the conditioning frame, translation in metres
    (already multiplied by any trace scale). K: (B, T, 3, 3) pixel intrinsics at `image_size`.
    image_size: (H, W) pixels of the model's working image (latent size x 8).
    seed: seeds the ~1e-6 random translation that upstream puts on zero-translation frame pairs.
    t_pairs: optional (B, T, T, 3) translations to use for those pairs instead (reproducing a run).
    B may be 1 to broadcast one camera over the whole batch.
    """

    c2w_rel: torch.Tensor
    K: torch.Tensor
    image_size: tuple[int, int]
    seed: int = 0
    t_pairs: torch.Tensor | None = None

    def validate(self, frames: int | None = None) -> CameraCondition:
        c, k = self.c2w_rel, self.K
        require(c.ndim == 4 and tuple(c.shape[-2:]) == (4, 4), "camera.c2w_rel", "(B, T, 4, 4)", tuple(c.shape))
        require(k.ndim == 4 and tuple(k.shape[-2:]) == (3, 3), "camera.K", "(B, T, 3, 3)", tuple(k.shape))
        require(tuple(k.shape[:2]) == tuple(c.shape[:2]), "camera.K", f"batch and frames {tuple(c.shape[:2])}",
                tuple(k.shape[:2]))
        if frames is not None:
            require(c.shape[1] == frames, "camera.c2w_rel", f"{frames} frames (the latent's)", c.shape[1])
        require(len(self.image_size) == 2 and min(self.image_size) > 0, "camera.image_size", "(H, W) > 0",
                self.image_size)
        require(bool(torch.isfinite(c).all()), "camera.c2w_rel", "finite values", "NaN or inf")
        require(bool(torch.isfinite(k).all()) and bool((k[..., 0, 0] != 0).all() and (k[..., 1, 1] != 0).all()),
                "camera.K", "finite intrinsics with non-zero focal lengths", "NaN, inf or fx/fy = 0")
        if self.t_pairs is not None:
            b, t = c.shape[:2]
            require(tuple(self.t_pairs.shape) == (b, t, t, 3), "camera.t_pairs", f"({b}, {t}, {t}, 3)",
                    tuple(self.t_pairs.shape))
        return self


def plucker_embedding(c2w: torch.Tensor, K: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Plücker ray map (B, 6, T, H, W): channels (o x d, d), d unit ray in the reference frame, o the centre.

    c2w: (B, T, 4, 4); K: (B, T, 3, 3) pixels at (height, width); pixel (x, y) samples (x + .5, y + .5).
    """
    c2w, K = c2w.float(), K.float()
    b, t = c2w.shape[:2]
    dev = c2w.device
    u = torch.arange(width, device=dev, dtype=torch.float32) + 0.5
    v = torch.arange(height, device=dev, dtype=torch.float32) + 0.5
    vv, uu = torch.meshgrid(v, u, indexing="ij")
    fx, fy = K[..., 0, 0, None], K[..., 1, 1, None]
    cx, cy = K[..., 0, 2, None], K[..., 1, 2, None]
    xs = (uu.reshape(1, 1, -1) - cx) / fx  # (B, T, HW)
    ys = (vv.reshape(1, 1, -1) - cy) / fy
    dirs = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1)
    dirs = dirs / dirs.norm(dim=-1, keepdim=True)
    d = dirs @ c2w[..., :3, :3].transpose(-1, -2)  # (B, T, HW, 3)
    o = c2w[..., None, :3, 3].expand_as(d)
    m = torch.cross(o, d, dim=-1)
    out = torch.cat([m, d], dim=-1).reshape(b, t, height, width, 6)
    return out.permute(0, 4, 1, 2, 3).contiguous()


def relative_pairs(c2w: torch.Tensor) -> torch.Tensor:
    """(B, T, T, 4, 4): [b, i, j] = inverse(c2w[j]) @ c2w[i], mapping camera-i into camera-j coordinates."""
    c2w = c2w.float()
    inv = torch.linalg.inv(c2w)
    return inv[:, None, :, :, :] @ c2w[:, :, None, :, :]


def perturb_zero_translations(t: torch.Tensor, seed: int, eps: float = 1e-6) -> torch.Tensor:
    """Replace pair translations (B, T, T, 3) whose components are all below eps by N(0, 1) * eps.

    Upstream does this so the same-frame blocks get a (random) epipolar line through the pixel itself;
    a seeded CPU generator makes it reproducible and independent of batch position.
    """
    zero = (t.abs() < eps).all(dim=-1, keepdim=True)
    gen = torch.Generator().manual_seed(int(seed))
    noise = torch.randn(t.shape, generator=gen, dtype=torch.float32).to(t.device) * eps
    return torch.where(zero, noise, t)


def fundamental_matrices(c2w: torch.Tensor, K: torch.Tensor, t_pairs: torch.Tensor | None = None,
                         seed: int = 0) -> torch.Tensor:
    """(B, T, T, 3, 3) F with l = F[b, i, j] p: epipolar line in frame j of pixel p of frame i.

    F = K_j^-T [t]x R K_i^-1 with (R, t) from `relative_pairs`; zero translations are perturbed
    (see `perturb_zero_translations`) unless `t_pairs` (B, T, T, 3) gives the translations to use.
    """
    pairs = relative_pairs(c2w)
    R = pairs[..., :3, :3]
    t = pairs[..., :3, 3] if t_pairs is None else t_pairs.float().to(R.device)
    if t_pairs is None:
        t = perturb_zero_translations(t, seed)
    E = torch.cross(t[..., :, None].expand_as(R), R, dim=-2)  # [t]x R, column by column
    k_inv = torch.linalg.inv(K.float())
    return k_inv[:, None, :, :, :].transpose(-1, -2) @ E @ k_inv[:, :, None, :, :]


def cell_centres(rows: int, cols: int, d: int, device: torch.device | None = None) -> torch.Tensor:
    """(rows*cols, 3) homogeneous pixel coordinates of feature cells, row-major: (x*d + d/2 - .5, y*d + ...)."""
    y = torch.arange(rows, device=device, dtype=torch.float32) * d + d / 2.0 - 0.5
    x = torch.arange(cols, device=device, dtype=torch.float32) * d + d / 2.0 - 0.5
    gy, gx = torch.meshgrid(y, x, indexing="ij")
    return torch.stack([gx, gy, torch.ones_like(gx)], dim=-1).reshape(-1, 3)


def pack_bits(mask: torch.Tensor) -> torch.Tensor:
    """Bool (..., L) -> uint8 (..., ceil(L/8)), big-endian within a byte (numpy.packbits order)."""
    n = mask.shape[-1]
    pad = (-n) % 8
    if pad:
        mask = torch.nn.functional.pad(mask, (0, pad), value=False)
    weights = torch.tensor([1 << s for s in _BIT_SHIFTS], dtype=torch.uint8, device=mask.device)
    m = mask.reshape(*mask.shape[:-1], -1, 8).to(torch.uint8) * weights
    return m.sum(dim=-1, dtype=torch.uint8)


def unpack_bits(packed: torch.Tensor, length: int) -> torch.Tensor:
    """uint8 (..., ceil(L/8)) -> bool (..., L), inverse of `pack_bits`."""
    shifts = torch.tensor(_BIT_SHIFTS, dtype=torch.uint8, device=packed.device)
    bits = (packed.unsqueeze(-1) >> shifts) & 1
    return bits.reshape(*packed.shape[:-1], -1)[..., :length].bool()


@dataclass
class PackedMask:
    """Boolean attention mask (Bm, L, L), stored one bit per entry; Bm = 1 broadcasts over the batch.

    Row r = query token, column c = key token; tokens are frame-major then row-major cells.
    """

    packed: torch.Tensor  # (Bm, L, ceil(L/8)) uint8
    length: int
    grid: tuple[int, int]  # (rows, cols) of the feature map
    # (Bm, L) query order grouping queries that share keys (epipolar masks: by epipolar line), or None
    query_order: torch.Tensor | None = None
    # per-element masks this one was concatenated from: their cached sparse-attention plans are reused
    parts: tuple[PackedMask, ...] | None = None
    # (Bm, L) query order for the keys of each query's own frame (epipolar masks: by the line a cell sees in
    # its own frame, a different pencil from the other frames'), or None; see sparse_attention.build_plan
    self_order: torch.Tensor | None = None

    @property
    def batch(self) -> int:
        return int(self.packed.shape[0])

    def rows(self, start: int, stop: int) -> torch.Tensor:
        """Bool (Bm, stop - start, L) rows of the mask."""
        return unpack_bits(self.packed[:, start:stop], self.length)

    def dense(self) -> torch.Tensor:
        """Bool (Bm, L, L); only for small masks (tests, conformance)."""
        return self.rows(0, self.length)

    def to(self, device: torch.device) -> PackedMask:
        order = None if self.query_order is None else self.query_order.to(device)
        own = None if self.self_order is None else self.self_order.to(device)
        return PackedMask(self.packed.to(device), self.length, self.grid, order, self_order=own)


def epipolar_mask(F: torch.Tensor, rows: int, cols: int, d: int,
                  chunk_elems: int = MASK_BUILD_CHUNK_ELEMS) -> PackedMask:
    """Packed epipolar mask for a (rows x cols) feature grid at pixel downsampling d.

    F: (B, T, T, 3, 3) from `fundamental_matrices`. Memory: the (B, L, L/8) result plus one float
    chunk of at most `chunk_elems` distances; the (T, T, N, N) float tensor is never formed.
    """
    F = F.float()
    b, t = F.shape[:2]
    n = rows * cols
    length = t * n
    grid = cell_centres(rows, cols, d, F.device)  # (N, 3)
    thr = d * math.sqrt(2) / 2
    out = torch.empty((b, length, (length + 7) // 8), dtype=torch.uint8, device=F.device)
    step = max(1, min(n, chunk_elems // length))
    with torch.no_grad():
        for bi in range(b):
            for i in range(t):
                lines = F[bi, i] @ grid.T  # (Tj, 3, N): line in frame j of every cell of frame i
                lines = lines / lines[:, :2].norm(dim=1, keepdim=True)
                for p0 in range(0, n, step):
                    p1 = min(n, p0 + step)
                    seg = lines[:, :, p0:p1].transpose(1, 2)  # (Tj, P, 3)
                    dist = (seg @ grid.T).abs_()  # (Tj, P, N)
                    ok = (dist < thr).transpose(0, 1).reshape(p1 - p0, length)
                    out[bi, i * n + p0:i * n + p1] = pack_bits(ok)
    return PackedMask(out, length, (rows, cols), epipolar_query_order(F, grid),
                      self_order=epipolar_self_order(F, grid))


def epipolar_self_order(F: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """(B, T*N) token order, frame by frame, sorting each frame's cells by the line they see in their own frame.

    F[i, i] comes from a perturbed zero translation (`perturb_zero_translations`), so a cell's own-frame line
    passes through the cell and the epipole e = null(F[i, i]): cells on one line through e see the same line.
    The lines l = p x e lie in the plane orthogonal to e, so their angle in an orthonormal basis (a, b) of that
    plane orders them, epipole finite or at infinity alike. Only the order depends on it, never the mask.
    """
    b, t = F.shape[:2]
    n = grid.shape[0]
    out = torch.empty((b, t * n), dtype=torch.int64, device=F.device)
    for bi in range(b):
        for i in range(t):
            f = F[bi, i, i].double()
            e = torch.linalg.eigh(f.T @ f)[1][:, 0]
            basis = torch.linalg.eigh(torch.eye(3, dtype=e.dtype, device=e.device) - torch.outer(e, e))[1][:, 1:]
            lines = torch.cross(grid.double(), e.expand(n, 3), dim=1) @ basis  # (N, 2) coordinates in (a, b)
            angle = torch.atan2(lines[:, 1], lines[:, 0]) % math.pi
            out[bi, i * n:(i + 1) * n] = torch.argsort(angle, stable=True) + i * n
    return out


def epipolar_query_order(F: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """(B, T*N) token order, frame by frame, sorting each frame's cells by the angle of their epipolar line.

    Cells on one epipolar line of frame i see the same line in frame j, so grouping them makes a block of
    queries need few keys (the sparse attention's blocks). Frame i's lines pass through its epipoles
    e_ij (F[i, j] e = 0); for a smooth path those nearly coincide, so e_i is the least-squares common
    null vector of the normalised F[i, j], j != i. Only the order depends on it, never the mask.
    """
    b, t = F.shape[:2]
    n = grid.shape[0]
    out = torch.empty((b, t * n), dtype=torch.int64, device=F.device)
    others = ~torch.eye(t, dtype=torch.bool, device=F.device)
    for bi in range(b):
        for i in range(t):
            f = F[bi, i][others[i]].double() if t > 1 else F[bi, i].double()
            f = f / f.flatten(1).norm(dim=1).clamp_min(1e-300)[:, None, None]
            e = torch.linalg.eigh((f.transpose(1, 2) @ f).sum(0))[1][:, 0].float()
            lines = torch.cross(grid, e.expand_as(grid), dim=1)
            angle = torch.atan2(lines[:, 1], lines[:, 0]) % math.pi
            out[bi, i * n:(i + 1) * n] = torch.argsort(angle, stable=True) + i * n
    return out


def epipolar_masks(camera: CameraCondition, factors: tuple[int, ...] | list[int],
                   chunk_elems: int = MASK_BUILD_CHUNK_ELEMS) -> dict[int, PackedMask]:
    """Packed masks {d: PackedMask (B, L, L)} for every downsampling factor d dividing the image size."""
    height, width = camera.image_size
    F = fundamental_matrices(camera.c2w_rel, camera.K, camera.t_pairs, camera.seed)
    out = {}
    for d in factors:
        if height % d == 0 and width % d == 0:
            out[int(d)] = epipolar_mask(F, height // d, width // d, int(d), chunk_elems)
    return out
