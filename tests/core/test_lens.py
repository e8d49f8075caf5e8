"""Lens animation: focal keys interpolated with the poses, carried into render / RE10K / glTF; dolly zoom end to end."""

from __future__ import annotations

import math

import pytest
import torch

from realcam_core.camera.intrinsics import fit_intrinsics
from realcam_core.camera.lens import (
    dolly_zoom,
    focal_mm_to_k_norm,
    fov_to_focal_mm,
    interpolate_K_norm,
    k_norm_to_focal_mm,
    keyframe_K_norm,
    render_K,
    with_lens_keys,
)
from realcam_core.camera.re10k import format_re10k, parse_re10k
from realcam_core.errors import RealCamInputError
from realcam_core.scene.build import scene_from_depth
from realcam_core.scene.render import render_scene
from realcam_core.trajectory.interpolate import interpolate_trajectory
from realcam_core.trajectory.presets import make_preset

H, W = 96, 144


def _subject_scene(d_subject: float = 3.0, d_wall: float = 12.0):
    """A red square 3 m ahead on a blue wall: the subject occupies a fixed block of the scene's pixels."""
    depth = torch.full((H, W), d_wall)
    image = torch.zeros(H, W, 3)
    image[..., 2] = 1.0
    depth[30:66, 54:90] = d_subject
    image[30:66, 54:90] = torch.tensor([1.0, 0.0, 0.0])
    return scene_from_depth(image, depth)


def _subject_size(frames: torch.Tensor) -> torch.Tensor:
    """(N, 2) width and height in pixels of the red subject's bounding box in each frame."""
    red = (frames[..., 0] > 0.5) & (frames[..., 2] < 0.5)
    out = []
    for m in red:
        ys, xs = torch.nonzero(m, as_tuple=True)
        out.append([float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)])
    return torch.tensor(out)


def test_focal_conversions():
    K = focal_mm_to_k_norm(36.0, 640, 480)
    assert torch.allclose(K[0], torch.tensor([[1.0, 0, 0.5], [0, 640 / 480, 0.5], [0, 0, 1]]))
    assert abs(fov_to_focal_mm(90.0) - 18.0) < 1e-9  # 36 mm sensor, 90 degrees: f = 18 mm
    assert torch.allclose(k_norm_to_focal_mm(focal_mm_to_k_norm(torch.tensor([24.0, 85.0]), 512, 320)),
                          torch.tensor([24.0, 85.0], dtype=torch.float64), atol=1e-5)
    with pytest.raises(RealCamInputError, match="focal_mm"):
        focal_mm_to_k_norm(0.0, 64, 64)


def test_focal_interpolates_with_the_pose_time_warp():
    # three keys, eased: at every frame the focal length sits at the same fraction of its segment as the camera
    keys = torch.eye(4).repeat(3, 1, 1)
    keys[:, 2, 3] = torch.tensor([0.0, 1.0, 3.0])
    K_keys = focal_mm_to_k_norm(torch.tensor([20.0, 40.0, 80.0]), 64, 64)
    times = [0.0, 4.0, 12.0]
    traj = interpolate_trajectory(times, keys, 13, method="linear_se3", easing="ease_in_out")
    K = interpolate_K_norm(times, K_keys, 13, easing="ease_in_out")
    z = traj.c2w[:, 2, 3].double()
    f = k_norm_to_focal_mm(K)
    # focal is 20 + 20 z on [0, 1] and 40 + 20 (z - 1) on [1, 3] when both follow the same (segment, u)
    expected = torch.where(z <= 1.0, 20 + 20 * z, 40 + 20 * (z - 1))
    assert torch.allclose(f, expected, atol=1e-4)
    assert f[0] == pytest.approx(20.0, abs=1e-5) and f[-1] == pytest.approx(80.0, abs=1e-5)
    assert torch.equal(keyframe_K_norm(traj, times), traj.K_norm[[0, 4, 12]])


def test_lens_keys_on_any_trajectory_and_re10k_keeps_them():
    t = with_lens_keys(make_preset("pan_left", 9), [(2.0, 24.0), (6.0, 48.0)], 512, 320)
    f = k_norm_to_focal_mm(t.K_norm)
    assert torch.allclose(f, torch.tensor([24, 24, 24, 30, 36, 42, 48, 48, 48], dtype=torch.float64), atol=1e-4)
    back = parse_re10k(format_re10k(t))
    assert torch.equal(back.K_norm, t.K_norm)


