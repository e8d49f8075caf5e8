"""ComfyUI-RealCam: camera-controlled image-to-video with metric-depth scenes (RealCam-I2V).

ComfyUI entry point only: the V3 extension and the web directory. Nodes live in `nodes/`, the
library in `realcam_core/`.
"""

WEB_DIRECTORY = "./web"

try:  # inside ComfyUI
    from .nodes import comfy_entrypoint  # noqa: F401
except ImportError as exc:  # imported outside ComfyUI (e.g. by pytest collecting the repo root; in a clone
    # whose folder name is no Python identifier, such as ComfyUI-RealCam, as a module without a package)
    if not any(s in str(exc) for s in ("comfy", "folder_paths", "no known parent package")):
        raise

__all__ = ["WEB_DIRECTORY", "comfy_entrypoint"]
