"""The Trajectory Editor's state JSON: schema validation, conversions and seeding."""

from __future__ import annotations

import base64
import json
import math

import pytest
import torch

from realcam_core.camera.se3 import from_euler
from realcam_core.errors import RealCamInputError
from realcam_core.scene.geometry import unproject_depth
from realcam_core.trajectory import editor as es
from realcam_core.trajectory.interpolate import interpolate_c2w, interpolate_trajectory
from realcam_core.trajectory.presets import PRESET_NAMES, make_preset


def _doc(**kw) -> dict:
    d = es.default_state().to_dict()
    d.update(kw)
    return d


KEY0 = {"frame": 0, "position": [0.0, 0.0, 0.0], "rotation": [0.0, 0.0, 0.0]}
KEY1 = {"frame": 10, "position": [0.5, -0.2, 1.0], "rotation": [20.0, -5.0, 3.0]}


def test_round_trip_keeps_every_field() -> None:
    doc = _doc(keyframes=[KEY0, KEY1], interpolation="smooth", easing="ease_in_out", ease_per_segment=True,
               fps=12.5, fov_deg=70.0, source={"preset": "zoom_in", "seeded_from_input": True, "edited": True},
               view={"azimuth": 10})
    state = es.parse_editor_state(json.dumps(doc))
    assert state.to_dict() == doc
    assert es.parse_editor_state(state.to_json()).to_dict() == doc
    assert state.interpolation == "smooth" and state.easing == "ease_in_out" and state.fov_deg == 70.0


def test_optional_fields_get_defaults() -> None:
    state = es.parse_editor_state('{"version": 1, "num_frames": 4, "keyframes": [' + json.dumps(KEY0) + "]}")
    assert (state.fps, state.interpolation, state.easing, state.closed, state.fov_deg) == (8.0, "linear_se3", "linear",
                                                                                           False, None)
    assert not state.edited and not state.seeded_from_input and state.preset is None


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("", "editor_state", "JSON text"),
        ("{oops", "editor_state", "valid JSON"),
        ("[]", "editor_state", "a JSON object"),
        (json.dumps(_doc(version=2)), "editor_state.version", "update the pack"),
        (json.dumps({k: v for k, v in _doc().items() if k != "version"}), "editor_state.version", "expected 1"),
        (json.dumps(_doc(num_frames=0)), "editor_state.num_frames", "from 1 to 1024"),
        (json.dumps(_doc(num_frames=1025)), "editor_state.num_frames", "from 1 to 1024"),
        (json.dumps(_doc(num_frames=True)), "editor_state.num_frames", "integer"),
        (json.dumps(_doc(fps=-1)), "editor_state.fps", "above 0"),
        (json.dumps(_doc(interpolation="spline")), "editor_state.interpolation", "linear_se3"),
        (json.dumps(_doc(easing="bounce")), "editor_state.easing", "smootherstep"),
        (json.dumps(_doc(unknown=1)), "editor_state.unknown", "known fields"),
        (json.dumps(_doc(keyframes=[])), "editor_state.keyframes", "at least one"),
        (json.dumps(_doc(keyframes=[KEY0, dict(KEY0)])), "editor_state.keyframes[1].frame", "unique"),
        (json.dumps(_doc(keyframes=[KEY1, KEY0])), "editor_state.keyframes[1].frame", "sorted"),
        (json.dumps(_doc(keyframes=[{**KEY0, "frame": 16}])), "editor_state.keyframes[0].frame", "0 to 15"),
        (json.dumps(_doc(keyframes=[{**KEY0, "position": [0, None, 0]}])), "editor_state.keyframes[0].position[1]",
         "finite"),
        (json.dumps(_doc(keyframes=[{**KEY0, "rotation": [0, 0]}])), "editor_state.keyframes[0].rotation", "3 numbers"),
        (json.dumps(_doc(keyframes=[KEY0, {**KEY1, "frame": 15}], closed=True)), "editor_state.keyframes[1].frame",
         "closed"),
        ('{"version": 1, "num_frames": 4, "keyframes": [{"frame": 0, "position": [NaN, 0, 0], "rotation": [0, 0, 0]}]}',
         "editor_state", "NaN"),
        ('{"version": 1, "num_frames": 4, "keyframes": [{"frame": 0, "position": [Infinity, 0, 0], '
         '"rotation": [0, 0, 0]}]}', "editor_state", "Infinity"),
    ],
)
def test_bad_input_names_the_field(text: str, field: str, words: str) -> None:
    with pytest.raises(RealCamInputError) as info:
        es.parse_editor_state(text)
    msg = str(info.value)
    assert msg.startswith(field + ": expected"), msg
    assert words in msg, msg


def test_euler_matches_the_camera_module_convention() -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        e = ((torch.rand(3, generator=g, dtype=torch.float64) * 2 - 1) * torch.tensor([179.0, 89.0, 179.0])).tolist()
        R = es.euler_to_matrix(*e)
        assert torch.allclose(R, from_euler(*e)[:3, :3], atol=1e-12)
        assert es.matrix_to_euler(R) == pytest.approx(e, abs=1e-9)
    # gimbal lock: the matrix survives even though the angles are not unique
    R = es.euler_to_matrix(40.0, 90.0, 25.0)
    assert torch.allclose(es.euler_to_matrix(*es.matrix_to_euler(R)), R, atol=1e-9)