def test_render_keeps_frame0_lens_and_applies_focal_ratio():
    K_fit = torch.tensor([[100.0, 0, 64], [0, 100.0, 48], [0, 0, 1]])
    K_norm = focal_mm_to_k_norm(torch.tensor([50.0, 25.0, 100.0]), 128, 96)
    K = render_K(K_fit, K_norm)
    assert torch.allclose(K[:, 0, 0], torch.tensor([100.0, 50.0, 200.0]))
    assert torch.allclose(K[:, 1, 1], torch.tensor([100.0, 50.0, 200.0]))
    assert torch.equal(K[:, :2, 2], K_fit[:2, 2].expand(3, 2))


@pytest.mark.parametrize("easing", ["linear", "ease_in_out"])
def test_dolly_zoom_keeps_the_subject_size_in_the_preview(easing):
    scene = _subject_scene()
    preset = dolly_zoom(2, subject_distance=3.0, dolly=1.5, start_focal_mm=35.0, width=W * 2, height=H * 2)
    # through the keyframes, as SE3 Interpolate does: poses and focal lengths on the same time warp
    times = preset.key_times
    traj = interpolate_trajectory(times, preset.key_c2w, 17, easing=easing)
    K_norm = interpolate_K_norm(times, keyframe_K_norm(preset, times), 17, easing=easing)
    K_fit = fit_intrinsics(scene.K, (H, W), (H * 2, W * 2))
    frames = render_scene(scene, traj.c2w, H * 2, W * 2, K=render_K(K_fit, K_norm), splat=2).frames
    size = _subject_size(frames)
    rel = size / size[0]
    assert float((rel - 1).abs().max()) <= 0.02, rel
    # the camera really moved in halfway to the subject, and without the lens change the subject doubles
    assert traj.c2w[-1, 2, 3] == pytest.approx(1.5)
    fixed = render_scene(scene, traj.c2w[[0, -1]], H * 2, W * 2, K=K_fit, splat=2).frames
    grow = _subject_size(fixed)
    assert float(grow[1, 0] / grow[0, 0]) == pytest.approx(2.0, rel=0.05)
    assert math.isclose(float(k_norm_to_focal_mm(K_norm[-1])), 17.5, rel_tol=1e-5)


def test_parse_lens_keys_in_mm_and_fov():
    from realcam_core.camera.lens import parse_lens_keys

    assert parse_lens_keys("0:35, 24:85;", "mm", 36.0) == [(0.0, 35.0), (24.0, 85.0)]

    # 90 deg horizontal FOV on a 36 mm sensor: f = 18 / tan(45 deg) = 18 mm
    (frame, mm), = parse_lens_keys("3:90", "fov_deg", 36.0)
    assert frame == 3.0 and mm == pytest.approx(18.0)
    with pytest.raises(RealCamInputError, match="lens_keys: expected 'frame:value' pairs"):
        parse_lens_keys("0:35, 24", "mm", 36.0)
    with pytest.raises(RealCamInputError, match="at least one"):
        parse_lens_keys(" , ", "mm", 36.0)


def test_subject_distance_is_the_median_of_the_centre():
    from realcam_core.camera.lens import subject_distance

    depth = torch.full((10, 10), 9.0)
    depth[4:7, 4:7] = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 0.0]])  # rows/cols 4..6 = centre
    scene = scene_from_depth(torch.rand(10, 10, 3), depth)
    assert subject_distance(2.5, scene) == 2.5 and subject_distance(2.5, None) == 2.5
    # valid centre values 1..8 (0 is invalid): torch's median is the lower middle, 4
    assert subject_distance(0.0, scene) == 4.0
    with pytest.raises(RealCamInputError, match="subject_distance: expected metres > 0"):
        subject_distance(0.0, None)
    far = torch.full((10, 10), 5.0)
    far[4:7, 4:7] = 0.0
    with pytest.raises(RealCamInputError, match="no valid depth in its centre"):
        subject_distance(0.0, scene_from_depth(torch.rand(10, 10, 3), far))


def test_preview_K_only_for_an_animated_lens():
    from realcam_core.camera.lens import preview_K

    K = torch.tensor([[50.0, 0, 32], [0, 50.0, 24], [0, 0, 1]])
    fixed = torch.tensor([[0.8, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).expand(4, 3, 3).clone()
    assert preview_K(K, (48, 64), (96, 128), "crop", fixed) is None
    zoom = fixed.clone()
    zoom[:, 0, 0] *= torch.tensor([1.0, 1.5, 2.0, 2.5])
    zoom[:, 1, 1] *= torch.tensor([1.0, 1.5, 2.0, 2.5])
    got = preview_K(K, (48, 64), (96, 128), "crop", zoom)
    assert torch.allclose(got[0], K * torch.tensor([[2.0], [2.0], [1.0]]))  # the scene's lens at twice the size
    assert torch.allclose(got[:, 0, 0], 100.0 * torch.tensor([1.0, 1.5, 2.0, 2.5]))
