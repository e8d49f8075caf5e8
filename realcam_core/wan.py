"""Wan 2.x glue, free of ComfyUI: frame counts, metric -> model scale for camera embeddings, the default
shaping window for flow models.

Frame counts. Wan's causal VAE encodes pixel frame 0 alone, then groups of 4: a video of N frames has
(N - 1) // 4 + 1 latent frames and only N = 4k + 1 frames round-trip (core's length widget steps by 4
from 1). Wan Fun Camera packs its Plücker embedding the same way.

Scale. Wan Fun Camera (like CameraCtrl) was trained on RealEstate10K poses, whose translations come
from per-clip SLAM: arbitrary units in which a typical scene is about one unit away. Our trajectories
are in metres. Dividing translations by the scene's median depth puts the same shot into the units
where "the subject is one unit away", the normalisation those datasets effectively have, so a 2 m
dolly in a 4 m room and a 0.5 m dolly in a 1 m room (the same shot) give the same embedding.
`translation_scale` multiplies on top, for taste or for trajectories without a scene.

Intrinsics. Core's WanCameraEmbedding writes fx = fy = cx = cy = 0.5 and lets `process_pose_params`
rescale fx from an assumed 1280x720 original ("match core"); we know the real intrinsics of the
scene ("true intrinsics"). Both are offered; the node says which one was used.
"""

from __future__ import annotations

import torch

from .errors import RealCamInputError, require
from .scene.types import Scene
from .shaping import ShapingWindow
from .trajectory.types import Trajectory

TEMPORAL_COMPRESSION = 4  # Wan 2.1 / 2.2 VAEs

# Frame-count choices offered by the preset / interpolation nodes ("custom" keeps num_frames).
FRAME_CHOICES: dict[str, int | None] = {
    "custom": None,
    "DynamiCrafter 16 frames": 16,
    "Wan 33 frames": 33,
    "Wan 49 frames": 49,
    "Wan 81 frames": 81,
    "Wan 121 frames": 121,
}

SCALE_MODES = ("scene median depth", "metres")
INTRINSICS_MODES = ("true intrinsics", "match core")
CORE_POSE_SIZE = (1280, 720)  # the original video size core's process_pose_params assumes
CORE_K_NORM = 0.5  # core WanCameraEmbedding's default fx, fy, cx, cy

# Default xt_paste window for flow models, in core's percent terms: the first 10 % of the schedule.
# Upstream shapes DDPM t 1000 -> 900, the first 10 % of the timesteps. Wan samples with shift 5-8, so a
# bound in sigma (0.9) would cover about half of the steps and freeze the video onto the point-cloud
# preview; core's percent is taken before the shift (percent_to_sigma applies it), so 0 -> 0.1 shapes
# the same share of the schedule as upstream, whatever the shift.
DEFAULT_FLOW_WINDOW = ShapingWindow(0.0, 0.1, "sigma_percent")


def frames_for(choice: str, num_frames: int) -> int:
    """The frame count a node uses: the named choice's, or num_frames for "custom"."""
    require(choice in FRAME_CHOICES, "frame_count", f"one of {list(FRAME_CHOICES)}", repr(choice))
    n = FRAME_CHOICES[choice]
    return int(num_frames) if n is None else n


def check_length(n: int, name: str = "length") -> int:
    """A Wan frame count: 4k + 1 (1, 5, ..., 81, ...)."""
    require(isinstance(n, int) and n >= 1 and n % TEMPORAL_COMPRESSION == 1, name,
            f"4k+1 frames for Wan's 4x temporal VAE (e.g. 49, 81, 121; nearest: {nearest_length(n)})", n)
    return n


def nearest_length(n: int) -> int:
    """The 4k + 1 count closest to n (ties go up)."""
    k = max(0, round((int(n) - 1) / TEMPORAL_COMPRESSION + 1e-9))
    return TEMPORAL_COMPRESSION * k + 1


def latent_frames(n: int) -> int:
    """Latent frames of an n-frame video: (n - 1) // 4 + 1."""
    return (int(n) - 1) // TEMPORAL_COMPRESSION + 1


def check_image(x, name: str) -> torch.Tensor:
    """An IMAGE (frames, height, width, 3+) with at least one frame."""
    require(torch.is_tensor(x) and x.ndim == 4 and x.shape[-1] >= 3 and x.shape[0] >= 1, name,
            "an IMAGE (frames, height, width, 3)", tuple(x.shape) if torch.is_tensor(x) else type(x).__name__)
    return x


