"""POST /realcam/upload_pose: stores a pose file in input/ under the path policy.

Core's /upload/image follows links inside input/ and overwrites on request; this route never does:
the file is created new (an identical existing file is reused, a different one gets `name_1.txt`).
"""

from __future__ import annotations

import logging
import os

from aiohttp import web

from ..realcam_core.errors import RealCamInputError
from ..realcam_core.paths import check_name
from .file_policy import write_input

log = logging.getLogger("RealCam")
ROUTE = "/realcam/upload_pose"
MAX_POSE_BYTES = 64 * 1024 * 1024
POSE_SUFFIXES = (".txt",)


async def upload_pose(request: web.Request) -> web.Response:
    try:
        post = await request.post()
        field = post.get("file") or post.get("image")
        if field is None or not hasattr(field, "file"):
            raise RealCamInputError("file: expected a multipart field 'file' holding a .txt pose file")
        name = os.path.basename(str(field.filename or "").replace("\\", "/"))
        check_name(name, "file", "ComfyUI's input folder")
        if not name.lower().endswith(POSE_SUFFIXES):
            raise RealCamInputError(f"file: expected a .txt pose file, got {name!r}")
        data = field.file.read(MAX_POSE_BYTES + 1)
        if len(data) > MAX_POSE_BYTES:
            raise RealCamInputError(f"file: expected at most {MAX_POSE_BYTES // 2**20} MiB, got more")
        if b"\x00" in data:
            raise RealCamInputError(f"file: {name!r} contains NUL bytes; expected a text file of numbers")
        path = write_input(name, data, "file", on_exists="same")
    except RealCamInputError as e:
        return web.json_response({"error": str(e)}, status=400)
    return web.json_response({"name": path.name, "subfolder": "", "type": "input"})


def register_routes() -> None:
    try:
        from server import PromptServer
    except ImportError:  # imported outside a ComfyUI server (tests, scripts)
        return
    instance = getattr(PromptServer, "instance", None)
    if instance is None:
        return
    instance.routes.post(ROUTE)(upload_pose)
