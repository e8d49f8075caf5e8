"""The 'surface' render mode (gaps closed, cut at depth jumps), the node's blockwise preview, and interrupts."""

from __future__ import annotations

import gc
import math
import warnings

import pytest
import torch

from realcam_core.scene.geometry import unproject_depth
from realcam_core.scene.render import render_point_cloud, render_preview, render_scene, shaping_mask
from realcam_core.scene.types import Scene

H, W = 40, 64
F = 32.0
K = torch.tensor([[F, 0.0, W / 2], [0.0, F, H / 2], [0.0, 0.0, 1.0]])


def _scene(depth: torch.Tensor) -> Scene:
    g = torch.Generator().manual_seed(0)
    image = torch.rand(H, W, 3, generator=g)
    return Scene(image=image, depth=depth, K=K, mask=depth > 0).validate()


def _pose(yaw_deg: float = 0.0, t=(0.0, 0.0, 0.0)) -> torch.Tensor:
    a = math.radians(yaw_deg)
    c2w = torch.eye(4)
    c2w[0, 0], c2w[0, 2], c2w[2, 0], c2w[2, 2] = math.cos(a), math.sin(a), -math.sin(a), math.cos(a)
    c2w[:3, 3] = torch.tensor(t)
    return c2w


def test_surface_render_of_a_tilted_plane_is_its_analytic_projection(one_thread):
    # the floor-like plane y = 1 (y down), seen at a grazing angle (adjacent rows up to 10 % apart in depth) by the source camera, then from a
    # camera 0.3 m closer at twice the resolution: the plane is magnified 2x and more. Every output pixel whose
    # ray meets the plane at a point the source saw must be covered, with the plane's own depth.
    v = torch.arange(H, dtype=torch.float64) + 0.5
    ray_y = (v - H / 2) / F
    depth = torch.where(ray_y > 0.2, 1.0 / ray_y.clamp(min=1e-9), torch.zeros(())).float()[:, None].expand(H, W)
    scene = _scene(depth.contiguous())
    c2w = _pose(t=(0.0, 0.0, 0.3))[None]
    h2, w2 = 2 * H, 2 * W
    K2 = K.clone()
    K2[:2] *= 2
    res = render_scene(scene, c2w, h2, w2, K=K2, mode="surface")
    pts = render_scene(scene, c2w, h2, w2, K=K2, mode="points")
    # analytic: output pixel (i, j) ray (x, y, 1) meets y = 1 at camera depth 1 / y; world z = 0.3 + 1 / y;
    # the source saw it if it projects inside the hull of the source pixel centres with valid depth
    jj, ii = torch.meshgrid(torch.arange(w2) + 0.5, torch.arange(h2) + 0.5, indexing="xy")
    ry, rx = (ii - K2[1, 2]) / K2[1, 1], (jj - K2[0, 2]) / K2[0, 0]
    z = 1.0 / ry
    X, Zw = rx * z, z + 0.3
    us, vs = F * X / Zw + W / 2, F * 1.0 / Zw + H / 2
    first_valid_row = int(((ray_y > 0.2).nonzero()[0]).item()) + 0.5
    seen = (ry > 0) & (us >= 0.5) & (us <= W - 0.5) & (vs >= first_valid_row + 1) & (vs <= H - 0.5)
    assert seen.float().mean() > 0.15
    assert res.visible[0][seen].all(), f"{(~res.visible[0][seen]).sum()} holes"
    assert (~pts.visible[0][seen]).float().mean() > 0.05  # the plain 2-px splats leave holes here
    rel = (res.depth[0][seen] - z[seen]).abs() / z[seen]
    assert rel.max() < 0.2 and rel.mean() < 0.05  # the depth of a neighbouring sample of the same plane


