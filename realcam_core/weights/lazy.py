"""Weight files opened without reading them whole: tensors backed by the file's pages until used.

Same readers and the same checks as `checkpoint.read_weights` (safetensors, or `torch.load` with
`weights_only=True`), only memory-mapped:

- `.safetensors`: `safetensors.safe_open`, whose CPU tensors map their own byte range of the file
  (copy-on-write, nothing is read until a tensor is touched; a tensor's mapping goes when it does);
- zip-format torch files: `torch.load(weights_only=True, mmap=True)` (one private mapping of the file);
  legacy (non-zip) pickles cannot be mapped and are read whole, as before.

`checkpoint.read_weights` reads a 6.5 GB file into 6.5 GB of fresh memory before the model takes its own
copy; with these tensors a model built on the meta device takes them over (`materialize`), so loading
needs about the model's size once.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import pickle
import sys
import weakref
import zipfile
from collections.abc import Callable, MutableMapping

import torch
from torch import nn

from ..errors import RealCamInputError
from .checkpoint import _HINT, TORCH_SUFFIXES, _tensors, check_safetensors, read_weights


def open_weights(path: str | os.PathLike, what: str = "checkpoint") -> dict[str, torch.Tensor]:
    """All tensors of one weight file as memory-mapped CPU tensors (see the module docstring)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise RealCamInputError(f"{what} {path}: expected an existing file")
    low = path.lower()
    if low.endswith(".safetensors"):
        from safetensors import safe_open

        check_safetensors(path, what)
        try:
            with safe_open(path, framework="pt", device="cpu") as f:
                out = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iterator)
        except Exception as e:  # safetensors raises its own error types; keep the message, drop the trace
            raise RealCamInputError(f"{what} {path}: unreadable safetensors file ({e})") from None
        _register_file_mapped(out, path)
        return out
    if low.endswith(TORCH_SUFFIXES) and zipfile.is_zipfile(path):
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except pickle.UnpicklingError:
            return read_weights(path, what)  # the refusal message of the whole-file reader
        except Exception as e:
            raise RealCamInputError(
                f"{what} {path}: not a readable torch checkpoint (truncated or corrupt? {str(e)[:200]}); {_HINT}"
            ) from None
        out = _tensors(obj, path, what)
        _register_file_mapped(out, path)
        return out
    return read_weights(path, what)


# Tensors inside a file mapping, by id (weak: an id is only trusted while its tensor lives).
_FILE_MAPPED: weakref.WeakValueDictionary[int, torch.Tensor] = weakref.WeakValueDictionary()
_MADV_DONTNEED = 4


def _register_file_mapped(tensors: dict[str, torch.Tensor], path: str) -> None:
    """Remember the tensors whose bytes lie inside a mapping of `path` (from /proc/self/maps, Linux only).

    Both readers map the file once and hand out slices, so a tensor's pages stay resident after it has
    been copied unless released; only tensors proven to sit in the file's mapping are ever released.
    """
    if not sys.platform.startswith("linux"):
        return
    real = os.path.realpath(path)
    ranges = []
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].rstrip("\n") == real:
                    lo, hi = (int(x, 16) for x in parts[0].split("-"))
                    ranges.append((lo, hi))
    except OSError:
        return
    for t in tensors.values():
        start = t.data_ptr()
        end = start + t.numel() * t.element_size()
        if t.numel() and any(lo <= start and end <= hi for lo, hi in ranges):
            _FILE_MAPPED[id(t)] = t


def track_view(view: torch.Tensor, base: torch.Tensor) -> None:
    """Let `release_pages(view)` release `view`, a contiguous slice of the file-mapped tensor `base`
    (e.g. the q / k / v thirds of a fused qkv weight); no-op when `base` is not file-mapped."""
    if _FILE_MAPPED.get(id(base)) is not base or not view.is_contiguous() or view.numel() == 0:
        return
    lo, hi = base.data_ptr(), base.data_ptr() + base.numel() * base.element_size()
    start = view.data_ptr()
    if lo <= start and start + view.numel() * view.element_size() <= hi:
        _FILE_MAPPED[id(view)] = view


def release_pages(t: torch.Tensor) -> None:
    """Drop the resident file pages under a memory-mapped file tensor that has been copied (Linux).

    The mapping is private and file-backed, so dropped pages would be read again from the file if
    touched; callers release a tensor only once nothing will read it. Other tensors: no-op.
    """
    if _FILE_MAPPED.pop(id(t), None) is not t or not sys.platform.startswith("linux") or t.numel() == 0:
        return
    page = mmap.PAGESIZE
    start = t.data_ptr()
    end = start + t.numel() * t.element_size()
    lo, hi = -(-start // page) * page, end // page * page
    if hi > lo:
        ctypes.CDLL(None).madvise(ctypes.c_void_p(lo), ctypes.c_size_t(hi - lo), _MADV_DONTNEED)


def materialize(module: nn.Module, source: MutableMapping[str, torch.Tensor], key_of: Callable[[str], str],
                device: torch.device | str | None = None, pop: bool = True) -> list[str]:
    """Give every parameter / buffer of a meta-device `module` its tensor from `source[key_of(name)]`.

    Each tensor is copied to `device` (default CPU) in the dtype the module was built with (as
    `load_state_dict` copies) into fresh memory, then dropped from `source` (`pop`), so a memory-mapped source
    releases each part of the file as soon as it has been copied. Shapes must match (else an error
    naming the key). Returns the names that had no source tensor (left on the meta device).
    """
    missing: list[str] = []
    dev = torch.device(device) if device is not None else torch.device("cpu")
    for name, t in [*module.named_parameters(), *module.named_buffers()]:
        key = key_of(name)
        src = source.pop(key, None) if pop else source.get(key)
        if src is None:
            missing.append(name)
            continue
        if tuple(src.shape) != tuple(t.shape):
            raise RealCamInputError(f"checkpoint: tensor {key} has shape {tuple(src.shape)}, the model needs "
                                    f"{tuple(t.shape)}")
        new = src.to(device=dev, dtype=t.dtype, copy=True)  # the dtype the model was built with
        if pop:
            release_pages(src)
        del src
        owner_name, _, leaf = name.rpartition(".")
        owner = module.get_submodule(owner_name) if owner_name else module
        if leaf in owner._parameters:
            owner._parameters[leaf] = nn.Parameter(new, requires_grad=t.requires_grad)
        else:
            owner._buffers[leaf] = new
    return missing