def test_keyframes_c2w_and_path() -> None:
    state = es.parse_editor_state(json.dumps(_doc(keyframes=[KEY0, KEY1], num_frames=12)))
    times, c2w = state.keyframes_c2w()
    assert times == [0.0, 10.0]
    assert c2w.shape == (2, 4, 4) and c2w.dtype == torch.float32
    assert torch.allclose(c2w[1, :3, 3], torch.tensor(KEY1["position"]))
    assert torch.allclose(c2w[1].double(), from_euler(*KEY1["rotation"], translation=KEY1["position"]), atol=1e-6)
    path = state.path_c2w()
    assert path.shape == (12, 4, 4)
    assert torch.allclose(path[10], c2w[1], atol=1e-6) and torch.allclose(path[11], c2w[1], atol=1e-6)
    traj = state.trajectory()
    assert traj.num_frames == 12 and traj.key_times == [0.0, 10.0]
    assert torch.allclose(traj.c2w, path)


def test_state_from_keyframes_round_trips_poses() -> None:
    poses = from_euler(torch.tensor([0.0, 30.0, -10.0]), torch.tensor([0.0, 5.0, 20.0]), torch.tensor([0.0, -3.0, 2.0]),
                       translation=torch.tensor([[0.0, 0, 0], [1, 0.2, 0.5], [-0.5, 0, 2]]))
    state = es.state_from_keyframes([0, 7, 15], poses, num_frames=16, preset="custom")
    _, back = state.keyframes_c2w(torch.float64)
    assert torch.allclose(back, poses, atol=1e-9)
    assert state.preset == "custom"
    with pytest.raises(RealCamInputError, match="keyframes c2w"):
        es.state_from_keyframes([0], torch.diag(torch.tensor([-1.0, 1, 1, 1]))[None], num_frames=4)
    with pytest.raises(RealCamInputError, match=r"keyframes\[1\].frame"):
        es.state_from_keyframes([0, 0.2], poses[:2], num_frames=4)  # both round to frame 0


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_seeding_from_a_dense_preset_gives_few_exact_keyframes(name: str) -> None:
    traj = make_preset(name, 16)
    state = es.state_from_trajectory(traj)
    assert state.seeded_from_input and not state.edited
    assert len(state.keyframes) <= 2, [k.frame for k in state.keyframes]
    path = state.path_c2w().double()
    ref = traj.c2w.double()
    assert (path[:, :3, 3] - ref[:, :3, 3]).norm(dim=-1).max() < 2e-4
    rel = path[:, :3, :3].transpose(-1, -2) @ ref[:, :3, :3]
    cos = ((rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
    assert math.degrees(float(torch.arccos(cos).max())) < 0.02


def test_seeding_keeps_sparse_keyframes_and_simplify_can_be_disabled() -> None:
    keys = from_euler(torch.tensor([0.0, 40.0, -20.0]), torch.zeros(3), torch.zeros(3),
                      translation=torch.tensor([[0.0, 0, 0], [1, 0, 1], [2, 0, 0]]))
    traj = interpolate_trajectory([0, 5, 9], keys, 10, method="smooth")
    state = es.state_from_trajectory(traj)
    assert [k.frame for k in state.keyframes] == [0, 5, 9]
    dense = make_preset("zoom_in", 6)
    dense.key_c2w = None
    assert len(es.state_from_trajectory(dense, simplify=False).keyframes) == 6


def test_simplify_finds_the_kink() -> None:
    keys = from_euler(torch.zeros(3), torch.zeros(3), torch.zeros(3),
                      translation=torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 0, 1]]))
    dense = interpolate_c2w([0, 6, 12], keys, 13)
    assert es.simplify_keyframes(dense) == [0, 6, 12]
    assert es.simplify_keyframes(torch.eye(4).expand(5, 4, 4)) == [0]


def test_scene_payload_subsamples_the_renderers_cloud() -> None:
    g = torch.Generator().manual_seed(3)
    depth = torch.rand(30, 40, generator=g) * 4 + 1
    depth[0, 0] = 0.0
    image = torch.rand(30, 40, 3, generator=g)
    K = torch.tensor([[35.0, 0, 20], [0, 35.0, 15], [0, 0, 1]])
    p = es.scene_payload(depth, image, K, max_points=400)
    s = p["stride"]
    assert p["grid_h"] * p["grid_w"] <= 400 and s == 2  # 30x40 -> 15x20
    d = torch.frombuffer(bytearray(base64.b64decode(p["depth_f32_b64"])), dtype=torch.float32).reshape(p["grid_h"], -1)
    assert torch.equal(d, depth[::s, ::s])
    rgb = torch.frombuffer(bytearray(base64.b64decode(p["rgb_u8_b64"])), dtype=torch.uint8).reshape(*d.shape, 3)
    assert torch.equal(rgb, (image[::s, ::s] * 255).round().to(torch.uint8))
    # the widget unprojects grid pixel (i, j) as full-resolution pixel (i*s, j*s): the renderer's point
    pts = unproject_depth(depth, K)[::s, ::s]
    i, j = 2, 5
    u, v = j * s + 0.5, i * s + 0.5
    z = float(depth[i * s, j * s])
    assert pts[i, j].tolist() == pytest.approx([(u - 20) / 35 * z, (v - 15) / 35 * z, z], rel=1e-6)
    with pytest.raises(RealCamInputError, match="scene image"):
        es.scene_payload(depth, image[:, :-1], K)


def test_default_state_is_valid_and_still() -> None:
    state = es.default_state(num_frames=16)
    assert state.validate().to_dict() == state.to_dict()
    assert torch.allclose(state.path_c2w(), torch.eye(4).expand(16, 4, 4))
