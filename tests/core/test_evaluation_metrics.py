"""RotErr / TransErr / CamMC against hand computations, and the input checks of the evaluation (no SfM)."""

from __future__ import annotations

import math

import pytest
import torch

from realcam_core.camera.se3 import from_euler
from realcam_core.errors import RealCamInputError
from realcam_core.evaluation import camera_metrics, evaluate_camera_accuracy, plot_paths
from realcam_core.evaluation.synthetic import load_room, perturb_rotation, perturb_translation, random_smooth_path
from realcam_core.trajectory.presets import make_preset
from realcam_core.trajectory.types import Trajectory


def _path(n: int = 4) -> torch.Tensor:
    c2w = torch.eye(4, dtype=torch.float64).repeat(n, 1, 1)
    c2w[:, 0, 3] = torch.arange(n, dtype=torch.float64)  # 0, 1, 2, 3 m along x
    return c2w


def test_identical_paths_score_zero():
    c2w = _path()
    m = camera_metrics(c2w, c2w.clone(), metric_scale=1.0)
    assert m.rot_err == m.trans_err_rel == m.cammc_rel == m.trans_err_abs == m.cammc_abs == 0.0


def test_rotation_error_is_the_sum_of_geodesic_angles():
    req = _path(5)
    # every frame i >= 1 turned by an extra 0.1 rad about y, frame 0 untouched: 4 x 0.1 rad
    est = req.clone()
    extra = from_euler(math.degrees(0.1), 0.0, 0.0)
    est[1:] = est[1:] @ extra
    m = camera_metrics(req, est)
    assert m.rot_err == pytest.approx(0.4, abs=1e-9)
    # translations equal, so TransErr is 0 and CamMC is the rotation part only: |R - R'|_F = 2 sqrt(2) sin(a/2)
    assert m.trans_err_rel == pytest.approx(0.0, abs=1e-12)
    assert m.cammc_rel == pytest.approx(4 * 2 * math.sqrt(2) * math.sin(0.05), rel=1e-9)


def test_relative_metrics_ignore_scale_and_absolute_ones_do_not():
    req = _path(4)
    est = req.clone()
    est[:, :3, 3] *= 2.0  # the same path, twice as long
    m = camera_metrics(req, est, metric_scale=1.0)
    assert m.trans_err_rel == pytest.approx(0.0, abs=1e-9)
    # normalised by the requested reach (3 m): est 0, 2/3, 4/3, 2 vs req 0, 1/3, 2/3, 1
    assert m.trans_err_abs == pytest.approx(1 / 3 + 2 / 3 + 1, rel=1e-9)
    assert m.cammc_abs == pytest.approx(m.trans_err_abs, rel=1e-9)
    # a metric scale of 0.5 m per unit makes it exact again
    assert camera_metrics(req, est, metric_scale=0.5).trans_err_abs == pytest.approx(0.0, abs=1e-9)


def test_metrics_are_relative_to_frame_0():
    req = _path(4)
    offset = from_euler(30.0, 10.0, 0.0, translation=[5.0, -2.0, 1.0])
    m = camera_metrics(req, offset @ req, metric_scale=1.0)  # the same motion seen from another world frame
    assert max(m.as_dict().values()) == pytest.approx(0.0, abs=1e-9)


def test_relative_normalisation_is_the_papers():
    # each path divided by its own largest distance from frame 0: (0, 1, 2) vs (0, 1, 1) -> (0, .5, 1) vs (0, 1, 1)
    req = _path(3)
    est = req.clone()
    est[2, 0, 3] = 1.0
    assert camera_metrics(req, est).trans_err_rel == pytest.approx(0.5, abs=1e-8)  # eps 1e-9 in the divisor


def test_absolute_error_of_a_path_that_does_not_translate_is_in_metres():
    req = from_euler(torch.tensor([0.0, 5.0, 10.0]), 0.0, 0.0)
    est = req.clone()
    est[:, 0, 3] = torch.tensor([0.0, 0.1, 0.2], dtype=torch.float64)
    m = camera_metrics(req, est, metric_scale=1.0)
    assert m.abs_unit_m and m.trans_err_abs == pytest.approx(0.3, abs=1e-9)


def test_perturbations_have_their_closed_form_sums():
    c2w = random_smooth_path(9, seed=3)
    rot = camera_metrics(c2w, perturb_rotation(c2w, 8.0, "pitch"))
    assert rot.rot_err == pytest.approx(math.radians(8.0) * 9 / 2, rel=1e-9)
    trans = camera_metrics(c2w, perturb_translation(c2w, 0.25), metric_scale=1.0)
    reach = float(c2w[:, :3, 3].norm(dim=-1).max())
    assert trans.trans_err_abs == pytest.approx(0.25 * 9 / 2 / reach, rel=1e-8)  # eps 1e-9 in the divisor


def test_random_smooth_path_is_bounded_and_seeded():
    a, b = random_smooth_path(16, 1), random_smooth_path(16, 1)
    assert torch.equal(a, b) and not torch.equal(a, random_smooth_path(16, 2))
    assert torch.equal(a[0], torch.eye(4, dtype=torch.float64))
    assert float(a[:, :3, 3].abs().max()) <= 0.4 + 1e-9


# ---- bad input ---------------------------------------------------------------------------------


def _video(n: int, h: int = 64, w: int = 96) -> torch.Tensor:
    return torch.rand(n, h, w, 3, generator=torch.Generator().manual_seed(0))


