"""Trajectory helpers for loops and long videos: closing, splitting, joining, the loop check."""

from __future__ import annotations

import pytest
import torch

from realcam_core.camera import se3
from realcam_core.errors import RealCamInputError
from realcam_core.trajectory import clips
from realcam_core.trajectory.interpolate import interpolate_c2w, interpolate_trajectory
from realcam_core.trajectory.presets import make_preset


def _keys(k: int, seed: int = 0, scale: float = 0.5) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    out = se3.se3_exp(torch.randn(k, 6, generator=g, dtype=torch.float64) * scale)
    out[0] = torch.eye(4, dtype=torch.float64)
    return out.float()


def _step_twist(c2w: torch.Tensor, i: int, j: int) -> torch.Tensor:
    """Body twist (6,) from frame i to frame j (float64)."""
    c = c2w.double()
    return se3.se3_log(se3.invert(c[i:i + 1]) @ c[j:j + 1])[0]


def _velocity(c2w: torch.Tensor, j: int, side: int) -> torch.Tensor:
    """Second-order one-sided body velocity per frame at frame j (side +1: from the right, -1: left)."""
    return side * (4.0 * _step_twist(c2w, j, j + side) - _step_twist(c2w, j, j + 2 * side)) / 2.0


# -- loop check ----------------------------------------------------------------------------
def test_loop_check_measures_the_gap_of_an_open_path():
    traj = make_preset("zoom_in", 16, amplitude=0.8)
    chk = clips.check_loop(traj)
    assert not chk.closed
    assert chk.translation_m == pytest.approx(0.8, abs=1e-6)
    assert chk.rotation_deg == pytest.approx(0.0, abs=1e-4)
    assert "does NOT return" in chk.message

    look = make_preset("look_left", 16, amplitude=30.0)
    chk = clips.check_loop(look)
    assert not chk.closed and chk.rotation_deg == pytest.approx(30.0, abs=1e-3)


def test_loop_check_accepts_a_closed_path_and_scales_its_tolerance():
    keys = _keys(3)
    c2w = interpolate_c2w([0.0, 0.3, 0.6], keys, 24, method="smooth", time_unit="normalized", closed=True)
    chk = clips.check_loop(c2w)
    assert chk.closed and chk.translation_m < 1e-5 and chk.rotation_deg < 1e-3
    # 5 mm off on a 100 m path is closed by the relative tolerance, 5 mm on a 0.1 m path is not
    big = torch.eye(4).expand(3, 4, 4).clone()
    big[1, 0, 3], big[2, 0, 3] = 100.0, 0.005
    assert clips.check_loop(big).closed
    small = big.clone()
    small[1, 0, 3] = 0.1
    assert not clips.check_loop(small).closed


# -- closing -------------------------------------------------------------------------------
def test_close_trajectory_returns_to_start_with_a_c1_seam():
    traj = interpolate_trajectory([0, 8, 15], _keys(3, seed=2), 16, method="smooth")
    n = 121  # fine sampling so finite differences see the velocity, not the step
    closed = clips.close_trajectory(traj, num_frames=n)
    c = closed.c2w
    assert c.shape == (n, 4, 4)
    assert torch.allclose(c[-1], c[0], atol=1e-6)
    assert clips.check_loop(closed).closed
    # keyframes kept (before the return segment) and the path really moves
    assert torch.allclose(c[0], traj.c2w[0], atol=1e-6)
    v_start = _velocity(c, 0, +1)
    v_end = _velocity(c, n - 1, -1)  # frame n-1 is frame 0's pose, so both are in the same body frame
    assert float(v_start.norm()) > 1e-3
    # C1: the velocity arriving at the seam equals the one leaving it (second-order estimates)
    assert float((v_end - v_start).norm()) < 0.01 * float(v_start.norm())
    # the same path closed with linear_se3 has a kink at the seam: the check can fail
    keys = torch.cat([traj.key_c2w])
    lin = interpolate_c2w([0.0, 8 / 15 * 0.75, 0.75], keys, n, method="linear_se3", time_unit="normalized",
                          closed=True)
    kink = _velocity(lin, n - 1, -1) - _velocity(lin, 0, +1)
    assert float(kink.norm()) > 0.2 * float(_velocity(lin, 0, +1).norm())


def test_close_trajectory_two_keys_go_out_and_back_in_halves():
    traj = make_preset("zoom_in", 2, amplitude=1.0)
    closed = clips.close_trajectory(traj, num_frames=17)
    z = closed.c2w[:, 2, 3]
    assert int(torch.argmax(z)) == 8 and z[8] == pytest.approx(1.0, abs=1e-6)
    assert z[0] == pytest.approx(0.0, abs=1e-7) and z[-1] == pytest.approx(0.0, abs=1e-6)


