"""The editor's point cloud as one compact binary file (instead of base64 JSON in the UI output).

A run of RealCam Trajectory Editor used to put ~1.5 MB of base64 into ComfyUI's prompt history, which
the server keeps and sends whole with every `GET /history`. Now the node writes the same data once into
ComfyUI's temp folder and the UI output only names the file; the widget fetches it through `/view`.

Layout (little-endian)::

    b"RCPC"            4 bytes magic
    u32 header_len     length of the UTF-8 JSON header that follows
    header             {"version": 1, "width", "height", "K", "stride", "grid_w", "grid_h"}
    padding            zero bytes up to a multiple of 4
    depth              float32[grid_h * grid_w], metres, 0 = invalid
    rgb                uint8[grid_h * grid_w * 3]

The name is the content hash, so re-running the same scene writes nothing new and the widget can cache by name.
`web/js/realcam_math.js` (`decodeSceneFile`) reads it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import numpy as np

from ..errors import RealCamInputError, require

MAGIC = b"RCPC"
VERSION = 1
_HEADER_KEYS = ("version", "width", "height", "K", "stride", "grid_w", "grid_h")


def encode_scene_file(payload: dict) -> bytes:
    """Bytes of a scene payload (`editor_state.scene_payload`'s dict) in the RCPC layout."""
    require(isinstance(payload, dict) and payload.get("version") == VERSION, "scene payload", "version 1", payload)
    header = json.dumps({k: payload[k] for k in _HEADER_KEYS}, separators=(",", ":")).encode("utf-8")
    pad = (-(8 + len(header))) % 4
    depth = base64.b64decode(payload["depth_f32_b64"])
    rgb = base64.b64decode(payload["rgb_u8_b64"])
    n = payload["grid_w"] * payload["grid_h"]
    require(len(depth) == 4 * n and len(rgb) == 3 * n, "scene payload", "grid-sized depth and rgb",
            (len(depth), len(rgb)))
    return MAGIC + struct.pack("<I", len(header)) + header + b"\0" * pad + depth + rgb


def decode_scene_file(data: bytes) -> dict:
    """Header dict plus `depth` (grid_h, grid_w) float32 and `rgb` (grid_h, grid_w, 3) uint8 arrays."""
    if len(data) < 8 or data[:4] != MAGIC:
        raise RealCamInputError("scene file: not a RealCam point-cloud file (magic 'RCPC' missing)")
    (hlen,) = struct.unpack("<I", data[4:8])
    try:
        header = json.loads(data[8:8 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RealCamInputError(f"scene file: unreadable header ({e})") from e
    require(header.get("version") == VERSION, "scene file version", str(VERSION), header.get("version"))
    gw, gh = int(header["grid_w"]), int(header["grid_h"])
    off = 8 + hlen + (-(8 + hlen)) % 4
    n = gw * gh
    require(len(data) == off + 7 * n, "scene file size", f"{off + 7 * n} bytes", len(data))
    depth = np.frombuffer(data, dtype="<f4", count=n, offset=off).reshape(gh, gw)
    rgb = np.frombuffer(data, dtype=np.uint8, count=3 * n, offset=off + 4 * n).reshape(gh, gw, 3)
    return {**header, "depth": depth, "rgb": rgb}


def write_scene_file(payload: dict, folder: str, prefix: str = "realcam_scene") -> str:
    """Write the payload into `folder` under a content-hash name (kept if it already exists); returns the name."""
    data = encode_scene_file(payload)
    name = f"{prefix}_{hashlib.sha256(data).hexdigest()[:24]}.rcpc"
    path = os.path.join(folder, name)
    if not os.path.isfile(path) or os.path.getsize(path) != len(data):
        os.makedirs(folder, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.part"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)  # atomic: the widget never reads a half-written file
    return name
