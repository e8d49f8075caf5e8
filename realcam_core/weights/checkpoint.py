"""Reading weight files safely: `.safetensors`, or pickled `.pth/.pt/.ckpt/.bin` through
`torch.load(weights_only=True)` only. Every failure is one RealCamInputError that names the input.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
from collections.abc import Mapping

import torch

from ..errors import RealCamInputError

TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
_HINT = "delete it and download it again"


def check_safetensors(path: str, what: str) -> None:
    """Fail with a plain message on a truncated or non-safetensors file (before safetensors does)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise RealCamInputError(f"{what} {path}: expected a safetensors file, got {size} bytes; {_HINT}")
        n = struct.unpack("<Q", head)[0]
        if n > size - 8:
            raise RealCamInputError(
                f"{what} {path}: truncated or not a safetensors file (header needs {n} bytes, file has {size}); {_HINT}"
            )
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RealCamInputError(f"{what} {path}: corrupt safetensors header; {_HINT}") from None
    if not isinstance(header, dict):
        raise RealCamInputError(f"{what} {path}: corrupt safetensors header; {_HINT}")
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    if not entries:
        raise RealCamInputError(f"{what} {path}: expected tensors, the safetensors file holds none (empty data)")
    for k, v in entries.items():
        offs = v.get("data_offsets") if isinstance(v, dict) else None
        if not (isinstance(offs, list) and len(offs) == 2 and all(isinstance(o, int) and o >= 0 for o in offs)
                and offs[0] <= offs[1]):
            raise RealCamInputError(f"{what} {path}: corrupt safetensors header (tensor {str(k)[:80]!r}); {_HINT}")
    ends = [v["data_offsets"][1] for v in entries.values()]
    need = 8 + n + (max(ends) if ends else 0)
    if need > size:
        raise RealCamInputError(f"{what} {path}: truncated ({size} of {need} bytes; an interrupted download?); {_HINT}")


def _tensors(obj: object, path: str, what: str) -> dict[str, torch.Tensor]:
    """Name -> tensor from a loaded file: unwraps `state_dict` / `model` / `module` (Lightning, DDP), keeps tensors."""
    if isinstance(obj, Mapping):
        for wrapper in ("state_dict", "model", "module"):
            inner = obj.get(wrapper)
            if isinstance(inner, Mapping) and any(isinstance(v, torch.Tensor) for v in inner.values()):
                obj = inner
                break
    out = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)} if isinstance(obj, Mapping) else {}
    if not out:
        raise RealCamInputError(f"{what} {path}: expected a dict of tensors (a state dict), got {type(obj).__name__}")
    if all(k.startswith("module.") for k in out):
        out = {k[len("module."):]: v for k, v in out.items()}
    return out


def read_weights(path: str | os.PathLike, what: str = "checkpoint") -> dict[str, torch.Tensor]:
    """All tensors of one weight file on the CPU, in their stored dtype; `what` names the input in errors."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise RealCamInputError(f"{what} {path}: expected an existing file")
    if path.lower().endswith(".safetensors"):
        from safetensors.torch import load_file

        check_safetensors(path, what)
        try:
            return load_file(path, device="cpu")
        except Exception as e:  # safetensors raises its own error types; keep the message, drop the trace
            raise RealCamInputError(f"{what} {path}: unreadable safetensors file ({e})") from None
    if path.lower().endswith(TORCH_SUFFIXES):
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise RealCamInputError(
                f"{what} {path}: refused: it can only be read by unpickling code (torch.load weights_only=True "
                f"failed: {first[:200]}). Use a .safetensors file, or a file that holds plain tensors"
            ) from None
        except Exception as e:
            raise RealCamInputError(
                f"{what} {path}: not a readable torch checkpoint (truncated or corrupt? {str(e)[:200]}); {_HINT}"
            ) from None
        return _tensors(obj, path, what)
    raise RealCamInputError(f"{what} {path}: expected a .safetensors, {', '.join(TORCH_SUFFIXES)} file")
