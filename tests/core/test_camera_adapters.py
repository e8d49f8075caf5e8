from pathlib import Path

import pytest
import torch

from realcam_core.camera import adapters, re10k, se3
from realcam_core.errors import RealCamInputError
from realcam_core.trajectory import presets

POSE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "pose_files_upstream"


def _ade_load(text: str) -> list[list[float]]:
    """What AnimateDiff-Evolved's ADE_LoadCameraPoses returns for a file's text."""
    lines = text.splitlines(keepends=True)
    return [[float(x) for x in line.strip().split(" ")] for line in lines[1:]]


def test_cameractrl_poses_equal_ade_reading_of_the_same_file():
    text = (POSE_DIR / "orbit_up.txt").read_text()
    poses = _ade_load(text)
    traj = adapters.cameractrl_poses_to_trajectory(poses)
    assert torch.equal(traj.c2w, re10k.parse_re10k(text).c2w)


def test_cameractrl_round_trip_and_layout():
    traj = presets.make_preset("orbit_left", 16)
    poses = adapters.trajectory_to_cameractrl_poses(traj)
    assert len(poses) == 16 and all(len(p) == 19 for p in poses)
    assert poses[0][5:7] == [1280.0, 720.0]
    assert poses[0][1:5] == [0.5, 0.5, 0.5, 0.5]
    w2c_last = torch.tensor(poses[-1][7:], dtype=torch.float64).reshape(3, 4)
    assert torch.allclose(w2c_last, se3.c2w_to_w2c(traj.c2w[-1].double())[:3], atol=1e-12)
    back = adapters.cameractrl_poses_to_trajectory(poses)
    assert torch.equal(back.c2w, traj.c2w) and torch.equal(back.K_norm, traj.K_norm)


def test_cameractrl_errors_name_the_pose():
    good = [0.0, 0.5, 0.5, 0.5, 0.5, 1280.0, 720.0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    with pytest.raises(RealCamInputError, match="pose 1 has 18 numbers"):
        adapters.cameractrl_poses_to_trajectory([good, good[:18]])
    with pytest.raises(RealCamInputError, match="at least 1 pose"):
        adapters.cameractrl_poses_to_trajectory([])
    with pytest.raises(RealCamInputError, match="pose 0 has non-finite"):
        adapters.cameractrl_poses_to_trajectory([good[:7] + [float("inf")] + good[8:]])
    with pytest.raises(RealCamInputError, match="cameractrl_poses: expected a list"):
        adapters.cameractrl_poses_to_trajectory("poses.txt")


def test_re10k_text_helpers():
    traj = presets.make_preset("pan_up", 16)
    text = adapters.trajectory_to_re10k_text(traj, url="https://example.com/clip")
    assert text.splitlines()[0] == "https://example.com/clip"
    assert torch.equal(adapters.trajectory_from_re10k_text(text).c2w, traj.c2w)


def test_trajectory_from_c2w_relativises_and_validates():
    T = se3.se3_exp(torch.randn(6, 6, dtype=torch.float64) * 0.5).float()
    traj = adapters.trajectory_from_c2w(T)
    assert torch.equal(traj.c2w[0], torch.eye(4))
    assert torch.allclose(traj.c2w, se3.relative_to_first(T))
    assert traj.K_norm.shape == (6, 3, 3) and traj.key_c2w.shape == (6, 4, 4)
    absolute = adapters.trajectory_from_c2w(T, relative=False, K_norm=torch.eye(3))
    assert torch.equal(absolute.c2w, T)
    bad = T.clone()
    bad[2, :3, :3] *= 2.0
    with pytest.raises(RealCamInputError, match="c2w: frame 2 rotation is not orthonormal"):
        adapters.trajectory_from_c2w(bad)
    with pytest.raises(RealCamInputError, match="K_norm"):
        adapters.trajectory_from_c2w(T, K_norm=torch.eye(3).expand(5, 3, 3))
