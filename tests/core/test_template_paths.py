"""The editor template's default path makes a good first impression (issue 13, problems 8 / item 4):
rendered through the bundled room, it stays inside the scene, so the preview has almost no empty pixels,
unlike the former default (orbit_left, 90 degrees)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from realcam_core.scene.render import render_scene
from realcam_core.scene.types import Scene
from realcam_core.trajectory import editor as es
from realcam_core.trajectory import presets

ROOT = Path(__file__).resolve().parents[2]
ASSET = ROOT / "assets" / "synthetic_room"


def _room() -> Scene:
    meta = json.loads((ASSET / "room.json").read_text())
    rgb = np.array(Image.open(ASSET / meta["rgb"]).convert("RGB"))
    depth = torch.from_numpy(np.array(Image.open(ASSET / meta["depth"])).astype(np.float32)) * meta["depth_scale_to_metres"]
    K = torch.tensor([[meta["fx"], 0.0, meta["cx"]], [0.0, meta["fy"], meta["cy"]], [0.0, 0.0, 1.0]])
    return Scene(image=torch.from_numpy(rgb).float() / 255.0, depth=depth, K=K, mask=depth > 0,
                 source="synthetic_room").validate()


def _empty_fraction(scene: Scene, c2w: torch.Tensor) -> torch.Tensor:
    """Per frame, the share of preview pixels no point lands on (holes and out-of-scene views)."""
    res = render_scene(scene, c2w.float(), 320, 512)
    return 1.0 - res.visible.float().mean(dim=(1, 2))


def test_editor_template_path_stays_inside_the_room():
    wf = json.loads((ROOT / "workflows" / "camera_editor_offline.json").read_text())
    editor = next(n for n in wf["nodes"] if n["type"] == "RealCamTrajectoryEditor")
    state = es.parse_editor_state(editor["widgets_values"][0])
    assert not any(n["type"] == "RealCamCameraPreset" for n in wf["nodes"]), "a preset would replace the path"
    path = state.path_c2w()
    # moves: forward (a dolly) and a little sideways, not back out of the room
    end = path[-1, :3, 3]
    assert 0.3 <= float(end[2]) <= 1.0 and 0.05 <= abs(float(end[0])) <= 0.3
    scene = _room()
    gentle = _empty_fraction(scene, path)
    orbit = _empty_fraction(scene, presets.make_preset("orbit_left", 16).c2w)
    assert float(gentle.max()) < 0.03, gentle
    assert float(orbit.max()) > 4 * float(gentle.max()), (orbit, gentle)