def test_too_few_frames_is_a_clear_error():
    with pytest.raises(RealCamInputError, match=r"video: expected at least 3 frames.*got 2 frame"):
        evaluate_camera_accuracy(_video(2), make_preset("zoom_in", 2))


def test_frame_count_mismatch_is_a_clear_error():
    with pytest.raises(RealCamInputError, match=r"trajectory: expected as many frames as the video \(5\).*got 8"):
        evaluate_camera_accuracy(_video(5), make_preset("zoom_in", 8))


def test_video_of_another_aspect_than_the_scene_is_a_clear_error():
    room = load_room()  # 512x320
    with pytest.raises(RealCamInputError, match=r"video: expected frames with the scene's aspect ratio \(512x320\).*96x96"):
        evaluate_camera_accuracy(_video(4, 96, 96), make_preset("zoom_in", 4), scene=room)


def test_not_an_image_batch_is_a_clear_error():
    with pytest.raises(RealCamInputError, match=r"video: expected an IMAGE batch"):
        evaluate_camera_accuracy(torch.zeros(4, 64, 64), make_preset("zoom_in", 4))


def test_static_video_reports_a_camera_that_did_not_move():
    frames = _video(1).expand(6, -1, -1, -1).clone()
    traj = make_preset("look_right", 6, amplitude=10.0)
    rep = evaluate_camera_accuracy(frames, traj, trials=2)
    assert rep.ok and {t.estimate.method for t in rep.trials} == {"static"}
    assert "static video" in rep.text()
    # identity estimate vs a yaw ramp 0..10 deg: RotErr is the ramp's sum, by hand 10 deg * 6 / 2
    assert rep.metrics["RotErr"] == pytest.approx(math.radians(30.0), rel=1e-5)


def test_textureless_video_could_not_register_and_says_why():
    # flat frames whose brightness changes: not static, but nothing to match
    frames = torch.linspace(0.2, 0.6, 5)[:, None, None, None].expand(5, 64, 96, 3).clone()
    rep = evaluate_camera_accuracy(frames, make_preset("zoom_in", 5), trials=1)
    assert not rep.ok and rep.metrics is None
    assert rep.registered == [0]
    assert "could not register" in rep.text() and "0/5" in rep.text()


def test_plot_shows_both_paths():
    req = make_preset("orbit_left", 8).c2w
    img = plot_paths(req, perturb_translation(req, 0.5))
    assert img.shape == (384, 768, 3) and 0.0 <= float(img.min()) and float(img.max()) <= 1.0
    blue = (img[..., 2] > 0.9) & (img[..., 0] < 0.5)
    orange = (img[..., 0] > 0.9) & (img[..., 2] < 0.4)
    assert int(blue.sum()) > 50 and int(orange.sum()) > 50
    only = plot_paths(req, None)
    assert int(((only[..., 0] > 0.9) & (only[..., 2] < 0.4)).sum()) < int(orange.sum()) // 4


def test_trajectory_type_is_checked():
    with pytest.raises(RealCamInputError, match="trajectory"):
        evaluate_camera_accuracy(_video(4), Trajectory(c2w=torch.eye(4).repeat(4, 1, 1), K_norm=torch.eye(3)))


def test_report_outputs_fall_back_from_absolute_to_relative():
    frames = _video(1).expand(6, -1, -1, -1).clone()
    traj = make_preset("look_right", 6, amplitude=10.0)
    traj.K_norm[:, 0, 0] = 0.7
    rep = evaluate_camera_accuracy(frames, traj, trials=1)
    m = rep.metrics
    assert m["TransErr_abs"] is None  # no scene: no metric scale
    assert rep.rot_err == m["RotErr"] and rep.trans_err == m["TransErr_rel"] and rep.cammc == m["CamMC_rel"]
    rep.metrics = {**m, "TransErr_abs": 0.25, "CamMC_abs": 0.5}
    assert rep.trans_err == 0.25 and rep.cammc == 0.5
    est = rep.estimated_trajectory(traj)  # static: the identity path, with the requested lens
    assert est.num_frames == 6 and est.key_times == [float(i) for i in range(6)]
    assert torch.allclose(est.c2w, torch.eye(4).expand(6, 4, 4)) and torch.equal(est.K_norm, traj.K_norm)
    rep.trials, rep.metrics = [], None  # nothing registered
    assert math.isnan(rep.rot_err) and math.isnan(rep.trans_err) and math.isnan(rep.cammc)
    first = rep.estimated_trajectory(traj)
    assert first.num_frames == 1 and torch.equal(first.c2w[0], traj.c2w[0])


def test_track_camera_report_of_a_static_video():
    from realcam_core.evaluation import track_camera_report

    frames = _video(1).expand(5, -1, -1, -1).clone()
    traj, text = track_camera_report(frames, intrinsics="realcam_default")
    assert traj.num_frames == 5 and torch.allclose(traj.c2w, torch.eye(4).expand(5, 4, 4))
    h, w = frames.shape[1:3]
    assert f"5 frames {w}x{h}, method static" in text and "rotation only (no translation)" in text
    assert f"fx {0.5 * max(h, w):.1f}" in text  # RealCam's default focal
    with pytest.raises(RealCamInputError, match="video"):
        track_camera_report(torch.zeros(4, 64, 64))
