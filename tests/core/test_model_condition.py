"""The model's inputs prepared without ComfyUI: camera from a trajectory, the resize-crop, checkpoint pairs.

References are hand computations: K entries written out from the normalised intrinsics and the
resized size, relative poses built as products of known rotations and translations.
"""

from __future__ import annotations

import math

import pytest
import torch

from realcam_core.camera.intrinsics import default_K, normalize_K
from realcam_core.errors import RealCamInputError
from realcam_core.model.condition import camera_from_trajectory
from realcam_core.model.pairing import IMAGE_SIZE_KEY, interp_note, merge_pair, read_pair
from realcam_core.model.preprocess import resize_crop
from realcam_core.testing import tiny_realcam as tiny
from realcam_core.trajectory.types import Trajectory


def _pose(axis: str, degrees: float, t: tuple[float, float, float]) -> torch.Tensor:
    """4x4 float64 rotation about one axis by hand, then translation t."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    R = {"x": [[1, 0, 0], [0, c, -s], [0, s, c]], "y": [[c, 0, s], [0, 1, 0], [-s, 0, c]],
         "z": [[c, -s, 0], [s, c, 0], [0, 0, 1]]}[axis]
    T = torch.eye(4, dtype=torch.float64)
    T[:3, :3] = torch.tensor(R, dtype=torch.float64)
    T[:3, 3] = torch.tensor(t, dtype=torch.float64)
    return T


def test_pixel_K_takes_focal_lengths_at_the_resized_size_and_centres_the_principal_point():
    kn = torch.tensor([[0.6, 0.01, 0.3], [0.0, 0.9, 0.7], [0.0, 0.0, 1.0]]).expand(3, 3, 3).clone()
    kn[1, 0, 0] = 0.4  # a per-frame focal length (lens animation)
    traj = Trajectory(c2w=torch.eye(4).expand(3, 4, 4).clone(), K_norm=kn)
    cam = camera_from_trajectory(traj, 320, 512, (320, 568))  # a 16:9 image resized to height 320, then cropped
    K = cam.K[0]
    assert K.shape == (3, 3, 3) and K.dtype == torch.float32 and cam.image_size == (320, 512)
    for i, fxn in enumerate((0.6, 0.4, 0.6)):
        expect = torch.tensor([[fxn * 568, 0.0, 256.0], [0.0, 0.9 * 320, 160.0], [0.0, 0.0, 1.0]])
        assert torch.allclose(K[i], expect, rtol=1e-6, atol=1e-4), (i, K[i], expect)


def test_upstream_default_K_gives_half_the_longer_resized_side():
    # a 640x1024 image has the model's 512x320 aspect: resized (320, 512), no crop; upstream fx = fy = 256
    kn = normalize_K(default_K(640, 1024), 640, 1024).expand(2, 3, 3).clone()
    traj = Trajectory(c2w=torch.eye(4).expand(2, 4, 4).clone(), K_norm=kn)
    K = camera_from_trajectory(traj, 320, 512, (320, 512)).K[0, 0]
    assert torch.allclose(K, torch.tensor([[256.0, 0, 256], [0, 256, 160], [0, 0, 1]]), atol=1e-4), K


def test_relative_pose_is_the_inverse_of_frame_0_times_each_frame():
    first = _pose("x", 25.0, (0.4, -1.2, 2.0))  # frame 0 is not the identity
    moves = [torch.eye(4, dtype=torch.float64), _pose("y", 10.0, (0.1, 0.0, 0.3)), _pose("z", -30.0, (-0.5, 0.2, 0.0))]
    c2w = torch.stack([first @ m for m in moves]).float()
    traj = Trajectory(c2w=c2w, K_norm=normalize_K(default_K(64, 64), 64, 64).expand(3, 3, 3).clone())
    rel = camera_from_trajectory(traj, 64, 64, (64, 64), seed=7)
    assert rel.c2w_rel.shape == (1, 3, 4, 4) and rel.c2w_rel.dtype == torch.float32 and rel.seed == 7
    assert torch.equal(rel.c2w_rel[0, 0], torch.eye(4))  # exactly the identity
    for i, m in enumerate(moves):
        assert torch.allclose(rel.c2w_rel[0, i].double(), m, atol=1e-6), (i, rel.c2w_rel[0, i], m)


@pytest.mark.parametrize(("h0", "w0", "resized"), [(90, 160, (320, 568)), (100, 50, (1024, 512)), (640, 1024, (320, 512))])
def test_resize_crop_reports_the_upstream_resized_size(h0, w0, resized):
    # resized size by hand: the side that limits the aspect becomes the target's, the other int(side * scale)
    img = torch.rand(1, h0, w0, 3, generator=torch.Generator().manual_seed(0))
    out, got = resize_crop(img, 320, 512)
    assert got == resized and out.shape == (1, 320, 512, 3)


def test_resize_crop_keeps_the_centre_of_a_wide_image():
    # left third 0, middle third 0.5, right third 1: after resizing 90x270 -> 320x960 and cropping 512 wide
    # from x = 224, the columns come from the middle third except the outer 96 on each side
    img = torch.zeros(1, 90, 270, 3)
    img[:, :, 90:180] = 0.5
    img[:, :, 180:] = 1.0
    out, resized = resize_crop(img, 320, 512)
    assert resized == (320, 960)
    assert torch.allclose(out[0, :, 120:392], torch.full((320, 272, 3), 0.5), atol=1e-6)
    assert float(out[0, :, :60].max()) < 1e-6 and float(out[0, :, -60:].min()) > 1 - 1e-6


@pytest.fixture(scope="module")
def pair() -> tuple[dict, dict]:
    return tiny.split_base_camera(tiny.tiny_state_dict(tiny.TinySpec(variant="512", frames=4, image_size=(64, 64))))


def test_merge_pair_accepts_base_plus_camera_and_refuses_bad_pairs(pair):
    base, cam = pair
    merged, variant = merge_pair("512_base.ckpt", base, "512_realcam-i2v.safetensors", cam)
    assert variant == "512" and set(merged) == set(base) | set(cam)
    with pytest.raises(RealCamInputError, match="base_checkpoint: expected a DynamiCrafter base"):
        merge_pair("cam.safetensors", cam, "none", None)
    with pytest.raises(RealCamInputError, match="camera_checkpoint: expected the RealCam/CamI2V camera file"):
        merge_pair("512_base.ckpt", base, "none", None)
    with pytest.raises(RealCamInputError, match="got a 256 file"):
        merge_pair("512_base.ckpt", base, "256_realcam-i2v.safetensors", cam)
    sd15 = {"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(32, 4, 3, 3)}
    with pytest.raises(RealCamInputError, match="base_checkpoint: expected a DynamiCrafter / RealCam-I2V video"):
        merge_pair("sd15.safetensors", sd15, "512_realcam-i2v.safetensors", cam)


def test_read_pair_maps_both_files_and_honours_the_image_size_stamp(tmp_path):
    base_path, cam_path = tiny.write_tiny_realcam(tmp_path, tiny.TinySpec(variant="256", frames=4, image_size=(48, 64)))
    merged, cfg = read_pair(base_path, cam_path)
    assert cfg.variant == "256" and tuple(cfg.image_size) == (48, 64) and IMAGE_SIZE_KEY in merged
    assert cfg.unet.temporal_length == 4


def test_interp_note_names_the_interp_file_only():
    assert interp_note("DynamiCrafter_512/model.ckpt", "512_realcam-i2v_50k.safetensors") is None
    note = interp_note("none", "bases/512_interp_model.ckpt")
    assert note is not None and "EXPERIMENTAL" in note and note.startswith("bases/512_interp_model.ckpt looks like")


def test_interp_note_reads_the_folder_of_the_official_file():
    """The official interp base is DynamiCrafter_512_Interp/model.ckpt: only its folder says "interp"."""
    note = interp_note("DynamiCrafter_512_Interp/model.ckpt", "512_realcam-i2v_50k.safetensors")
    assert note is not None and note.startswith("DynamiCrafter_512_Interp/model.ckpt looks like")
