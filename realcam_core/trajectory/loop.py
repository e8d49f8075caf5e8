"""Conditioning layouts for interpolation, loops, transitions and continuation (ARCHITECTURE §11.2).

Latents are video latents (B, C, T, h, w); z is the VAE latent of the conditioning video (upstream
`z`, its frames are the input image repeated, or the previous clip's frames when continuing).
Poses are camera-to-world (N, 4, 4), OpenCV axes, metres.

What upstream defines (CamI2V `base.py:get_batch_input`, `ddim.py`), reproduced exactly here:
- default layout: `c_concat = z[:, :, k]` repeated over all T frames, k = `cond_frame_index`; the
  CLIP image is frame k; poses are relative to frame k: inverse(c2w[k]) @ c2w[f].
- `interp_mode`: `c_concat = zeros_like(z)`, slot 0 = z[:, :, 0], slot T-1 = z[:, :, -1]; no mask
  channel; the CLIP image and the poses still use frame k (0 by default).
- overlap pasting (`paste_overlap_frames`, `num_overlap` n): before each step
  x_t[:, :, :n] = q_sample(z[:, :, :n], t); the predicted x0[:, :, :n] = z[:, :, :n]; and the
  final sample's first n frames = z[:, :, :n].

What is NOT trained: no released RealCam-I2V / CamI2V checkpoint used interp_mode, overlap pasting
or a continuation mode (upstream stores `continuation_mode` and never reads it). DynamiCrafter's
`512_interp` base was trained with interp_mode, but without camera modules; pairing it with the 512
RealCam camera file is an experiment. `cond_frame_index` is the one hook a camera model did see in
training (`rand_cond_frame`). The end image is therefore also offered to noise shaping as a fully
visible preview frame, which works with any model (`end_frame_shaping`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..camera.se3 import relative_to_first
from ..errors import RealCamInputError, require

__all__ = [
    "END_CONDITIONING",
    "MODES",
    "SIZE_MISMATCH",
    "ContinuationLayout",
    "check_cond_frame_index",
    "continuation_layout",
    "default_preview_handoff",
    "end_frame_shaping",
    "interp_concat",
    "interp_concat_from_ends",
    "match_image_size",
    "overlap_noise_mask",
    "paste_overlap",
    "paste_overlap_xt",
    "relative_to_frame",
    "repeat_concat",
]

MODES = ("interpolate", "loop", "transition", "continue")
# concat_and_shaping: DynamiCrafter interp layout in the concat latent (needs an interp-trained base,
# experimental) plus the end frame in the shaping preview; shaping_only: any RealCam model.
END_CONDITIONING = ("shaping_only", "concat_and_shaping")
SIZE_MISMATCH = ("error", "crop", "stretch")


def _check_video_latent(z: torch.Tensor, name: str) -> torch.Tensor:
    require(torch.is_tensor(z) and z.ndim == 5, name, "a video latent (B, C, T, h, w)",
            tuple(z.shape) if torch.is_tensor(z) else type(z).__name__)
    require(z.shape[2] >= 1, name, "at least one latent frame", tuple(z.shape))
    return z


def check_cond_frame_index(index: int, num_frames: int, name: str = "cond_frame_index") -> int:
    """An index into T frames (negative counts from the end, as Python); returns it in 0..T-1."""
    require(isinstance(index, int) and not isinstance(index, bool), name, "an int", type(index).__name__)
    require(-num_frames <= index < num_frames, name, f"a frame index in 0..{num_frames - 1}", index)
    return index % num_frames


# -- concat layouts --------------------------------------------------------------------------
def repeat_concat(z: torch.Tensor, cond_frame_index: int = 0) -> torch.Tensor:
    """Upstream's default hybrid layout: z[:, :, k] repeated over the T frames. z: (B, C, T, h, w)."""
    z = _check_video_latent(z, "latent")
    k = check_cond_frame_index(cond_frame_index, z.shape[2])
    return z[:, :, k:k + 1].expand(-1, -1, z.shape[2], -1, -1).clone()


