"""Path policy: every file the pack reads or writes stays inside the folders the host allows.

Pure logic (no ComfyUI import): the caller passes the allowed roots. The ComfyUI adapter that knows
the roots (model folders incl. extra_model_paths.yaml, input/, output/, temp/) is `realcam_comfy/file_policy.py`.

API (all raise `PathPolicyError`, a RealCamInputError whose message names the widget and the folder):

- `check_name(name, widget)`: a user-typed relative name is sane: not empty, no NUL byte, not absolute,
  no `..`, no component longer than MAX_COMPONENT characters.
- `resolve_read(name, roots, widget, kind="file"|"dir"|"any", suffixes=None)` -> Path: the resolved,
  existing file/folder `name` inside one of `roots`; symlinks are followed but the target must lie in
  one of the roots, too.
- `check_inside(path, roots, widget)` -> Path: an already built path (e.g. an index shard) resolves
  inside one of the roots.
- `check_tree(folder, roots, widget)`: every entry of a model folder (recursively, links included)
  resolves inside the roots; for `-hf` folders whose files could be links to elsewhere.
- `write_new(root, relpath, data, widget, on_exists="error"|"rename"|"same"|"counter")` -> Path: creates a
  NEW file under `root` without following any symlink below `root` (each folder opened with
  O_NOFOLLOW, the file created with O_EXCL via a temp name + hard link), so nothing outside `root`
  is written and no existing file is overwritten. "rename" picks `name_1.ext`, `name_2.ext`...;
  "same" returns the existing file when its bytes equal `data` (else renames); "counter" never uses
  the bare name: `name_00001_.ext`, `name_00002_.ext`... (ComfyUI's save-node naming).

Example (a new file widget):

    from ..realcam_core import paths  # in realcam_comfy/ or nodes/
    path = paths.resolve_read(value, [input_dir], "colmap_file", suffixes=(".bin", ".txt"))
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from .errors import RealCamInputError

MAX_COMPONENT = 200  # file systems stop at 255 bytes; leave room for counters and suffixes
MAX_NAME = 1024


class PathPolicyError(RealCamInputError):
    """A file name that leaves the allowed folders, or cannot be a file name at all."""

    __module__ = "realcam"


def _roots_text(roots: Sequence[str | os.PathLike]) -> str:
    return ", ".join(str(r) for r in roots) if roots else "(no folder configured)"


def check_name(name: object, widget: str, allowed: str = "the allowed folder") -> str:
    """The relative name with '/' separators; refuses empty, NUL, absolute, '..' and over-long names."""
    if not isinstance(name, str) or not name.strip():
        raise PathPolicyError(f"{widget}: expected a file name inside {allowed}, got {name!r}")
    if "\x00" in name:
        raise PathPolicyError(f"{widget}: expected a file name without NUL bytes, got {name[:60]!r}")
    if len(name) > MAX_NAME:
        raise PathPolicyError(f"{widget}: expected a file name of at most {MAX_NAME} characters, got {len(name)}")
    norm = name.replace("\\", "/")
    if norm.startswith("/") or os.path.isabs(name) or (len(norm) > 1 and norm[1] == ":"):
        raise PathPolicyError(f"{widget}: expected a name relative to {allowed}, got the absolute path {name[:120]!r}")
    parts = PurePosixPath(norm).parts
    if ".." in parts:
        raise PathPolicyError(f"{widget}: expected a name inside {allowed}, got {name[:120]!r} (no '..')")
    for p in parts:
        if len(p) > MAX_COMPONENT:
            raise PathPolicyError(
                f"{widget}: expected names of at most {MAX_COMPONENT} characters per folder/file, got one of {len(p)}"
            )
    return "/".join(p for p in parts if p not in ("", "."))


def _resolved_roots(roots: Sequence[str | os.PathLike]) -> list[Path]:
    return [Path(os.path.realpath(os.fspath(r))) for r in roots]


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def check_inside(path: str | os.PathLike, roots: Sequence[str | os.PathLike], widget: str,
                 label: str | None = None) -> Path:
    """The fully resolved `path` (symlinks followed); refuses it unless it lies inside one of `roots`."""
    real = Path(os.path.realpath(os.fspath(path)))
    if not _inside(real, _resolved_roots(roots)):
        shown = os.fspath(path)
        via = f" (a link to {real})" if os.fspath(real) != os.path.abspath(shown) else ""
        allowed = f"{label} ({_roots_text(roots)})" if label else f"the allowed folder(s) {_roots_text(roots)}"
        raise PathPolicyError(
            f"{widget}: {shown!s}{via} is outside {allowed}; "
            "put the file there (or add its folder to ComfyUI's extra_model_paths.yaml for models)"
        )
    return real


def resolve_read(
    name: str, roots: Sequence[str | os.PathLike], widget: str, kind: str = "file",
    suffixes: Sequence[str] | None = None, label: str | None = None,
) -> Path:
    """The existing file/folder `name` (relative) inside one of `roots`, resolved; see the module docstring.

    `label` names the folder for people (e.g. "ComfyUI's input folder"); the paths are appended.
    """
    allowed = f"{label} ({_roots_text(roots)})" if label else _roots_text(roots)
    rel = check_name(name, widget, allowed)
    if suffixes and kind != "dir" and not rel.lower().endswith(tuple(s.lower() for s in suffixes)):
        raise PathPolicyError(f"{widget}: expected a {'/'.join(suffixes)} file, got {name!r}")
    for root in roots:
        candidate = Path(os.fspath(root)) / rel
        if not (candidate.exists() or candidate.is_symlink()):
            continue
        real = check_inside(candidate, roots, widget, label)
        if not real.exists():
            raise PathPolicyError(f"{widget}: {name!r} in {root} is a broken link")
        if kind == "file" and not real.is_file():
            raise PathPolicyError(f"{widget}: expected a file, {name!r} in {root} is not one")
        if kind == "dir" and not real.is_dir():
            raise PathPolicyError(f"{widget}: expected a folder, {name!r} in {root} is not one")
        return real
    raise PathPolicyError(f"{widget}: {name!r} not found in {allowed}")


def check_tree(folder: str | os.PathLike, roots: Sequence[str | os.PathLike], widget: str,
               max_entries: int = 10_000) -> None:
    """Every entry below `folder` (links included, not followed into) resolves inside `roots`."""
    check_inside(folder, roots, widget)
    count = 0
    for dirpath, dirs, files in os.walk(folder, followlinks=False):
        for entry in dirs + files:
            count += 1
            if count > max_entries:
                raise PathPolicyError(f"{widget}: folder {folder} has more than {max_entries} entries")
            check_inside(os.path.join(dirpath, entry), roots, widget)


# ------------------------------------------------------------------------------------------ writing
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _open_subdir(parent_fd: int, name: str, widget: str, root: str) -> int:
    try:
        os.mkdir(name, dir_fd=parent_fd)
    except FileExistsError:
        pass
    try:
        return os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=parent_fd)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            raise PathPolicyError(
                f"{widget}: {name!r} under {root} is a link or not a folder; refusing to write through it"
            ) from None
        raise PathPolicyError(f"{widget}: cannot open folder {name!r} under {root} ({e.strerror})") from None


def _candidates(filename: str, on_exists: str):
    if on_exists != "counter":
        yield filename
    if on_exists == "error":
        return
    stem, ext = os.path.splitext(filename)
    if on_exists == "counter":  # ComfyUI's save naming: prefix_00001_.ext, prefix_00002_.ext, ...
        for i in range(1, 100_000):
            yield f"{stem}_{i:05}_{ext}"
        return
    for i in range(1, 10_000):
        yield f"{stem}_{i}{ext}"


def write_new(root: str | os.PathLike, relpath: str, data: bytes, widget: str, on_exists: str = "error") -> Path:
    """Create `root/relpath` holding `data`; never follows a link below `root`, never overwrites.

    The bytes go to a hidden temp file (O_EXCL) and are hard-linked to the final name, which fails
    if that name exists (file or link): a reader never sees a half-written file.
    """
    root = os.fspath(root)
    rel = check_name(relpath, widget, root)
    parts = rel.split("/")
    fd = os.open(root, _DIR_FLAGS)
    try:
        for p in parts[:-1]:
            nfd = _open_subdir(fd, p, widget, root)
            os.close(fd)
            fd = nfd
        tmp = f".realcam-tmp-{secrets.token_hex(6)}"
        wfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=fd)
        try:
            with os.fdopen(wfd, "wb") as f:
                f.write(data)
            for name in _candidates(parts[-1], on_exists):
                if on_exists == "same" and _same_bytes(fd, name, data):
                    return Path(root, *parts[:-1], name)
                try:
                    os.link(tmp, name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
                    return Path(root, *parts[:-1], name)
                except FileExistsError:
                    continue
            raise PathPolicyError(f"{widget}: {rel!r} already exists in {root}; refusing to overwrite it")
        finally:
            try:
                os.unlink(tmp, dir_fd=fd)
            except FileNotFoundError:
                pass
    finally:
        os.close(fd)


def _same_bytes(dir_fd: int, name: str, data: bytes) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        return f.read(len(data) + 1) == data
