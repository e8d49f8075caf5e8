"""V3 node adapters. Each node declares its schema and hands the work to realcam_core."""

from __future__ import annotations

from comfy_api.latest import ComfyExtension, io

from . import camera_nodes, depth_nodes, editor, loop_nodes, model_nodes, render_nodes, shaping, trajectory_nodes
from .common import register_model_folders
from .evaluation_nodes import NODES as EVALUATION_NODES  # camera accuracy (issue 15)

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
    *EVALUATION_NODES,
]


class RealCamExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return NODE_CLASSES


async def comfy_entrypoint() -> RealCamExtension:
    return RealCamExtension()
