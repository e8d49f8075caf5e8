"""The Loop / Interp modes on plain tensors (realcam_core.trajectory.loop_modes) and the frames-as-batch fold
(realcam_core.model.layout), checked slot by slot against hand-built expectations."""

from __future__ import annotations

import pytest
import torch

from realcam_core.camera import se3
from realcam_core.errors import RealCamInputError
from realcam_core.model.layout import frames_as_video, video_as_frames
from realcam_core.trajectory import loop_modes
from realcam_core.trajectory.types import Trajectory

C, T, H, W = 4, 6, 3, 5  # latent; pixels are 8x


def _frames(b: int = 1, seed: int = 0) -> torch.Tensor:
    """Frames-as-batch latent whose slot b*T + f holds 100 b + f (plus noise), so a slot names its source."""
    g = torch.Generator().manual_seed(seed)
    tag = torch.arange(b * T, dtype=torch.float32) + 100.0 * (torch.arange(b * T) // T)
    return torch.randn(b * T, C, H, W, generator=g) * 0.01 + tag[:, None, None, None]


def _path(n: int = T) -> torch.Tensor:
    """(1, n, 4, 4) a camera moving and turning: no two poses alike."""
    twist = torch.zeros(n, 6, dtype=torch.float64)
    twist[:, 0] = torch.linspace(0, 0.5, n)
    twist[:, 4] = torch.linspace(0, 0.3, n)
    return se3.se3_exp(twist).float()[None]


def test_fold_matches_frame_index() -> None:
    x = _frames(b=2)
    v = frames_as_video(x, T)
    assert v.shape == (2, C, T, H, W)
    for b in range(2):
        for f in range(T):
            assert torch.equal(v[b, :, f], x[b * T + f])
    back = video_as_frames(v)
    assert back.is_contiguous() and torch.equal(back, x)
    with pytest.raises(RealCamInputError, match=r"latent: expected a whole number of 4-frame videos, got 6"):
        frames_as_video(x[:6], 4)
    with pytest.raises(RealCamInputError, match=r"previous_latent: expected a RealCam LATENT"):
        frames_as_video(x[0], T, "previous_latent")
    with pytest.raises(RealCamInputError, match=r"video latent"):
        video_as_frames(x)


def test_previous_video_whole_batch_when_not_divisible() -> None:
    x = _frames()[:4]  # 4 frames of a 6-frame clip: one shorter clip
    v = loop_modes.previous_video(x, T)
    assert v.shape == (1, C, 4, H, W) and torch.equal(v[0, :, 3], x[3])
    with pytest.raises(RealCamInputError, match="previous_latent"):
        loop_modes.previous_video([1, 2], T)


def test_continue_keeps_overlap_and_rebases_poses() -> None:
    samples, prev, c2w = _frames(seed=1), _frames(seed=2) + 1000.0, _path()
    start = samples[:1].clone()
    edit = loop_modes.loop_interp("continue", "shaping_only", samples, T, c2w, start, overlap=2,
                                  previous_samples=prev)
    # frames 0, 1 = the previous clip's last two; the rest start as the given latent
    assert torch.equal(edit.samples[:2], prev[T - 2:]) and torch.equal(edit.samples[2:], samples[2:])
    assert edit.noise_mask.shape == (T, 1, H, W)
    assert edit.noise_mask[:2].eq(0).all() and edit.noise_mask[2:].eq(1).all()
    # conditioning frame k = overlap - 1 = 1: its exact latent, poses relative to it
    assert torch.equal(edit.concat, prev[T - 1:T])
    inv_k = torch.linalg.inv(c2w[0, 1].double())
    for f in range(T):
        assert torch.allclose(edit.c2w_rel[0, f].double(), inv_k @ c2w[0, f].double(), atol=1e-5)
    assert "refer to frame 1" in edit.text
    assert edit.preview_frames.shape == (1, 8, 8, 3)  # no preview connected: placeholders
    with pytest.raises(RealCamInputError, match="previous_latent: expected the previous clip's LATENT"):
        loop_modes.loop_interp("continue", "shaping_only", samples, T, c2w, start)


def test_interpolate_concat_and_shaping() -> None:
    samples, c2w = _frames(), _path()
    start = torch.full((1, C, H, W), 3.0)
    end_latent = torch.full((1, C, H, W), 7.0)
    seen = []

    def encode(pixels: torch.Tensor) -> torch.Tensor:
        seen.append(pixels)
        return end_latent

    end_image = torch.rand(1, H * 8, W * 8, 3)
    frames, mask = torch.rand(T, 12, 20, 3), torch.full((T, 12, 20), 0.5)
    edit = loop_modes.loop_interp("interpolate", "concat_and_shaping", samples, T, c2w, start, encode=encode,
                                  end_image=end_image, preview_frames=frames, shaping_mask=mask)
    assert len(seen) == 1 and seen[0].shape == (1, H * 8, W * 8, 3)
    assert torch.allclose(seen[0], end_image, atol=1e-5)  # already the video's size: resize-crop keeps it
    assert edit.concat.shape == (T, C, H, W)  # frames-as-batch
    assert edit.concat[0].eq(3.0).all() and edit.concat[-1].eq(7.0).all() and edit.concat[1:-1].eq(0).all()
    assert edit.samples is None and edit.c2w_rel is None
    assert edit.shaping_mask[-1].eq(1).all() and edit.shaping_mask[1:-1].eq(0.5).all()  # handoff 1: all kept
    assert edit.preview_frames.shape == frames.shape and not torch.equal(edit.preview_frames[-1], frames[-1])
    assert edit.report[0] == f"mode interpolate: {T} frames at {W * 8}x{H * 8}"
    with pytest.raises(RealCamInputError, match="vae"):
        loop_modes.loop_interp("interpolate", "shaping_only", samples, T, c2w, start, end_image=end_image)
    with pytest.raises(RealCamInputError, match="end_image"):
        loop_modes.loop_interp("transition", "shaping_only", samples, T, c2w, start, encode=encode)
    with pytest.raises(RealCamInputError, match="mode"):
        loop_modes.loop_interp("bounce", "shaping_only", samples, T, c2w, start)


def test_open_loop_warns_first() -> None:
    edit = loop_modes.loop_interp("loop", "shaping_only", _frames(), T, _path(), torch.zeros(1, C, H, W))
    assert edit.report[0].startswith("WARNING:") and edit.warnings == [edit.report[0]]
    assert edit.concat is None  # shaping_only: the start image stays repeated
    closed = torch.eye(4).expand(1, T, 4, 4).clone()
    ok = loop_modes.loop_interp("loop", "shaping_only", _frames(), T, closed, torch.zeros(1, C, H, W))
    assert ok.warnings == [] and "returns to its start" in ok.text


def test_trajectory_from_frames() -> None:
    c2w = _path(4)[0]
    tr = Trajectory.from_frames(c2w, torch.eye(3).expand(4, 3, 3).clone(), version=7)
    assert tr.key_times == [0.0, 1.0, 2.0, 3.0] and tr.version == 7
    assert torch.equal(tr.key_c2w, c2w) and tr.key_c2w is not c2w
    with pytest.raises(RealCamInputError, match="K_norm"):
        Trajectory.from_frames(c2w, torch.eye(3)[None])


def test_paste_previous_overlap_per_clip() -> None:
    samples, prev = _frames(b=2, seed=3), _frames(b=2, seed=4) + 1000.0
    out = loop_modes.paste_previous_overlap(samples, prev, 2, T)
    for b in range(2):  # each clip's first two frames = its previous clip's last two
        assert torch.equal(out[b * T:b * T + 2], prev[b * T + T - 2:(b + 1) * T])
        assert torch.equal(out[b * T + 2:(b + 1) * T], samples[b * T + 2:(b + 1) * T])
    one = loop_modes.paste_previous_overlap(samples[:T], prev[:3], 2, T)  # a shorter previous clip: its last two
    assert torch.equal(one[:2], prev[1:3]) and torch.equal(one[2:], samples[2:T])