def interp_concat(z: torch.Tensor) -> torch.Tensor:
    """Upstream's `interp_mode` layout: zeros, slot 0 = z[:, :, 0], slot T-1 = z[:, :, -1]. (B, C, T, h, w)."""
    z = _check_video_latent(z, "latent")
    require(z.shape[2] >= 2, "latent", "at least 2 frames for a start and an end slot", tuple(z.shape))
    out = torch.zeros_like(z)
    out[:, :, 0] = z[:, :, 0]
    out[:, :, -1] = z[:, :, -1]
    return out


def _single_frame(x: torch.Tensor, name: str) -> torch.Tensor:
    """(B, C, h, w) or (B, C, 1, h, w) -> (B, C, h, w)."""
    require(torch.is_tensor(x) and x.ndim in (4, 5), name, "a latent (B, C, h, w) or (B, C, 1, h, w)",
            tuple(x.shape) if torch.is_tensor(x) else type(x).__name__)
    if x.ndim == 5:
        require(x.shape[2] == 1, name, "a single latent frame", tuple(x.shape))
        x = x[:, :, 0]
    return x


def interp_concat_from_ends(start: torch.Tensor, end: torch.Tensor, num_frames: int) -> torch.Tensor:
    """`interp_concat` of a video whose first frame is `start` and last is `end` -> (B, C, T, h, w).

    start/end: (B, C, h, w) or (B, C, 1, h, w); a batch of one broadcasts to the other's batch.
    """
    s, e = _single_frame(start, "start_latent"), _single_frame(end, "end_latent")
    require(s.shape[1:] == e.shape[1:], "end_latent", f"the start latent's size {tuple(s.shape[1:])}",
            tuple(e.shape[1:]))
    b = max(s.shape[0], e.shape[0])
    require(s.shape[0] in (1, b) and e.shape[0] in (1, b), "end_latent", f"batch 1 or {b}", e.shape[0])
    require(isinstance(num_frames, int) and num_frames >= 2, "num_frames", "an int >= 2", num_frames)
    out = s.new_zeros((b, s.shape[1], num_frames, s.shape[2], s.shape[3]))
    out[:, :, 0] = s
    out[:, :, -1] = e.to(s)
    return out


def relative_to_frame(c2w: torch.Tensor, cond_frame_index: int = 0) -> torch.Tensor:
    """Upstream `get_relative_pose` (mode 'left'): inverse(c2w[k]) @ c2w[f]. (N, 4, 4) or (B, N, 4, 4)."""
    require(torch.is_tensor(c2w) and c2w.ndim in (3, 4) and tuple(c2w.shape[-2:]) == (4, 4), "c2w",
            "(N, 4, 4) or (B, N, 4, 4)", tuple(c2w.shape) if torch.is_tensor(c2w) else type(c2w).__name__)
    k = check_cond_frame_index(cond_frame_index, c2w.shape[-3])
    if c2w.ndim == 3:
        return relative_to_first(c2w, k)
    return torch.stack([relative_to_first(c, k) for c in c2w])


# -- continuation ----------------------------------------------------------------------------
@dataclass
class ContinuationLayout:
    """What a continuation clip is conditioned on.

    latent: (B, C, T, h, w) the clip's initial latent; frames :n are the previous clip's last n.
    noise_mask: (1, 1, T, h, w) ComfyUI `noise_mask`: 0 = keep (the overlap), 1 = generate.
    concat: (B, C, T, h, w) upstream's default layout on frame k = cond_frame_index.
    cond_frame_index: k, the frame the image, concat latent and poses refer to (default n - 1, the
    previous clip's last frame).
    """

    latent: torch.Tensor
    noise_mask: torch.Tensor
    concat: torch.Tensor
    overlap: int
    cond_frame_index: int


