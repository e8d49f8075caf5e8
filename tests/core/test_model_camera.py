"""Plücker rays, fundamental matrices and bit-packed epipolar masks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from realcam_core.errors import RealCamInputError
from realcam_core.model.camera import (
    CameraCondition,
    cell_centres,
    epipolar_mask,
    epipolar_masks,
    fundamental_matrices,
    pack_bits,
    plucker_embedding,
    relative_pairs,
    unpack_bits,
)

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_realcam"


pytestmark = pytest.mark.usefixtures("one_thread")


def _rot_y(a: float) -> torch.Tensor:
    c, s = math.cos(a), math.sin(a)
    return torch.tensor([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _path(frames: int = 5, size: tuple[int, int] = (64, 96)) -> CameraCondition:
    """Camera moving right and forward while yawing; frame 0 = identity."""
    c2w = torch.eye(4).repeat(1, frames, 1, 1)
    for t in range(frames):
        c2w[0, t, :3, :3] = _rot_y(0.08 * t)
        c2w[0, t, :3, 3] = torch.tensor([0.15 * t, 0.02 * t, 0.1 * t])
    h, w = size
    f = 0.5 * max(h, w)
    K = torch.tensor([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1.0]]).repeat(1, frames, 1, 1)
    return CameraCondition(c2w, K, size)


def test_plucker_matches_fixture_and_its_definition():
    io = load_file(str(FIX / "io.safetensors"))
    c2w, K = io["in.camera_c2w_rel"], io["in.camera_K"]
    pl = plucker_embedding(c2w, K, 128, 128)
    assert pl.shape == (2, 6, 8, 128, 128)
    assert torch.allclose(pl[:1], io["out.plucker_embedding_b0"], atol=1e-5)
    d, m = pl[:, 3:], pl[:, :3]
    assert torch.allclose(d.norm(dim=1), torch.ones(()), atol=1e-5)
    o = c2w[:, :, :3, 3]  # (B, T, 3)
    assert torch.allclose((m * d).sum(1), torch.zeros(()), atol=1e-5)  # moment orthogonal to the ray
    assert torch.allclose(torch.linalg.cross(o[:, :, :, None, None].expand_as(d.transpose(1, 2)).transpose(1, 2), d,
                                             dim=1), m, atol=1e-5)
    # pixel (x, y) samples (x + .5, y + .5): the ray through the principal point is the optical axis
    cam = _path(frames=2, size=(64, 96))
    p = plucker_embedding(cam.c2w_rel, cam.K, 64, 96)
    centre = p[0, 3:, :, 31:33, 47:49].mean(dim=(-1, -2))  # four pixels around (48, 32)
    axis = cam.c2w_rel[0, :, :3, 2].T
    assert torch.allclose(centre / centre.norm(dim=0), axis, atol=1e-3)


def test_pack_bits_is_numpy_packbits():
    g = torch.Generator().manual_seed(1)
    m = torch.rand(3, 5, 21, generator=g) > 0.5
    packed = pack_bits(m)
    assert torch.equal(packed, torch.from_numpy(np.packbits(m.numpy(), axis=-1, bitorder="big")))
    assert torch.equal(unpack_bits(packed, 21), m)


def test_fundamental_matrix_annihilates_correspondences():
    cam = _path()
    F = fundamental_matrices(cam.c2w_rel, cam.K)
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(200, 3, generator=g) * torch.tensor([2.0, 1.0, 3.0]) + torch.tensor([-1.0, -0.5, 2.0])
    w2c = torch.linalg.inv(cam.c2w_rel[0])

    def project(t: int) -> torch.Tensor:
        pc = pts @ w2c[t, :3, :3].T + w2c[t, :3, 3]
        uv = pc @ cam.K[0, t].T
        return uv / uv[:, 2:]

    for i, j in [(0, 3), (4, 1), (2, 2)]:
        if i == j:
            continue
        xi, xj = project(i), project(j)
        line = xi @ F[0, i, j].T
        line = line / line[:, :2].norm(dim=1, keepdim=True)
        assert (line * xj).sum(1).abs().max() < 1e-3  # pixels


def test_masks_contain_true_correspondences_and_are_chunk_independent():
    cam = _path()
    d = 8
    masks = epipolar_masks(cam, (d, 16))
    assert set(masks) == {8, 16}
    m = masks[d]
    rows, cols = 64 // d, 96 // d
    assert m.grid == (rows, cols) and m.length == 5 * rows * cols
    dense = m.dense()[0]
    # the same mask from one-row chunks
    F = fundamental_matrices(cam.c2w_rel, cam.K)
    assert torch.equal(epipolar_mask(F, rows, cols, d, chunk_elems=1).packed, m.packed)
    # a 3D point seen at cell p of frame i and cell q of frame j must be allowed (query p, key q)
    g = torch.Generator().manual_seed(3)
    pts = torch.rand(400, 3, generator=g) * torch.tensor([3.0, 2.0, 4.0]) + torch.tensor([-1.5, -1.0, 2.0])
    w2c = torch.linalg.inv(cam.c2w_rel[0])
    hits = total = 0
    for i in range(5):
        for j in range(5):
            if i == j:
                continue
            cells = []
            for t in (i, j):
                pc = pts @ w2c[t, :3, :3].T + w2c[t, :3, 3]
                uv = pc @ cam.K[0, t].T
                uv = uv[:, :2] / uv[:, 2:]
                cells.append(uv)
            ok = ((cells[0] >= 0) & (cells[0] < torch.tensor([96.0, 64.0]))).all(1)
            ok &= ((cells[1] >= 0) & (cells[1] < torch.tensor([96.0, 64.0]))).all(1)
            ci = (cells[0][ok] // d).long()
            cj = (cells[1][ok] // d).long()
            qi = i * rows * cols + ci[:, 1] * cols + ci[:, 0]
            kj = j * rows * cols + cj[:, 1] * cols + cj[:, 0]
            # the exact projection may sit up to half a cell diagonal off the cell centre: allow neighbours
            near = torch.zeros_like(qi, dtype=torch.bool)
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    y, x = cj[:, 1] + dy, cj[:, 0] + dx
                    valid = (y >= 0) & (y < rows) & (x >= 0) & (x < cols)
                    k = j * rows * cols + y.clamp(0, rows - 1) * cols + x.clamp(0, cols - 1)
                    near |= valid & dense[qi, k]
            hits += int(near.sum())
            total += int(ok.sum())
            assert dense[qi, kj].float().mean() > 0.8
    assert total > 500 and hits == total
    # masks are selective: far fewer than all pairs allowed
    assert dense.float().mean() < 0.5


def test_same_frame_blocks_use_a_seeded_perturbation():
    cam = _path(frames=3)
    a = epipolar_masks(cam, (8,))[8].dense()
    b = epipolar_masks(cam, (8,))[8].dense()
    assert torch.equal(a, b)
    other = CameraCondition(cam.c2w_rel, cam.K, cam.image_size, seed=7)
    c = epipolar_masks(other, (8,))[8].dense()
    n = (64 // 8) * (96 // 8)
    diag = torch.zeros_like(a[0])
    for i in range(3):
        diag[i * n:(i + 1) * n, i * n:(i + 1) * n] = True
    assert torch.equal(a[0][~diag], c[0][~diag])  # only same-frame blocks depend on the seed
    assert not torch.equal(a[0][diag], c[0][diag])
    assert a[0].diagonal().all()  # the random line passes through the pixel itself
    # off-diagonal translations of relative_pairs map camera i into camera j
    pairs = relative_pairs(cam.c2w_rel)
    assert torch.allclose(pairs[0, 2, 0], cam.c2w_rel[0, 2], atol=1e-6)


def test_masks_match_the_fixture_bits():
    io = load_file(str(FIX / "io.safetensors"))
    t = io["out.epipolar_t_pairs_perturbed"][..., 0]
    cam = CameraCondition(io["in.camera_c2w_rel"], io["in.camera_K"], (128, 128), t_pairs=t)
    masks = epipolar_masks(cam, (16, 8))
    for d in (16, 8):
        assert torch.equal(masks[d].packed, io[f"out.epipolar_mask_d{d}_packed"])


def test_camera_condition_validation_names_the_input():
    cam = _path(frames=3)
    with pytest.raises(RealCamInputError, match="camera.K"):
        CameraCondition(cam.c2w_rel, cam.K[:, :2], cam.image_size).validate()
    with pytest.raises(RealCamInputError, match="camera.c2w_rel"):
        CameraCondition(cam.c2w_rel[..., :3, :], cam.K, cam.image_size).validate()
    bad = cam.K.clone()
    bad[0, 1, 0, 0] = 0
    with pytest.raises(RealCamInputError, match="camera.K"):
        CameraCondition(cam.c2w_rel, bad, cam.image_size).validate()
    with pytest.raises(RealCamInputError, match="4 frames"):
        cam.validate(frames=4)
    assert cell_centres(2, 3, 8)[4].tolist() == [11.5, 11.5, 1.0]