def check_preview(frames, mask, length: int, width: int, height: int) -> None:
    """RealCam Wan Noise Shaping's preview_frames and shaping_mask: `length` frames of width x height each."""
    check_length(length)
    check_image(frames, "preview_frames")
    if tuple(frames.shape[:3]) != (length, height, width):
        raise RealCamInputError(
            f"preview_frames: expected {length} frames of {width}x{height} (length, width, height), got "
            f"{frames.shape[0]} frames of {frames.shape[2]}x{frames.shape[1]}; render the preview with "
            "RealCam Point Cloud Render at the Wan width/height along a trajectory of length frames")
    require(torch.is_tensor(mask) and mask.ndim == 3 and tuple(mask.shape) == (length, height, width), "shaping_mask",
            f"a mask of {length} frames of {width}x{height}, like preview_frames (the render's shaping_mask)",
            tuple(mask.shape) if torch.is_tensor(mask) else type(mask).__name__)


def median_depth(scene: Scene) -> float:
    """Median of the scene's valid, positive, finite depths (metres)."""
    d = scene.depth[scene.mask.bool() & torch.isfinite(scene.depth) & (scene.depth > 0)]
    require(d.numel() > 0, "scene", "a scene with valid depth to measure its median depth")
    return float(d.float().median())


def model_scale(mode: str, translation_scale: float, scene: Scene | None) -> tuple[float, str]:
    """Factor that maps metres to the camera model's units, and a line saying how it was chosen."""
    require(mode in SCALE_MODES, "scale", f"one of {list(SCALE_MODES)}", repr(mode))
    require(translation_scale > 0, "translation_scale", "a positive factor", translation_scale)
    if mode == "metres":
        return float(translation_scale), f"scale: metres x {translation_scale:g} (no scene normalisation)"
    require(scene is not None, "scene", "a SCENE (from RealCam Depth) for scale 'scene median depth', or scale 'metres'")
    med = median_depth(scene)
    factor = translation_scale / med
    return factor, (f"scale: metres / median depth {med:.3g} m x {translation_scale:g} = x{factor:.4g} "
                    "(RealEstate10K-like units: the scene ~1 unit away)")


def trajectory_at_model_scale(trajectory: Trajectory, length: int, mode: str, translation_scale: float,
                              scene: Scene | None) -> tuple[Trajectory, str]:
    """A `length`-frame trajectory in the camera model's units, and a line saying how they were chosen."""
    check_length(length)
    if trajectory.num_frames != length:
        raise RealCamInputError(
            f"trajectory: expected {length} poses (length), got {trajectory.num_frames}; resample it with "
            f"RealCam SE3 Interpolate (frame_count 'Wan {length} frames' or num_frames {length})")
    factor, line = model_scale(mode, translation_scale, scene)
    return (trajectory.scaled(factor) if factor != 1.0 else trajectory), line


def pose_rows(traj: Trajectory, intrinsics: str) -> torch.Tensor:
    """Rows [t, fx, fy, cx, cy, k1, k2, c2w 4x4 row-major] (float64) for core's process_pose_params."""
    require(intrinsics in INTRINSICS_MODES, "intrinsics", f"one of {list(INTRINSICS_MODES)}", repr(intrinsics))
    n = traj.num_frames
    if intrinsics == "match core":
        k = torch.full((n, 4), CORE_K_NORM, dtype=torch.float64)
    else:
        K = traj.K_norm.double()
        k = torch.stack([K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2]], dim=1)
    return torch.cat([torch.zeros(n, 1, dtype=torch.float64), k, torch.zeros(n, 2, dtype=torch.float64),
                      traj.c2w.double().reshape(n, 16)], dim=1)


def pack_embedding(per_frame: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 6) Plücker rays -> WAN_CAMERA_EMBEDDING (1, 24, (N + 3) // 4, H, W).

    Wan Fun Camera's packing: frame 0 repeated four times, then groups of four frames stacked on channels.
    """
    video = per_frame.permute(3, 0, 1, 2)[None]  # (1, 6, N, H, W)
    video = torch.cat([video[:, :, :1].repeat_interleave(TEMPORAL_COMPRESSION, dim=2), video[:, :, 1:]], dim=2)
    video = video.transpose(1, 2)  # (1, N + 3, 6, H, W)
    b, f, c, h, w = video.shape
    video = video.reshape(b, f // 4, 4, c, h, w).transpose(2, 3).reshape(b, f // 4, c * 4, h, w)
    return video.transpose(1, 2).contiguous()
