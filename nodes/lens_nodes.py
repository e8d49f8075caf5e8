"""Lens animation nodes: focal-length keys on any trajectory, and the dolly-zoom move."""

from __future__ import annotations

from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY, SceneType, TrajectoryType
from ..realcam_core.camera import lens

SENSOR_TIP = "Sensor width in mm that the focal length refers to (36 = full frame); it spans the image width."


class RealCamLensKeys(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamLensKeys", display_name="RealCam Lens Keys", category=CATEGORY,
            description="Animates the focal length of any trajectory: 'frame:value' keys (mm on the stated sensor, "
                        "or horizontal FOV), linear in focal length in between. The per-frame intrinsics go into "
                        "the preview render, pose files, Plücker / Wan embeddings and glTF; SE3 Interpolate "
                        "resamples them with the poses.",
            inputs=[
                TrajectoryType.Input("trajectory"),
                io.String.Input("lens_keys", default="0:35", tooltip="e.g. '0:24, 32:85' (frame:value)."),
                io.Combo.Input("unit", options=["mm", "fov_deg"], default="mm",
                               tooltip="mm: focal length on the sensor; fov_deg: horizontal field of view."),
                io.Float.Input("sensor_width_mm", default=lens.DEFAULT_SENSOR_MM, min=1.0, max=100.0, step=0.1,
                               tooltip=SENSOR_TIP),
                io.Int.Input("width", default=512, min=1, max=16384, tooltip="Image aspect: width."),
                io.Int.Input("height", default=320, min=1, max=16384, tooltip="Image aspect: height."),
            ],
            outputs=[TrajectoryType.Output(display_name="trajectory")],
        )

    @classmethod
    def execute(cls, trajectory, lens_keys: str, unit: str, sensor_width_mm: float, width: int,
                height: int) -> io.NodeOutput:
        keys = lens.parse_lens_keys(lens_keys, unit, sensor_width_mm)
        return io.NodeOutput(lens.with_lens_keys(trajectory, keys, width, height, sensor_width_mm))


class RealCamDollyZoom(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamDollyZoom", display_name="RealCam Dolly Zoom", category=CATEGORY,
            description="The 'Vertigo' shot: the camera moves in (or out) while the focal length widens (or "
                        "narrows) so the subject keeps its size and the background stretches. Two keyframes; "
                        "resample with SE3 Interpolate for easing.",
            inputs=[
                io.Int.Input("num_frames", default=16, min=2, max=1024, tooltip="Frames of the move (two keyframes)."),
                io.Float.Input("dolly", default=1.0, min=-100.0, max=100.0, step=0.01,
                               tooltip="Metres forward (negative: backwards)."),
                io.Float.Input("subject_distance", default=0.0, min=0.0, max=1000.0, step=0.01,
                               tooltip="Metres to the subject that keeps its size; 0 = the median depth of the "
                                       "scene's central 20%."),
                io.Float.Input("start_focal_mm", default=35.0, min=1.0, max=1000.0, step=0.1,
                               tooltip="Focal length at the first frame, mm on the sensor below."),
                io.Float.Input("sensor_width_mm", default=lens.DEFAULT_SENSOR_MM, min=1.0, max=100.0, step=0.1,
                               tooltip=SENSOR_TIP),
                io.Int.Input("width", default=512, min=1, max=16384, tooltip="Image aspect: width."),
                io.Int.Input("height", default=320, min=1, max=16384, tooltip="Image aspect: height."),
                SceneType.Input("scene", optional=True, tooltip="For subject_distance = 0."),
            ],
            outputs=[TrajectoryType.Output(display_name="trajectory")],
        )

    @classmethod
    def execute(cls, num_frames: int, dolly: float, subject_distance: float, start_focal_mm: float,
                sensor_width_mm: float, width: int, height: int, scene=None) -> io.NodeOutput:
        subject_distance = lens.subject_distance(subject_distance, scene)
        return io.NodeOutput(lens.dolly_zoom(num_frames, subject_distance, dolly, start_focal_mm, width, height,
                                             sensor_width_mm))


NODES = [RealCamLensKeys, RealCamDollyZoom]
