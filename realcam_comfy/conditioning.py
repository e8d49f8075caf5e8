"""What RealCam puts in CONDITIONING (ARCHITECTURE §4), and the helpers that read and write it.

Layout. LATENTs are frames-as-batch `(B*T, 4, h, w)`, as core's SVD: the RealCam VAE is the 2D SD
KL-f8, so core VAEEncode / VAEDecode / latent previews work on them unchanged. The diffusion model
folds them back to `(B, 4, T, h, w)`; T comes with the conditioning (`realcam_frames`).

Conditioning (all inside CONDITIONING, set by RealCamImageToVideo; no batch-size heuristics):
  concat_latent_image  (1, 4, h, w) raw VAE latent of the conditioning frame (repeated over frames)
  realcam_image_tokens (1, 257, 1280) CLIP-vision last hidden state (Resampler input)
  realcam_camera       CameraCondition, one camera per video: c2w (1, T, 4, 4), K pixels (1, T, 3, 3)
  realcam_frame_stride int frame stride; the model turns it into its fs value (256: stride, 512: 29.97 // stride)
  realcam_fs           int fs value given directly (wins over the stride)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import comfy.conds
import torch

from ..realcam_core.errors import RealCamInputError, require
from ..realcam_core.model import CameraCondition
from ..realcam_core.trajectory.loop_modes import LoopInterpEdit

KEY_IMAGE = "realcam_image_tokens"
KEY_CAMERA = "realcam_camera"
KEY_FS = "realcam_fs"
KEY_STRIDE = "realcam_frame_stride"
KEY_FRAMES = "realcam_frames"
KEY_CONCAT = "concat_latent_image"


# ---------------------------------------------------------------------------------- conds
class CONDCamera(comfy.conds.CONDRegular):
    """A CameraCondition, one camera per video, batched like frames-as-batch latents."""

    def process_cond(self, batch_size: int, **kwargs: Any) -> CONDCamera:
        cam: CameraCondition = self.cond
        t = cam.c2w_rel.shape[1]
        require(batch_size % t == 0, "latent", f"a batch that is a whole number of {t}-frame videos (the camera's)",
                batch_size)
        videos = batch_size // t
        if cam.c2w_rel.shape[0] == videos:
            return self._copy_with(cam)
        rep = comfy.utils.repeat_to_batch_size
        tp = None if cam.t_pairs is None else rep(cam.t_pairs, videos)
        return self._copy_with(CameraCondition(rep(cam.c2w_rel, videos), rep(cam.K, videos), tuple(cam.image_size),
                                               cam.seed, tp))

    def can_concat(self, other: CONDCamera) -> bool:
        a, b = self.cond, other.cond
        return (tuple(a.image_size) == tuple(b.image_size) and a.seed == b.seed
                and a.c2w_rel.shape[1:] == b.c2w_rel.shape[1:] and (a.t_pairs is None) == (b.t_pairs is None))

    def concat(self, others: list[CONDCamera]) -> CameraCondition:
        cams = [self.cond] + [o.cond for o in others]
        tp = None if cams[0].t_pairs is None else torch.cat([c.t_pairs for c in cams])
        return CameraCondition(torch.cat([c.c2w_rel for c in cams]), torch.cat([c.K for c in cams]),
                               tuple(cams[0].image_size), cams[0].seed, tp)

    def size(self) -> list[int]:
        return list(self.cond.c2w_rel.shape)


# ---------------------------------------------------------------------------------- reading / writing
def cond_value(conditioning: list, key: str):
    """The first value of `key` in a CONDITIONING list, or None."""
    for c in conditioning:
        if key in c[1]:
            return c[1][key]
    return None


def with_values(conditioning: list, values: dict) -> list:
    """A copy of CONDITIONING with `values` set on every entry (as core's node_helpers.conditioning_set_values)."""
    return [[c[0], {**c[1], **values}] for c in conditioning]


def require_value(conditioning: list, key: str, what: str, name: str = "positive"):
    """`cond_value`, or an error naming `name` when the conditioning is not RealCam Image To Video's."""
    require(isinstance(conditioning, list) and len(conditioning) > 0, name,
            "conditioning from RealCam Image To Video", type(conditioning).__name__)
    value = cond_value(conditioning, key)
    if value is None:
        raise RealCamInputError(f"{name}: expected conditioning from RealCam Image To Video (it carries the {what}), "
                                "got conditioning without it")
    return value


def apply_loop_edit(positive: list, negative: list, latent: dict, camera: CameraCondition,
                    edit: LoopInterpEdit) -> tuple[list, list, dict]:
    """Write a Loop / Interp edit into both conditionings (concat latent, camera poses) and the LATENT."""
    values: dict = {}
    if edit.concat is not None:
        values[KEY_CONCAT] = edit.concat
    if edit.c2w_rel is not None:
        values[KEY_CAMERA] = dataclasses.replace(camera, c2w_rel=edit.c2w_rel)
    if values:
        positive, negative = with_values(positive, values), with_values(negative, values)
    out = dict(latent)
    if edit.samples is not None:
        out["samples"], out["noise_mask"] = edit.samples, edit.noise_mask
    return positive, negative, out
