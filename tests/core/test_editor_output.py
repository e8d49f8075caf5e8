"""The Trajectory Editor node's output choice: pass the input through until edited, then the drawn path."""

from __future__ import annotations

import dataclasses
import json

import torch

from realcam_core.camera.intrinsics import normalize_K
from realcam_core.scene.build import scene_from_depth
from realcam_core.trajectory.editor import default_state, editor_output, state_from_trajectory
from realcam_core.trajectory.presets import make_preset
from realcam_core.trajectory.types import Trajectory


def test_unedited_state_passes_the_input_through_and_shows_it():
    traj = make_preset("orbit_right", 12)
    state = default_state()
    out, shown, warning = editor_output(state, None, traj)
    assert out is traj and warning is None
    assert json.loads(shown) == json.loads(state_from_trajectory(traj, fps=state.fps).to_json())


def test_edited_state_outputs_the_drawn_path_with_the_right_lens():
    state = dataclasses.replace(default_state(), edited=True)
    drawn, shown, _ = editor_output(state)
    assert shown is None and torch.equal(drawn.c2w, state.trajectory().c2w)
    assert torch.allclose(drawn.K_norm[0], torch.tensor([[0.5, 0, 0.5], [0, 0.5, 0.5], [0, 0, 1.0]]))  # upstream's
    K = torch.tensor([[40.0, 0, 30], [0, 40.0, 20], [0, 0, 1]])
    scene = scene_from_depth(torch.rand(40, 60, 3), torch.full((40, 60), 2.0), K=K)
    with_scene, _, _ = editor_output(state, scene)
    assert torch.allclose(with_scene.K_norm[0], normalize_K(K, 40, 60))  # the scene's lens
    traj = make_preset("zoom_in", 8)
    traj.K_norm[:, 0, 0] = 0.9
    edited, shown, _ = editor_output(state, scene, traj)
    assert shown is not None and edited is not traj
    assert abs(float(edited.K_norm[0, 0, 0]) - 0.9) < 1e-6  # the incoming lens wins over the scene's


def test_an_input_the_editor_cannot_show_still_passes_with_a_warning():
    long = Trajectory(c2w=torch.eye(4).expand(2000, 4, 4).clone(), K_norm=torch.eye(3).expand(2000, 3, 3).clone())
    out, shown, warning = editor_output(default_state(), None, long)
    assert out is long and shown is None
    assert warning.startswith("cannot show the incoming trajectory: trajectory frames")
