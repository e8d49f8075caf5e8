"""Resampling a trajectory to a new frame count (RealCam SE3 Interpolate's re-timing), checked by hand."""

from __future__ import annotations

import torch

from realcam_core.camera import se3
from realcam_core.trajectory.interpolate import retime_keyframes, thin_keyframes
from realcam_core.trajectory.resample import resample_trajectory
from realcam_core.trajectory.types import Trajectory


def _keys(k: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(4)
    return se3.se3_exp(torch.randn(k, 6, generator=g, dtype=torch.float64) * 0.4).float()


def test_thin_keeps_ends_and_spreads_evenly() -> None:
    keys = _keys(10)
    times = [float(i) * 2 for i in range(10)]
    assert thin_keyframes(times, keys, cap=10) == (times, keys)
    t, k = thin_keyframes(times, keys, cap=4)
    assert t == [0.0, 6.0, 12.0, 18.0]  # indices 0, 3, 6, 9
    assert torch.equal(k, keys[[0, 3, 6, 9]])


def test_retime_stretches_and_leaves_room_to_close() -> None:
    assert retime_keyframes([0.0, 4.0, 12.0]) == [0.0, 4 / 12, 1.0]
    closed = retime_keyframes([0.0, 4.0, 12.0], closed=True)  # the return takes the last third
    assert all(abs(a - b) < 1e-12 for a, b in zip(closed, [0.0, 2 / 9, 2 / 3], strict=True))
    assert retime_keyframes([5.0]) == [5.0]  # one key: nothing to stretch over
    assert retime_keyframes([0.0, 0.5], closed=True) == [0.0, 0.5]  # two keys: out and back in halves


def test_resample_hits_keyframes_and_follows_the_lens() -> None:
    keys = _keys(3)
    K = torch.eye(3).repeat(3, 1, 1) * 0.5
    K[:, 2, 2] = 1.0
    K[:, 0, 0] = torch.tensor([0.5, 0.8, 1.1])  # focal animates with the keys
    traj = Trajectory(c2w=keys.clone(), K_norm=K, key_times=[0.0, 4.0, 12.0], key_c2w=keys.clone())
    out = resample_trajectory(traj, 7)
    assert out.num_frames == 7
    # key 1 at 4 / 12 of the path -> frame 2 of 0..6; the last key at frame 6
    assert torch.allclose(out.c2w[2], keys[1], atol=1e-5) and torch.allclose(out.c2w[6], keys[2], atol=1e-5)
    assert out.key_times == [0.0, 2.0, 6.0]
    assert torch.allclose(out.K_norm[[0, 2, 6], 0, 0], torch.tensor([0.5, 0.8, 1.1]), atol=1e-6)
    assert abs(float(out.K_norm[1, 0, 0]) - 0.65) < 1e-6  # linear in focal between keys
    fixed = resample_trajectory(Trajectory(c2w=keys.clone(), K_norm=torch.eye(3).repeat(3, 1, 1),
                                           key_times=[0.0, 4.0, 12.0], key_c2w=keys.clone()), 7)
    assert torch.equal(fixed.K_norm, torch.eye(3).expand(7, 3, 3))  # a fixed lens stays frame 0's
