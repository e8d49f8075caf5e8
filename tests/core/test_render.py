"""The point-cloud renderer against analytic views and a brute-force per-point z-buffer."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from realcam_core.camera.intrinsics import fit_intrinsics
from realcam_core.errors import RealCamInputError
from realcam_core.scene.geometry import scene_point_cloud, unproject_depth
from realcam_core.scene.render import RenderResult, latent_mask, render_point_cloud, render_scene, shaping_mask
from realcam_core.scene.types import Scene

H, W = 40, 64
K = torch.tensor([[32.0, 0.0, 32.0], [0.0, 32.0, 20.0], [0.0, 0.0, 1.0]])


def _image(seed: int = 0, h: int = H, w: int = W) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(h, w, 3, generator=g)


def _translation(tx: float, ty: float = 0.0, tz: float = 0.0) -> torch.Tensor:
    c2w = torch.eye(4)
    c2w[:3, 3] = torch.tensor([tx, ty, tz])
    return c2w


def _yaw(deg: float) -> torch.Tensor:
    a = math.radians(deg)
    c2w = torch.eye(4)
    c2w[0, 0], c2w[0, 2], c2w[2, 0], c2w[2, 2] = math.cos(a), math.sin(a), -math.sin(a), math.cos(a)
    return c2w


# ------------------------------------------------------------------------------------------------ unprojection


def test_unproject_uses_pixel_centres_and_keeps_depth():
    depth = torch.rand(H, W) * 4 + 1
    pts = unproject_depth(depth, K)
    assert pts.shape == (H, W, 3)
    assert torch.equal(pts[..., 2], depth)
    i, j = 7, 50
    z = depth[i, j]
    expected = torch.tensor([(j + 0.5 - 32.0) / 32.0 * z, (i + 0.5 - 20.0) / 32.0 * z, z])
    torch.testing.assert_close(pts[i, j], expected)
    # projecting back lands on the pixel centre
    uvw = pts @ K.T
    torch.testing.assert_close(uvw[..., 0] / uvw[..., 2], torch.arange(W).float().expand(H, W) + 0.5)


def test_unproject_batched_matches_single():
    depth = torch.rand(3, H, W) + 1
    Ks = torch.stack([K, K * torch.tensor([[2.0, 1, 1], [1, 2, 1], [1, 1, 1]]), K])
    batched = unproject_depth(depth, Ks)
    assert batched.shape == (3, H, W, 3)
    for b in range(3):
        torch.testing.assert_close(batched[b], unproject_depth(depth[b], Ks[b]))


# ------------------------------------------------------------------------------------------------ analytic views


@pytest.mark.parametrize("splat", [1, 2, 3, 4])
def test_identity_view_reproduces_constant_depth_image(splat):
    img = _image(1)
    depth = torch.full((H, W), 2.5)
    pts = unproject_depth(depth, K).reshape(-1, 3)
    res = render_point_cloud(pts, img.reshape(-1, 3), K, torch.eye(4)[None], H, W, splat=splat)
    assert res.visible.all()
    assert torch.equal(res.frames[0], img)
    assert torch.equal(res.depth[0], depth)


def test_identity_view_reproduces_random_depth_with_one_pixel_splats():
    img = _image(2)
    depth = torch.rand(H, W, generator=torch.Generator().manual_seed(3)) * 5 + 0.5
    pts = unproject_depth(depth, K).reshape(-1, 3)
    res = render_point_cloud(pts, img.reshape(-1, 3), K, torch.eye(4)[None], H, W, splat=1)
    assert res.visible.all()
    assert torch.equal(res.frames[0], img)
    assert torch.equal(res.depth[0], depth)


@pytest.mark.parametrize("splat", [1, 2])
def test_translation_shifts_a_fronto_parallel_plane_by_fx_tx_over_z(splat):
    img = _image(4)
    z, tx = 2.0, 0.5
    shift = int(K[0, 0] * tx / z)  # 8 px; camera moves right -> content moves left
    assert shift == K[0, 0] * tx / z
    pts = unproject_depth(torch.full((H, W), z), K).reshape(-1, 3)
    res = render_point_cloud(pts, img.reshape(-1, 3), K, _translation(tx)[None], H, W, splat=splat)
    assert torch.equal(res.frames[0, :, : W - shift], img[:, shift:])
    assert torch.equal(res.depth[0, :, : W - shift], torch.full((H, W - shift), z))
    edge = W - shift + splat // 2  # even splats reach one pixel right of the last point
    assert res.visible[0, :, :edge].all()
    assert not res.visible[0, :, edge:].any()
    assert (res.frames[0, :, edge:] == 0).all() and (res.depth[0, :, edge:] == 0).all()


def test_vertical_and_forward_motion_follow_the_pinhole_model():
    img = _image(5)
    z = 4.0
    pts = unproject_depth(torch.full((H, W), z), K).reshape(-1, 3)
    c2w = torch.stack([_translation(0.0, -0.25), _translation(0.0, 0.0, 2.0)])
    res = render_point_cloud(pts, img.reshape(-1, 3), K, c2w, H, W, splat=2)
    dy = int(K[1, 1] * 0.25 / z)  # camera moves up 0.25 m -> content moves down 2 px
    assert torch.equal(res.frames[0, dy:], img[: H - dy])
    # moving forward 2 m halves the distance: the plane doubles about the principal point (32, 20),
    # so each source pixel becomes a 2x2 block and the 2-px splats leave no cracks
    assert res.visible[1].all()
    assert torch.equal(res.depth[1], torch.full((H, W), z - 2.0))
    src_i = (torch.arange(H) + 20) // 2
    src_j = (torch.arange(W) + 32) // 2
    assert torch.equal(res.frames[1], img[src_i][:, src_j])


def test_pan_left_moves_content_right():
    img = _image(6)
    z = 2.0
    pts = unproject_depth(torch.full((H, W), z), K).reshape(-1, 3)
    c2w = torch.stack([_translation(-0.0625 * k) for k in range(4)])  # pan left: the camera moves to -x
    res = render_point_cloud(pts, img.reshape(-1, 3), K, c2w, H, W, splat=2)
    for f in range(4):
        shift = f  # fx * tx / z = 32 * 0.0625 * f / 2 = f pixels to the right
        assert torch.equal(res.frames[f, :, shift:], img[:, : W - shift])
        assert not res.visible[f, :, : max(shift - 1, 0)].any()  # the disoccluded left edge


def test_near_plane_and_behind_camera_are_culled():
    pts = torch.tensor([[0.0, 0.0, -1.0], [0.0, 0.0, 5e-4], [0.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    cols = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [0.5, 0.5, 0.5]])
    res = render_point_cloud(pts, cols, K, torch.eye(4), H, W, splat=1, near=1e-3)
    assert int(res.visible.sum()) == 1
    assert torch.equal(res.frames[0, 20, 32], cols[3]) and res.depth[0, 20, 32] == 2.0


@pytest.mark.parametrize("splat", [1, 2, 3, 4, 5])
def test_single_point_footprint(splat):
    u, v = 10.3, 7.8  # in pixel (col 10, row 7), nearest corner (col 10, row 8)
    z = 2.0
    pt = torch.tensor([[(u - 32.0) / 32.0 * z, (v - 20.0) / 32.0 * z, z]])
    res = render_point_cloud(pt, torch.ones(1, 3), K, torch.eye(4), H, W, splat=splat)
    expected = torch.zeros(H, W, dtype=torch.bool)
    if splat % 2:  # the pixel containing the point and its rings
        r = splat // 2
        expected[7 - r : 7 + r + 1, 10 - r : 10 + r + 1] = True
    else:  # the splat x splat pixels around the nearest corner
        r = splat // 2
        expected[8 - r : 8 + r, 10 - r : 10 + r] = True
    assert int(expected.sum()) == splat * splat
    assert torch.equal(res.visible[0], expected)


def test_background_colour_and_equal_depth_tie_goes_to_lower_index():
    pts = torch.tensor([[0.0, 0.0, 2.0], [0.0, 0.0, 2.0]])
    cols = torch.tensor([[0.2, 0.3, 0.4], [0.9, 0.9, 0.9]])
    res = render_point_cloud(pts, cols, K, torch.eye(4), H, W, splat=1, background=(1.0, 0.5, 0.25))
    assert torch.equal(res.frames[0, 20, 32], cols[0])
    assert torch.equal(res.frames[0, 0, 0], torch.tensor([1.0, 0.5, 0.25]))
    res = render_point_cloud(pts.flip(0), cols.flip(0), K, torch.eye(4), H, W, splat=1)
    assert torch.equal(res.frames[0, 20, 32], cols[1])


# ------------------------------------------------------------------------------------------------ brute force


def _reference_render(points, colors, K_pix, c2w, h, w, splat, near=1e-3):
    """Per-point Python z-buffer in float64: the documented footprint and (depth, rank, ...) order."""
    n = c2w.shape[0]
    frames = torch.zeros(n, h, w, 3)
    depth = torch.zeros(n, h, w)
    vis = torch.zeros(n, h, w, dtype=torch.bool)
    even = splat % 2 == 0
    offsets = range(-(splat // 2), splat // 2) if even else range(-(splat // 2), splat // 2 + 1)

    def rank(d):
        c = (abs(2 * d + 1) - 1) // 2 if even else abs(d)
        return c * c

    w2c = torch.linalg.inv(c2w.double())
    P = points.double()
    for f in range(n):
        cam = P @ w2c[f, :3, :3].T + w2c[f, :3, 3]
        anchors: dict[tuple[int, int], tuple] = {}
        best: dict[tuple[int, int], tuple] = {}
        for p in range(P.shape[0]):
            x, y, z = cam[p].tolist()
            if z <= near:
                continue
            u = K_pix[0, 0].item() * x / z + K_pix[0, 1].item() * y / z + K_pix[0, 2].item()
            v = K_pix[1, 1].item() * y / z + K_pix[1, 2].item()
            zf = float(torch.tensor(z, dtype=torch.float32))  # the renderer compares float32 depths
            if even:  # anchor: the nearest pixel corner; half: 1 if the point's own pixel is anchor + 0
                au, av = math.floor(u + 0.5), math.floor(v + 0.5)
                entry = (zf, int(v >= av), int(u >= au), p)
            else:
                au, av = math.floor(u), math.floor(v)
                entry = (zf, p)
            if (av, au) not in anchors or entry < anchors[(av, au)]:  # nearest per anchor, as documented
                anchors[(av, au)] = entry
        for (av, au), entry in anchors.items():
            for dy in offsets:
                for dx in offsets:
                    q = (av + dy, au + dx)
                    if not (0 <= q[0] < h and 0 <= q[1] < w):
                        continue
                    if even:
                        zf, half_v, half_u, p = entry
                        cand = (zf, rank(dx) + rank(dy), half_v ^ (dy == 0), half_u ^ (dx == 0), p)
                    else:
                        cand = (entry[0], rank(dx) + rank(dy), entry[1])
                    if q not in best or cand < best[q]:
                        best[q] = cand
        for (i, j), cand in best.items():
            frames[f, i, j] = colors[cand[-1]]
            depth[f, i, j] = cand[0]
            vis[f, i, j] = True
    return frames, depth, vis


def _random_cloud(seed: int, n: int = 400):
    g = torch.Generator().manual_seed(seed)
    pts = torch.empty(n, 3)
    pts[:, 2] = torch.rand(n, generator=g) * 4 - 0.5  # some behind the camera / inside the near plane
    pts[:, :2] = (torch.rand(n, 2, generator=g) - 0.5) * 3.0 * pts[:, 2:].abs().clamp(min=0.5)
    cols = torch.rand(n, 3, generator=g)
    return pts, cols


@pytest.mark.parametrize("splat", [1, 2, 3, 4])
def test_matches_brute_force_reference(splat):
    h, w = 24, 32
    Kp = torch.tensor([[20.0, 0.0, 16.0], [0.0, 22.0, 12.0], [0.0, 0.0, 1.0]])
    pts, cols = _random_cloud(10 + splat)
    c2w = torch.stack([torch.eye(4), _yaw(12.0) @ _translation(0.3, -0.1, 0.4), _translation(-0.5, 0.2, -0.3)])
    res = render_point_cloud(pts, cols, Kp, c2w, h, w, splat=splat, chunk=2)
    ref_frames, ref_depth, ref_vis = _reference_render(pts, cols, Kp, c2w, h, w, splat)
    assert ref_vis.any() and not ref_vis.all()
    assert torch.equal(res.visible, ref_vis)
    assert torch.equal(res.frames, ref_frames)
    torch.testing.assert_close(res.depth, ref_depth, rtol=1e-6, atol=0)  # float32 vs float64 projection


@pytest.mark.parametrize("splat", [2, 3])
def test_matches_brute_force_reference_with_depth_ties(splat):
    h, w = 20, 28
    Kp = torch.tensor([[18.0, 0.0, 14.0], [0.0, 18.0, 10.0], [0.0, 0.0, 1.0]])
    g = torch.Generator().manual_seed(20 + splat)
    z = torch.randint(1, 4, (500,), generator=g).float()  # three depth levels: many exact ties
    uv = torch.rand(500, 2, generator=g) * torch.tensor([w, h])
    pts = torch.stack([(uv[:, 0] - 14.0) / 18.0 * z, (uv[:, 1] - 10.0) / 18.0 * z, z], 1)
    cols = torch.rand(500, 3, generator=g)
    c2w = torch.stack([torch.eye(4), _translation(0.25, 0.0, 0.0)])
    res = render_point_cloud(pts, cols, Kp, c2w, h, w, splat=splat)
    ref_frames, ref_depth, ref_vis = _reference_render(pts, cols, Kp, c2w, h, w, splat)
    assert torch.equal(res.visible, ref_vis)
    assert torch.equal(res.frames, ref_frames)
    assert torch.equal(res.depth, ref_depth)


def test_chunking_callback_and_out_buffers_do_not_change_the_result():
    pts, cols = _random_cloud(3, 2000)
    c2w = torch.stack([_yaw(a) @ _translation(0.05 * a, 0.0, 0.02 * a) for a in range(7)])
    full = render_point_cloud(pts, cols, K, c2w, H, W, chunk=7)
    done: list[int] = []
    chunked = render_point_cloud(pts, cols, K, c2w, H, W, chunk=3, callback=done.append)
    assert done == [3, 6, 7]
    out = RenderResult(torch.empty(7, H, W, 3), torch.empty(7, H, W), torch.empty(7, H, W, dtype=torch.bool))
    reused = render_point_cloud(pts, cols, K, c2w, H, W, chunk=2, out=out)
    assert reused.frames is out.frames
    for r in (chunked, reused):
        assert torch.equal(r.frames, full.frames) and torch.equal(r.depth, full.depth)
        assert torch.equal(r.visible, full.visible)


@pytest.mark.parametrize("splat", [1, 2, 3])
def test_batched_and_portable_paths_equal_the_per_frame_path(monkeypatch, splat):
    # GPUs run the z-buffer and filter on whole chunks at once; force that path on the CPU
    import realcam_core.scene.render as render_mod

    pts, cols = _random_cloud(6, 3000)
    c2w = torch.stack([_yaw(2.0 * a) @ _translation(0.05 * a, 0.01 * a, 0.03 * a) for a in range(5)])
    per_frame = render_point_cloud(pts, cols, K, c2w, H, W, splat=splat, chunk=3)
    monkeypatch.setattr(render_mod, "_zbuffer_batch", lambda device, chunk: chunk)
    batched = render_point_cloud(pts, cols, K, c2w, H, W, splat=splat, chunk=3)
    monkeypatch.setattr(render_mod, "_LITTLE_ENDIAN", False)  # the portable key packing (shifts, no views)
    portable = render_point_cloud(pts, cols, K, c2w, H, W, splat=splat, chunk=2)
    assert per_frame.visible.any() and not per_frame.visible.all()
    for other in (batched, portable):
        assert torch.equal(other.visible, per_frame.visible)
        assert torch.equal(other.frames, per_frame.frames)
        assert torch.equal(other.depth, per_frame.depth)


def test_kept_workspace_is_not_shared_by_nested_or_different_renders():
    pts, cols = _random_cloud(8, 1500)
    c2w = torch.stack([_yaw(3.0 * a) @ _translation(0.05 * a, 0.0, 0.0) for a in range(4)])
    other = torch.stack([_yaw(-4.0 * a) @ _translation(0.0, 0.04 * a, 0.02 * a) for a in range(4)])
    first = render_point_cloud(pts, cols, K, c2w, H, W, chunk=2, splat=3)
    other_alone = render_point_cloud(pts, cols, K, other, H, W, chunk=2, splat=4)
    inner: list[RenderResult] = []

    def nested(done: int) -> None:  # renders between the outer render's chunks
        inner.append(render_point_cloud(pts, cols, K, other, H, W, chunk=2, splat=4))
        inner.append(render_point_cloud(pts, cols, K, other, H, W, chunk=2, splat=4))

    again = render_point_cloud(pts, cols, K, c2w, H, W, chunk=2, splat=3, callback=nested)
    assert len(inner) == 4
    for a, b in [(first, again)] + [(other_alone, r) for r in inner]:
        assert torch.equal(a.frames, b.frames) and torch.equal(a.depth, b.depth)
        assert torch.equal(a.visible, b.visible)
    assert torch.equal(render_point_cloud(pts, cols, K, c2w, H, W, chunk=2, splat=3).frames, first.frames)


def test_callback_can_interrupt():
    pts, cols = _random_cloud(4, 100)

    def stop(done: int) -> None:
        raise KeyboardInterrupt(done)

    with pytest.raises(KeyboardInterrupt):
        render_point_cloud(pts, cols, K, torch.eye(4).repeat(4, 1, 1), H, W, chunk=1, callback=stop)


def test_per_frame_intrinsics():
    img = _image(7)
    pts = unproject_depth(torch.full((H, W), 2.0), K).reshape(-1, 3)
    K2 = K.clone()
    K2[0, 2] += 4.0  # principal point 4 px right: content moves 4 px right
    res = render_point_cloud(pts, img.reshape(-1, 3), torch.stack([K, K2]), torch.eye(4).repeat(2, 1, 1), H, W, splat=1)
    assert torch.equal(res.frames[0], img)
    assert torch.equal(res.frames[1, :, 4:], img[:, :-4])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    pts, cols = _random_cloud(5, 5000)
    c2w = torch.stack([_yaw(a) @ _translation(0.04 * a, 0.0, 0.03 * a) for a in range(9)])
    cpu = render_point_cloud(pts, cols, K, c2w, H, W, splat=2)
    gpu = render_point_cloud(pts.cuda(), cols.cuda(), K, c2w, H, W, splat=2)
    assert torch.equal(gpu.visible.cpu(), cpu.visible)
    assert torch.equal(gpu.frames.cpu(), cpu.frames)
    assert torch.equal(gpu.depth.cpu(), cpu.depth)


# ------------------------------------------------------------------------------------------------ scenes


def _scene(h: int = H, w: int = W) -> Scene:
    depth = torch.full((h, w), 2.0)
    depth[:5, :5] = 0.0  # invalid corner
    return Scene(image=_image(8, h, w), depth=depth, K=K.clone(), mask=depth > 0).validate()


def test_scene_point_cloud_drops_invalid_pixels():
    pts, cols = scene_point_cloud(_scene())
    assert pts.shape == (H * W - 25, 3) and cols.shape == pts.shape


def test_render_scene_identity_and_intrinsics_options():
    scene = _scene()
    res = render_scene(scene, torch.eye(4)[None], splat=1)
    assert torch.equal(res.visible[0], scene.mask)
    assert torch.equal(res.frames[0][scene.mask], scene.image[scene.mask])
    # K_norm (a trajectory's) at twice the size: each source pixel becomes a 2x2 block with a 2-px splat
    K_norm = K.clone()
    K_norm[0] /= W
    K_norm[1] /= H
    big = render_scene(scene, torch.eye(4)[None], 2 * H, 2 * W, K_norm=K_norm, splat=2)
    up = scene.image.repeat_interleave(2, 0).repeat_interleave(2, 1)
    m = scene.mask.repeat_interleave(2, 0).repeat_interleave(2, 1)
    assert torch.equal(big.frames[0][m], up[m])
    # the default fits the scene's own K to the output size
    same = render_scene(scene, torch.eye(4)[None], 2 * H, 2 * W, splat=2)
    assert torch.equal(same.frames, big.frames)


def test_fit_intrinsics_crop_and_stretch():
    Ks = torch.tensor([[256.0, 0, 256], [0, 256, 160], [0, 0, 1]])
    crop = fit_intrinsics(Ks, (320, 512), (256, 256), "crop")
    torch.testing.assert_close(crop, torch.tensor([[204.8, 0, 128], [0, 204.8, 128], [0, 0, 1]]))
    stretch = fit_intrinsics(Ks, (320, 512), (256, 256), "stretch")
    torch.testing.assert_close(stretch, torch.tensor([[128.0, 0, 128], [0, 204.8, 128], [0, 0, 1]]))


# ------------------------------------------------------------------------------------------------ masks


def _direct_erosion(vis: torch.Tensor, k: int, outside_visible: bool) -> torch.Tensor:
    n, h, w = vis.shape
    r = k // 2
    out = torch.zeros_like(vis)
    for f in range(n):
        for i in range(h):
            for j in range(w):
                ok = True
                for di in range(-r, r + 1):
                    for dj in range(-r, r + 1):
                        y, x = i + di, j + dj
                        inside = 0 <= y < h and 0 <= x < w
                        ok &= bool(vis[f, y, x]) if inside else outside_visible
                out[f, i, j] = ok
    return out


@pytest.mark.parametrize("k", [1, 3, 5])
@pytest.mark.parametrize("outside", ["ignore", "invisible"])
def test_shaping_mask_equals_direct_definition(k, outside):
    g = torch.Generator().manual_seed(k)
    vis = torch.rand(2, 12, 17, generator=g) > 0.08
    got = shaping_mask(vis, k=k, outside=outside)
    assert got.dtype == torch.bool and got.shape == vis.shape
    assert torch.equal(got, _direct_erosion(vis, k, outside == "ignore"))


def test_shaping_mask_default_matches_upstream_thresholded_conv():
    # upstream apply_thresholded_conv(mask, kernel_size=5, threshold=1.0): reflect pad, 5x5 box sum >= 25
    g = torch.Generator().manual_seed(0)
    vis = torch.rand(3, 20, 30, generator=g) > 0.03
    x = F.pad(vis.float()[None], (2, 2, 2, 2), mode="reflect").view(-1, 1, 24, 34)
    upstream = (F.conv2d(x, torch.ones(1, 1, 5, 5)) >= 25).view(3, 20, 30)
    assert torch.equal(shaping_mask(vis, k=5), upstream)
    assert torch.equal(shaping_mask(vis[0], k=5), upstream[0])


def test_latent_mask_bilinear_align_corners_threshold():
    mask = torch.ones(2, 16, 24, dtype=torch.bool)
    mask[0, 5, 9] = False
    mask[0, 10, 5] = False
    mask[0, 3, 20] = False  # between samples: no latent cell sees it
    lat = latent_mask(mask, 4, 6)
    assert lat.shape == (2, 4, 6) and lat.dtype == torch.bool
    assert lat[1].all()
    # align_corners=True: latent (i, j) samples source (i * 15/3, j * 23/5); only cells whose
    # bilinear weight on the hole exceeds 0.1 drop below 0.9
    expected = torch.ones(4, 6, dtype=torch.bool)
    for i in range(4):
        for j in range(6):
            y, x = i * 15 / 3, j * 23 / 5
            hole = 0.0
            for hy, hx in [(5, 9), (10, 5), (3, 20)]:
                hole += max(0.0, 1 - abs(y - hy)) * max(0.0, 1 - abs(x - hx))
            expected[i, j] = 1 - hole >= 0.9
    assert torch.equal(lat[0], expected)
    assert not expected.all()


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"points": torch.zeros(5, 2)}, ["points", "(P, 3)"]),
        ({"colors": torch.zeros(4, 3)}, ["colors", "(5, 3)"]),
        ({"points": torch.full((5, 3), float("nan"))}, ["points", "finite"]),
        ({"K": torch.eye(4)}, ["K", "(3, 3)"]),
        ({"c2w": torch.zeros(2, 3, 4)}, ["c2w", "(N, 4, 4)"]),
        ({"c2w": torch.zeros(1, 4, 4)}, ["c2w", "invertible"]),
        ({"splat": 0}, ["splat", "1..8"]),
        ({"splat": 2.0}, ["splat"]),
        ({"height": 0}, ["height", "positive"]),
        ({"near": -1.0}, ["near", "positive"]),
        ({"background": (1.0, 2.0)}, ["background", "3 numbers"]),
    ],
)
def test_bad_input_names_the_argument(kwargs, words):
    args = {"points": torch.rand(5, 3) + 1, "colors": torch.rand(5, 3), "K": K, "c2w": torch.eye(4)[None],
            "height": H, "width": W}
    args.update(kwargs)
    pos = [args.pop(k) for k in ("points", "colors", "K", "c2w", "height", "width")]
    with pytest.raises(RealCamInputError) as e:
        render_point_cloud(*pos, **args)
    for word in words:
        assert word in str(e.value)


def test_empty_cloud_renders_background():
    res = render_point_cloud(torch.zeros(0, 3), torch.zeros(0, 3), K, torch.eye(4), H, W, splat=2, background=0.5)
    assert not res.visible.any() and (res.frames == 0.5).all() and (res.depth == 0).all()


def test_bad_out_buffers():
    pts, cols = _random_cloud(9, 50)
    out = RenderResult(torch.empty(1, H, W, 3), torch.empty(1, H, W), torch.empty(1, H + 1, W, dtype=torch.bool))
    with pytest.raises(RealCamInputError, match="out.visible"):
        render_point_cloud(pts, cols, K, torch.eye(4), H, W, out=out)


def test_bad_mask_input():
    with pytest.raises(RealCamInputError, match="k"):
        shaping_mask(torch.ones(1, 4, 4, dtype=torch.bool), k=4)
    with pytest.raises(RealCamInputError, match="visible"):
        shaping_mask(torch.ones(4, dtype=torch.bool))
    with pytest.raises(RealCamInputError, match="latent_h"):
        latent_mask(torch.ones(1, 4, 4), 0, 2)
