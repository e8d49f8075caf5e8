
import pytest
import torch

from realcam_core.camera import se3
from realcam_core.errors import RealCamInputError
from realcam_core.trajectory.interpolate import (
    METHODS,
    interpolate_c2w,
    interpolate_trajectory,
    upstream_camera_pose_lerp,
)

RIGID = ("linear_se3", "geodesic", "smooth")


def _keys(k: int, seed: int = 0, scale: float = 0.7) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return se3.se3_exp(torch.randn(k, 6, generator=g, dtype=torch.float64) * scale).float()


def _orthonormality_error(c2w: torch.Tensor) -> float:
    R = c2w[:, :3, :3].double()
    return float((R.transpose(-1, -2) @ R - torch.eye(3, dtype=torch.float64)).abs().max())


def _velocity(out: torch.Tensor, j: int, side: int, dt: float) -> torch.Tensor:
    """Second-order one-sided body velocity at frame j (side +1: from the right, -1: from the left)."""
    T = out[j : j + 1].double()
    a = se3.se3_log(se3.invert(T) @ out[j + side : j + side + 1].double())[0]
    b = se3.se3_log(se3.invert(T) @ out[j + 2 * side : j + 2 * side + 1].double())[0]
    return side * (4.0 * a - b) / (2.0 * dt)


@pytest.mark.parametrize("method", METHODS)
def test_frames_on_keyframes_are_exact(method):
    keys = _keys(4)
    out = interpolate_c2w([0, 5, 9, 15], keys, 16, method=method)
    assert out.dtype == torch.float32 and out.shape == (16, 4, 4)
    for i, t in enumerate([0, 5, 9, 15]):
        assert torch.equal(out[t], keys[i]), (method, t)


def test_rigid_methods_stay_orthonormal_where_matrix_lerp_does_not():
    keys = torch.stack([torch.eye(4), se3.from_euler(90.0, 0.0, 0.0, translation=[1.0, 0.0, 0.0]).float()])
    for method in RIGID:
        out = interpolate_c2w([0, 15], keys, 16, method=method)
        assert _orthonormality_error(out) <= 1e-6, method
    lerp = interpolate_c2w([0, 15], keys, 16, method="upstream_matrix_lerp")
    assert _orthonormality_error(lerp) > 0.1  # halfway the lerped rotation shrinks to cos(45)


def test_linear_se3_reproduces_constant_velocity_screw():
    twist = torch.tensor([0.3, -0.2, 0.5, 0.1, 0.6, -0.2], dtype=torch.float64)  # per 10 frames
    key_times = [0, 10, 20, 30]
    keys = se3.se3_exp(torch.stack([twist * (t / 10) for t in key_times])).float()
    expected = se3.se3_exp(torch.stack([twist * (f / 10) for f in range(31)]))
    for method in ("linear_se3", "smooth"):
        out = interpolate_c2w(key_times, keys, 31, method=method)
        assert torch.allclose(out.double(), expected, atol=2e-6), method
    # the straight-line camera centre of `geodesic` cuts the helix
    geo = interpolate_c2w(key_times, keys, 31, method="geodesic")
    assert not torch.allclose(geo.double(), expected, atol=1e-3)


def test_smooth_with_two_keyframes_is_linear_se3():
    keys = _keys(2, seed=3)
    a = interpolate_c2w([0, 20], keys, 21, method="smooth")
    b = interpolate_c2w([0, 20], keys, 21, method="linear_se3")
    assert torch.allclose(a, b, atol=1e-6)


def test_linear_se3_follows_an_orbit_arc():
    keys = torch.stack([torch.eye(4), se3.from_euler(90.0, 0.0, 0.0).float()])
    pivot = torch.tensor([0.0, 0.0, 3.0])
    keys[1, :3, 3] = pivot - keys[1, :3, :3] @ pivot  # 90 degrees around a point 3 m ahead
    arc = interpolate_c2w([0, 10], keys, 11, method="linear_se3")
    assert torch.allclose((arc[:, :3, 3] - pivot).norm(dim=1), torch.full((11,), 3.0), atol=1e-5)
    chord = interpolate_c2w([0, 10], keys, 11, method="geodesic")
    assert (chord[5, :3, 3] - pivot).norm() < 2.2  # the chord passes closer to the pivot


