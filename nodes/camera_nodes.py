"""Camera path nodes: presets, RealEstate10K pose files in and out."""

from __future__ import annotations

from comfy_api.latest import io

from ..realcam_comfy.common import CATEGORY, TrajectoryType, input_file, list_input_files
from ..realcam_comfy.file_policy import write_output
from ..realcam_comfy.files import input_fingerprint
from ..realcam_core.camera import re10k as core_re10k
from ..realcam_core.paths import check_name
from ..realcam_core.trajectory import presets as core_presets
from ..realcam_core.wan import FRAME_CHOICES, frames_for

POSE_SUFFIXES = (".txt",)


class RealCamCameraPreset(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamCameraPreset",
            display_name="RealCam Camera Preset",
            category=CATEGORY,
            description="The 16 camera motions of the official RealCam-I2V demo, generated at any length and "
                        "amplitude (metres for moves, degrees for turns), relative to the first frame.",
            inputs=[
                io.Combo.Input("preset", options=list(core_presets.PRESET_NAMES), default="zoom_in",
                               tooltip="Camera motion of the official demo (pan = move sideways, look = turn, orbit = "
                                       "circle around the scene centre, rotate = roll)."),
                io.Int.Input("num_frames", default=16, min=1, max=1024, tooltip="Frames in the path."),
                io.Float.Input("amplitude", default=0.0, min=0.0, max=1000.0, step=0.01,
                               tooltip="Total motion: metres (zoom, pan, orbit arc) or degrees (look, rotate, orbit); "
                                       "0 = the official demo's amount."),
                io.Combo.Input("frame_count", options=list(FRAME_CHOICES), default="custom", optional=True,
                               tooltip="A model's frame count (Wan: 4k+1) instead of num_frames; custom = num_frames."),
            ],
            outputs=[TrajectoryType.Output(display_name="trajectory")],
        )

    @classmethod
    def execute(cls, preset: str, num_frames: int, amplitude: float, frame_count: str = "custom") -> io.NodeOutput:
        traj = core_presets.make_preset(preset, frames_for(frame_count, num_frames), amplitude=amplitude or None)
        return io.NodeOutput(traj)


class RealCamLoadPoseFile(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamLoadPoseFile",
            display_name="RealCam Load Pose File",
            category=CATEGORY,
            description="Reads a RealEstate10K-format camera file (as CameraCtrl / CamI2V / AnimateDiff use: a URL "
                        "line, then per frame timestamp fx fy cx cy k1 k2 and the 3x4 world-to-camera matrix) "
                        "from ComfyUI's input folder. Poses are made relative to the first frame.",
            inputs=[
                io.Combo.Input("pose_file", options=list_input_files(POSE_SUFFIXES),
                               tooltip="A .txt pose file in ComfyUI's input folder (upload with the button below)."),
                io.Float.Input("translation_scale", default=1.0, min=0.001, max=1000.0, step=0.01,
                               tooltip="Multiplies translations (upstream's trace_scale_factor), e.g. to turn "
                                       "a file's units into metres."),
            ],
            outputs=[TrajectoryType.Output(display_name="trajectory")],
        )

    @classmethod
    def execute(cls, pose_file: str, translation_scale: float) -> io.NodeOutput:
        path = input_file(pose_file, "pose_file", POSE_SUFFIXES)
        traj = core_re10k.read_re10k(path)
        if translation_scale != 1.0:
            traj = traj.scaled(translation_scale)
        return io.NodeOutput(traj)

    @classmethod
    def fingerprint_inputs(cls, pose_file: str, translation_scale: float):
        return input_fingerprint(pose_file, "pose_file", POSE_SUFFIXES, translation_scale)


class RealCamSavePoseFile(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamSavePoseFile",
            display_name="RealCam Save Pose File",
            category=CATEGORY,
            description="Writes a trajectory as a RealEstate10K .txt pose file into ComfyUI's output folder "
                        "(readable by this pack, CameraCtrl, CamI2V and AnimateDiff-Evolved).",
            inputs=[
                TrajectoryType.Input("trajectory"),
                io.String.Input("filename_prefix", default="realcam/trajectory",
                                tooltip="Path under ComfyUI's output folder; a counter and .txt are appended."),
            ],
            outputs=[io.String.Output(display_name="re10k_text")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, trajectory, filename_prefix: str) -> io.NodeOutput:
        # path policy: a new file under output/, no link followed, nothing overwritten (file_policy.py)
        check_name(filename_prefix, "filename_prefix", "ComfyUI's output folder")
        text = core_re10k.format_re10k(trajectory)
        _path, subfolder, name = write_output(filename_prefix + ".txt", text.encode("utf-8"), "filename_prefix")
        saved = {"filename": name, "subfolder": subfolder, "type": "output"}
        return io.NodeOutput(text, ui={"text": (f"{subfolder}/{name}".lstrip("/"),), "pose_files": [saved]})


NODES = [RealCamCameraPreset, RealCamLoadPoseFile, RealCamSavePoseFile]
