from pathlib import Path

import pytest
import torch

from realcam_core.camera import re10k, se3
from realcam_core.errors import RealCamInputError
from realcam_core.trajectory import presets

POSE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "pose_files_upstream"


def _motion(c2w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Translation (3,) and axis-angle in degrees (3,) of the last frame relative to the first."""
    rel = se3.relative_to_first(c2w.float())[-1].double()
    return rel[:3, 3], torch.rad2deg(se3.so3_log(rel[:3, :3]))


def test_sixteen_names_one_file_each():
    assert len(presets.PRESET_NAMES) == 16
    assert sorted(p.stem for p in POSE_DIR.glob("*.txt")) == sorted(presets.PRESET_NAMES)


@pytest.mark.parametrize("name", presets.PRESET_NAMES)
def test_preset_matches_upstream_file(name):
    upstream = re10k.read_re10k(POSE_DIR / f"{name}.txt")
    n = upstream.num_frames
    assert presets.PRESETS[name]["frames"] == n
    ours = presets.make_preset(name, n)
    assert ours.num_frames == n and torch.equal(ours.c2w[0], torch.eye(4))
    se3.check_rotations(ours.c2w[:, :3, :3], name, atol=1e-6)
    glitch = name in ("look_up", "look_down")
    last = n - 1 if glitch else n  # upstream's final look up/down frame is the known 180 degree glitch
    # direction and magnitude of the motion, frame by frame
    assert torch.allclose(ours.c2w[:last], upstream.c2w[:last], atol=2e-6), name
    t_up, w_up = _motion(upstream.c2w[:last])
    t_ours, w_ours = _motion(ours.c2w[:last])
    assert torch.allclose(t_ours, t_up, atol=1e-5) and torch.allclose(w_ours, w_up, atol=1e-3)


def test_look_up_down_without_the_last_frame_glitch():
    for name, sign in (("look_up", 1.0), ("look_down", -1.0)):
        upstream = re10k.read_re10k(POSE_DIR / f"{name}.txt")
        assert se3.rotation_angle(upstream.c2w[-1, :3, :3].double()).item() > 170.0  # the documented glitch
        ours = presets.make_preset(name, 50)
        _, w = _motion(ours.c2w)
        assert torch.allclose(w, torch.tensor([sign * 90.0, 0.0, 0.0], dtype=torch.float64), atol=1e-4)


def test_directions_in_camera_terms():
    def last(name, **kw):
        return presets.make_preset(name, 16, **kw).c2w[-1].double()

    assert last("zoom_in")[2, 3] == pytest.approx(1.0) and last("zoom_out")[2, 3] == pytest.approx(-1.0)
    assert last("pan_left")[0, 3] == pytest.approx(-2.0) and last("pan_right")[0, 3] == pytest.approx(1.0)
    assert last("pan_up")[1, 3] == pytest.approx(-1.0) and last("pan_down")[1, 3] == pytest.approx(1.0)
    assert last("look_left")[0, 2] == pytest.approx(-1.0, abs=1e-6)  # forward axis turned to -x
    assert last("look_up")[1, 2] == pytest.approx(-1.0, abs=1e-6)  # forward axis turned to -y (up)
    orbit = last("orbit_left")
    assert torch.allclose(orbit[:3, 3], torch.tensor([-3.0, 0.0, 3.0], dtype=torch.float64), atol=1e-6)
    # the pivot stays in the middle of the view: the camera's forward ray passes through (0, 0, 3)
    to_pivot = torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64) - orbit[:3, 3]
    assert torch.allclose(orbit[:3, 2], to_pivot / to_pivot.norm(), atol=1e-6)
    up = last("orbit_up")
    assert torch.allclose(up[:3, 3], torch.tensor([0.0, -2**0.5, 2 - 2**0.5], dtype=torch.float64), atol=1e-6)


def test_parameters_scale_the_motion():
    half = presets.make_preset("look_right", 9, amplitude=45.0)
    assert se3.rotation_angle(half.c2w[-1, :3, :3].double()).item() == pytest.approx(45.0, abs=1e-4)
    wide = presets.make_preset("orbit_right", 9, amplitude=30.0, orbit_radius=5.0)
    pivot = torch.tensor([0.0, 0.0, 5.0])
    assert torch.allclose((wide.c2w[:, :3, 3] - pivot).norm(dim=1), torch.full((9,), 5.0), atol=1e-5)
    flat = presets.make_preset("pan_up", 5, amplitude=2.0, pan_target_distance=0)
    assert torch.equal(flat.c2w[:, :3, :3], torch.eye(3).expand(5, 3, 3))
    reverse = presets.make_preset("zoom_in", 5, amplitude=-0.5)
    assert reverse.c2w[-1, 2, 3].item() == pytest.approx(-0.5)
    # constant speed: equal steps between frames
    steps = presets.make_preset("pan_right", 11).c2w[:, 0, 3].diff()
    assert torch.allclose(steps, torch.full((10,), 0.1), atol=1e-6)


def test_names_and_bad_arguments():
    assert presets.normalize_preset_name("Rotate anti-clockwise") == "rotate_anti-clockwise"
    assert presets.normalize_preset_name("zoom in") == "zoom_in"
    assert presets.make_preset("stationary", 1).num_frames == 1
    with pytest.raises(RealCamInputError, match="preset: unknown name 'spin'"):
        presets.make_preset("spin")
    with pytest.raises(RealCamInputError, match="num_frames"):
        presets.make_preset("zoom_in", 0)
    with pytest.raises(RealCamInputError, match="num_frames"):
        presets.make_preset("zoom_in", 2000)
    with pytest.raises(RealCamInputError, match="amplitude"):
        presets.make_preset("zoom_in", 8, amplitude=float("nan"))
    with pytest.raises(RealCamInputError, match="orbit_radius"):
        presets.make_preset("orbit_left", 8, orbit_radius=-1.0)
