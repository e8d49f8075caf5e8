"""V3 node adapters. Each node declares its schema and hands the work to realcam_core."""

from __future__ import annotations

from comfy_api.latest import ComfyExtension, io

from ..realcam_comfy.common import register_model_folders
from ..realcam_comfy.presentation import present
from ..realcam_comfy.upload import register_routes
from ..realcam_comfy.validation import install_validation
from . import (
    camera_nodes,
    clip_nodes,
    depth_nodes,
    editor,
    evaluation_nodes,
    i2v_nodes,
    interchange_export_nodes,
    interchange_import_nodes,
    lens_nodes,
    loop_nodes,
    model_nodes,
    render_nodes,
    sampler_nodes,
    scene_nodes,
    shaping_nodes,
    trajectory_nodes,
    wan_nodes,
)

register_model_folders()

NODE_CLASSES: list[type[io.ComfyNode]] = [
    present(c)  # subcategories and output tooltips
    for c in [
        *depth_nodes.NODES,
        *scene_nodes.NODES,
        *camera_nodes.NODES,
        *render_nodes.NODES,
        *trajectory_nodes.NODES,
        *editor.NODES,
        *model_nodes.NODES,
        *i2v_nodes.NODES,
        *sampler_nodes.NODES,
        *shaping_nodes.NODES,
        *loop_nodes.NODES,
        *clip_nodes.NODES,
        *wan_nodes.NODES,
        *interchange_export_nodes.NODES,  # glTF / PLY / COLMAP / nerfstudio out
        *interchange_import_nodes.NODES,  # glTF / COLMAP / nerfstudio / Load3D cameras in
        *lens_nodes.NODES,
        *evaluation_nodes.NODES,  # camera accuracy
    ]
]

register_routes()  # pose upload under the path policy
install_validation(NODE_CLASSES)  # node-boundary validation of every input; after the list is final


class RealCamExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return NODE_CLASSES


async def comfy_entrypoint() -> RealCamExtension:
    return RealCamExtension()
