"""V3 node adapters. Each node declares its schema and hands the work to realcam_core."""

from __future__ import annotations

from comfy_api.latest import ComfyExtension, io

from . import camera_nodes, depth_nodes, editor, loop_nodes, model_nodes, render_nodes, shaping, trajectory_nodes
from .common import register_model_folders
from .wan_nodes import NODES as WAN_NODES

register_model_folders()

NODE_CLASSES: list[type[io.ComfyNode]] = [
    *depth_nodes.NODES,
    *camera_nodes.NODES,
    *render_nodes.NODES,
    *trajectory_nodes.NODES,
    *editor.NODES,
    *model_nodes.NODES,
    *shaping.NODES,
    *loop_nodes.NODES,
    *WAN_NODES,
]

# cameras and scenes in and out of other tools (glTF / PLY / COLMAP / nerfstudio / Load3D), lens animation
from . import interchange_nodes, lens_nodes  # noqa: E402

NODE_CLASSES += [*interchange_nodes.NODES, *lens_nodes.NODES]


from .presentation import present  # noqa: E402  (subcategories and output tooltips, issue 13)

NODE_CLASSES = [present(c) for c in NODE_CLASSES]


class RealCamExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return NODE_CLASSES


async def comfy_entrypoint() -> RealCamExtension:
    return RealCamExtension()


# --- hardening (issue 11): upload route under the path policy, node-boundary validation of every input
from .upload import register_routes  # noqa: E402
from .validation import install_validation  # noqa: E402

register_routes()
install_validation(NODE_CLASSES)
