"""The camera-file loaders' upload buttons in the real frontend (Debian chromium): files land in input/."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from driver import ARTIFACTS, run_node  # noqa: E402


def test_camera_file_upload_buttons(server, tmp_path):
    from realcam_core.interchange.colmap import write_colmap_text
    from realcam_core.interchange.gltf import write_glb
    from realcam_core.interchange.nerfstudio import write_transforms_json
    from realcam_core.trajectory.presets import make_preset

    traj = make_preset("orbit_left", 5)
    write_glb(tmp_path / "up_shot.glb", traj)
    write_transforms_json(tmp_path / "up_transforms.json", traj, 64, 48)
    write_colmap_text(tmp_path / "colmap", traj, 64, 48)
    (tmp_path / "second").mkdir()
    write_glb(tmp_path / "second" / "up_shot.glb", make_preset("zoom_in", 3))
    run_node("camera_upload.mjs", server, glb=tmp_path / "up_shot.glb", json=tmp_path / "up_transforms.json",
             cameras=tmp_path / "colmap" / "cameras.txt", images=tmp_path / "colmap" / "images.txt",
             glb2=tmp_path / "second" / "up_shot.glb")
    result = json.loads((ARTIFACTS / "camera_upload.json").read_text())
    inp = server.base / "input"
    assert result["RealCamLoadGLTFCamera"]["value"] == "up_shot.glb"
    assert (inp / "up_shot.glb").read_bytes() == (tmp_path / "up_shot.glb").read_bytes()
    assert result["RealCamLoadNerfstudio"]["value"] == "up_transforms.json"
    colmap_value = result["RealCamLoadCOLMAP"]["value"]
    assert colmap_value.startswith("colmap/") and colmap_value.endswith("/images.txt")
    stored = inp / colmap_value
    assert stored.read_text() == (tmp_path / "colmap" / "images.txt").read_text()
    assert (stored.parent / "cameras.txt").read_text() == (tmp_path / "colmap" / "cameras.txt").read_text()
    # a second, different up_shot.glb never overwrites the first (core's /upload/image with overwrite would)
    assert result["RealCamLoadGLTFCamera:second"]["value"] == "up_shot_1.glb"
    assert (inp / "up_shot.glb").read_bytes() == (tmp_path / "up_shot.glb").read_bytes()
    assert (inp / "up_shot_1.glb").read_bytes() == (tmp_path / "second" / "up_shot.glb").read_bytes()
    for node in ("RealCamLoadGLTFCamera", "RealCamLoadNerfstudio", "RealCamLoadCOLMAP"):
        assert any("upload" in b for b in result[node]["buttons"])
    # the buttons are not serialised: widgets_values stay aligned with the backend inputs
    assert len(result["RealCamLoadGLTFCamera"]["widgetsValues"]) == 3
    assert len(result["RealCamLoadCOLMAP"]["widgetsValues"]) == 1
    assert result["consoleErrors"] == [], result["consoleErrors"]
