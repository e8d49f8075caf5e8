"""The four modes of the Loop / Interp node on plain tensors: what changes in the conditioning, and why.

`loop_interp` takes what RealCam Image To Video produced (the frames-as-batch latent, the concat latent
of the start image, the camera poses) and returns the edits of one mode with a report; the layouts
themselves are upstream's (`loop`). The node glue writes the edits into CONDITIONING / LATENT.

- interpolate / transition: the end image (resized and cropped like the start image) is encoded with
  `encode` (the VAE); it reaches the model through noise shaping (a fully visible last preview frame)
  and, with `concat_and_shaping`, through DynamiCrafter's interp concat layout.
- loop: the end frame is the start image; the path is checked to return to its start.
- continue: the clip starts with the previous clip's last `overlap` latent frames (kept through the
  noise mask); concat latent and poses refer to the conditioning frame inside the overlap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..errors import RealCamInputError, require
from ..model.layout import frames_as_video, video_as_frames
from ..model.preprocess import resize_crop
from . import clips, loop

__all__ = ["LoopInterpEdit", "loop_interp", "paste_previous_overlap", "previous_video", "shaping_preview"]


@dataclass
class LoopInterpEdit:
    """The edits of one mode. None = that part of the conditioning stays as it was.

    concat: the new concat latent (frames-as-batch (T, C, h, w) for the interp layout, (1, C, h, w) for a
    continuation's conditioning frame). c2w_rel: (1, T, 4, 4) poses relative to the conditioning frame.
    samples / noise_mask: a continuation's initial latent (B*T, C, h, w) and ComfyUI noise mask (T, 1, h, w).
    """

    report: list[str]
    preview_frames: torch.Tensor
    shaping_mask: torch.Tensor
    concat: torch.Tensor | None = None
    c2w_rel: torch.Tensor | None = None
    samples: torch.Tensor | None = None
    noise_mask: torch.Tensor | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.report)


def previous_video(samples: torch.Tensor, frames: int) -> torch.Tensor:
    """The previous clip's frames-as-batch LATENT as video latent: one video per `frames` when they divide
    the batch, else the whole batch is one clip."""
    require(torch.is_tensor(samples) and samples.ndim == 4, "previous_latent", "a RealCam LATENT (frames, 4, h, w)",
            tuple(getattr(samples, "shape", ())))
    per = frames if samples.shape[0] % frames == 0 else samples.shape[0]
    return frames_as_video(samples, per, "previous_latent")


def paste_previous_overlap(samples: torch.Tensor, previous: torch.Tensor, overlap: int, frames: int) -> torch.Tensor:
    """Upstream's final overlap paste on frames-as-batch LATENTs: each clip's first `overlap` frames become
    exactly the previous clip's last ones. samples (B*T, C, h, w), previous (B*Tp or Tp, C, h, w)."""
    video = frames_as_video(samples, frames, "latent")
    lay = loop.continuation_layout(previous_video(previous, frames).to(video), overlap, frames, fill=video)
    return video_as_frames(loop.paste_overlap(video, lay.latent, overlap))


def _continue(edit: LoopInterpEdit, video: torch.Tensor, frames: int, c2w_rel: torch.Tensor, overlap: int,
              cond_frame_index: int, previous: torch.Tensor | None) -> None:
    if previous is None:
        raise RealCamInputError("previous_latent: expected the previous clip's LATENT for mode continue, got nothing")
    prev = previous_video(previous, frames)
    size, prev_size = tuple(video.shape[1:2] + video.shape[3:]), tuple(prev.shape[1:2] + prev.shape[3:])
    require(prev_size == size, "previous_latent", f"the clip's latent size {size} (channels, h, w)", prev_size)
    require(overlap < frames, "overlap", f"fewer than the clip's {frames} frames", overlap)
    k = None if cond_frame_index < 0 else int(cond_frame_index)
    lay = loop.continuation_layout(prev.to(video), overlap, frames, k, fill=video)
    edit.c2w_rel = loop.relative_to_frame(c2w_rel, lay.cond_frame_index)
    edit.concat = lay.latent[:1, :, lay.cond_frame_index]  # (1, C, h, w): exact latent of the previous frame
    edit.samples = video_as_frames(lay.latent)
    edit.noise_mask = lay.noise_mask[0].transpose(0, 1).contiguous()  # (T, 1, h, w), per frame
    edit.report.append(f"continue: frames 0..{overlap - 1} are the previous clip's last {overlap} (kept through the "
                       f"noise mask); image, concat latent and poses refer to frame {lay.cond_frame_index}")


def _end_frame(edit: LoopInterpEdit, mode: str, end_conditioning: str, frames: int, hw: tuple[int, int],
               c2w_rel: torch.Tensor, start_latent: torch.Tensor, size_mismatch: str,
               encode: Callable[[torch.Tensor], torch.Tensor] | None, start_image: torch.Tensor | None,
               end_image: torch.Tensor | None) -> torch.Tensor | None:
    """interpolate / transition / loop: the end frame's latent and pixels; returns the pixels (or None)."""
    h, w = hw
    if mode == "loop":
        chk = clips.check_loop(c2w_rel[0])
        edit.report.append(chk.message)
        if not chk.closed:
            warning = (f"WARNING: {chk.message}; the last frame will not meet the first. Close the path "
                       "with SE3 Interpolate (closed) or RealCam Close Trajectory.")
            edit.report.insert(0, warning)  # first line: what the node shows
            edit.warnings.append(warning)
        end_latent = start_latent[:1]
        end_pixels = None if start_image is None else resize_crop(start_image[:1, ..., :3], h, w)[0]
    else:
        if end_image is None:
            raise RealCamInputError(f"end_image: expected an image for mode {mode}, got nothing")
        require(encode is not None, "vae", "the model's VAE to encode end_image")
        img = end_image[:1, ..., :3]
        if start_image is not None:  # checked against the start image's size, then treated like it
            img = loop.match_image_size(img, int(start_image.shape[1]), int(start_image.shape[2]), size_mismatch,
                                        "end_image")
        end_pixels = resize_crop(img, h, w)[0]
        end_latent = encode(end_pixels)
    if end_conditioning == "concat_and_shaping":
        concat = loop.interp_concat_from_ends(start_latent[:1].to(end_latent), end_latent, frames)
        edit.concat = video_as_frames(concat)
        edit.report.append("concat: DynamiCrafter interp layout (start slot 0, end slot "
                           f"{frames - 1}, zeros between) - experimental, needs an interp-trained base")
    else:
        edit.report.append("concat: unchanged (start image repeated); the end frame acts through noise shaping")
    return end_pixels


def shaping_preview(mode: str, preview_frames: torch.Tensor | None, shaping_mask: torch.Tensor | None,
                    end_pixels: torch.Tensor | None, handoff: float, report: list[str]
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The preview frames / shaping mask with the end image as fully visible last frame (placeholders when
    neither is given; unchanged for continue or without end pixels)."""
    if preview_frames is None and shaping_mask is None:
        return torch.zeros(1, 8, 8, 3), torch.zeros(1, 8, 8)  # nothing to shape: placeholders
    if preview_frames is None or shaping_mask is None:
        raise RealCamInputError("preview_frames: expected both preview_frames and shaping_mask (from RealCam "
                                "Point Cloud Render), got only one")
    if mode == "continue" or end_pixels is None:
        if mode == "loop":
            report.append("shaping: no start_image given, the preview's last frame is left as rendered")
        return preview_frames, shaping_mask
    hf = loop.default_preview_handoff(mode) if handoff < 0 else float(handoff)
    end = resize_crop(end_pixels, int(preview_frames.shape[1]), int(preview_frames.shape[2]))[0]
    f, m = loop.end_frame_shaping(preview_frames, shaping_mask, end, hf)
    report.append(f"shaping: last preview frame = the end image, fully visible; start preview trusted up to "
                  f"{hf:g} of the clip")
    return f, m


def loop_interp(mode: str, end_conditioning: str, samples: torch.Tensor, frames: int, c2w_rel: torch.Tensor,
                start_latent: torch.Tensor, *, size_mismatch: str = "error", overlap: int = 1,
                cond_frame_index: int = -1, preview_handoff: float = -1.0,
                encode: Callable[[torch.Tensor], torch.Tensor] | None = None,
                start_image: torch.Tensor | None = None, end_image: torch.Tensor | None = None,
                previous_samples: torch.Tensor | None = None, preview_frames: torch.Tensor | None = None,
                shaping_mask: torch.Tensor | None = None) -> LoopInterpEdit:
    """The edits of `mode` (see the module docstring) for a clip of `frames` frames.

    samples: the frames-as-batch latent (B*T, C, h, w); c2w_rel: the camera's (1, T, 4, 4) poses;
    start_latent: the concat latent (1, C, h, w) of the start image; encode: IMAGE (1, H, W, 3) -> latent;
    cond_frame_index -1 = overlap - 1; preview_handoff -1 = the mode's default.
    """
    require(mode in loop.MODES, "mode", f"one of {list(loop.MODES)}", mode)
    require(end_conditioning in loop.END_CONDITIONING, "end_conditioning", f"one of {list(loop.END_CONDITIONING)}",
            end_conditioning)
    video = frames_as_video(samples, frames, "latent")
    h, w = int(video.shape[3]) * 8, int(video.shape[4]) * 8
    edit = LoopInterpEdit([f"mode {mode}: {frames} frames at {w}x{h}"], preview_frames, shaping_mask)
    end_pixels = None
    if mode == "continue":
        _continue(edit, video, frames, c2w_rel, overlap, cond_frame_index, previous_samples)
    else:
        end_pixels = _end_frame(edit, mode, end_conditioning, frames, (h, w), c2w_rel, start_latent, size_mismatch,
                                encode, start_image, end_image)
    edit.preview_frames, edit.shaping_mask = shaping_preview(mode, preview_frames, shaping_mask, end_pixels,
                                                             preview_handoff, edit.report)
    return edit
