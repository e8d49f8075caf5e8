"""Point-cloud preview render along a camera path (frames, visibility, noise-shaping mask)."""

from __future__ import annotations

from comfy_api.latest import io, ui

from ..realcam_comfy.common import CATEGORY, SceneType, TrajectoryType, progress, torch_device
from ..realcam_core.camera.lens import preview_K
from ..realcam_core.scene import render as core_render

MAX_PREVIEW_FRAMES = 16
PREVIEW_FPS = 8.0


def preview_frames(frames):
    """At most MAX_PREVIEW_FRAMES evenly spaced frames of a long path."""
    n = frames.shape[0]
    if n <= MAX_PREVIEW_FRAMES:
        return frames
    idx = [round(i * (n - 1) / (MAX_PREVIEW_FRAMES - 1)) for i in range(MAX_PREVIEW_FRAMES)]
    return frames[idx]


def animated_preview(frames, cls) -> ui.SavedImages:
    """The node preview: ONE animated WebP in temp/ (not a PNG per frame), shown as a playing image."""
    frames = preview_frames(frames)
    saved = ui.ImageSaveHelper.save_animated_webp(
        frames, filename_prefix="realcam_preview", folder_type=io.FolderType.temp, cls=cls, fps=PREVIEW_FPS,
        lossless=False, quality=85, method=0,
    )
    return ui.SavedImages([saved], is_animated=frames.shape[0] > 1)


class RealCamPointCloudRender(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamPointCloudRender",
            display_name="RealCam Point Cloud Render",
            category=CATEGORY,
            description="Renders the scene's metric point cloud along the trajectory (the static-scene preview "
                        "RealCam's noise shaping uses) with a z-buffer splat. Outputs the frames, where points "
                        "landed, and the shaping mask (pixels whose whole k x k neighbourhood is visible).",
            inputs=[
                SceneType.Input("scene"),
                TrajectoryType.Input("trajectory"),
                io.Int.Input("width", default=512, min=16, max=4096, step=8, tooltip="Output width in pixels."),
                io.Int.Input("height", default=320, min=16, max=4096, step=8, tooltip="Output height in pixels."),
                io.Int.Input("point_size", default=2, min=1, max=8,
                             tooltip="Splat footprint in pixels (upstream's open3d previews use 2)."),
                io.Int.Input("mask_kernel", default=5, min=1, max=31, step=2,
                             tooltip="k: a pixel counts for noise shaping only if its k x k neighbourhood is visible."),
                io.Combo.Input("fit", options=["crop", "stretch"], default="crop",
                               tooltip="How the scene's image maps to a different output aspect: centre crop "
                                       "(keeps the focal length in pixels per metre) or stretch."),
                io.Combo.Input("mode", options=list(core_render.RENDER_MODES), default="mesh", optional=True,
                               tooltip="mesh: the photo as one surface, its pixel grid a mesh cut where depth jumps: "
                                       "grazing and magnified surfaces stay closed, disocclusions stay empty. "
                                       "surface: the earlier rule, gaps between splats closed in the image. "
                                       "points: upstream's plain fixed-size splats (open3d point_size)."),
            ],
            outputs=[
                io.Image.Output(display_name="frames"),
                io.Mask.Output(display_name="visibility"),
                io.Mask.Output(display_name="shaping_mask"),
            ],
        )

    @classmethod
    def execute(cls, scene, trajectory, width, height, point_size, mask_kernel, fit, mode="mesh") -> io.NodeOutput:
        K = preview_K(scene.K, (scene.height, scene.width), (height, width), fit, trajectory.K_norm)
        result = core_render.render_preview(
            scene, trajectory.c2w, height, width, mask_kernel=mask_kernel, splat=point_size, fit=fit, mode=mode,
            K=K, device=torch_device(), callback=progress(trajectory.num_frames),
        )
        return io.NodeOutput(
            result.frames, result.visibility, result.shaping,
            ui=animated_preview(result.frames, cls),
        )


NODES = [RealCamPointCloudRender]
