"""Core Load3D camera_info -> RealCam pose: the viewer's model normalisation undone, Three.js -> OpenCV axes."""

from __future__ import annotations

import numpy as np
import pytest

from realcam_core.errors import RealCamInputError
from realcam_core.interchange.load3d import load3d_to_c2w, load3d_to_k_norm

rng = np.random.default_rng(3)
# a scene point cloud in RealCam's world (OpenCV: y down, z forward), 2..6 m ahead
POINTS = np.column_stack([rng.uniform(-2, 2, 500), rng.uniform(-1.5, 1, 500), rng.uniform(2, 6, 500)])


def _viewer(p_cv: np.ndarray) -> dict:
    """Where the frontend shows a RealCam-world point after loading our .glb (written out independently:
    glTF flips y and z; setupModel scales the largest box side to 5, centres x/z, puts the box on y = 0)."""
    gl = POINTS * [1, -1, -1]
    lo, hi = gl.min(0), gl.max(0)
    s = 5.0 / (hi - lo).max()
    q = np.asarray(p_cv, dtype=float) * [1, -1, -1] * s
    q = q - [(lo[0] + hi[0]) / 2 * s, lo[1] * s, (lo[2] + hi[2]) / 2 * s]
    return dict(zip("xyz", q.tolist(), strict=True))


def test_first_camera_is_the_identity():
    info = {"position": _viewer([0, 0, 0]), "target": _viewer([0, 0, 4]), "zoom": 1, "cameraType": "perspective"}
    assert np.allclose(load3d_to_c2w(info, POINTS), np.eye(4), atol=1e-9)


def test_orbit_view_looks_at_its_target_upright():
    eye, look = np.array([1.5, -1.0, 0.5]), np.array([0.0, 0.0, 4.0])
    info = {"position": _viewer(eye), "target": _viewer(look), "zoom": 1, "cameraType": "perspective"}
    c2w = load3d_to_c2w(info, POINTS)
    assert np.allclose(c2w[:3, 3], eye, atol=1e-9)  # metres again
    axis = (look - eye) / np.linalg.norm(look - eye)
    assert np.allclose(c2w[:3, 2], axis, atol=1e-9)  # OpenCV +z looks at the target
    assert abs(c2w[1, 0]) < 1e-9 and c2w[1, 1] > 0  # no roll; image down is world down (OpenCV y)
    assert np.allclose(c2w[:3, :3].T @ c2w[:3, :3], np.eye(3), atol=1e-9) and np.linalg.det(c2w[:3, :3]) > 0


def test_fov_zoom_and_errors():
    K = load3d_to_k_norm({"zoom": 2}, 90.0, 1024, 512)
    assert np.allclose(K, [[0.5, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])  # tan(45) = 1: fy = 0.5 * zoom
    with pytest.raises(RealCamInputError, match="orthographic"):
        load3d_to_c2w({"position": _viewer([0, 0, 0]), "target": _viewer([0, 0, 1]), "cameraType": "orthographic"})
    with pytest.raises(RealCamInputError, match="'position' as"):
        load3d_to_c2w({"target": {"x": 0, "y": 0, "z": 0}})
    with pytest.raises(RealCamInputError, match="different from the target"):
        load3d_to_c2w({"position": {"x": 1, "y": 1, "z": 1}, "target": {"x": 1, "y": 1, "z": 1}})


def test_keyframe_appends_after_the_last_key():
    import torch

    from realcam_core.interchange.load3d import load3d_keyframe
    from realcam_core.trajectory.presets import make_preset

    eye = np.array([0.5, 0.0, 1.0])
    info = {"position": _viewer(eye), "target": _viewer([0, 0, 4]), "zoom": 2, "cameraType": "perspective"}
    one = load3d_keyframe(info, 60.0, 200, 100, POINTS)
    assert one.num_frames == 1 and one.key_times == [0.0]
    assert np.allclose(one.c2w[0, :3, 3].numpy(), eye, atol=1e-5)  # absolute: not made relative to itself
    # Three.js zoom scales the focal length: fy = zoom * 0.5 / tan(fov / 2) of the height; fx the same in
    # pixels, so half of it in widths (aspect 2)
    fy = 2 * 0.5 / np.tan(np.radians(30.0))
    assert np.allclose(one.K_norm[0].numpy(), [[fy / 2, 0, 0.5], [0, fy, 0.5], [0, 0, 1]], atol=1e-5)
    base = make_preset("zoom_in", 5)
    out = load3d_keyframe(info, 60.0, 200, 100, POINTS, append_to=base, frames_after=7)
    times, _ = base.keyframes()
    assert out.key_times == [*times, times[-1] + 7]
    assert torch.equal(out.key_c2w[:-1], base.keyframes()[1].float()) and torch.equal(out.key_c2w[-1], one.c2w[0])
    assert torch.equal(out.K_norm[-1], one.K_norm[0]) and out.K_norm.shape[0] == len(times) + 1
