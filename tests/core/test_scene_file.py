"""The editor's binary point-cloud file: Python writes it, the widget's decoder reads the same cloud."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from realcam_core.errors import RealCamInputError
from realcam_core.scene.build import scene_from_depth
from realcam_core.scene.geometry import unproject_depth
from realcam_core.scene.scene_file import decode_scene_file, encode_scene_file, write_scene_file
from realcam_core.trajectory import editor as es

REPO = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


def _scene(h: int = 30, w: int = 44):
    g = torch.Generator().manual_seed(7)
    depth = 1.5 + torch.rand(h, w, generator=g) * 3
    depth[torch.rand(h, w, generator=g) < 0.1] = 0.0
    return scene_from_depth(torch.rand(h, w, 3, generator=g), depth, fov_deg=70)


def test_round_trip_and_size():
    s = _scene()
    payload = es.scene_payload(s.depth, s.image, s.K, max_points=400)
    data = encode_scene_file(payload)
    out = decode_scene_file(data)
    st = payload["stride"]
    assert st == 2 and out["stride"] == 2 and (out["grid_h"], out["grid_w"]) == (15, 22)
    assert np.array_equal(out["depth"], s.depth[::st, ::st].numpy().astype(np.float32))
    assert np.array_equal(out["rgb"], (s.image[::st, ::st] * 255).round().to(torch.uint8).numpy())
    # binary: 7 bytes a grid cell plus a small header, where base64 JSON costs ~9.3
    assert len(data) <= 7 * 15 * 22 + 400
    assert len(json.dumps(payload)) > 1.3 * len(data)


def test_bad_files_are_refused():
    with pytest.raises(RealCamInputError, match="RCPC"):
        decode_scene_file(b"PNG....")
    s = _scene()
    data = encode_scene_file(es.scene_payload(s.depth, s.image, s.K))
    with pytest.raises(RealCamInputError, match="size"):
        decode_scene_file(data[:-3])


def test_content_named_file_is_written_once(tmp_path: Path):
    s = _scene()
    payload = es.scene_payload(s.depth, s.image, s.K)
    a = write_scene_file(payload, str(tmp_path))
    mtime = (tmp_path / a).stat().st_mtime_ns
    assert write_scene_file(payload, str(tmp_path)) == a and (tmp_path / a).stat().st_mtime_ns == mtime
    other = es.scene_payload(s.depth * 2, s.image, s.K)
    assert write_scene_file(other, str(tmp_path)) != a
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".rcpc", ".rcpc"]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_widget_decoder_reads_the_renderers_points(tmp_path: Path):
    s = _scene()
    payload = es.scene_payload(s.depth, s.image, s.K, max_points=400)
    path = tmp_path / write_scene_file(payload, str(tmp_path))
    proc = subprocess.run([NODE, str(REPO / "tests" / "js" / "scene_file.mjs"), str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    cloud = json.loads(proc.stdout)
    st = payload["stride"]
    sub = s.depth[::st, ::st]
    expected = unproject_depth(s.depth, s.K)[::st, ::st][sub > 0]
    assert cloud["count"] == expected.shape[0] and (cloud["width"], cloud["height"]) == (44, 30)
    got = torch.tensor(cloud["positions"], dtype=torch.float32).reshape(-1, 3)
    assert torch.allclose(got, expected.float(), atol=1e-5)
    rgb = (s.image[::st, ::st] * 255).round().to(torch.uint8)[sub > 0]
    assert torch.equal(torch.tensor(cloud["colors"], dtype=torch.uint8).reshape(-1, 3), rgb)
