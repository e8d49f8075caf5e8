"""The synthetic RGB-D room asset: reproducible, exact metric depth, and the renderer reproduces it."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from realcam_core.scene.geometry import unproject_depth
from realcam_core.scene.render import render_point_cloud, render_scene, shaping_mask
from realcam_core.scene.types import Scene

ROOT = Path(__file__).resolve().parents[2]
ASSET = ROOT / "assets" / "synthetic_room"


def _generator():
    spec = importlib.util.spec_from_file_location("make_synthetic_room", ROOT / "scripts" / "make_synthetic_room.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def room() -> Scene:
    meta = json.loads((ASSET / "room.json").read_text())
    rgb = np.array(Image.open(ASSET / meta["rgb"]).convert("RGB"))
    depth_mm = np.array(Image.open(ASSET / meta["depth"]))
    assert depth_mm.dtype == np.uint16 and depth_mm.shape == (meta["height"], meta["width"])
    depth = torch.from_numpy(depth_mm.astype(np.float32)) * meta["depth_scale_to_metres"]
    K = torch.tensor([[meta["fx"], 0.0, meta["cx"]], [0.0, meta["fy"], meta["cy"]], [0.0, 0.0, 1.0]])
    image = torch.from_numpy(rgb).float() / 255.0
    return Scene(image=image, depth=depth, K=K, mask=depth > 0, source="synthetic_room").validate()


def test_assets_are_small_and_described():
    meta = json.loads((ASSET / "room.json").read_text())
    assert (meta["width"], meta["height"]) == (512, 320)
    assert meta["fx"] == meta["fy"] == 256.0 and (meta["cx"], meta["cy"]) == (256.0, 160.0)
    assert meta["depth_unit"] == "millimetre"
    assert sum(p.stat().st_size for p in ASSET.iterdir()) < 1_000_000


def test_generator_reproduces_the_stored_assets():
    rgb, depth_mm, meta = _generator().make_room(512, 320)
    assert np.array_equal(rgb, np.array(Image.open(ASSET / "room_rgb.png").convert("RGB")))
    assert np.array_equal(depth_mm, np.array(Image.open(ASSET / "room_depth.png")))
    assert meta == json.loads((ASSET / "room.json").read_text())


def test_depth_is_metric_and_geometric(room):
    # the back wall is the plane z = 6.5 m: every pixel of the top-centre strip above the boxes
    # and spheres looks at it or the ceiling (y = -1.6 m); the ceiling's depth is -1.6 / ray_y
    meta = json.loads((ASSET / "room.json").read_text())
    assert room.depth.min().item() == pytest.approx(meta["depth_min_m"])
    assert room.depth.max().item() == pytest.approx(6.5)
    row = 10  # near the top: ceiling
    ray_y = (row + 0.5 - 160.0) / 256.0
    assert room.depth[row, 256].item() == pytest.approx(-1.6 / ray_y, abs=5e-4)  # millimetre rounding
    pts = unproject_depth(room.depth, room.K)
    assert pts[row, 256, 1].item() == pytest.approx(-1.6, abs=5e-4)


def test_identity_render_reproduces_the_room(room):
    # 1-px splats: every point lands in its own pixel. (Wider splats overlap their neighbours, and
    # where depth varies the nearer neighbour wins, as in any point renderer.)
    res = render_scene(room, torch.eye(4)[None], splat=1)
    assert res.visible.all()
    assert torch.equal(res.frames[0], room.image)
    assert torch.equal(res.depth[0], room.depth)
    wide = render_scene(room, torch.eye(4)[None], splat=2)
    assert wide.visible.all()
    # the back wall has constant depth: where a pixel's 3x3 neighbourhood is all wall, 2-px splats
    # reproduce it exactly too
    flat = shaping_mask((room.depth == room.depth.max())[None], k=3, outside="invisible")[0]
    assert flat.sum() > 10_000
    assert torch.equal(wide.frames[0][flat], room.image[flat])


def test_camera_motion_parallax_and_masks(room):
    # move the camera 0.3 m right: the back wall (6.5 m) shifts by fx*0.3/6.5 = 11.8 px,
    # the near sphere (~2.1-2.6 m) by ~30 px; the right image edge is disoccluded
    c2w = torch.eye(4).repeat(2, 1, 1)
    c2w[1, 0, 3] = 0.3
    pts = unproject_depth(room.depth, room.K).reshape(-1, 3)
    res = render_point_cloud(pts, room.image.reshape(-1, 3), room.K, c2w, 320, 512, splat=2)
    wall_shift = 256.0 * 0.3 / 6.5
    assert not res.visible[1, :, 512 - math.floor(wall_shift) + 1 :].any()
    wall = room.depth.max().item()  # the back wall: the stored 6.5 m (float32 of 6500 mm * 0.001)
    for i, j in [(130, 160), (120, 300), (105, 350)]:  # back-wall pixels clear of the boxes and spheres
        assert room.depth[i, j].item() == wall
        moved_j = math.floor(j + 0.5 - wall_shift + 0.5) - 1  # the 2x2 footprint's left column
        assert (res.depth[1, i, moved_j : moved_j + 2] == wall).all()
    mask = shaping_mask(res.visible)
    assert mask[0].all() and 0.5 < mask[1].float().mean() < res.visible[1].float().mean()
