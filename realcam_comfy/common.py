"""Shared plumbing for the node adapters: socket types, model folders, progress and interrupts."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import comfy.model_management as mm
import comfy.utils
import folder_paths
import torch
from comfy_api.latest import io, ui

CATEGORY = "RealCam"

# Socket types of this pack (ARCHITECTURE §3). CAMERACTRL_POSES is AnimateDiff-Evolved's type name, so
# our paths plug into ADE, KJNodes' visualiser and WanVideoWrapper.
SceneType = io.Custom("REALCAM_SCENE")
TrajectoryType = io.Custom("REALCAM_TRAJECTORY")
DepthModelType = io.Custom("REALCAM_DEPTH_MODEL")
CameraCtrlPosesType = io.Custom("CAMERACTRL_POSES")

DEPTH_FOLDER = "depthanything"  # shared with kijai's ComfyUI-DepthAnythingV2
REALCAM_FOLDER = "realcam"


def register_model_folders() -> None:
    """Add our model folders to ComfyUI's registry (idempotent; extra_model_paths.yaml may add more)."""
    for name in (DEPTH_FOLDER, REALCAM_FOLDER):
        path = os.path.join(folder_paths.models_dir, name)
        if name not in folder_paths.folder_names_and_paths:
            folder_paths.folder_names_and_paths[name] = ([path], set())
        elif path not in folder_paths.folder_names_and_paths[name][0]:
            folder_paths.folder_names_and_paths[name][0].append(path)


def model_dirs(folder: str) -> list[str]:
    return list(folder_paths.get_folder_paths(folder))


def input_file(name: str, what: str, suffixes: tuple[str, ...]) -> Path:
    """Resolve `name` inside ComfyUI's input folder (path policy: no escape, no link leaving it)."""
    from .file_policy import read_input

    if isinstance(name, str) and name.endswith(" [input]"):  # the frontend's annotated names
        name = name[: -len(" [input]")]
    return read_input(name, what, suffixes)


def list_input_files(suffixes: tuple[str, ...]) -> list[str]:
    root = folder_paths.get_input_directory()
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            if f.lower().endswith(suffixes):
                out.append(os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/"))
    return sorted(out)


def progress(total: int) -> Callable[..., None]:
    """A `callback(done, total=None)` for long core loops: advances the progress bar, honours Cancel."""
    bar = comfy.utils.ProgressBar(total)

    def step(done: int, new_total: int | None = None) -> None:
        mm.throw_exception_if_processing_interrupted()
        bar.update_absolute(done, new_total or total)

    return step


def torch_device():
    return mm.get_torch_device()


def interruptible(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a core call whose long work `mm.processing_interrupted` cancels; report it as ComfyUI's interrupt."""
    try:
        return fn(*args, should_stop=mm.processing_interrupted, **kwargs)
    except InterruptedError:
        # raised only after should_stop() saw ComfyUI's interrupt flag; another thread (a progress-bar update)
        # may have cleared the flag since, so report the interrupt itself rather than re-reading the flag
        raise mm.InterruptProcessingException() from None


def preview_with_text(images: Any, text: str, cls: type) -> dict:
    """A node's UI: a preview of `images` and a text line."""
    out = dict(ui.PreviewImage(images, cls=cls).as_dict())
    out["text"] = (text,)
    return out


# precision widgets -> torch dtypes
TORCH_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
