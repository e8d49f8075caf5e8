import math

import pytest
import torch

from realcam_core.camera import se3
from realcam_core.errors import RealCamInputError


def _random_poses(n: int, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xi = torch.randn(n, 6, generator=g, dtype=torch.float64) * torch.tensor([scale] * 3 + [1.0] * 3, dtype=torch.float64)
    return se3.se3_exp(xi)


def test_invert_and_compose_give_identity():
    T = _random_poses(7, scale=3.0)
    eye = torch.eye(4, dtype=torch.float64).expand(7, 4, 4)
    assert torch.allclose(se3.compose(T, se3.invert(T)), eye, atol=1e-12)
    assert torch.allclose(se3.c2w_to_w2c(T) @ T, eye, atol=1e-12)
    assert torch.allclose(se3.w2c_to_c2w(se3.c2w_to_w2c(T)), T, atol=1e-12)


def test_relative_to_first_is_identity_at_frame_zero_and_left_multiplied():
    T = _random_poses(5, seed=1, scale=2.0).float()
    rel = se3.relative_to_first(T)
    assert rel.dtype == torch.float32
    assert torch.equal(rel[0], torch.eye(4))
    # inverse(T0) @ Tt, the upstream 'left' mode
    expected = torch.linalg.inv(T[0].double()) @ T.double()
    assert torch.allclose(rel.double(), expected, atol=1e-6)
    # a world-frame change (left multiplication) cancels
    W = _random_poses(1, seed=9, scale=5.0)[0].float()
    assert torch.allclose(se3.relative_to_first(W @ T), rel, atol=1e-5)


def test_relative_to_first_cancels_reflections():
    R = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    T = _random_poses(4, seed=2)
    T_reflected = T.clone()
    T_reflected[:, :3, :3] = T[:, :3, :3] @ R
    rel = se3.relative_to_first(T_reflected)
    se3.check_rotations(rel[:, :3, :3], "relative")  # proper again
    assert torch.linalg.det(rel[:, :3, :3]).min() > 0.999


def test_euler_signs_follow_opencv_camera_axes():
    forward = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    look_right = se3.from_euler(30.0, 0.0, 0.0)[:3, :3] @ forward
    look_up = se3.from_euler(0.0, 30.0, 0.0)[:3, :3] @ forward
    assert look_right[0] > 0.49 and abs(look_right[1]) < 1e-12  # +yaw turns towards +x (right)
    assert look_up[1] < -0.49  # +pitch turns towards -y (up in OpenCV)
    roll = se3.from_euler(0.0, 0.0, 90.0)[:3, :3]
    assert torch.allclose(roll @ torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
                          torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), atol=1e-12)
    batch = se3.from_euler(torch.tensor([0.0, 90.0]), torch.tensor([0.0, 0.0]), 0.0, translation=[1.0, 2.0, 3.0])
    assert batch.shape == (2, 4, 4) and torch.allclose(batch[:, :3, 3], torch.tensor([1.0, 2.0, 3.0]).double())


def test_axis_angle_matches_euler_and_angle():
    T = se3.from_axis_angle(torch.tensor([0.0, math.pi / 2, 0.0], dtype=torch.float64), torch.tensor([1.0, 0, 0]))
    assert torch.allclose(T, se3.from_euler(90.0, 0.0, 0.0, translation=[1.0, 0.0, 0.0]), atol=1e-12)
    assert se3.rotation_angle(T[:3, :3]).item() == pytest.approx(90.0)


def test_look_at_points_z_at_target_and_keeps_image_upright():
    T = se3.look_at([0.0, 0.0, 0.0], [0.0, 0.0, 5.0])
    assert torch.allclose(T, torch.eye(4, dtype=torch.float64), atol=1e-12)
    T = se3.look_at([1.0, -2.0, 0.0], [3.0, 0.0, 4.0])
    z = T[:3, 2]
    d = torch.tensor([2.0, 2.0, 4.0], dtype=torch.float64)
    assert torch.allclose(z, d / d.norm(), atol=1e-12)
    se3.check_rotations(T[:3, :3], "look_at")
    assert T[1, 1] > 0  # camera y (down) still points down-ish
    with pytest.raises(RealCamInputError, match="look_at target"):
        se3.look_at([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])


def test_log_exp_round_trip():
    xi = torch.randn(20, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 0.8
    # log is unique only for rotation angles below pi (an unseeded draw sometimes went past it)
    angle = xi[:, 3:].norm(dim=-1, keepdim=True)
    xi[:, 3:] *= torch.clamp(3.0 / angle, max=1.0)
    assert torch.allclose(se3.se3_log(se3.se3_exp(xi)), xi, atol=1e-10)


def test_check_rotations_names_input_and_frame():
    R = torch.eye(3).repeat(4, 1, 1)
    se3.check_rotations(R, "ok")
    scaled = R.clone()
    scaled[2] *= 1.01
    with pytest.raises(RealCamInputError, match=r"key_c2w: frame 2 rotation is not orthonormal"):
        se3.check_rotations(scaled, "key_c2w")
    reflected = R.clone()
    reflected[3, 0, 0] = -1.0
    with pytest.raises(RealCamInputError, match=r"poses: frame 3 rotation is improper"):
        se3.check_rotations(reflected, "poses")
    se3.check_rotations(reflected, "poses", allow_reflection=True)
    nan = R.clone()
    nan[1, 1, 1] = float("nan")
    with pytest.raises(RealCamInputError, match="frame 1 has a non-finite"):
        se3.check_rotations(nan, "poses")


def test_check_poses_last_row_and_shape():
    T = torch.eye(4).repeat(3, 1, 1)
    se3.check_poses(T, "c2w")
    bad = T.clone()
    bad[1, 3, 0] = 0.5
    with pytest.raises(RealCamInputError, match=r"c2w: frame 1 last row"):
        se3.check_poses(bad, "c2w")
    with pytest.raises(RealCamInputError, match=r"c2w: expected shape \(N, 4, 4\)"):
        se3.check_poses(torch.eye(3), "c2w")


def test_snap_roundoff_only_touches_tiny_entries():
    T = torch.eye(4, dtype=torch.float64)
    T[0, 1] = 1e-17
    T[0, 2] = 4.37e-8  # cos(90 deg) in float32: a real value at float32 precision, kept
    out = se3.snap_roundoff(T)
    assert out[0, 1] == 0.0 and out[0, 2] == 4.37e-8 and out[0, 0] == 1.0
