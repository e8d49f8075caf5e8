"""ComfyUI side of the path policy (realcam_core/paths.py): which folders a widget may read or write.

Use these from any node that reads or writes a file:

- `read_input(name, widget, suffixes)` -> Path: a file in ComfyUI's input/ folder (pose files,
  depth files, COLMAP / glTF files...).
- `read_model(name, folders, widget, kind="any")` -> Path: a file/folder in the model folders
  (`folders` are ComfyUI folder names such as "depthanything", "realcam", "checkpoints"; every path
  ComfyUI knows for them counts, extra_model_paths.yaml included). Folders are checked entry by entry.
- `model_roots(folders)` / `input_roots()` / `output_roots()`: the roots themselves.
- `write_output(relpath, data, widget, on_exists="rename")` -> (Path, subfolder, filename): a new file
  under output/ (never through a link, never overwriting).
- `write_input(relpath, data, widget, on_exists="same")`: the same under input/ (uploads).
- `check_model_path(path, folders, widget)`: a path the pack built itself (a download, an index
  shard) still lies inside the model folders.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import folder_paths

from ..realcam_core import paths


def model_roots(folders: Sequence[str]) -> list[str]:
    roots: list[str] = []
    for f in folders:
        try:
            roots += [p for p in folder_paths.get_folder_paths(f) if p not in roots]
        except Exception:  # folder not registered in this host
            continue
    return roots


def _models_label(folders: Sequence[str]) -> str:
    return "the model folders " + " / ".join(f"models/{f}" for f in folders)


def input_roots() -> list[str]:
    return [folder_paths.get_input_directory()]


def output_roots() -> list[str]:
    return [folder_paths.get_output_directory(), folder_paths.get_temp_directory()]


def read_input(name: str, widget: str, suffixes: Sequence[str] | None = None) -> Path:
    return paths.resolve_read(name, input_roots(), widget, kind="file", suffixes=suffixes,
                              label="ComfyUI's input folder")


def read_model(name: str, folders: Sequence[str], widget: str, kind: str = "any") -> Path:
    roots = model_roots(folders)
    path = paths.resolve_read(name, roots, widget, kind=kind, label=_models_label(folders))
    if path.is_dir():
        paths.check_tree(path, roots, widget)
    return path


def check_model_path(path: str | os.PathLike, folders: Sequence[str], widget: str) -> Path:
    roots = model_roots(folders)
    real = paths.check_inside(path, roots, widget, _models_label(folders))
    if real.is_dir():
        paths.check_tree(real, roots, widget)
    return real


def write_output(relpath: str, data: bytes, widget: str, on_exists: str = "counter") -> tuple[Path, str, str]:
    root = folder_paths.get_output_directory()
    path = paths.write_new(root, relpath, data, widget, on_exists=on_exists)
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    sub, _, name = rel.rpartition("/")
    return path, sub, name


def write_input(relpath: str, data: bytes, widget: str, on_exists: str = "same") -> Path:
    return paths.write_new(folder_paths.get_input_directory(), relpath, data, widget, on_exists=on_exists)
