"""realcam_core.wan: frame counts, metric -> model scale, pose rows, embedding packing, default window."""

from __future__ import annotations

import pytest
import torch

from realcam_core import wan
from realcam_core.errors import RealCamInputError
from realcam_core.scene.types import Scene
from realcam_core.shaping import window_predicate, window_steps
from realcam_core.trajectory import presets


def scene_with(depths: list[float], invalid: float = 100.0) -> Scene:
    d = torch.tensor(depths + [invalid, 0.0], dtype=torch.float32)[None]
    mask = torch.ones_like(d, dtype=torch.bool)
    mask[0, -2] = False  # an invalid pixel: not part of the median
    return Scene(image=torch.zeros(1, d.shape[1], 3), depth=d, K=torch.eye(3), mask=mask)


def test_frame_choices_are_4k_plus_1_for_wan():
    for name, n in wan.FRAME_CHOICES.items():
        if name.startswith("Wan"):
            assert n % 4 == 1 and wan.check_length(n) == n and str(n) in name
    assert wan.frames_for("Wan 81 frames", 16) == 81 and wan.frames_for("custom", 23) == 23
    assert wan.latent_frames(81) == 21 and wan.latent_frames(49) == 13


@pytest.mark.parametrize("n,near", [(80, 81), (16, 17), (83, 85), (2, 1)])
def test_bad_length_names_the_nearest(n, near):
    with pytest.raises(RealCamInputError, match=rf"length: expected 4k\+1 .*nearest: {near}\), got {n}"):
        wan.check_length(n)


def test_median_depth_ignores_invalid_pixels():
    assert wan.median_depth(scene_with([1.0, 3.0, 5.0])) == 3.0


def test_model_scale_modes():
    s = scene_with([2.0, 4.0, 8.0])
    f, line = wan.model_scale("scene median depth", 2.0, s)
    assert f == pytest.approx(0.5) and "median depth 4 m" in line
    assert wan.model_scale("metres", 3.0, None)[0] == 3.0
    with pytest.raises(RealCamInputError, match="scene: expected a SCENE"):
        wan.model_scale("scene median depth", 1.0, None)
    with pytest.raises(RealCamInputError, match="scale: expected one of"):
        wan.model_scale("feet", 1.0, s)


def test_pose_rows_by_hand():
    traj = presets.make_preset("pan_left", 5, amplitude=1.0)
    rows = wan.pose_rows(traj, "true intrinsics")
    K = traj.K_norm[2].double()
    assert rows.shape == (5, 23)
    assert rows[2, 1:5].tolist() == [K[0, 0].item(), K[1, 1].item(), K[0, 2].item(), K[1, 2].item()]
    assert torch.equal(rows[2, 7:].reshape(4, 4), traj.c2w[2].double())
    assert (wan.pose_rows(traj, "match core")[:, 1:5] == 0.5).all()


def test_pack_embedding_by_hand():
    n, h, w = 9, 2, 3
    rays = torch.arange(n * h * w * 6, dtype=torch.float32).reshape(n, h, w, 6)
    emb = wan.pack_embedding(rays)
    assert emb.shape == (1, 24, 3, h, w)
    # latent frame 0 = pixel frame 0 four times; latent frame 2 = pixel frames 5..8; channel = 4 * ray + slot
    assert torch.equal(emb[0, 4 * 1 + 3, 0], rays[0, :, :, 1])
    assert torch.equal(emb[0, 4 * 4 + 0, 2], rays[5, :, :, 4])
    assert torch.equal(emb[0, 4 * 5 + 3, 2], rays[8, :, :, 5])
    assert torch.equal(emb[0, 4 * 2 + 1, 1], rays[2, :, :, 2])


def test_default_flow_window_shapes_the_first_tenth_whatever_the_shift():
    """Core's flow percent_to_sigma applies the shift; 20 steps -> steps 0..2 (t = 1, .95, .9) at any shift."""
    for shift in (1.0, 5.0, 8.0):
        def sig(t: float, shift: float = shift) -> float:
            return shift * t / (1 + (shift - 1) * t)

        sigmas = [sig(1 - i / 20) for i in range(21)]
        inside = window_predicate(wan.DEFAULT_FLOW_WINDOW, lambda s: s * 1000, lambda p: sig(1 - p))
        assert window_steps(sigmas, inside) == [0, 1, 2], shift
