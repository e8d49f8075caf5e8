"""Colours where the 'mesh' render mode densifies: the quad's corners' colours blended, not corner 00's.

A plane whose source image is a colour ramp (red = column, green = row, continuous), seen magnified: on the
pixels the plain 2-px splats leave empty and the densified quads fill, the colour must be the ramp at the point
of the plane seen there, projected into the source image - a hand computation (ray-plane intersection in
float64), not the renderer's. With MeshFill.BLEND off (each pixel its winning point's own colour, as before)
the same check fails: the test can tell the two apart.
"""

from __future__ import annotations

import pytest
import torch

from realcam_core.scene.render import render_scene
from realcam_core.scene.render_mesh import MeshFill
from realcam_core.scene.types import Scene

H, W = 24, 32
F = 20.0
K = torch.tensor([[F, 0.0, W / 2], [0.0, F, H / 2], [0.0, 0.0, 1.0]], dtype=torch.float64)
Z0, A, B = 2.0, 0.4, -0.2  # the plane z = Z0 + A x + B y (source camera frame, metres)


def _ramp_scene(tilted: bool) -> Scene:
    """The plane (tilted, or z = Z0 when not) filling the source view; colour (column / (W-1), row / (H-1), 0.5)."""
    a, b = (A, B) if tilted else (0.0, 0.0)
    i, j = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij")
    rx, ry = (j + 0.5 - K[0, 2]) / F, (i + 0.5 - K[1, 2]) / F
    depth = Z0 / (1.0 - a * rx - b * ry)  # the ray (rx, ry, 1) z meets the plane
    image = torch.stack([j / (W - 1), i / (H - 1), torch.full_like(j, 0.5)], -1)
    return Scene(image=image.float(), depth=depth.float(), K=K.float(), mask=depth > 0).validate()


def _truth(c2w: torch.Tensor, K_out: torch.Tensor, h: int, w: int, tilted: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Hand computation: per output pixel, the ray through its centre meets the plane at X; X projected into the
    source camera gives the continuous source pixel (column u - 0.5, row v - 0.5) and so the ramp's colour.
    -> colour (h, w, 3) and whether X lies inside the source grid's hull (a margin of 1e-6)."""
    a, b = (A, B) if tilted else (0.0, 0.0)
    c2w = c2w.double()
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float64) + 0.5, torch.arange(w, dtype=torch.float64) + 0.5,
                          indexing="ij")
    d_cam = torch.stack([x, y, torch.ones_like(x)], -1) @ torch.linalg.inv(K_out.double()).T
    d = d_cam @ c2w[:3, :3].T
    o = c2w[:3, 3]
    # (o + s d).z = Z0 + a (o + s d).x + b (o + s d).y
    s = (Z0 + a * o[0] + b * o[1] - o[2]) / (d[..., 2] - a * d[..., 0] - b * d[..., 1])
    X = o + s[..., None] * d
    col = F * X[..., 0] / X[..., 2] + K[0, 2] - 0.5
    row = F * X[..., 1] / X[..., 2] + K[1, 2] - 0.5
    colour = torch.stack([col / (W - 1), row / (H - 1), torch.full_like(col, 0.5)], -1)
    inside = (s > 0) & (col >= 1e-6) & (col <= W - 1 - 1e-6) & (row >= 1e-6) & (row <= H - 1 - 1e-6)
    return colour, inside


def _pose(yaw_deg: float, t: tuple[float, float, float]) -> torch.Tensor:
    a = torch.tensor(yaw_deg).deg2rad()
    c2w = torch.eye(4)
    c2w[0, 0], c2w[0, 2], c2w[2, 0], c2w[2, 2] = a.cos(), a.sin(), -a.sin(), a.cos()
    c2w[:3, 3] = torch.tensor(t)
    return c2w


def _filled_error(c2w: torch.Tensor, mag: float, tilted: bool, blend: bool, monkeypatch) -> tuple[torch.Tensor, int]:
    """Render the ramp magnified `mag` times; -> colour error (max over channels) on the seen pixels the
    plain 2-px splats leave empty (the mesh's gap fill), and how many pixels the plane covers there."""
    scene = _ramp_scene(tilted)
    h, w = round(mag * H), round(mag * W)
    K_out = K.clone()
    K_out[:2] *= mag
    K_out[0, 2], K_out[1, 2] = w / 2, h / 2
    monkeypatch.setattr(MeshFill, "BLEND", blend)
    res = render_scene(scene, c2w[None], h, w, K=K_out.float(), mode="mesh")
    pts = render_scene(scene, c2w[None], h, w, K=K_out.float(), mode="points")
    truth, inside = _truth(c2w, K_out, h, w, tilted)
    gap = inside & res.visible[0] & ~pts.visible[0]
    assert (res.visible[0] | ~inside).float().mean() > 0.999  # the mesh closes the plane: no holes inside it
    return (res.frames[0].double() - truth).abs().amax(-1)[gap], int(gap.sum())