@pytest.mark.parametrize("mode", ["surface", "mesh"])
def test_depth_jump_is_cut_and_the_disocclusion_stays_empty(one_thread, mode):
    # a near board (2 m) over the left half of a far wall (6 m); the camera moves 0.5 m right,
    # which uncovers a strip of wall the source never saw: neither grid mode may bridge it (no rubber sheet)
    depth = torch.full((H, W), 6.0)
    depth[:, : W // 2] = 2.0
    scene = _scene(depth)
    res = render_scene(scene, _pose(t=(0.5, 0.0, 0.0))[None], mode=mode)
    # the board's right edge (source column centre W/2 - 0.5 at x = (W/2 - 0.5 - W/2) / F * 2) moves by
    # -F * 0.5 / 2 = -8 px; the wall's first column by -F * 0.5 / 6 = -2.67 px: columns between are unseen
    board_edge = (W / 2 - 0.5) - F * 0.5 / 2.0
    wall_start = (W / 2 + 0.5) - F * 0.5 / 6.0
    gap = slice(math.ceil(board_edge + 1.5), math.floor(wall_start - 1.5))
    assert gap.stop - gap.start >= 3
    assert not res.visible[0, :, gap].any()
    d = res.depth[0][res.visible[0]]
    assert ((d - 2.0).abs() < 1e-4).logical_or((d - 6.0).abs() < 1e-4).all()  # nothing in between


def test_preview_blocks_equal_one_render_and_masks_follow_coverage(one_thread):
    v = torch.arange(H, dtype=torch.float32)[:, None]
    depth = (3.0 + 0.02 * v).expand(H, W).contiguous()
    depth[10:20, 20:30] = 1.5
    scene = _scene(depth)
    c2w = torch.stack([_pose(3.0 * i, (0.04 * i, 0.0, 0.1 * i)) for i in range(7)])
    whole = render_scene(scene, c2w, 48, 72, mode="surface")
    prev = render_preview(scene, c2w, 48, 72, mask_kernel=5, block=3, mode="surface")
    assert torch.equal(prev.frames, whole.frames)
    assert torch.equal(prev.visibility, whole.visible.float())
    assert torch.equal(prev.shaping, shaping_mask(whole.visible, 5).float())
    assert 0.3 < prev.shaping.mean() < prev.visibility.mean() < 1.0


def _output_sized(h: int, w: int):
    """Live tensors of several (h, w) frames (the renderer's kept one-frame scratch is not an output)."""
    with warnings.catch_warnings():  # isinstance on every live object touches deprecated lazy attributes
        warnings.simplefilter("ignore")
        return [o for o in gc.get_objects() if isinstance(o, torch.Tensor) and o.ndim >= 3 and o.shape[0] > 1
                and tuple(o.shape[1:3]) == (h, w)]


def test_interrupt_releases_the_output_buffers(one_thread):
    scene = _scene(torch.full((H, W), 3.0))
    n, h, w = 9, 37, 53  # an output shape no other tensor has
    c2w = torch.stack([_pose(t=(0.01 * i, 0.0, 0.0)) for i in range(n)])

    def cancel(done: int) -> None:
        if done >= 4:
            raise InterruptedError("cancelled")

    kept = None
    try:
        render_preview(scene, c2w, h, w, block=4, callback=cancel)
    except InterruptedError as exc:
        kept = exc  # ComfyUI keeps the exception (and so its traceback) until the next prompt
    assert kept is not None
    gc.collect()
    alive = [tuple(o.shape) for o in _output_sized(h, w)]
    assert not alive, alive
    # the same from render_point_cloud itself
    pts = unproject_depth(scene.depth, K).reshape(-1, 3)
    with pytest.raises(InterruptedError) as info:
        render_point_cloud(pts, scene.image.reshape(-1, 3), K, c2w, h, w, chunk=2, callback=cancel)
    gc.collect()
    assert info.value is not None
    assert not list(_output_sized(h, w))


def test_worker_threads_render_under_the_callers_inference_mode():
    # ComfyUI runs nodes under torch.inference_mode(); the CPU frame workers are other threads, where
    # that mode is off by default, and writing into the caller's inference-mode buffers would fail.
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        depth = torch.full((H, W), 2.0)
        c2w = torch.stack([_pose(yaw_deg=float(i)) for i in range(8)])
        with torch.inference_mode():
            got = render_preview(_scene(depth), c2w, H, W, block=4)
        want = render_preview(_scene(depth), c2w, H, W, block=4)
    finally:
        torch.set_num_threads(n)
    assert torch.equal(got.frames, want.frames) and torch.equal(got.visibility, want.visibility)
