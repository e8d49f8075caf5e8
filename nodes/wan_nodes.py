"""Wan 2.x nodes: a RealCam trajectory as Wan Fun Camera's embedding at model scale, and noise shaping that
takes what core's Wan nodes take (width, height, length, an unscaled start image)."""

from __future__ import annotations

import comfy.utils
import torch
from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY, SceneType, TrajectoryType
from ..realcam_comfy.shaping import ShapingSpec, apply_noise_shaping
from ..realcam_core import shaping as core_shaping
from ..realcam_core import wan as core_wan
from ..realcam_core.errors import RealCamInputError, require


def resize_like_core(images: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """IMAGE (B, H, W, C) -> (B, height, width, C) exactly as core's Wan nodes do (bilinear, centre crop)."""
    return comfy.utils.common_upscale(images.movedim(-1, 1), width, height, "bilinear", "center").movedim(1, -1)


def _image(x, name: str) -> torch.Tensor:
    require(torch.is_tensor(x) and x.ndim == 4 and x.shape[-1] >= 3 and x.shape[0] >= 1, name,
            "an IMAGE (frames, height, width, 3)", tuple(x.shape) if torch.is_tensor(x) else type(x).__name__)
    return x


def wan_embedding(trajectory, width: int, height: int, intrinsics: str) -> torch.Tensor:
    """WAN_CAMERA_EMBEDDING through core's own Plücker code (`process_pose_params`)."""
    from comfy_extras.nodes_camera_trajectory import process_pose_params

    rows = core_wan.pose_rows(trajectory, intrinsics).numpy()
    pose_w, pose_h = core_wan.CORE_POSE_SIZE if intrinsics == "match core" else (width, height)
    rays = process_pose_params(rows, width=width, height=height, original_pose_width=pose_w,
                               original_pose_height=pose_h)  # (N, H, W, 6)
    return core_wan.pack_embedding(rays)


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
        core_wan.check_length(length)
        if trajectory.num_frames != length:
            raise RealCamInputError(
                f"trajectory: expected {length} poses (length), got {trajectory.num_frames}; resample it with "
                f"RealCam SE3 Interpolate (frame_count 'Wan {length} frames' or num_frames {length})")
        factor, line = core_wan.model_scale(scale, translation_scale, scene)
        traj = trajectory.scaled(factor) if factor != 1.0 else trajectory
        emb = wan_embedding(traj, width, height, intrinsics)
        info = f"{line}; intrinsics: {intrinsics}; {length} frames -> {core_wan.latent_frames(length)} latent"
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
                io.Vae.Input("vae", tooltip="The Wan VAE (the one WanCameraImageToVideo uses)."),
                io.Image.Input("preview_frames", tooltip="RealCam Point Cloud Render frames at width x height."),
                io.Mask.Input("shaping_mask", tooltip="RealCam Point Cloud Render's shaping_mask (same size)."),
                *_length_inputs(),
                io.Combo.Input("mode", options=list(core_shaping.MODES), default="xt_paste",
                               tooltip="xt_paste: replace the noisy state (upstream code); x0_paste: the "
                                       "predicted clean latent (paper)."),
                io.Combo.Input("window_units", options=list(core_shaping.UNITS), default="sigma_percent",
                               tooltip="sigma_percent: core's percent of the schedule (0 = pure noise). "
                                       "timestep: Wan's sigma x 1000."),
                io.Float.Input("start", default=core_wan.DEFAULT_FLOW_WINDOW.start, min=0.0, max=1000.0, step=0.001,
                               tooltip="Window start (noisy end)."),
                io.Float.Input("end", default=core_wan.DEFAULT_FLOW_WINDOW.end, min=0.0, max=1000.0, step=0.001,
                               tooltip="Window end: 0.1 = the first 10 % of the schedule (upstream's share)."),
                io.Image.Input("start_image", optional=True,
                               tooltip="The start image given to WanCameraImageToVideo / "
                                       "WanFirstLastFrameToVideo, unscaled."),
            ],
            outputs=[io.Model.Output(display_name="model"), io.Latent.Output(display_name="preview_latent")],
        )

    @classmethod
    def execute(cls, model, vae, preview_frames, shaping_mask, width, height, length, mode, window_units, start,
                end, start_image=None) -> io.NodeOutput:
        core_wan.check_length(length)
        frames = _image(preview_frames, "preview_frames")
        if tuple(frames.shape[:3]) != (length, height, width):
            raise RealCamInputError(
                f"preview_frames: expected {length} frames of {width}x{height} (length, width, height), got "
                f"{frames.shape[0]} frames of {frames.shape[2]}x{frames.shape[1]}; render the preview with "
                "RealCam Point Cloud Render at the Wan width/height along a trajectory of length frames")
        require(torch.is_tensor(shaping_mask) and shaping_mask.ndim == 3
                and tuple(shaping_mask.shape) == (length, height, width), "shaping_mask",
                f"a mask of {length} frames of {width}x{height}, like preview_frames (the render's shaping_mask)",
                tuple(shaping_mask.shape) if torch.is_tensor(shaping_mask) else type(shaping_mask).__name__)
        require(vae is not None, "vae", "the Wan VAE")
        preview = vae.encode(frames[..., :3])
        first = None
        if start_image is not None:
            first = vae.encode(resize_like_core(_image(start_image, "start_image")[:1], width, height)[..., :3])
        spec = ShapingSpec(preview=preview, mask=shaping_mask,
                           window=core_shaping.ShapingWindow(start, end, window_units), mode=mode, start=first)
        return io.NodeOutput(apply_noise_shaping(model, spec), {"samples": preview})


NODES = [RealCamWanCameraEmbedding, RealCamWanNoiseShaping]
