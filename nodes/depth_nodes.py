"""Metric depth nodes: load Depth Anything V2 (metric) and estimate a scene's depth with it.

Bringing your own depth (a depth map from another node or a file) is in `scene_nodes`."""

from __future__ import annotations

import torch
from comfy_api.latest import io, ui

from ..realcam_comfy.common import (
    CATEGORY,
    DEPTH_FOLDER,
    TORCH_DTYPES,
    DepthModelType,
    SceneType,
    model_dirs,
    progress,
    torch_device,
)
from ..realcam_comfy.files import model_path
from ..realcam_core import depth as core_depth
from ..realcam_core.scene import build as core_scene


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
        path = model_path(model, DEPTH_FOLDER, "model",
                          lambda dirs, name: core_depth.resolve_depth_model(dirs, name, allow_download=True))
        md = None if max_depth == "auto" else int(max_depth.split()[0])
        return io.NodeOutput(core_depth.load_depth_model(path, max_depth=md, dtype=TORCH_DTYPES[precision],
                                                         device=torch_device()))


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


NODES = [RealCamLoadDepthModel, RealCamMetricDepth]