def overlap_noise_mask(overlap: int, num_frames: int, hw: tuple[int, int]) -> torch.Tensor:
    """(1, 1, T, h, w) float32: 0 on the first `overlap` frames (kept), 1 elsewhere (generated)."""
    require(isinstance(overlap, int) and 0 <= overlap < num_frames, "overlap",
            f"0..{num_frames - 1} frames (the clip has {num_frames})", overlap)
    m = torch.ones(1, 1, num_frames, int(hw[0]), int(hw[1]), dtype=torch.float32)
    m[:, :, :overlap] = 0.0
    return m


def continuation_layout(previous: torch.Tensor, overlap: int, num_frames: int,
                        cond_frame_index: int | None = None, fill: torch.Tensor | None = None) -> ContinuationLayout:
    """Layout of the next clip from the previous clip's latent (B, C, Tp, h, w).

    The next clip's frames 0..n-1 are previous[:, :, -n:] (n = overlap, upstream `num_overlap`);
    the remaining frames start as `fill` (B|1, C, T, h, w) when given (e.g. the model's own
    initial latent), else zeros (what EmptyLatent gives). cond_frame_index must lie in the overlap,
    where the image is known.
    """
    previous = _check_video_latent(previous, "previous_latent")
    require(isinstance(num_frames, int) and num_frames >= 2, "num_frames", "an int >= 2", num_frames)
    require(isinstance(overlap, int) and 1 <= overlap < num_frames, "overlap",
            f"1..{num_frames - 1} frames shared with the previous clip", overlap)
    tp = previous.shape[2]
    if tp < overlap:
        raise RealCamInputError(
            f"previous_latent: expected at least overlap={overlap} frames from the previous clip, got {tp}; "
            "lower overlap or pass the whole previous clip")
    k = overlap - 1 if cond_frame_index is None else check_cond_frame_index(cond_frame_index, num_frames)
    require(k < overlap, "cond_frame_index", f"a frame inside the overlap (0..{overlap - 1}), where the image is known",
            k)
    b, c, _, h, w = previous.shape
    if fill is None:
        latent = previous.new_zeros((b, c, num_frames, h, w))
    else:
        fill = _check_video_latent(fill, "latent")
        require(fill.shape[1] == c and fill.shape[2] == num_frames and tuple(fill.shape[3:]) == (h, w), "latent",
                f"a latent ({c} channels, {num_frames} frames, {h}x{w}) like the previous clip's",
                tuple(fill.shape))
        latent = fill.to(previous).expand(b, -1, -1, -1, -1).clone()
    latent[:, :, :overlap] = previous[:, :, tp - overlap:]
    return ContinuationLayout(latent=latent, noise_mask=overlap_noise_mask(overlap, num_frames, (h, w)),
                              concat=repeat_concat(latent, k), overlap=overlap, cond_frame_index=k)


def paste_overlap(x: torch.Tensor, z: torch.Tensor, overlap: int) -> torch.Tensor:
    """Upstream's x0 / final paste: x[:, :, :n] = z[:, :, :n] (a copy). x, z: (B, C, T, h, w)."""
    out = x.clone()
    out[:, :, :overlap] = z[:, :, :overlap].to(out)
    return out


def paste_overlap_xt(x: torch.Tensor, z: torch.Tensor, overlap: int, sqrt_alpha_bar: float,
                     noise: torch.Tensor) -> torch.Tensor:
    """Upstream's pre-step paste in DDPM space: x_t[:, :, :n] = sqrt(a) z + sqrt(1 - a) noise (first n frames)."""
    a = float(sqrt_alpha_bar)
    out = x.clone()
    out[:, :, :overlap] = a * z[:, :, :overlap].to(out) + (1.0 - a * a) ** 0.5 * noise[:, :, :overlap].to(out)
    return out


# -- images ----------------------------------------------------------------------------------
def _check_images(x: torch.Tensor, name: str) -> torch.Tensor:
    require(torch.is_tensor(x) and x.ndim == 4 and x.shape[-1] in (3, 4) and x.shape[0] >= 1, name,
            "an IMAGE (frames, height, width, 3)", tuple(x.shape) if torch.is_tensor(x) else type(x).__name__)
    return x[..., :3]


