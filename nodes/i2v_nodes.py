"""RealCam Image To Video (ARCHITECTURE §4): image latent, CLIP-vision tokens and camera into the conditioning.

The work is `realcam_comfy.image_to_video`; the loader is `model_nodes`, the sampler `sampler_nodes`.
"""

from __future__ import annotations

from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY, TrajectoryType
from ..realcam_comfy.image_to_video import image_to_video


class RealCamImageToVideo(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamImageToVideo",
            display_name="RealCam Image To Video",
            category=CATEGORY,
            description="Conditioning for RealCam-I2V: the image latent (concat), CLIP-vision image tokens and the "
                        "camera path travel inside positive/negative; outputs the empty video latent. The "
                        "negative gets the CLIP tokens of a blank image and the same camera, as upstream.",
            inputs=[
                io.Conditioning.Input("positive"),
                io.Conditioning.Input("negative"),
                io.Vae.Input("vae"),
                io.ClipVision.Input("clip_vision"),
                io.Image.Input("image", tooltip="The first frame; resized and centre-cropped to width x height."),
                TrajectoryType.Input("trajectory", tooltip="Camera path with one pose per video frame."),
                io.Int.Input("width", default=512, min=64, max=4096, step=64,
                             tooltip="512x320 for the 512 model, 256x256 for the 256 model (checked when sampling)."),
                io.Int.Input("height", default=320, min=64, max=4096, step=64,
                             tooltip="Video height; must be what the checkpoint was trained for (512 model: 320, 256: 256)."),
                io.Int.Input("length", default=16, min=1, max=64, tooltip="Frames; the released models use 16."),
                io.Int.Input("frame_stride", default=2, min=1, max=30,
                             tooltip="Motion speed condition (upstream demo: 2). The 512 model gets fps = "
                                     "29.97 // stride, the 256 model the stride itself."),
                io.Int.Input("batch_size", default=1, min=1, max=64, tooltip="Videos sampled at once (same image and path)."),
            ],
            outputs=[io.Conditioning.Output(display_name="positive"), io.Conditioning.Output(display_name="negative"),
                     io.Latent.Output(display_name="latent")],
        )

    @classmethod
    def execute(cls, positive, negative, vae, clip_vision, image, trajectory, width, height, length, frame_stride,
                batch_size) -> io.NodeOutput:
        return io.NodeOutput(*image_to_video(positive, negative, vae, clip_vision, image, trajectory, width, height,
                                             length, frame_stride, batch_size))


NODES = [RealCamImageToVideo]
