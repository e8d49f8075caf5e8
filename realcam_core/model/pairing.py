"""Which checkpoint files make a RealCam-I2V model: base + camera pair checks, merge, config (ARCHITECTURE §4).

A pair is a DynamiCrafter base (or a merged RealCam-I2V file) plus the RealCam/CamI2V camera file;
`merge_pair` refuses image models, swapped or incomplete pairs and 256/512 mismatches with a message
that names the input. `read_pair` does the whole file side of loading: map both files, merge, infer
the config. The ComfyUI side (folders, downloads, the ModelPatcher) is `realcam_comfy.checkpoints`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import torch

from ..errors import RealCamInputError, require
from ..weights.lazy import open_weights
from .config import RealCamConfig
from .loading import classify_checkpoint, infer_config, merge_checkpoints

NONE = "none"  # the loader's "no file" choice, as named in messages
IMAGE_SIZE_KEY = "realcam_image_size"  # optional [H, W] training-resolution stamp (tiny / fine-tuned models)
_RES_HINT = re.compile(r"(?<!\d)(256|512)(?!\d)")


def check_dynamicrafter_base(sd: Mapping[str, torch.Tensor], what: str) -> None:
    """A video UNet with the 8-channel (noisy + image latent) input, not an image model."""
    w = sd.get("model.diffusion_model.input_blocks.0.0.weight")
    if w is None:
        return
    temporal = any(".temopral_conv." in k for k in sd) or "model.diffusion_model.init_attn.0.norm.weight" in sd
    if w.ndim != 4 or w.shape[1] != 8 or not temporal:
        raise RealCamInputError(
            f"{what}: expected a DynamiCrafter / RealCam-I2V video checkpoint (8 input channels, temporal layers), "
            f"got an image model ({w.shape[1] if w.ndim == 4 else '?'} input channels"
            f"{', no temporal layers' if not temporal else ''}), e.g. SD1.5/SD2; load it with core loaders instead")


def merge_pair(base_name: str, base: Mapping | None, cam_name: str, cam: Mapping | None) -> tuple[dict, str]:
    """Canonical merged state dict and its variant; refuses mismatched or incomplete pairs."""
    b = merge_checkpoints(base, None) if base is not None else None
    c = merge_checkpoints(None, cam) if cam is not None else None
    bi = classify_checkpoint(b) if b is not None else None
    ci = classify_checkpoint(c) if c is not None else None
    if b is not None:
        check_dynamicrafter_base(b, "base_checkpoint")
        require(bi.kind in ("full", "base"), "base_checkpoint",
                "a DynamiCrafter base or a merged RealCam-I2V checkpoint (UNet keys model.diffusion_model.*)",
                f"a {bi.kind.replace('_', '-')} file ({base_name})")
    if c is not None:
        check_dynamicrafter_base(c, "camera_checkpoint")
        require(ci.kind in ("camera_only", "full"), "camera_checkpoint",
                "the RealCam/CamI2V camera file (pose_encoder.*, pluker_projection, epipolar)",
                f"a file without camera modules ({cam_name})")
    if b is None and c is None:
        raise RealCamInputError("base_checkpoint: expected a checkpoint, got none")
    if c is None:
        require(bi.kind == "full", "camera_checkpoint", "the RealCam/CamI2V camera file (the base has no camera "
                "modules)", NONE)
    if b is None:
        require(ci.kind == "full", "base_checkpoint", f"the DynamiCrafter base for camera-only file {cam_name}", NONE)
    variant = (bi or ci).variant if (bi and bi.variant) else ci.variant
    if bi is not None and ci is not None:
        other = ci.variant
        if other is None:  # camera-only files have the same keys and shapes at 256 and 512: the name is all we have
            m = _RES_HINT.search(os.path.basename(cam_name))
            other = m.group(1) if m else None
        if other is not None and other != bi.variant:
            raise RealCamInputError(
                f"camera_checkpoint: expected the camera file of a {bi.variant} model to match base {base_name} "
                f"({bi.variant}: {'; '.join(bi.evidence) or 'from its keys'}), got a {other} file ({cam_name})")
    merged = merge_checkpoints(base, cam)
    return merged, variant or "256"


def read_pair(base_path: str | None, cam_path: str | None) -> tuple[dict[str, torch.Tensor], RealCamConfig]:
    """Merged state dict (memory-mapped tensors, `weights.lazy`) and its config from a pair or a merged file."""
    base = open_weights(base_path, "base_checkpoint") if base_path else None
    cam = open_weights(cam_path, "camera_checkpoint") if cam_path else None
    merged, variant = merge_pair(os.path.basename(base_path or ""), base, os.path.basename(cam_path or ""), cam)
    size = merged.get(IMAGE_SIZE_KEY)
    image_size = tuple(int(v) for v in size.tolist()) if size is not None else None
    return merged, infer_config(merged, variant=variant, image_size=image_size)


def interp_note(base_name: str, camera_name: str) -> str | None:
    """The experimental-pairing note for a DynamiCrafter interp base (e.g. 512_interp) with a RealCam camera file.

    Its keys and shapes equal the 512 base's (interp_mode is a training flag, not a layer), so only the file name
    can tell; the pairing loads, but the camera modules were never trained with it.
    """
    # the whole relative name: the official file is DynamiCrafter_512_Interp/model.ckpt
    names = [n for n in (base_name, camera_name) if n and n != NONE and "interp" in n.lower()]
    if not names:
        return None
    return (f"{names[0]} looks like a DynamiCrafter interp base (EXPERIMENTAL): the RealCam camera modules were "
            "never trained with it; use it for RealCam Loop / Interp Conditioning's concat_and_shaping layout")
