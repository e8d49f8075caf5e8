"""How the pack's nodes present themselves in the frontend: subcategories and output tooltips.

Kept apart from the node definitions so every node (including ones added later) gets them from one table:
`present(cls)` wraps a node's `define_schema` and fills its category (RealCam/<group>) and any output
tooltip the node does not set itself (by node and output name, else by the output's type).
"""

from __future__ import annotations

from comfy_api.latest import io

from .common import CATEGORY

GROUPS: dict[str, tuple[str, ...]] = {
    "depth": ("RealCamLoadDepthModel", "RealCamMetricDepth", "RealCamSceneFromDepth", "RealCamLoadDepthFile"),
    "camera": ("RealCamCameraPreset", "RealCamLoadPoseFile", "RealCamSavePoseFile", "RealCamTrajectoryEditor",
               "RealCamSE3Interpolate", "RealCamTrajectoryToCameraCtrl", "RealCamTrajectoryFromCameraCtrl",
               "RealCamTrajectoryToWanCamera"),
    "render": ("RealCamPointCloudRender",),
    "model": ("RealCamCheckpointLoader", "RealCamImageToVideo", "RealCamSampler", "RealCamNoiseShaping"),
    "long video": ("RealCamLoopInterpConditioning", "RealCamCloseTrajectory", "RealCamTrajectoryEndPose",
                   "RealCamTrajectoryClip", "RealCamPasteOverlap", "RealCamJoinClips"),
    "wan": ("RealCamWanCameraEmbedding", "RealCamWanNoiseShaping"),
    "lens": ("RealCamLensKeys", "RealCamDollyZoom"),
    "evaluation": ("RealCamCameraAccuracy", "RealCamTrackCamera"),
}
SUBCATEGORY = {node: f"{CATEGORY}/{group}" for group, nodes in GROUPS.items() for node in nodes}

BY_TYPE = {
    "REALCAM_TRAJECTORY": "Camera path: one camera-to-world pose per frame (OpenCV axes, metres, frame 0 = the "
                          "photo's camera) plus normalised intrinsics.",
    "REALCAM_SCENE": "The image with its metric depth and intrinsics: the point cloud the camera moves through.",
    "REALCAM_DEPTH_MODEL": "A loaded Depth Anything V2 metric model.",
    "CAMERACTRL_POSES": "The path as CameraCtrl pose rows (AnimateDiff-Evolved, KJNodes, WanVideoWrapper).",
    "IMAGE": "Images (video frames are the batch), 0..1.",
    "MASK": "Mask per frame, 0..1.",
    "LATENT": "Latent video.",
    "CONDITIONING": "Conditioning for the sampler.",
    "MODEL": "The diffusion model.",
    "CLIP": "Text encoder.",
    "CLIP_VISION": "Image encoder.",
    "VAE": "The model's VAE.",
    "STRING": "Text.",
    "INT": "Number.",
    "FLOAT": "Number.",
    "WAN_CAMERA_EMBEDDING": "Camera embedding for WanCameraImageToVideo.",
}

BY_NAME = {
    ("RealCamMetricDepth", "depth_preview"): "Depth as a viewable image (near = bright).",
    ("RealCamMetricDepth", "depth_metres"): "Depth in metres per pixel (MASK layout, not 0..1).",
    ("RealCamSceneFromDepth", "depth_preview"): "Depth as a viewable image (near = bright).",
    ("RealCamLoadDepthFile", "depth_metres"): "Depth in metres per pixel (MASK layout, not 0..1).",
    ("RealCamPointCloudRender", "frames"): "The static scene rendered along the path (the noise-shaping preview).",
    ("RealCamPointCloudRender", "visibility"): "1 where a point of the cloud landed, 0 in holes and disocclusions.",
    ("RealCamPointCloudRender", "shaping_mask"): "1 where noise shaping may paste the preview (the whole k x k "
                                                 "neighbourhood is visible).",
    ("RealCamSavePoseFile", "re10k_text"): "The RealEstate10K text that was written.",
    ("RealCamSE3Interpolate", "plot"): "Top and side views of the path.",
    ("RealCamTrajectoryToWanCamera", "camera_embedding"): "Plücker camera embedding for WanCameraImageToVideo.",
    ("RealCamTrajectoryToWanCamera", "width"): "Video width the embedding was made for (connect to the Wan node).",
    ("RealCamTrajectoryToWanCamera", "height"): "Video height the embedding was made for.",
    ("RealCamTrajectoryToWanCamera", "length"): "Number of frames (4k+1).",
    ("RealCamCameraAccuracy", "rot_err"): "RotErr: sum over frames of the geodesic angle (radians) between requested "
                                          "and estimated rotations; NaN when the video could not be registered.",
    ("RealCamCameraAccuracy", "trans_err"): "TransErr: sum over frames of the distance between requested and "
                                            "estimated camera positions (after alignment).",
    ("RealCamCameraAccuracy", "cammc"): "CamMC: sum over frames of the distance between requested and estimated "
                                        "3x4 camera matrices.",
}


def _output_tooltip(node_id: str, out) -> str | None:
    name = getattr(out, "display_name", None) or getattr(out, "id", None)
    if (node_id, name) in BY_NAME:
        return BY_NAME[(node_id, name)]
    return BY_TYPE.get(getattr(out, "io_type", None))


def present(cls: type[io.ComfyNode]) -> type[io.ComfyNode]:
    """Wrap cls.define_schema so the schema gets its subcategory and output tooltips."""
    original = cls.define_schema.__func__

    def define_schema(inner) -> io.Schema:
        schema = original(inner)
        if schema.category == CATEGORY and schema.node_id in SUBCATEGORY:
            schema.category = SUBCATEGORY[schema.node_id]
        for out in schema.outputs or []:
            if not getattr(out, "tooltip", None):
                out.tooltip = _output_tooltip(schema.node_id, out)
        return schema

    cls.define_schema = classmethod(define_schema)
    return cls