def test_triangles_keep_the_nearest_corners_colour(one_thread, monkeypatch):
    # a tilted plane seen from a camera turned and moved, magnified ~5x: stretched past MID, so triangles fill the
    # gaps. Blending their corners' colours was measured no closer to the truth on the room (bench/render_holes.py),
    # so they keep the nearest corner's colour: off the ramp by up to half a source pixel's step, the same with
    # and without BLEND
    errs = [_filled_error(_pose(12.0, (-0.25, 0.1, 0.3)), 5.3, True, blend, monkeypatch) for blend in (True, False)]
    (err, n), (err_off, _) = errs
    assert n > 0.3 * 5.3 * 5.3 * H * W  # most of the image is gap between the splats
    assert torch.equal(err, err_off)
    assert (err > 2e-3).float().mean() > 0.5


@pytest.mark.parametrize("search", [0.0, 1e9])  # the winners found over the whole image / in the footprints
@pytest.mark.parametrize("blend", [True, False])
def test_densified_splats_blend_bilinearly(one_thread, monkeypatch, blend, search):
    # a plane facing the camera, magnified ~2.9x: every quad mildly stretched (diagonals 2.9 px), so densified:
    # its three added splats take the corners' colours blended bilinearly at the pixel centre (exact for a ramp
    # on an affinely magnified grid)
    monkeypatch.setattr(MeshFill, "SEARCH", search)
    err, n = _filled_error(_pose(0.0, (0.0, 0.0, 0.0)), 2.9, False, blend, monkeypatch)
    assert n > 0.2 * 2.9 * 2.9 * H * W
    if blend:
        assert err.max() < 2e-4, float(err.max())
    else:  # corner 00's colour: off by a ramp step or so
        assert (err > 5e-3).float().mean() > 0.5, float((err > 5e-3).float().mean())


def test_blending_changes_colours_only(one_thread, monkeypatch):
    # the winners (depth, coverage) are the same with and without the blend; only frames differ, only in mesh
    scene = _ramp_scene(True)
    c2w = torch.stack([_pose(12.0, (-0.25, 0.1, 0.3)), _pose(-5.0, (0.1, 0.0, 0.5)), torch.eye(4)])
    K_out = K.clone().float()
    K_out[:2] *= 3.0
    out = {}
    for blend in (True, False):
        monkeypatch.setattr(MeshFill, "BLEND", blend)
        out[blend] = render_scene(scene, c2w, 3 * H, 3 * W, K=K_out, mode="mesh")
    assert torch.equal(out[True].depth, out[False].depth) and torch.equal(out[True].visible, out[False].visible)
    assert (out[True].frames != out[False].frames).any(-1).float().mean() > 0.2
    # blended colours stay inside the source colours' range, and empty pixels keep the background
    assert out[True].frames.min() >= 0.0 and out[True].frames.max() <= 1.0
    assert (out[True].frames[~out[True].visible] == 0).all()


def test_blend_alike_with_frames_batched_as_on_gpus(one_thread, monkeypatch):
    # GPUs run the z-buffer, densify, filter and colour passes on a whole chunk of frames at once: the blended
    # colours must land on the right frames, as when frames go one by one (the CPU path)
    import realcam_core.scene.render as R

    scene = _ramp_scene(True)
    c2w = torch.stack([_pose(12.0, (-0.25, 0.1, 0.3)), _pose(-5.0, (0.1, 0.0, 0.5)), torch.eye(4), _pose(3.0, (0.0, 0.1, 0.2))])
    K_out = K.clone().float()
    K_out[:2] *= 2.9
    monkeypatch.setattr(MeshFill, "BLEND", True)
    one = render_scene(scene, c2w, round(2.9 * H), round(2.9 * W), K=K_out, mode="mesh", chunk=4)
    monkeypatch.setattr(R, "_zbuffer_batch", lambda device, chunk: chunk)
    batched = render_scene(scene, c2w, round(2.9 * H), round(2.9 * W), K=K_out, mode="mesh", chunk=4)
    assert torch.equal(one.frames, batched.frames) and torch.equal(one.depth, batched.depth)
    monkeypatch.setattr(MeshFill, "BLEND", False)
    assert not torch.equal(render_scene(scene, c2w, round(2.9 * H), round(2.9 * W), K=K_out, mode="mesh").frames,
                           one.frames)