def test_close_trajectory_of_a_path_that_already_loops_keeps_its_timing():
    keys = _keys(4, seed=3)
    keys = torch.cat([keys, keys[:1]])
    traj = interpolate_trajectory([0, 4, 8, 12, 16], keys, 17, method="smooth")
    closed = clips.close_trajectory(traj)
    for i, t in zip((4, 8, 12), (4, 8, 12), strict=True):
        assert torch.allclose(closed.c2w[t], keys[i // 4], atol=1e-5)


def test_close_trajectory_refuses_bad_input():
    traj = make_preset("zoom_in", 4)
    with pytest.raises(RealCamInputError, match="num_frames"):
        clips.close_trajectory(traj, num_frames=2)
    with pytest.raises(RealCamInputError, match="return_fraction"):
        clips.close_trajectory(traj, return_fraction=1.5)


def test_retarget_end_bends_the_path_onto_the_end_pose():
    traj = make_preset("orbit_left", 16, amplitude=40.0)
    end = se3.from_euler(torch.tensor([0.0]), torch.tensor([0.5]), torch.tensor([0.0]))[0].float()
    end[:3, 3] = torch.tensor([0.3, 0.0, 0.2])
    out = clips.retarget_end(traj.c2w, end)
    assert torch.equal(out[0], traj.c2w[0]) and torch.allclose(out[-1], end, atol=1e-6)
    se3.check_poses(out, "out")
    # a path that already ends there is unchanged
    same = clips.retarget_end(traj.c2w, traj.c2w[-1])
    assert torch.allclose(same, traj.c2w, atol=1e-5)


# -- clips ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "overlap", "starts", "pad"), [
    (16, 1, (0,), 0), (10, 4, (0,), 6), (31, 1, (0, 15), 0), (30, 1, (0, 15), 1), (40, 4, (0, 12, 24), 0),
    (41, 4, (0, 12, 24, 36), 11),
])
def test_plan_clips(n, overlap, starts, pad):
    plan = clips.plan_clips(n, 16, overlap)
    assert plan.starts == starts and plan.pad == pad
    assert plan.total_frames >= n


def test_plan_clips_refuses_an_overlap_as_long_as_the_clip():
    with pytest.raises(RealCamInputError, match="overlap"):
        clips.plan_clips(40, 16, 16)


def test_clip_trajectory_keeps_relative_poses_and_split_join_round_trips():
    long = interpolate_trajectory([0, 10, 20, 30, 39], _keys(5, seed=4), 40, method="smooth")
    parts = clips.split_trajectory(long, 16, overlap=4)
    assert len(parts) == 3
    for i, part in enumerate(parts):
        s = 12 * i
        assert torch.allclose(part.c2w[0], torch.eye(4))
        # poses relative to the continuation frame (overlap - 1 = 3) equal the long path's
        ref = se3.relative_to_first(long.c2w[s:s + 16].double(), 3)
        assert torch.allclose(se3.relative_to_first(part.c2w.double(), 3), ref, atol=1e-5)
    joined = clips.join_trajectories(parts, overlap=4)
    assert joined.num_frames == 40
    assert torch.allclose(joined.c2w, long.c2w, atol=1e-4)


def test_clip_past_the_end_holds_the_last_pose_and_bad_index_is_named():
    long = make_preset("pan_right", 20)
    last = clips.clip_trajectory(long, 1, 16, overlap=1)  # frames 15..30, path ends at 19
    assert torch.allclose(last.c2w[4:], last.c2w[4].expand(12, 4, 4))
    with pytest.raises(RealCamInputError, match="clip_index"):
        clips.clip_trajectory(long, 2, 16, overlap=1)


def test_join_frames_drops_the_repeated_frames():
    a = torch.arange(16.0)[:, None, None, None].expand(16, 2, 3, 3)
    b = torch.arange(15.0, 31.0)[:, None, None, None].expand(16, 2, 3, 3)
    out = clips.join_frames([a, b], overlap=1)
    assert out.shape[0] == 31 and torch.equal(out[:, 0, 0, 0], torch.arange(31.0))
    lat = [torch.randn(1, 4, 16, 2, 2), torch.randn(1, 4, 16, 2, 2)]
    out = clips.join_frames(lat, overlap=3, dim=2, num_frames=27)
    assert out.shape == (1, 4, 27, 2, 2) and torch.equal(out[:, :, 16:], lat[1][:, :, 3:14])
    with pytest.raises(RealCamInputError, match="clip 1"):
        clips.join_frames([a, b[:1]], overlap=1)
    with pytest.raises(RealCamInputError, match="clip 1"):
        clips.join_frames([a, torch.zeros(16, 2, 4, 3)], overlap=1)
