"""POST /realcam/upload: stores a camera file (pose, glTF, nerfstudio, COLMAP) in input/ under the path policy.

Core's /upload/image follows links inside input/ and overwrites on request; this route never does: the
file is created new (an identical existing file is reused, a different one with the same name gets
`name_1.ext`). `POST /realcam/upload_pose` is the same route for pose files (kind "pose").
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

from aiohttp import web

from ..realcam_core.errors import RealCamInputError
from ..realcam_core.paths import check_name
from .file_policy import write_input

log = logging.getLogger("RealCam")
ROUTE = "/realcam/upload"
POSE_ROUTE = "/realcam/upload_pose"
_SUBFOLDER = re.compile(r"colmap/[A-Za-z0-9_-]{1,40}")  # COLMAP's two files share one new folder


@dataclass(frozen=True)
class Kind:
    what: str
    suffixes: tuple[str, ...]
    max_bytes: int
    text: bool  # text formats: a NUL byte means the wrong file was chosen


KINDS = {
    "pose": Kind("a .txt pose file", (".txt",), 64 * 2**20, True),
    "gltf": Kind("a .glb / .gltf file", (".glb", ".gltf"), 512 * 2**20, False),
    "nerfstudio": Kind("a nerfstudio transforms .json", (".json",), 64 * 2**20, True),
    "colmap": Kind("COLMAP's cameras.txt / images.txt", (".txt",), 256 * 2**20, True),
}


def store_upload(name: str, data: bytes, kind: str, subfolder: str = "") -> str:
    """Validate one uploaded file and write it into input/; returns its name relative to input/."""
    spec = KINDS.get(kind)
    if spec is None:
        raise RealCamInputError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    name = os.path.basename(name.replace("\\", "/"))
    check_name(name, "file", "ComfyUI's input folder")
    if not name.lower().endswith(spec.suffixes):
        raise RealCamInputError(f"file: expected {spec.what}, got {name!r}")
    if len(data) > spec.max_bytes:
        raise RealCamInputError(f"file: expected at most {spec.max_bytes // 2**20} MiB, got more")
    if spec.text and b"\x00" in data:
        raise RealCamInputError(f"file: {name!r} contains NUL bytes; expected {spec.what} (text)")
    if subfolder and not (kind == "colmap" and _SUBFOLDER.fullmatch(subfolder)):
        raise RealCamInputError(f"subfolder: expected 'colmap/<id>' for a COLMAP model, got {subfolder!r}")
    rel = f"{subfolder}/{name}" if subfolder else name
    path = write_input(rel, data, "file", on_exists="same")
    return f"{subfolder}/{path.name}" if subfolder else path.name


async def _read(request: web.Request, kind: str | None) -> web.Response:
    try:
        post = await request.post()
        field = post.get("file") or post.get("image")
        kind = kind or str(post.get("kind") or "")
        if field is None or not hasattr(field, "file"):
            raise RealCamInputError("file: expected a multipart field 'file' holding the camera file")
        limit = KINDS[kind].max_bytes if kind in KINDS else 0
        data = field.file.read(limit + 1)
        rel = store_upload(str(field.filename or ""), data, kind, str(post.get("subfolder") or ""))
    except RealCamInputError as e:
        return web.json_response({"error": str(e)}, status=400)
    sub, _, name = rel.rpartition("/")
    return web.json_response({"name": name, "subfolder": sub, "type": "input"})


async def upload(request: web.Request) -> web.Response:
    return await _read(request, None)


async def upload_pose(request: web.Request) -> web.Response:
    return await _read(request, "pose")


def register_routes() -> None:
    try:
        from server import PromptServer
    except ImportError:  # imported outside a ComfyUI server (tests, scripts)
        return
    instance = getattr(PromptServer, "instance", None)
    if instance is None:
        return
    instance.routes.post(ROUTE)(upload)
    instance.routes.post(POSE_ROUTE)(upload_pose)
