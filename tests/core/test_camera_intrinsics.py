import math

import pytest
import torch

from realcam_core.camera import intrinsics as intr
from realcam_core.errors import RealCamInputError


def test_default_K_follows_upstream_rule():
    K = intr.default_K(320, 512)
    assert K.tolist() == [[256.0, 0.0, 256.0], [0.0, 256.0, 160.0], [0.0, 0.0, 1.0]]
    # 1920x1080 source -> 512x320 model: resized 320x568 before the crop, fx = 284
    resized = intr.upstream_resized_size(1080, 1920, 320, 512)
    assert resized == (320, 568)
    K = intr.default_K(320, 512, focal_ref=resized)
    assert K[0, 0].item() == 284.0 and K[0, 2].item() == 256.0
    # 4:3 -> 512x320: resized 384x512, fx = 256; 16:9 -> 256x256: resized 256x455, fx = 227.5
    assert intr.upstream_resized_size(768, 1024, 320, 512) == (384, 512)
    assert intr.default_K(256, 256, focal_ref=intr.upstream_resized_size(1080, 1920, 256, 256))[0, 0] == 227.5


def test_fov_round_trip_both_axes():
    K = intr.K_from_fov(320, 512, 70.0, axis="horizontal")
    h, v = intr.fov_from_K(K, 320, 512)
    assert h.item() == pytest.approx(70.0, abs=1e-4)
    assert v.item() < h.item()
    K = intr.K_from_fov(320, 512, 50.0, axis="vertical")
    assert intr.fov_from_K(K, 320, 512)[1].item() == pytest.approx(50.0, abs=1e-4)
    assert K[0, 0] == K[1, 1]  # square pixels
    # 90 degrees across the width is upstream's default
    assert torch.allclose(intr.K_from_fov(320, 512, 90.0), intr.default_K(320, 512))


def test_normalise_denormalise_and_scale():
    K = intr.default_K(320, 512)
    Kn = intr.normalize_K(K, 320, 512)
    assert Kn[0, 0].item() == 0.5 and Kn[1, 1].item() == pytest.approx(0.8) and Kn[0, 2].item() == 0.5
    assert torch.allclose(intr.denormalize_K(Kn, 320, 512), K)
    # resizing keeps the normalised form and the field of view
    K2 = intr.scale_K(K, (320, 512), (640, 1024))
    assert torch.allclose(intr.normalize_K(K2, 640, 1024), Kn)
    assert torch.allclose(torch.stack(intr.fov_from_K(K2, 640, 1024)), torch.stack(intr.fov_from_K(K, 320, 512)))
    batch = K.expand(4, 3, 3)
    assert intr.normalize_K(batch, 320, 512).shape == (4, 3, 3)


def test_bad_inputs_are_named():
    with pytest.raises(RealCamInputError, match="fov_deg"):
        intr.K_from_fov(320, 512, 180.0)
    with pytest.raises(RealCamInputError, match="fov axis"):
        intr.K_from_fov(320, 512, 60.0, axis="diagonal")
    with pytest.raises(RealCamInputError, match="intrinsics width"):
        intr.default_K(320, 0)
    with pytest.raises(RealCamInputError, match=r"K: expected shape \(\.\.\., 3, 3\)"):
        intr.normalize_K(torch.eye(4), 10, 10)
    bad = torch.eye(3)
    bad[0, 0] = math.nan
    with pytest.raises(RealCamInputError, match="K: expected finite"):
        intr.fov_from_K(bad, 10, 10)