def match_image_size(image: torch.Tensor, height: int, width: int, how: str = "error",
                     name: str = "end_image") -> torch.Tensor:
    """IMAGE (B, H, W, 3) at (height, width): unchanged if it fits, else per `how`.

    error: RealCamInputError naming both sizes. crop: aspect-preserving resize to cover, then a
    centre crop (upstream's rule for input images). stretch: plain resize. Bilinear, antialiased.
    """
    require(how in SIZE_MISMATCH, "size_mismatch", f"one of {list(SIZE_MISMATCH)}", how)
    img = _check_images(image, name)
    h0, w0 = int(img.shape[1]), int(img.shape[2])
    if (h0, w0) == (height, width):
        return img
    if how == "error":
        raise RealCamInputError(
            f"{name}: expected the start image's size {width}x{height} (width x height), got {w0}x{h0}; "
            "resize it, or set size_mismatch to crop or stretch")
    x = img.movedim(-1, 1).float()
    if how == "stretch":
        out = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    else:
        s = max(height / h0, width / w0)
        rh, rw = max(height, round(h0 * s)), max(width, round(w0 * s))
        out = F.interpolate(x, size=(rh, rw), mode="bilinear", align_corners=False, antialias=True)
        top, left = (rh - height) // 2, (rw - width) // 2
        out = out[:, :, top:top + height, left:left + width]
    return out.clamp(0.0, 1.0).movedim(1, -1).to(img.dtype).contiguous()


def default_preview_handoff(mode: str) -> float:
    """Fraction of the clip over which the start image's preview stays trusted.

    interpolate / loop: 1.0 (one scene, the preview holds throughout). transition: 0.5, since the
    start scene's point cloud says nothing about image B's content in the second half.
    """
    require(mode in MODES, "mode", f"one of {list(MODES)}", mode)
    return 0.5 if mode == "transition" else 1.0


def end_frame_shaping(frames: torch.Tensor, mask: torch.Tensor, end_image: torch.Tensor,
                      handoff: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Preview frames (F, H, W, 3) and shaping mask (F, H, W) with the end image as last frame.

    The last frame becomes the end image (resized to the preview's size must be done first) with
    a mask of ones, so noise shaping pulls the last latent frame to the end image's latent like it
    pulls frame 0 to the start image. Frames f in 1..F-2 with f / (F - 1) > handoff get mask 0.
    """
    fr = _check_images(frames, "preview_frames")
    require(torch.is_tensor(mask) and mask.ndim == 3, "shaping_mask", "a MASK (frames, height, width)",
            tuple(mask.shape) if torch.is_tensor(mask) else type(mask).__name__)
    require(tuple(mask.shape) == tuple(fr.shape[:3]), "shaping_mask",
            f"one mask per preview frame at its size {tuple(fr.shape[:3])}", tuple(mask.shape))
    require(fr.shape[0] >= 2, "preview_frames", "at least 2 frames (a start and an end)", fr.shape[0])
    end = _check_images(end_image, "end_image")
    require(tuple(end.shape[1:3]) == tuple(fr.shape[1:3]), "end_image",
            f"the preview's size {fr.shape[2]}x{fr.shape[1]}", f"{end.shape[2]}x{end.shape[1]}")
    require(isinstance(handoff, (int, float)) and 0.0 <= handoff <= 1.0, "preview_handoff", "a fraction in 0..1",
            handoff)
    n = fr.shape[0]
    out_f = fr.clone()
    out_m = mask.clone().float()
    out_f[-1] = end[0].to(out_f)
    out_m[-1] = 1.0
    pos = torch.arange(n, dtype=torch.float64) / (n - 1)
    drop = (pos > handoff + 1e-9)
    drop[0] = drop[-1] = False
    out_m[drop] = 0.0
    return out_f, out_m

