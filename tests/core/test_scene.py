import math

import numpy as np
import pytest
import torch
from PIL import Image

from realcam_core.errors import RealCamInputError
from realcam_core.scene.build import decode_depth, depth_preview, intrinsics_for, read_depth_file, scene_from_depth


def test_default_intrinsics_follow_realcam():
    K = intrinsics_for(320, 512)
    assert K[0, 0] == K[1, 1] == 256 and K[0, 2] == 256 and K[1, 2] == 160


def test_fov_intrinsics():
    K = intrinsics_for(100, 200, fov_deg=90.0)
    assert K[0, 0].item() == pytest.approx(100.0)
    assert 2 * math.degrees(math.atan(100 / K[0, 0].item())) == pytest.approx(90.0)


def test_depth_encodings_round_trip():
    metres = torch.tensor([[0.5, 1.0], [4.0, 20.0]])
    assert torch.allclose(decode_depth(metres / 20, "normalised", max_depth=20), metres)
    disp = (1 / metres - 1 / 20) / (1 / 0.5 - 1 / 20)
    assert torch.allclose(decode_depth(disp, "disparity", max_depth=20, min_depth=0.5), metres, rtol=1e-5)
    with pytest.raises(RealCamInputError, match="depth_encoding"):
        decode_depth(metres, "inverse")


def test_scene_marks_invalid_depth_and_refuses_all_invalid():
    img = torch.rand(4, 6, 3)
    d = torch.ones(4, 6)
    d[0, 0], d[1, 1], d[2, 2] = float("nan"), float("inf"), -1
    s = scene_from_depth(img, d)
    assert int(s.mask.sum()) == 21 and s.depth[0, 0] == 0 and s.depth[2, 2] == 0
    for bad in (torch.full((4, 6), float("nan")), torch.zeros(4, 6), -torch.ones(4, 6)):
        with pytest.raises(RealCamInputError, match="depth"):
            scene_from_depth(img, bad)


def test_scene_size_mismatch_names_both_sizes():
    with pytest.raises(RealCamInputError, match=r"depth.*6x4.*5x5"):
        scene_from_depth(torch.rand(4, 6, 3), torch.ones(5, 5))


def test_read_depth_png16_and_npy_exactly(tmp_path):
    mm = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 1000 + 7)
    Image.fromarray(mm).save(tmp_path / "d.png")
    got = read_depth_file(tmp_path / "d.png", 0.001)
    assert torch.allclose(got, torch.from_numpy(mm.astype(np.float32)) * 0.001)
    arr = np.random.rand(3, 4).astype(np.float32)
    np.save(tmp_path / "d.npy", arr)
    assert torch.equal(read_depth_file(tmp_path / "d.npy"), torch.from_numpy(arr))
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(RealCamInputError, match="junk.png"):
        read_depth_file(tmp_path / "junk.png")


def test_depth_preview_near_is_brighter():
    d = torch.tensor([[1.0, 10.0], [0.0, 5.0]])
    p = depth_preview(d)
    assert p.shape == (2, 2, 3) and p[1, 0].sum() == 0
    assert p[0, 0, 0] > p[1, 1, 0] > p[0, 1, 0] - 1e-6


def test_moge_geometry_round_trip():
    img = torch.rand(4, 6, 3)
    d = torch.rand(4, 6) * 5 + 1
    d[0, 0] = 0
    s = scene_from_depth(img, d, fov_deg=70.0)
    geo = s.to_moge_geometry()
    assert geo["points"].shape == (4, 6, 3)
    # points are depth-scaled rays through pixel centres: z is the depth, x follows the intrinsics
    assert torch.allclose(geo["points"][..., 2], s.depth)
    u = torch.arange(6) + 0.5
    assert torch.allclose(geo["points"][1, :, 0], (u - s.K[0, 2]) / s.K[0, 0] * s.depth[1], atol=1e-6)
    back = type(s).from_moge_geometry(geo)
    assert torch.equal(back.depth, s.depth) and torch.equal(back.mask, s.mask) and torch.equal(back.K, s.K)


def test_depth_file_encodings_detected(tmp_path):
    """Float TIFF is metres as stored, 16-bit PNG integers x metres_per_unit, 1x1 stays 2-D; 8-bit, colour,
    complex and integer .npy files are refused naming the accepted encodings (never guessed)."""

    metres = np.array([[2.5, 0.75], [10.0, 0.0]], dtype=np.float32)
    Image.fromarray(metres, "F").save(tmp_path / "f.tif")
    assert torch.equal(read_depth_file(tmp_path / "f.tif", 0.001), torch.from_numpy(metres))
    Image.fromarray(np.array([[2500, 750]], dtype=np.uint16)).save(tmp_path / "mm.png")
    assert torch.allclose(read_depth_file(tmp_path / "mm.png", 0.001), torch.tensor([[2.5, 0.75]]))
    np.save(tmp_path / "one.npy", np.full((1, 1), 3.0, dtype=np.float32))
    assert read_depth_file(tmp_path / "one.npy").shape == (1, 1)
    np.save(tmp_path / "hw1.npy", metres[..., None])
    assert torch.equal(read_depth_file(tmp_path / "hw1.npy"), torch.from_numpy(metres))
    Image.fromarray(np.full((4, 4), 200, np.uint8)).save(tmp_path / "u8.png")
    Image.fromarray(np.full((4, 4, 4), 200, np.uint8), "RGBA").save(tmp_path / "rgba.png")
    np.save(tmp_path / "c.npy", metres.astype(np.complex64))
    np.save(tmp_path / "i.npy", (metres * 1000).astype(np.int32))
    for name, words in (("u8.png", "mode L"), ("rgba.png", "mode RGBA"), ("c.npy", "complex"), ("i.npy", "int32")):
        with pytest.raises(RealCamInputError) as e:
            read_depth_file(tmp_path / name, 0.001)
        assert words in str(e.value) and "accepted encodings" in str(e.value) and "16-bit" in str(e.value)
    with pytest.raises(RealCamInputError, match="metres_per_unit"):
        read_depth_file(tmp_path / "mm.png", float("nan"))
