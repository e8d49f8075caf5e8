"""Files the nodes write and read: fresh output paths, the saved-file UI text, input-file fingerprints,
model paths under the path policy, the editor's scene file in temp/.

Reads go through `common.input_file` (the path policy of `file_policy`); writes get a new path under
ComfyUI's output folder with its counter and never overwrite.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import folder_paths

from ..realcam_core.errors import RealCamInputError
from ..realcam_core.paths import check_name
from ..realcam_core.scene.scene_file import write_scene_file
from ..realcam_core.scene.types import Scene
from ..realcam_core.trajectory.editor.payload import scene_payload
from .common import input_file, model_dirs
from .file_policy import check_model_path


def new_output(filename_prefix: str, suffix: str) -> tuple[Path, str]:
    """A fresh path under the output folder (ComfyUI's counter; refuses to overwrite) and its relative name."""
    out_dir = folder_paths.get_output_directory()
    full_dir, filename, counter, _subfolder, _ = folder_paths.get_save_image_path(filename_prefix, out_dir)
    path = Path(full_dir) / f"{filename}_{counter:05}_{suffix}"
    if path.exists():
        raise RealCamInputError(f"filename_prefix: {path.name} already exists in the output folder; choose "
                                "another prefix")
    rel = os.path.relpath(path, out_dir).replace(os.sep, "/")
    return path, rel


def saved(rel: str, info: str) -> dict:
    """The node's UI text for a written file: its path in the output folder and what it holds."""
    return {"text": (f"{rel}: {info}",)}


def input_fingerprint(name: str, what: str, suffixes: tuple[str, ...], *rest: object) -> str:
    """`fingerprint_inputs` of a node reading input file `name`: changes when the file (or `rest`) changes."""
    try:
        p = input_file(name, what, suffixes)
        return f"{p}:{p.stat().st_mtime_ns}:{rest}"
    except RealCamInputError:
        return f"{name}:{rest}"


def model_path(name: str, folder: str, widget: str, resolve: Callable[[list[str], str], str]) -> str:
    """Path policy for a model widget: `name` is a relative name inside models/<folder>; what `resolve`
    (the folders, the name) returns - a download, an -hf folder, links in it - must stay inside them too."""
    check_name(name, widget, f"models/{folder}")
    path = resolve(model_dirs(folder), name)
    check_model_path(path, [folder], widget)
    return path


def scene_file_ref(scene: Scene, subfolder: str, max_points: int) -> dict:
    """Write the scene's preview cloud as a binary file in temp/<subfolder> and return the /view reference
    to it. The UI output (kept in the prompt history) then carries ~100 bytes instead of the ~1.5 MB cloud."""
    payload = scene_payload(scene.depth, scene.image, scene.K, max_points=max_points)
    name = write_scene_file(payload, os.path.join(folder_paths.get_temp_directory(), subfolder))
    return {"filename": name, "subfolder": subfolder, "type": "temp",
            "width": payload["width"], "height": payload["height"]}
