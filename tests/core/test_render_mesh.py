"""The 'mesh' render mode: the source pixel grid as triangles cut at depth jumps, on top of 2-px splats."""

from __future__ import annotations

import math

import pytest
import torch

from realcam_core.errors import RealCamInputError
from realcam_core.scene.geometry import scene_grid_cloud
from realcam_core.scene.render import RENDER_MODES, render_point_cloud, render_preview, render_scene, shaping_mask
from realcam_core.scene.render_mesh import MeshFill
from realcam_core.scene.types import Scene

H, W = 40, 64
F = 32.0
K = torch.tensor([[F, 0.0, W / 2], [0.0, F, H / 2], [0.0, 0.0, 1.0]])


def _scene(depth: torch.Tensor) -> Scene:
    g = torch.Generator().manual_seed(0)
    return Scene(image=torch.rand(H, W, 3, generator=g), depth=depth, K=K, mask=depth > 0).validate()


def _pose(yaw_deg: float = 0.0, t=(0.0, 0.0, 0.0)) -> torch.Tensor:
    """c2w: a yaw about the camera's y axis (positive turns the view towards +x), then a translation."""
    a = math.radians(yaw_deg)
    c2w = torch.eye(4)
    c2w[0, 0], c2w[0, 2], c2w[2, 0], c2w[2, 2] = math.cos(a), math.sin(a), -math.sin(a), math.cos(a)
    c2w[:3, 3] = torch.tensor(t)
    return c2w


def test_mesh_is_a_render_mode():
    assert "mesh" in RENDER_MODES and "points" in RENDER_MODES


def test_grazing_side_wall_seen_from_a_far_rotated_camera_has_no_holes(one_thread):
    # The wall x = -1 fills the left part of the source image at grazing angles (depth 1 m at the image edge
    # to 6 m, adjacent columns up to 17 % apart in depth). A camera 3 m forward, turned 70 degrees to face
    # it, sees it nearly broadside: source columns land up to ~10 px apart. Every output pixel whose ray meets
    # the wall at a point inside the source's sampled part of it must be covered, at the wall's depth.
    u = torch.arange(W, dtype=torch.float64) + 0.5
    rx = (u - W / 2) / F
    z_col = torch.where(rx < -1.0 / 6.0, -1.0 / rx.clamp(max=-1e-9), torch.zeros((), dtype=torch.float64))
    depth = z_col[None, :].expand(H, W).float().contiguous()
    scene = _scene(depth)
    c2w = _pose(-70.0, (0.0, 0.0, 3.0))[None]
    res = render_scene(scene, c2w, mode="mesh")
    pts = render_scene(scene, c2w, mode="points")
    # analytic: output ray d = R (x, y, 1) from (0, 0, 3) meets x = -1 at camera depth s = -1 / d_x
    jj, ii = torch.meshgrid(torch.arange(W, dtype=torch.float64) + 0.5, torch.arange(H, dtype=torch.float64) + 0.5,
                            indexing="xy")
    R = c2w[0, :3, :3].double()
    cam = torch.stack([(jj - W / 2) / F, (ii - H / 2) / F, torch.ones_like(jj)], -1)
    d = cam @ R.T
    s = -1.0 / d[..., 0]
    X = torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64) + d * s[..., None]
    us, vs = F * X[..., 0] / X[..., 2] + W / 2, F * X[..., 1] / X[..., 2] + H / 2
    last_valid = float(u[rx < -1.0 / 6.0].max())  # the last source column centre on the wall
    seen = (d[..., 0] < 0) & (X[..., 2] > 0) & (us >= 0.5) & (us <= last_valid) & (vs >= 0.5) & (vs <= H - 0.5)
    assert seen.float().mean() > 0.3
    assert res.visible[0][seen].all(), f"{int((~res.visible[0][seen]).sum())} holes"
    assert (~pts.visible[0][seen]).float().mean() > 0.2  # the plain 2-px splats leave holes here
    rel = (res.depth[0][seen].double() - s[seen]).abs() / s[seen]
    assert (rel < 1e-3).float().mean() > 0.8  # triangles: the plane's own (perspective-correct) depth
    assert rel.max() < 0.2  # splat pixels: a neighbouring sample's depth


