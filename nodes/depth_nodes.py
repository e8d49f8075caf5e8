"""Metric depth nodes: load Depth Anything V2 (metric), estimate depth, or bring your own depth."""

from __future__ import annotations

import torch
from comfy_api.latest import io, ui

from ..realcam_comfy.common import (
    CATEGORY,
    DEPTH_FOLDER,
    DepthModelType,
    SceneType,
    input_file,
    list_input_files,
    model_dirs,
    progress,
    torch_device,
)
from ..realcam_comfy.file_policy import check_model_path
from ..realcam_core import depth as core_depth
from ..realcam_core.errors import RealCamInputError
from ..realcam_core.paths import check_name
from ..realcam_core.scene import build as core_scene

DEPTH_FILE_SUFFIXES = (".png", ".npy", ".tif", ".tiff")


class RealCamLoadDepthModel(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        options = core_depth.list_depth_models(model_dirs(DEPTH_FOLDER))
        return io.Schema(
            node_id="RealCamLoadDepthModel",
            display_name="RealCam Load Depth Model",
            category=CATEGORY,
            description=(
                "Loads Depth Anything V2 metric (indoor: hypersim, max 20 m; outdoor: vkitti, max 80 m) from "
                "models/depthanything: an original .pth/.safetensors file (as ComfyUI-DepthAnythingV2 uses) or a "
                "-hf folder. Known names are downloaded from the Hugging Face hub when missing and online."
            ),
            inputs=[
                io.Combo.Input("model", options=options, default=options[0] if options else None,
                               tooltip="File or -hf folder in models/depthanything (downloaded if missing)."),
                io.Combo.Input("max_depth", options=["auto", "20 (indoor)", "80 (outdoor)"], default="auto",
                               tooltip="Metric range of the head; auto reads it from the config or the file name."),
                io.Combo.Input("precision", options=["fp32", "fp16", "bf16"], default="fp32",
                               tooltip="Compute precision; fp32 is the safe default (fp16 loses detail)."),
            ],
            outputs=[DepthModelType.Output(display_name="depth_model")],
        )

    @classmethod
    def execute(cls, model: str, max_depth: str, precision: str) -> io.NodeOutput:
        # path policy: a relative name inside the model folders; links and -hf files must stay inside them
        check_name(model, "model", f"models/{DEPTH_FOLDER}")
        path = core_depth.resolve_depth_model(model_dirs(DEPTH_FOLDER), model, allow_download=True)
        check_model_path(path, [DEPTH_FOLDER], "model")
        md = None if max_depth == "auto" else int(max_depth.split()[0])
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
        loaded = core_depth.load_depth_model(path, max_depth=md, dtype=dtype, device=torch_device())
        return io.NodeOutput(loaded)


class RealCamMetricDepth(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamMetricDepth",
            display_name="RealCam Metric Depth",
            category=CATEGORY,
            description="Estimates metric depth (metres) for an image and builds the scene (image + depth + "
                        "intrinsics) that the trajectory editor and the point-cloud renderer use.",
            inputs=[
                DepthModelType.Input("depth_model"),
                io.Image.Input("image", tooltip="The first image of the batch is used."),
                io.Float.Input("fov_deg", default=0.0, min=0.0, max=170.0, step=0.5,
                               tooltip="Horizontal field of view in degrees; 0 = RealCam's default "
                                       "fx = fy = 0.5 * max(H, W)."),
                io.Int.Input("input_size", default=518, min=140, max=2044, step=14,
                             tooltip="Short side the depth model sees (multiple of 14)."),
            ],
            outputs=[
                SceneType.Output(display_name="scene"),
                io.Image.Output(display_name="depth_preview"),
                io.Mask.Output(display_name="depth_metres"),
            ],
        )

    @classmethod
    def execute(cls, depth_model, image: torch.Tensor, fov_deg: float, input_size: int) -> io.NodeOutput:
        img = image[:1]
        depth = core_depth.predict_metric_depth(depth_model, img, input_size=input_size, progress=progress(1))
        scene = core_scene.scene_from_depth(img[0], depth[0], fov_deg=fov_deg or None, source="depth-anything-v2")
        preview = core_scene.depth_preview(scene.depth)[None]
        return io.NodeOutput(scene, preview, scene.depth[None].clone(), ui=ui.PreviewImage(preview, cls=cls))


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
        image = image[..., :3]  # RGBA: drop alpha, as core nodes do
        d = depth[0] if depth.ndim == 3 else depth[0, ..., 0]
        metres = core_scene.decode_depth(d, depth_encoding, max_depth=max_depth, min_depth=min_depth)
        scene = core_scene.scene_from_depth(image[0], metres, fov_deg=fov_deg or None, source=f"external:{depth_encoding}")
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
        try:
            p = input_file(file, "file", DEPTH_FILE_SUFFIXES)
            return f"{p}:{p.stat().st_mtime_ns}:{metres_per_unit}"
        except RealCamInputError:
            return file


NODES = [RealCamLoadDepthModel, RealCamMetricDepth, RealCamSceneFromDepth, RealCamLoadDepthFile]
