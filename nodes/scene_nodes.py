"""Scenes from depth made elsewhere: a depth map from any node, or a depth file without precision loss."""

from __future__ import annotations

from comfy_api.latest import io, ui

from ..realcam_comfy.common import CATEGORY, SceneType, input_file, list_input_files
from ..realcam_comfy.files import input_fingerprint
from ..realcam_core.scene import build as core_scene

DEPTH_FILE_SUFFIXES = (".png", ".npy", ".tif", ".tiff")


class RealCamSceneFromDepth(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamSceneFromDepth",
            display_name="RealCam Scene From Depth",
            category=CATEGORY,
            description="Builds a scene from an image and a depth map made elsewhere (any depth node, a depth "
                        "file, a 3D tool), converting it to metres.",
            inputs=[
                io.Image.Input("image", tooltip="The first image of the batch is used."),
                io.MultiType.Input("depth", types=[io.Image, io.Mask],
                                   tooltip="Depth as MASK or IMAGE (first channel), same size as the image."),
                io.Combo.Input("depth_encoding", options=list(core_scene.DEPTH_ENCODINGS), default="metres",
                               tooltip="metres: values are metres. normalised: 0..1 times max_depth. "
                                       "disparity: 1 = nearest (min_depth), 0 = far (as most relative depth nodes)."),
                io.Float.Input("max_depth", default=20.0, min=0.01, max=10000.0, step=0.1,
                               tooltip="Metres at value 1 (normalised) / far limit (disparity)."),
                io.Float.Input("min_depth", default=0.5, min=0.001, max=1000.0, step=0.01,
                               tooltip="Nearest distance in metres (disparity encoding)."),
                io.Float.Input("fov_deg", default=0.0, min=0.0, max=170.0, step=0.5,
                               tooltip="Horizontal field of view; 0 = fx = fy = 0.5 * max(H, W)."),
            ],
            outputs=[SceneType.Output(display_name="scene"), io.Image.Output(display_name="depth_preview")],
        )

    @classmethod
    def execute(cls, image, depth, depth_encoding, max_depth, min_depth, fov_deg) -> io.NodeOutput:
        metres = core_scene.decode_depth(core_scene.first_depth_map(depth), depth_encoding, max_depth=max_depth,
                                         min_depth=min_depth)
        scene = core_scene.scene_from_depth(image[0, ..., :3], metres, fov_deg=fov_deg or None,  # RGBA: drop alpha
                                            source=f"external:{depth_encoding}")
        preview = core_scene.depth_preview(scene.depth)[None]
        return io.NodeOutput(scene, preview, ui=ui.PreviewImage(preview, cls=cls))


class RealCamLoadDepthFile(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamLoadDepthFile",
            display_name="RealCam Load Depth File",
            category=CATEGORY,
            description="Loads a depth map from the input folder without losing precision: 16-bit PNG/TIFF "
                        "(millimetres by default), 32-bit float TIFF or float .npy (metres). The encoding is "
                        "detected; 8-bit and colour images are refused (they cannot hold metres). Output is "
                        "metres as a MASK.",
            inputs=[
                io.Combo.Input("file", options=list_input_files(DEPTH_FILE_SUFFIXES), upload=io.UploadType.image,
                               tooltip="Depth file in ComfyUI's input folder."),
                io.Float.Input("metres_per_unit", default=0.001, min=1e-6, max=1000.0, step=0.001,
                               tooltip="Metres per stored integer of PNG/TIFF files (0.001 = millimetres); .npy files hold metres."),
            ],
            outputs=[io.Mask.Output(display_name="depth_metres")],
        )

    @classmethod
    def execute(cls, file: str, metres_per_unit: float) -> io.NodeOutput:
        path = input_file(file, "file", DEPTH_FILE_SUFFIXES)
        depth = core_scene.read_depth_file(path, metres_per_unit)
        return io.NodeOutput(depth[None])

    @classmethod
    def fingerprint_inputs(cls, file: str, metres_per_unit: float):
        return input_fingerprint(file, "file", DEPTH_FILE_SUFFIXES, metres_per_unit)


NODES = [RealCamSceneFromDepth, RealCamLoadDepthFile]
