"""Checkpoint files for RealCam Checkpoint Loader: ComfyUI's model folders, official downloads, the ModelPatcher.

Files come from models/realcam, then models/checkpoints (path policy: `file_policy.check_model_path`);
an official file (`realcam_core.model.sources.KNOWN_CHECKPOINTS`) that is missing is downloaded into
models/realcam. Pair checks, merging and the config are `realcam_core.model.pairing`.
"""

from __future__ import annotations

import logging
import os

import comfy.model_patcher
import folder_paths
import torch

from ..realcam_core.errors import RealCamInputError
from ..realcam_core.model.loading import POSE_PREFIX, RESAMPLER_PREFIX, UNET_PREFIX
from ..realcam_core.model.pairing import NONE, interp_note, read_pair
from ..realcam_core.model.sources import KNOWN_CHECKPOINTS, download_checkpoint
from ..realcam_core.paths import check_name
from ..realcam_core.weights.hub import hub_offline, hub_url
from ..realcam_core.weights.lazy import release_pages
from .common import REALCAM_FOLDER
from .file_policy import check_model_path
from .model_base import build_model_patcher

log = logging.getLogger("RealCam")
CKPT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth")
FOLDERS = (REALCAM_FOLDER, "checkpoints")
WEIGHT_DTYPES: dict[str, torch.dtype | None] = {"default": None, "fp16": torch.float16, "bf16": torch.bfloat16,
                                                "fp32": torch.float32}


def list_checkpoints() -> list[str]:
    """Checkpoint files in models/realcam, then models/checkpoints, then the official files not yet downloaded."""
    out: list[str] = []
    for folder in FOLDERS:
        try:
            names = folder_paths.get_filename_list(folder)
        except Exception:  # folder not registered in an unusual host set-up
            names = []
        out += [n for n in names if n.lower().endswith(CKPT_SUFFIXES) and n not in out]
    return out + [n for n in KNOWN_CHECKPOINTS if n not in out]


def _find(name: str, links: bool = False) -> str | None:
    """Full path of `name` in the first model folder that holds it (a dangling link counts with `links`)."""
    for folder in FOLDERS:
        try:
            path = folder_paths.get_full_path(folder, name)
        except Exception:
            path = None
        if path and (os.path.isfile(path) or (links and os.path.islink(path))):
            return path
    return None


def resolve_checkpoint(name: str, what: str) -> str:
    """Path of `name`; an official file that is missing is downloaded into models/realcam (clear error offline).

    Path policy (file_policy.py): a relative name, and the file (links followed) inside the model folders.
    """
    check_name(name, what, f"models/{REALCAM_FOLDER} or models/checkpoints")
    path = _find(name, links=True)
    if path is None and name in KNOWN_CHECKPOINTS:
        path = download_checkpoint(name, folder_paths.get_folder_paths(REALCAM_FOLDER)[0], what)
    if path is None:
        raise RealCamInputError(f"{what}: {name!r} not found in models/{REALCAM_FOLDER} or models/checkpoints")
    return str(check_model_path(path, FOLDERS, what))


def missing_checkpoint(name: str, what: str) -> str | None:
    """Why `name` cannot be loaded, checked before the prompt runs; None if it is on disk or will download."""
    if name == NONE or _find(name) is not None:
        return None
    target = folder_paths.get_folder_paths(REALCAM_FOLDER)[0]
    if name in KNOWN_CHECKPOINTS:
        if not hub_offline():
            return None  # downloaded when the node runs
        repo, filename = KNOWN_CHECKPOINTS[name]
        return (f"{what}: {name!r} is not in models/{REALCAM_FOLDER} or models/checkpoints and downloads are off "
                f"(HF_HUB_OFFLINE); get it from {hub_url(repo, filename)} into {os.path.join(target, name)}")
    return f"{what}: {name!r} not found in models/{REALCAM_FOLDER} or models/checkpoints ({target})"


def missing_pair(base_name: object, camera_name: object) -> bool | str:
    """The loader's `validate_inputs`: True, or why the prompt is refused at once (not after depth and render)."""
    problems = [missing_checkpoint(n, what) for n, what in ((base_name, "base_checkpoint"),
                                                            (camera_name, "camera_checkpoint")) if isinstance(n, str)]
    problems = [p for p in problems if p]
    return "; ".join(problems) if problems else True


def load_realcam(base_path: str | None, cam_path: str | None, dtype: torch.dtype | None = None,
                 ) -> tuple[comfy.model_patcher.ModelPatcher, dict[str, torch.Tensor]]:
    """(ModelPatcher, passthrough state dict) from a base + camera pair or a merged file."""
    merged, cfg = read_pair(base_path, cam_path)
    log.info("RealCam: %s model, %s, image %s, %d frames", cfg.variant, cfg.diffusion.parameterization,
             cfg.image_size, cfg.unet.temporal_length)
    patcher = build_model_patcher(merged, cfg, dtype=dtype)
    for k, v in merged.items():  # copied into the model: drop their file pages (the rest stays for VAE / CLIP)
        if k.startswith((UNET_PREFIX, POSE_PREFIX, RESAMPLER_PREFIX)):
            release_pages(v)
    return patcher, merged


def load_checkpoint_pair(base_name: str, camera_name: str, weight_dtype: str,
                         ) -> tuple[comfy.model_patcher.ModelPatcher, dict[str, torch.Tensor], str]:
    """The loader node's work: resolve both names ("none" = no file), load, and the summary shown on the node."""
    base = None if base_name == NONE else resolve_checkpoint(base_name, "base_checkpoint")
    cam = None if camera_name == NONE else resolve_checkpoint(camera_name, "camera_checkpoint")
    patcher, sd = load_realcam(base, cam, WEIGHT_DTYPES[weight_dtype])
    cfg = patcher.model.realcam
    lines = [f"RealCam {cfg.variant}: {cfg.diffusion.parameterization}, {cfg.image_size[1]}x{cfg.image_size[0]}, "
             f"{cfg.unet.temporal_length} frames"]
    note = interp_note(base_name, camera_name)
    if note:
        log.warning("RealCam: %s", note)
        lines.append("WARNING: " + note)
    return patcher, sd, "\n".join(lines)
