"""Pose files of the same camera agree on their intrinsics (issue 13, problem 6)."""

from __future__ import annotations

import json

import torch

from realcam_core.camera import re10k
from realcam_core.camera.intrinsics import default_K
from realcam_core.trajectory import editor as es
from realcam_core.trajectory import presets


def _intrinsic_columns(text: str) -> set[tuple[str, ...]]:
    return {tuple(line.split()[1:5]) for line in text.splitlines()[1:]}


def test_edited_preset_keeps_the_presets_intrinsics():
    """Preset -> Save and Preset -> Editor (edited, scene 512x320 connected) -> Save write the same fx fy cx cy."""
    preset = presets.make_preset("zoom_in", 8)
    doc = json.loads(es.state_from_trajectory(preset).to_json())
    doc["source"]["edited"] = True
    edited = es.parse_editor_state(json.dumps(doc))
    K_scene = default_K(320, 512)
    K_norm = edited.intrinsics_norm(320, 512, K_scene, incoming=preset.K_norm)
    out = edited.trajectory(K_norm)
    assert _intrinsic_columns(re10k.format_re10k(out)) == _intrinsic_columns(re10k.format_re10k(preset))
    # a fov set in the editor is still a deliberate change of the camera
    fov = es.parse_editor_state(json.dumps(dict(doc, fov_deg=60)))
    assert not torch.equal(fov.intrinsics_norm(320, 512, K_scene, incoming=preset.K_norm), K_norm)


def test_float32_intrinsics_are_written_shortest():
    """fy = 256/320 at float32 is written 0.8 (not 0.800000011920929) and reads back to the same float32."""
    state = es.default_state()
    K_norm = state.intrinsics_norm(320, 512, default_K(320, 512))
    traj = state.trajectory(K_norm)
    text = re10k.format_re10k(traj)
    assert _intrinsic_columns(text) == {("0.5", "0.8", "0.5", "0.5")}
    back = re10k.parse_re10k(text)
    assert torch.equal(back.K_norm, traj.K_norm)
