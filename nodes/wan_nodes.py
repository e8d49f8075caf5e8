"""Wan 2.x nodes: a RealCam trajectory as Wan Fun Camera's embedding at model scale, and noise shaping that
takes what core's Wan nodes take (width, height, length, an unscaled start image)."""

from __future__ import annotations

from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY, SceneType, TrajectoryType
from ..realcam_comfy.shaping import shape_model, wan_preview_and_start
from ..realcam_comfy.shaping_inputs import mode_input, window_inputs
from ..realcam_comfy.wan import camera_embedding
from ..realcam_core import wan as core_wan
from ..realcam_core.shaping import ShapingSpec, ShapingWindow


def _length_inputs() -> list:
    return [
        io.Int.Input("width", default=832, min=16, max=8192, step=16, tooltip="As core's Wan nodes: video width."),
        io.Int.Input("height", default=480, min=16, max=8192, step=16, tooltip="As core's Wan nodes: video height."),
        io.Int.Input("length", default=81, min=1, max=4096, step=4,
                     tooltip="As core's Wan nodes: frames, 4k+1 (81 = 21 latent frames)."),
    ]


class RealCamWanCameraEmbedding(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamWanCameraEmbedding",
            display_name="RealCam Wan Camera Embedding",
            category=CATEGORY,
            description="camera_conditions for core's WanCameraImageToVideo (Wan 2.1 / 2.2 Fun Camera) from a "
                        "RealCam trajectory in metres. Fun Camera was trained on RealEstate10K-scale poses: "
                        "'scene median depth' divides translations by the scene's median depth (the scene ~1 "
                        "unit away), then translation_scale multiplies. 'true intrinsics' uses the scene's "
                        "focal length; 'match core' is core WanCameraEmbedding's (0.5, fx rescaled from 1280x720).",
            inputs=[
                TrajectoryType.Input("trajectory", tooltip="One pose per video frame (length frames)."),
                *_length_inputs(),
                io.Combo.Input("scale", options=list(core_wan.SCALE_MODES), default="scene median depth",
                               tooltip="How metres become the model's units (needs `scene` for median depth)."),
                io.Float.Input("translation_scale", default=1.0, min=0.001, max=1000.0, step=0.01,
                               tooltip="Multiplies translations after the scale above."),
                io.Combo.Input("intrinsics", options=list(core_wan.INTRINSICS_MODES), default="true intrinsics",
                               tooltip="true intrinsics: the trajectory's (the scene's) focal length. match core: "
                                       "exactly core WanCameraEmbedding's assumed 0.5 / 1280x720."),
                SceneType.Input("scene", optional=True, tooltip="The scene the path was drawn in (for its depth)."),
            ],
            outputs=[io.WanCameraEmbedding.Output(display_name="camera_conditions"),
                     io.Int.Output(display_name="width"), io.Int.Output(display_name="height"),
                     io.Int.Output(display_name="length"), io.String.Output(display_name="info")],
        )

    @classmethod
    def execute(cls, trajectory, width, height, length, scale, translation_scale, intrinsics,
                scene=None) -> io.NodeOutput:
        emb, info = camera_embedding(trajectory, width, height, length, scale, translation_scale, intrinsics, scene)
        return io.NodeOutput(emb, width, height, length, info, ui={"text": (info,)})


class RealCamWanNoiseShaping(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamWanNoiseShaping",
            display_name="RealCam Wan Noise Shaping",
            category=CATEGORY,
            description="RealCam noise shaping for Wan 2.x flow models, wired like core's Wan nodes: the preview "
                        "rendered at width x height for length frames is encoded with the Wan VAE; the start "
                        "image (any size, resized and cropped as core does) replaces latent frame 0. During the "
                        "window the sampler state x = (1 - sigma) x0 + sigma eps is replaced where the mask is 1. "
                        "Default window: the first 10 % of the schedule (upstream shapes DDPM t 1000 -> 900).",
            inputs=[
                io.Model.Input("model"),
                io.Vae.Input("vae", tooltip="The Wan VAE the latent node uses: wan_2.1_vae (WanCameraImageToVideo), "
                                             "wan2.2_vae for Wan 2.2 TI2V-5B (Wan22ImageToVideoLatent)."),
                io.Image.Input("preview_frames", tooltip="RealCam Point Cloud Render frames at width x height."),
                io.Mask.Input("shaping_mask", tooltip="RealCam Point Cloud Render's shaping_mask (same size)."),
                *_length_inputs(),
                mode_input(),
                *window_inputs(core_wan.DEFAULT_FLOW_WINDOW),
                io.Image.Input("start_image", optional=True,
                               tooltip="The start image given to WanCameraImageToVideo / "
                                       "WanFirstLastFrameToVideo, unscaled."),
            ],
            outputs=[io.Model.Output(display_name="model"), io.Latent.Output(display_name="preview_latent")],
        )

    @classmethod
    def execute(cls, model, vae, preview_frames, shaping_mask, width, height, length, mode, window_units,
                window_start, window_end, start_image=None) -> io.NodeOutput:
        preview, start_latent = wan_preview_and_start(vae, preview_frames, shaping_mask, width, height, length,
                                                      start_image)
        spec = ShapingSpec(preview, shaping_mask, ShapingWindow(window_start, window_end, window_units), mode,
                           start_latent)
        return io.NodeOutput(shape_model(model, spec), {"samples": preview})


NODES = [RealCamWanCameraEmbedding, RealCamWanNoiseShaping]