def test_small_depth_jump_seen_edge_on_is_cut_too(one_thread):
    # A step of only 8 % (3.0 m -> 3.25 m) passes the depth-ratio test, but through a long lens (F = 4096) the
    # source camera sees the triangles joining the two sides edge-on (89.8 degrees, over MAX_SLANT): still
    # cut. The camera moves 5 cm right, magnified 2x: the disocclusion stays empty.
    f = 4096.0
    Kl = torch.tensor([[f, 0.0, W / 2], [0.0, f, H / 2], [0.0, 0.0, 1.0]])
    depth = torch.full((H, W), 3.25)
    depth[:, : W // 2] = 3.0
    g = torch.Generator().manual_seed(0)
    scene = Scene(image=torch.rand(H, W, 3, generator=g), depth=depth, K=Kl, mask=depth > 0).validate()
    t = 0.05
    K2 = Kl.clone()
    K2[:2] *= 2
    K2[0, 2] = W + 2 * f * t / 3.0  # keeps the board's edge in the middle of the 2W-wide output
    c2w = _pose(t=(t, 0.0, 0.0))[None]
    res = render_scene(scene, c2w, 2 * H, 2 * W, K=K2, mode="mesh")
    # source column u lands at 2 (u - W/2) - 2 f t / z + K2[0, 2]: the board's last column centre at W - 1,
    # the wall's first at W + 1 + 2 f t (1/3 - 1/3.25) (~W + 11.5); between them the disocclusion
    a = W - 1.0
    b = W + 1.0 + 2 * f * t * (1 / 3.0 - 1 / 3.25)
    gap = slice(math.ceil(a + 1.5), math.floor(b - 1.5))
    assert gap.stop - gap.start >= 3
    assert not res.visible[0, :, gap].any()
    # without the slant test (90 degrees: only the depth ratio) the strip is bridged: the test can fail
    old = MeshFill.MAX_SLANT
    MeshFill.MAX_SLANT = 90.0
    try:
        bridged = render_scene(scene, c2w, 2 * H, 2 * W, K=K2, mode="mesh")
    finally:
        MeshFill.MAX_SLANT = old
    assert bridged.visible[0, 2:-2, gap].all()  # rows inside the hull of the source pixel centres


def test_identity_view_equals_the_points_mode(one_thread):
    g = torch.Generator().manual_seed(1)
    depth = 2.0 + torch.rand(H, W, generator=g)
    scene = _scene(depth)
    c2w = torch.eye(4)[None]
    a, b = render_scene(scene, c2w, mode="mesh"), render_scene(scene, c2w, mode="points")
    assert torch.equal(a.frames, b.frames) and torch.equal(a.depth, b.depth) and torch.equal(a.visible, b.visible)
    flat = _scene(torch.full((H, W), 2.5))  # a constant-depth image comes back exactly
    assert torch.equal(render_scene(flat, c2w, mode="mesh").frames[0], flat.image)


def test_output_contract_and_preview_masks_follow_coverage(one_thread):
    v = torch.arange(H, dtype=torch.float32)[:, None]
    depth = (3.0 + 0.02 * v).expand(H, W).contiguous()
    depth[10:20, 20:30] = 1.5
    depth[0:3, 0:5] = 0.0  # invalid pixels
    scene = _scene(depth)
    c2w = torch.stack([_pose(4.0 * i, (0.05 * i, 0.0, 0.2 * i)) for i in range(7)])
    whole = render_scene(scene, c2w, 60, 96)  # mesh is the default
    assert torch.equal(whole.frames, render_scene(scene, c2w, 60, 96, mode="mesh").frames)
    assert whole.frames.shape == (7, 60, 96, 3) and whole.frames.dtype == torch.float32
    assert whole.depth.shape == (7, 60, 96) and whole.depth.dtype == torch.float32
    assert whole.visible.shape == (7, 60, 96) and whole.visible.dtype == torch.bool
    assert torch.equal(whole.visible, whole.depth > 0)
    assert (whole.frames[~whole.visible] == 0).all()  # background where nothing landed
    # every visible pixel shows one of the source colours (a corner's, never a blend)
    src = scene.image.reshape(-1, 3)
    shown = whole.frames[whole.visible]
    assert (shown[::37, None, :] - src[None]).abs().amax(-1).amin(1).max() == 0
    prev = render_preview(scene, c2w, 60, 96, mask_kernel=5, block=3)  # the node's path; mesh is the default
    assert torch.equal(prev.frames, whole.frames)
    assert torch.equal(prev.visibility, whole.visible.float())
    assert torch.equal(prev.shaping, shaping_mask(whole.visible, 5).float())
    pts = render_scene(scene, c2w, 60, 96, mode="points")
    assert whole.visible.float().mean() > pts.visible.float().mean()  # magnified: triangles close gaps


def test_mesh_mode_needs_the_source_grid():
    scene = _scene(torch.full((H, W), 2.0))
    points, colors = scene_grid_cloud(scene)
    with pytest.raises(RealCamInputError, match="grid_width"):
        render_point_cloud(points, colors, K, torch.eye(4), H, W, mode="mesh")


def test_a_single_row_has_no_quads_and_renders_as_points(one_thread):
    image = torch.rand(1, W, 3, generator=torch.Generator().manual_seed(2))
    depth = torch.full((1, W), 2.0)
    scene = Scene(image=image, depth=depth, K=K, mask=depth > 0).validate()
    c2w = _pose(3.0, (0.1, 0.0, 0.2))[None]
    a, b = render_scene(scene, c2w, 8, W, mode="mesh"), render_scene(scene, c2w, 8, W, mode="points")
    assert torch.equal(a.frames, b.frames) and torch.equal(a.visible, b.visible)


def test_slot_and_general_rasterisers_agree(one_thread, monkeypatch):
    # many triangles take the fixed s x s slot test, a few the general box walk: both must cover alike
    g = torch.Generator().manual_seed(3)
    v = torch.arange(H, dtype=torch.float32)[:, None]
    depth = (2.0 + 0.05 * v + 0.3 * torch.rand(H, W, generator=g)).contiguous()
    scene = _scene(depth)
    c2w = torch.stack([_pose(-25.0, (0.3, 0.1, 0.8)), _pose(15.0, (-0.2, 0.0, 1.2))])
    K3 = K.clone()
    K3[:2] *= 3
    out = []
    for few in (0, 10**9):
        monkeypatch.setattr(MeshFill, "FEW", few)
        out.append(render_scene(scene, c2w, 3 * H, 3 * W, K=K3, mode="mesh"))
    assert torch.equal(out[0].frames, out[1].frames) and torch.equal(out[0].depth, out[1].depth)
    assert out[0].visible.float().mean() > render_scene(scene, c2w, 3 * H, 3 * W, K=K3, mode="points").visible.float().mean() + 0.1


@pytest.mark.parametrize("mode", ["mesh", "surface", "points"])
def test_pixels_without_depth_stay_empty_when_the_camera_moves_back(mode):
    """scene_grid_cloud puts a pixel without depth at the origin (the source camera's centre); a camera moved
    back sees that point in front of it, so it must be culled as a hole, not drawn as a dot."""
    h, w = 24, 32
    depth = torch.full((h, w), 3.0)
    depth[12, 16] = 0.0  # one pixel without depth, painted red
    image = torch.zeros(h, w, 3)
    image[..., 1] = 1.0
    image[12, 16] = torch.tensor([1.0, 0.0, 0.0])
    K = torch.tensor([[20.0, 0.0, 16.0], [0.0, 20.0, 12.0], [0.0, 0.0, 1.0]])
    scene = Scene(image=image, depth=depth, K=K, mask=depth > 0).validate()
    c2w = torch.eye(4).repeat(2, 1, 1)
    c2w[1, 2, 3] = -1.0  # one metre back: the origin is 1 m in front of this camera, the wall 4 m
    out = render_scene(scene, c2w, mode=mode)
    red = (out.frames[..., 0] > 0.5) & (out.frames[..., 1] < 0.5)
    assert not bool(red.any()), f"{mode}: the depthless pixel was drawn at {red.nonzero().tolist()}"
    assert bool(out.visible[1].any())  # the wall itself is drawn