def test_smooth_is_c1_at_interior_keyframes_and_linear_is_not():
    keys = _keys(5, seed=1)
    times = [0.0, 0.2, 0.5, 0.6, 0.9]
    dt = 1.0 / 1000
    jumps = {}
    for method in ("smooth", "linear_se3"):
        out = interpolate_c2w(times, keys, 1001, method=method, time_unit="normalized")
        worst = 0.0
        for t in times[1:-1]:
            j = round(t * 1000)
            vl, vr = _velocity(out, j, -1, dt), _velocity(out, j, +1, dt)
            worst = max(worst, float((vl - vr).abs().max() / vl.abs().max()))
        jumps[method] = worst
    assert jumps["smooth"] < 1e-2
    assert jumps["linear_se3"] > 0.3


@pytest.mark.parametrize("method", METHODS)
def test_closed_paths_return_to_the_first_pose(method):
    keys = _keys(3, seed=2)
    out = interpolate_c2w([0, 4, 9], keys, 16, method=method, closed=True)
    assert torch.equal(out[-1], keys[0]) and torch.equal(out[0], keys[0])
    assert torch.equal(out[9], keys[2])


def test_closed_smooth_is_c1_at_the_seam():
    keys = _keys(3, seed=2)
    dt = 1.0 / 1000
    seam = {}
    for method in ("smooth", "linear_se3"):
        out = interpolate_c2w([0.0, 0.3, 0.6], keys, 1001, method=method, time_unit="normalized", closed=True)
        v_start, v_end = _velocity(out, 0, +1, dt), _velocity(out, 1000, -1, dt)
        seam[method] = float((v_start - v_end).abs().max() / v_start.abs().max())
    assert seam["smooth"] < 1e-2
    assert seam["linear_se3"] > 0.3


def test_one_keyframe_is_static():
    key = _keys(1, seed=4)
    for method in METHODS:
        for closed in (False, True):
            out = interpolate_c2w([3.0], key, 12, method=method, closed=closed)
            assert torch.equal(out, key.expand(12, 4, 4)), (method, closed)
    assert torch.equal(interpolate_c2w([0.0], key[0], 1), key)


def test_frames_outside_the_keyframes_hold():
    keys = _keys(2, seed=5)
    out = interpolate_c2w([4, 8], keys, 12)
    assert torch.equal(out[:5], keys[0].expand(5, 4, 4))
    assert torch.equal(out[8:], keys[1].expand(4, 4, 4))


def test_time_units_agree():
    keys = _keys(3, seed=6)
    a = interpolate_c2w([0, 6, 20], keys, 21, method="smooth")
    b = interpolate_c2w([0.0, 0.3, 1.0], keys, 21, method="smooth", time_unit="normalized")
    assert torch.allclose(a, b, atol=1e-6)


def test_easing():
    keys = torch.stack([torch.eye(4), torch.eye(4)])
    keys[1, 0, 3] = 1.0
    x_lin = interpolate_c2w([0, 20], keys, 21)[:, 0, 3]
    x_eased = interpolate_c2w([0, 20], keys, 21, easing="ease_in_out")[:, 0, 3]
    assert torch.allclose(x_lin, torch.linspace(0, 1, 21), atol=1e-6)
    assert x_eased[1] < 0.5 * x_lin[1] and x_eased[-1] == 1.0 and x_eased[10] == pytest.approx(0.5, abs=1e-6)
    assert bool((x_eased.diff() >= 0).all())
    # per segment: the camera rests at the middle keyframe
    keys3 = torch.stack([torch.eye(4)] * 3)
    keys3[1, 0, 3], keys3[2, 0, 3] = 1.0, 2.0
    seg = interpolate_c2w([0, 10, 20], keys3, 21, easing="ease_in_out", ease_per_segment=True)[:, 0, 3]
    assert seg[11] - seg[10] < 0.2 * (seg[15] - seg[14])


def test_upstream_matrix_lerp_matches_camera_pose_lerp():
    dense = _keys(8, seed=7)
    reference = upstream_camera_pose_lerp(dense, 16)
    # upstream formula written out: positions linspace(0, K-1, M), floor/ceil, element-wise lerp
    pos = torch.linspace(0, 7, 16)
    lo, hi = pos.floor().long(), pos.ceil().long()
    manual = dense[lo] + (dense[hi] - dense[lo]) * pos.frac()[:, None, None]
    assert torch.allclose(reference, manual, atol=1e-6)
    ours = interpolate_c2w(torch.linspace(0, 1, 8), dense, 16, method="upstream_matrix_lerp", time_unit="normalized")
    assert torch.allclose(ours, reference, atol=1e-6)


def test_interpolate_trajectory_keeps_keyframes_in_frames():
    keys = _keys(3, seed=8)
    traj = interpolate_trajectory([0.0, 0.5, 1.0], keys, 17, time_unit="normalized", method="smooth")
    assert traj.key_times == [0.0, 8.0, 16.0]
    assert torch.equal(traj.key_c2w, keys) and traj.K_norm.shape == (17, 3, 3)
    assert torch.equal(traj.c2w[8], keys[1])


def test_validation_errors_name_the_field():
    keys = _keys(3)
    with pytest.raises(RealCamInputError, match="key_times: keyframe 1 has a non-finite time"):
        interpolate_c2w([0, float("nan"), 5], keys, 8)
    with pytest.raises(RealCamInputError, match="key_times: keyframes 1 and 2 share the time 4"):
        interpolate_c2w([0, 4, 4], keys, 8)
    with pytest.raises(RealCamInputError, match="key_times: expected ascending times"):
        interpolate_c2w([0, 5, 3], keys, 8)
    with pytest.raises(RealCamInputError, match="num_frames: expected 1 to 1024"):
        interpolate_c2w([0, 1, 2], keys, 0)
    with pytest.raises(RealCamInputError, match="num_frames: expected 1 to 1024"):
        interpolate_c2w([0, 1, 2], keys, 1025)
    with pytest.raises(RealCamInputError, match="key_times: expected 3 times"):
        interpolate_c2w([0, 1], keys, 8)
    with pytest.raises(RealCamInputError, match="method"):
        interpolate_c2w([0, 1, 2], keys, 8, method="bezier")
    with pytest.raises(RealCamInputError, match="easing"):
        interpolate_c2w([0, 1, 2], keys, 8, easing="bounce")
    with pytest.raises(RealCamInputError, match="closed=True"):
        interpolate_c2w([0, 3, 7], keys, 8, closed=True)
    nan_keys = keys.clone()
    nan_keys[2, 0, 3] = float("nan")
    with pytest.raises(RealCamInputError, match="key_c2w: frame 2 has non-finite"):
        interpolate_c2w([0, 1, 2], nan_keys, 8)
    with pytest.raises(RealCamInputError, match="key_c2w: keyframe 2 has non-finite"):
        interpolate_c2w([0, 1, 2], nan_keys, 8, method="upstream_matrix_lerp")
    sheared = keys.clone()
    sheared[1, 0, 1] += 0.1
    with pytest.raises(RealCamInputError, match="key_c2w: frame 1 rotation is not orthonormal"):
        interpolate_c2w([0, 1, 2], sheared, 8)
    with pytest.raises(RealCamInputError, match=r"key_c2w: expected shape \(K, 4, 4\)"):
        interpolate_c2w([0], torch.eye(3), 8)
