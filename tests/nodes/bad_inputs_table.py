"""The bad-input table (issue 11): one row per input, run by tests/nodes/test_bad_inputs.py through one real
ComfyUI server and published as docs/BAD_INPUTS.md by scripts/make_bad_inputs_doc.py.

A row: what is sent, what must happen ("refused": POST /prompt answers 400 before anything runs; "error":
the run stops with a message; "runs": a valid odd input that must work; "upload": POST /realcam/upload_pose, or /realcam/upload with a kind)
and the words the message must contain (the input's name and what was expected).

`prepare(base, outside)` writes the files the rows name into a ComfyUI base directory, with links from
input/, output/ and the model folders to `outside` (a folder outside the ComfyUI tree).
This module imports neither ComfyUI nor torch at import time, so the docs script can read the table.
"""

from __future__ import annotations

import copy
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

NAN, INF = float("nan"), float("inf")
FRAMES = 4
BASE = "512_dynamicrafter_tiny_bad.ckpt"
CAMERA = "512_realcam-i2v_tiny_bad.safetensors"
DEPTH = "tiny_ok_metric_hypersim.safetensors"
EXTRA_DEPTH = "tiny_extra_metric_hypersim.safetensors"
LONG = "x" * 300


@dataclass
class Case:
    id: str
    what: str  # one line for the docs
    expect: str  # refused / error / runs / upload
    words: tuple[str, ...] = ()
    graph: Callable[[], dict] | None = None
    upload: tuple | None = None  # (file name, bytes[, form fields]) for expect == "upload"
    checks: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------ graphs
def render(depth_file: str = "room_depth.png", image: str = "room_rgb.png", mpu: object = 0.001,
           scene: dict | None = None, preset: dict | None = None, rnd: dict | None = None) -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": image}},
        "2": {"class_type": "RealCamLoadDepthFile", "inputs": {"file": depth_file, "metres_per_unit": mpu}},
        "3": {"class_type": "RealCamSceneFromDepth", "inputs": {
            "image": ["1", 0], "depth": ["2", 0], "depth_encoding": "metres", "max_depth": 20.0,
            "min_depth": 0.5, "fov_deg": 0.0, **(scene or {})}},
        "4": {"class_type": "RealCamCameraPreset", "inputs": {"preset": "pan_left", "num_frames": FRAMES,
                                                              "amplitude": 0.0, **(preset or {})}},
        "5": {"class_type": "RealCamPointCloudRender", "inputs": {
            "scene": ["3", 0], "trajectory": ["4", 0], "width": 64, "height": 40, "point_size": 2,
            "mask_kernel": 5, "fit": "crop", **(rnd or {})}},
        "6": {"class_type": "PreviewImage", "inputs": {"images": ["5", 0]}},
    }


def with_inputs(g: dict, node: str, **inputs) -> dict:
    g = copy.deepcopy(g)
    g[node]["inputs"].update(inputs)
    return g


def linked(g: dict, node: str, name: str, value: object, kind: str = "any") -> dict:
    """`node.name` fed by a link: a test-only any-type node (text) or core's PrimitiveFloat (numbers)."""
    g = copy.deepcopy(g)
    if kind == "any":
        g["90"] = {"class_type": "RealCamTestAnyValue", "inputs": {"value": value}}
    else:
        g["90"] = {"class_type": "PrimitiveFloat", "inputs": {"value": value}}
    g[node]["inputs"][name] = ["90", 0]
    return g


def pose(pose_file: str, scale: object = 1.0, interpolate: bool = False) -> dict:
    g = render()
    g["4"] = {"class_type": "RealCamLoadPoseFile", "inputs": {"pose_file": pose_file, "translation_scale": scale}}
    if interpolate:
        g["7"] = {"class_type": "RealCamSE3Interpolate", "inputs": {
            "trajectory": ["4", 0], "num_frames": FRAMES, "method": "linear_se3", "easing": "linear", "closed": False}}
        g["5"]["inputs"]["trajectory"] = ["7", 0]
    return g


def depth_model(model: str, max_depth: object = "auto", precision: object = "fp32", metric: dict | None = None) -> dict:
    g = render()
    g["7"] = {"class_type": "RealCamLoadDepthModel", "inputs": {"model": model, "max_depth": max_depth,
                                                                "precision": precision}}
    g["8"] = {"class_type": "RealCamMetricDepth", "inputs": {"depth_model": ["7", 0], "image": ["1", 0],
                                                             "fov_deg": 0.0, "input_size": 140, **(metric or {})}}
    g["5"]["inputs"]["scene"] = ["8", 0]
    return g


def rgba_scene() -> dict:
    g = render()
    g["10"] = {"class_type": "JoinImageWithAlpha", "inputs": {"image": ["1", 0], "alpha": ["1", 1]}}
    g["3"]["inputs"]["image"] = ["10", 0]
    return g


def trajectory_node(class_type: str, **inputs) -> dict:
    g = render()
    g["7"] = {"class_type": class_type, "inputs": {"trajectory": ["4", 0], **inputs}}
    g["8"] = {"class_type": "PreviewAny", "inputs": {"source": ["7", 0]}}
    del g["5"], g["6"]
    return g


def editor(state: str) -> dict:
    return {"1": {"class_type": "RealCamTrajectoryEditor", "inputs": {"editor_state": state}}}


def save_pose(prefix: str) -> dict:
    g = render()
    g["7"] = {"class_type": "RealCamSavePoseFile", "inputs": {"trajectory": ["4", 0], "filename_prefix": prefix}}
    del g["5"], g["6"]
    return g


def i2v(base: str = BASE, cam: str = CAMERA, dtype: str = "default", sampler: dict | None = None,
        i2v_inputs: dict | None = None, rnd: dict | None = None) -> dict:
    g = render(rnd={"width": 64, "height": 64, **(rnd or {})})
    del g["6"]
    g.update({
        "30": {"class_type": "RealCamCheckpointLoader", "inputs": {
            "base_checkpoint": base, "camera_checkpoint": cam, "weight_dtype": dtype}},
        "31": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["30", 1], "text": "a room"}},
        "32": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["30", 1], "text": ""}},
        "33": {"class_type": "RealCamImageToVideo", "inputs": {
            "positive": ["31", 0], "negative": ["32", 0], "vae": ["30", 3], "clip_vision": ["30", 2],
            "image": ["1", 0], "trajectory": ["4", 0], "width": 64, "height": 64, "length": FRAMES,
            "frame_stride": 2, "batch_size": 1, **(i2v_inputs or {})}},
        "34": {"class_type": "RealCamSampler", "inputs": {
            "model": ["30", 0], "positive": ["33", 0], "negative": ["33", 1], "latent": ["33", 2], "seed": 0,
            "steps": 1, "cfg": 7.5, "sampler_name": "realcam_ddim", "scheduler": "realcam_trailing", "eta": 1.0,
            "guidance_rescale": 0.7, "noise_shaping": True, "preview_frames": ["5", 0], "shaping_mask": ["5", 2],
            "vae": ["30", 3], "shaping_mode": "xt_paste", "window_units": "timestep", "window_start": 1000.0,
            "window_end": 900.0, **(sampler or {})}},
        "35": {"class_type": "PreviewAny", "inputs": {"source": ["34", 0]}},
    })
    return g


def preview_frames_mismatch() -> dict:
    """The render follows its own 5-frame preset while the video (and its latent) has 4 frames."""
    g = i2v()
    g["44"] = {"class_type": "RealCamCameraPreset", "inputs": {"preset": "pan_left", "num_frames": FRAMES + 1,
                                                               "amplitude": 0.0}}
    g["5"]["inputs"]["trajectory"] = ["44", 0]
    return g


def loader_only(base: str = BASE, cam: str = CAMERA, dtype: str = "default") -> dict:
    return {"30": {"class_type": "RealCamCheckpointLoader", "inputs": {
                "base_checkpoint": base, "camera_checkpoint": cam, "weight_dtype": dtype}},
            "35": {"class_type": "PreviewAny", "inputs": {"source": ["30", 0]}}}


def node_alone(class_type: str, **inputs) -> dict:
    """A node whose own widgets are refused at validation (its linked inputs come from a render graph)."""
    g = render()
    g["7"] = {"class_type": class_type, "inputs": inputs}
    g["8"] = {"class_type": "PreviewAny", "inputs": {"source": ["7", 0]}}
    return g


def loop(**inputs) -> dict:
    g = i2v()
    g["40"] = {"class_type": "RealCamLoopInterpConditioning", "inputs": {
        "positive": ["33", 0], "negative": ["33", 1], "latent": ["33", 2], "mode": "interpolate",
        "end_conditioning": "shaping_only", "size_mismatch": "error", "overlap": 1, "cond_frame_index": -1,
        "preview_handoff": -1.0, **inputs}}
    g["41"] = {"class_type": "PreviewAny", "inputs": {"source": ["40", 0]}}
    del g["35"]
    return g


def shaping(**inputs) -> dict:
    g = i2v()
    g["42"] = {"class_type": "RealCamNoiseShaping", "inputs": {
        "model": ["30", 0], "shaping_mask": ["5", 2], "mode": "xt_paste", "window_units": "timestep",
        "window_start": 1000.0, "window_end": 900.0, **inputs}}
    g["43"] = {"class_type": "PreviewAny", "inputs": {"source": ["42", 0]}}
    del g["35"]
    return g


# ------------------------------------------------------------------------------------------ the table
R, E, OK, UP = "refused", "error", "runs", "upload"
DEEP = "[" * 100_000 + "]" * 100_000
RE10K_ROW = "0 0.5 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1 0"

CASES: list[Case] = [
    # ---- depth files: encodings
    Case("depth-8bit-grey", "8-bit grey PNG as a depth file", E, ("file", "8-bit", "16-bit greyscale PNG"),
         lambda: render("d_u8.png")),
    Case("depth-8bit-rgb", "8-bit RGB PNG as a depth file", E, ("file", "mode RGB", "accepted encodings"),
         lambda: render("d_rgb8.png")),
    Case("depth-rgba", "RGBA PNG as a depth file", E, ("file", "mode RGBA", "accepted encodings"),
         lambda: render("d_rgba8.png")),
    Case("depth-float-tiff", "32-bit float TIFF in metres", OK, (), lambda: render("d_float.tif")),
    Case("depth-16bit-png", "16-bit PNG in millimetres", OK, (), lambda: render("room_depth.png")),
    Case("depth-complex-npy", "complex .npy", E, ("file", "complex", "float metres"), lambda: render("d_complex.npy")),
    Case("depth-bool-npy", "boolean .npy", E, ("file", "bool", "float metres"), lambda: render("d_bool.npy")),
    Case("depth-int-npy", "integer .npy", E, ("file", "int", "float metres"), lambda: render("d_int.npy")),
    Case("depth-object-npy", "pickled object .npy", E, ("file", "plain numeric .npy"), lambda: render("d_obj.npy")),
    Case("depth-empty-npy", "0-byte .npy", E, ("file", "plain numeric .npy"), lambda: render("d_empty.npy")),
    Case("depth-3d-npy", "(2, H, W) .npy", E, ("file", "single-channel", "(2, 320, 512)"), lambda: render("d_3d.npy")),
    Case("depth-hw1-npy", "(H, W, 1) .npy", OK, (), lambda: render("d_hw1.npy")),
    Case("depth-1x1", "1x1 .npy with a 1x1 image", OK, (), lambda: render("d_1x1.npy", image="img_1x1.png")),
    Case("depth-nan", "all-NaN .npy", E, ("depth", "NaN"), lambda: render("d_nan.npy")),
    Case("depth-zero", "all-zero .npy", E, ("depth", "<=0"), lambda: render("d_zero.npy")),
    Case("depth-size", "depth 100x100 for a 512x320 image", E, ("depth", "100x100", "512x320"),
         lambda: render("d_size.npy")),
    Case("depth-bomb", "PNG declaring 20000x20000 pixels", E, ("file", "megapixels"), lambda: render("d_bomb.png")),
    Case("depth-junk-png", "text saved as .png", E, ("file", "could not be read as an image"),
         lambda: render("d_junk.png")),
    # ---- depth files: names and links
    Case("depth-link-out", "input/ link to a file outside", R, ("file", "outside", "input folder"),
         lambda: render("linked_depth.npy")),
    Case("depth-dir-link-out", "a file inside a linked folder outside", R, ("file", "outside"),
         lambda: render("outside/depth.npy")),
    Case("depth-dotdot", "../ in the depth file name", R, ("file", "'..'"), lambda: render("../models/x.npy")),
    Case("depth-absolute", "absolute depth file path", R, ("file", "absolute"), lambda: render("/etc/hosts.png")),
    Case("depth-nul-name", "NUL byte in the file name", R, ("file", "NUL"), lambda: render("a\x00b.npy")),
    Case("depth-long-name", "300-character file name", R, ("file", "at most 200"), lambda: render(LONG + ".npy")),
    Case("depth-missing", "file that does not exist", R, ("file", "not found", "input folder"),
         lambda: render("nope.npy")),
    Case("depth-suffix", "a .txt as depth", R, ("file", "expected a .png/.npy/.tif/.tiff"),
         lambda: render("p_ok.txt")),
    # ---- numbers of the depth nodes
    Case("mpu-nan", "metres_per_unit = NaN", R, ("metres_per_unit", "finite number"), lambda: render(mpu=NAN)),
    Case("mpu-zero", "metres_per_unit = 0", R, ("metres_per_unit", "from 1e-06"), lambda: render(mpu=0.0)),
    Case("mpu-neg-inf", "metres_per_unit = -inf", R, ("metres_per_unit", "finite"), lambda: render(mpu=-INF)),
    Case("mpu-text", "metres_per_unit = 'abc'", R, ("metres_per_unit",), lambda: render(mpu="abc")),
    Case("mpu-linked-nan", "metres_per_unit = NaN through a link", E, ("metres_per_unit", "finite"),
         lambda: linked(render(), "2", "metres_per_unit", NAN, "float")),
    Case("scene-max-depth-nan", "Scene From Depth max_depth = NaN", R, ("max_depth", "finite"),
         lambda: render(scene={"max_depth": NAN})),
    Case("scene-min-depth-inf", "min_depth = inf", R, ("min_depth", "finite"), lambda: render(scene={"min_depth": INF})),
    Case("scene-fov-neg", "fov_deg = -1", R, ("fov_deg", "from 0 to 170"), lambda: render(scene={"fov_deg": -1.0})),
    Case("scene-fov-nan", "fov_deg = NaN", R, ("fov_deg", "finite"), lambda: render(scene={"fov_deg": NAN})),
    Case("scene-encoding", "depth_encoding = 'inches'", R, ("depth_encoding", "expected one of"),
         lambda: render(scene={"depth_encoding": "inches"})),
    Case("scene-encoding-linked", "depth_encoding = 'inches' through a link", E, ("depth_encoding", "expected one of"),
         lambda: linked(render(), "3", "depth_encoding", "inches")),
    Case("scene-rgba", "RGBA image into Scene From Depth (alpha dropped)", OK, (), rgba_scene),
    # ---- camera presets and render
    Case("preset-frames-0", "num_frames = 0", R, ("num_frames", "from 1 to 1024"), lambda: render(preset={"num_frames": 0})),
    Case("preset-frames-huge", "num_frames = 100000", R, ("num_frames", "from 1 to 1024"),
         lambda: render(preset={"num_frames": 100000})),
    Case("preset-frames-nan", "num_frames = NaN", R, ("num_frames",), lambda: render(preset={"num_frames": NAN})),
    Case("preset-amplitude-nan", "amplitude = NaN", R, ("amplitude", "finite"), lambda: render(preset={"amplitude": NAN})),
    Case("preset-amplitude-inf", "amplitude = '1e999' (inf)", R, ("amplitude", "finite"),
         lambda: render(preset={"amplitude": "1e999"})),
    Case("preset-name", "preset = 'teleport'", R, ("preset", "expected one of"), lambda: render(preset={"preset": "teleport"})),
    Case("preset-name-linked", "preset = 'teleport' through a link", E, ("preset", "expected one of"),
         lambda: linked(render(), "4", "preset", "teleport")),
    Case("render-width-0", "render width = 0", R, ("width", "from 16 to 4096"), lambda: render(rnd={"width": 0})),
    Case("render-height-huge", "render height = 99999", R, ("height", "from 16 to 4096"),
         lambda: render(rnd={"height": 99999})),
    Case("render-point-size-inf", "point_size = inf", R, ("point_size",), lambda: render(rnd={"point_size": INF})),
    Case("render-fit", "fit = 'zoom'", R, ("fit", "expected one of"), lambda: render(rnd={"fit": "zoom"})),
    # ---- pose files
    Case("pose-columns", "pose line with 15 numbers", E, ("p_columns.txt", "line 3", "19"), lambda: pose("p_columns.txt")),
    Case("pose-nonfinite", "pose with nan", E, ("p_nonfinite.txt", "finite"), lambda: pose("p_nonfinite.txt")),
    Case("pose-rotation", "pose with a non-rotation matrix", E, ("p_rotation.txt", "rotation"),
         lambda: pose("p_rotation.txt")),
    Case("pose-empty", "pose file with only a URL", E, ("p_empty.txt", "no pose lines"), lambda: pose("p_empty.txt")),
    Case("pose-nul-bytes", "pose file with NUL bytes", E, ("p_nul.txt", "NUL"), lambda: pose("p_nul.txt")),
    Case("pose-binary", "random bytes as .txt", E, ("p_binary.txt",), lambda: pose("p_binary.txt")),
    Case("pose-10000", "10,000-keyframe pose file (thinned for interpolation)", OK, (),
         lambda: pose("p_10000.txt", interpolate=True)),
    Case("pose-link-out", "input/ link to a pose file outside", R, ("pose_file", "outside"),
         lambda: pose("linked_pose.txt")),
    Case("pose-dir-link-out", "pose file in a linked folder outside", R, ("pose_file", "outside"),
         lambda: pose("outside/pose.txt")),
    Case("pose-dotdot", "../../../etc/passwd.txt", R, ("pose_file", "'..'", "input folder"),
         lambda: pose("../../../etc/passwd.txt")),
    Case("pose-absolute", "/etc/passwd", R, ("pose_file", "absolute"), lambda: pose("/etc/passwd")),
    Case("pose-nul-name", "NUL byte in the pose file name", R, ("pose_file", "NUL"), lambda: pose("a\x00.txt")),
    Case("pose-long-name", "300-character pose file name", R, ("pose_file", "at most 200"), lambda: pose(LONG + ".txt")),
    Case("pose-suffix", "an image as pose file", R, ("pose_file", "expected a .txt"), lambda: pose("room_rgb.png")),
    Case("pose-scale-nan", "translation_scale = NaN", R, ("translation_scale", "finite"), lambda: pose("p_ok.txt", NAN)),
    Case("pose-scale-zero", "translation_scale = 0", R, ("translation_scale", "from 0.001"), lambda: pose("p_ok.txt", 0.0)),
    # ---- saving pose files
    Case("save-ok", "save a pose file", OK, (), lambda: save_pose("realcam/bad_inputs")),
    Case("save-long", "300-character filename_prefix", R, ("filename_prefix", "at most 200"),
         lambda: save_pose("realcam/" + LONG)),
    Case("save-dotdot", "filename_prefix ../../evil", R, ("filename_prefix", "'..'"), lambda: save_pose("../../evil")),
    Case("save-absolute", "filename_prefix /tmp/evil", R, ("filename_prefix", "absolute"), lambda: save_pose("/tmp/evil")),
    Case("save-nul", "NUL byte in filename_prefix", R, ("filename_prefix", "NUL"), lambda: save_pose("a\x00b")),
    Case("save-through-link", "filename_prefix into output/ link to a folder outside", E,
         ("filename_prefix", "link", "refusing to write"), lambda: save_pose("outside/evil")),
    # ---- editor, interpolation, adapters
    Case("editor-deep-json", "editor_state nested 100,000 deep", R, ("editor_state", "nested"), lambda: editor(DEEP)),
    Case("editor-nul", "editor_state with a NUL byte", R, ("editor_state", "NUL"), lambda: editor('{"a": 1}\x00')),
    Case("editor-not-json", "editor_state 'hello'", R, ("editor_state", "valid JSON"), lambda: editor("hello")),
    Case("editor-list", "editor_state '[]'", R, ("editor_state", "a JSON object"), lambda: editor("[]")),
    Case("se3-frames-0", "SE3 Interpolate num_frames = 0", R, ("num_frames", "from 1 to 1024"),
         lambda: trajectory_node("RealCamSE3Interpolate", num_frames=0, method="linear_se3", easing="linear",
                                 closed=False)),
    Case("se3-method", "method = 'bezier'", R, ("method", "expected one of"),
         lambda: trajectory_node("RealCamSE3Interpolate", num_frames=8, method="bezier", easing="linear", closed=False)),
    Case("se3-easing-linked", "easing = 'bounce' through a link", E, ("easing", "expected one of"),
         lambda: linked(trajectory_node("RealCamSE3Interpolate", num_frames=8, method="linear_se3", easing="linear",
                                        closed=False), "7", "easing", "bounce")),
    Case("wan-frames", "4-frame path for Wan (needs 4k+1)", E, ("trajectory", "4k+1"),
         lambda: trajectory_node("RealCamTrajectoryToWanCamera", width=64, height=64)),
    Case("wan-width-nan", "Wan width = NaN", R, ("width",),
         lambda: trajectory_node("RealCamTrajectoryToWanCamera", width=NAN, height=64)),
    Case("cameractrl-width-0", "CameraCtrl width = 0", R, ("width", "from 1 to 8192"),
         lambda: trajectory_node("RealCamTrajectoryToCameraCtrl", width=0, height=64)),
    Case("close-fraction", "Close Trajectory return_fraction = 2", R, ("return_fraction", "from 0 to 0.95"),
         lambda: trajectory_node("RealCamCloseTrajectory", num_frames=8, return_fraction=2.0)),
    Case("clip-len-1", "Trajectory Clip clip_len = 1", R, ("clip_len", "from 2 to 1024"),
         lambda: trajectory_node("RealCamTrajectoryClip", clip_index=0, clip_len=1, overlap=1)),
    Case("join-overlap-neg", "Join Clips overlap = -1", R, ("overlap", "from 0 to 1023"),
         lambda: node_alone("RealCamJoinClips", first=["5", 0], second=["5", 0], overlap=-1)),
    # ---- depth models
    Case("model-ok", "tiny metric depth model", OK, (), lambda: depth_model(DEPTH)),
    Case("model-extra-path", "model from an extra_model_paths.yaml folder", OK, (), lambda: depth_model(EXTRA_DEPTH)),
    Case("model-absolute", "absolute model path", R, ("model", "absolute"), lambda: depth_model("/tmp/model.safetensors")),
    Case("model-dotdot", "../ in the model name", R, ("model", "'..'"), lambda: depth_model("../checkpoints/x.safetensors")),
    Case("model-link-out", "models/ link to weights outside", E, ("model", "outside", "models/depthanything"),
         lambda: depth_model("linked_metric_hypersim.safetensors")),
    Case("model-hf-link-out", "-hf folder whose weights link outside", E, ("model", "outside"),
         lambda: depth_model("LinkOut-Metric-Indoor-hf")),
    Case("model-hf-index-escape", "-hf index naming a shard outside", E, ("model.safetensors.index.json", "outside the folder"),
         lambda: depth_model("EscIndex-Metric-Indoor-hf")),
    Case("model-hf-index-list", "-hf index that is a JSON list", E, ("model.safetensors.index.json", "weight_map"),
         lambda: depth_model("ListIndex-Metric-Indoor-hf")),
    Case("model-partial-download", "leftover half-downloaded -hf folder", E, ("interrupted download", "config.json"),
         lambda: depth_model("Depth-Anything-V2-Metric-Indoor-Small-hf")),
    Case("model-truncated", "truncated safetensors", E, ("truncated_metric_hypersim", "safetensors"),
         lambda: depth_model("truncated_metric_hypersim.safetensors")),
    Case("model-pickle", "pickle payload as depth model", E, ("unsafe_metric_hypersim.pth", "weights_only"),
         lambda: depth_model("unsafe_metric_hypersim.pth")),
    Case("model-empty-safetensors", "safetensors with no tensors", E, ("empty_metric_hypersim", "holds none"),
         lambda: depth_model("empty_metric_hypersim.safetensors")),
    Case("model-bad-offsets", "safetensors header with bogus offsets", E, ("badoffsets_metric_hypersim", "corrupt"),
         lambda: depth_model("badoffsets_metric_hypersim.safetensors")),
    Case("model-missing-offline", "known model missing, offline", E, ("depth_anything_v2_metric_vkitti", "depthanything"),
         lambda: depth_model("depth_anything_v2_metric_vkitti_vitl_fp32.safetensors")),
    Case("model-precision", "precision = 'fp64'", R, ("precision", "expected one of"), lambda: depth_model(DEPTH, precision="fp64")),
    Case("model-max-depth", "max_depth = 'deep'", R, ("max_depth", "expected one of"), lambda: depth_model(DEPTH, max_depth="deep")),
    Case("model-precision-linked", "precision = 'fp64' through a link", E, ("precision", "expected one of"),
         lambda: linked(depth_model(DEPTH), "7", "precision", "fp64")),
    Case("model-max-depth-linked", "max_depth = 'deep' through a link", E, ("max_depth", "expected one of"),
         lambda: linked(depth_model(DEPTH), "7", "max_depth", "deep")),
    Case("metric-input-size", "input_size = 1e9", R, ("input_size", "from 140 to 2044"),
         lambda: depth_model(DEPTH, metric={"input_size": 10**9})),
    Case("metric-fov-inf", "Metric Depth fov_deg = inf", R, ("fov_deg", "finite"),
         lambda: depth_model(DEPTH, metric={"fov_deg": INF})),
    # ---- RealCam checkpoints and sampling
    Case("i2v-ok", "tiny RealCam-I2V: loader, image to video, sampler with shaping", OK, (), lambda: i2v()),
    Case("ckpt-pickle-base", "pickle payload as base_checkpoint", E, ("base_checkpoint", "weights_only"),
         lambda: loader_only(base="evil.ckpt")),
    Case("ckpt-pickle-camera", "pickle payload as camera_checkpoint", E, ("camera_checkpoint", "weights_only"),
         lambda: loader_only(cam="evil_camera.ckpt")),
    Case("ckpt-empty", "empty safetensors as camera_checkpoint", E, ("camera_checkpoint", "holds none"),
         lambda: loader_only(cam="empty.safetensors")),
    Case("ckpt-link-out", "models/realcam link to a file outside", E, ("camera_checkpoint", "outside", "models/realcam"),
         lambda: loader_only(cam="linked_camera.safetensors")),
    Case("ckpt-absolute", "absolute checkpoint path", R, ("base_checkpoint", "absolute"),
         lambda: loader_only(base="/etc/passwd")),
    Case("ckpt-dtype", "weight_dtype = 'fp8'", R, ("weight_dtype", "expected one of"), lambda: loader_only(dtype="fp8")),
    Case("ckpt-dtype-linked", "weight_dtype = 'fp8' through a link", E, ("weight_dtype", "expected one of"),
         lambda: linked(loader_only(), "30", "weight_dtype", "fp8")),
    Case("sampler-cfg-nan", "cfg = NaN", R, ("cfg", "finite"), lambda: i2v(sampler={"cfg": NAN})),
    Case("sampler-cfg-linked-nan", "cfg = NaN through a link (core's Float node lets NaN through)", E, ("cfg", "finite"),
         lambda: linked(i2v(), "34", "cfg", NAN, "float")),
    Case("sampler-eta-nan", "eta = NaN", R, ("eta", "finite"), lambda: i2v(sampler={"eta": NAN})),
    Case("sampler-rescale-nan", "guidance_rescale = NaN", R, ("guidance_rescale", "finite"),
         lambda: i2v(sampler={"guidance_rescale": NAN})),
    Case("sampler-steps-0", "steps = 0", R, ("steps", "from 1 to 1000"), lambda: i2v(sampler={"steps": 0})),
    Case("sampler-seed-neg", "seed = -1", R, ("seed",), lambda: i2v(sampler={"seed": -1})),
    Case("sampler-window-nan", "window_start = NaN", R, ("window_start", "finite"),
         lambda: i2v(sampler={"window_start": NAN})),
    Case("sampler-name", "sampler_name = 'warp'", R, ("sampler_name", "expected one of"),
         lambda: i2v(sampler={"sampler_name": "warp"})),
    Case("sampler-name-linked", "sampler_name = 'warp' through a link", E, ("sampler_name", "expected one of"),
         lambda: linked(i2v(), "34", "sampler_name", "warp")),
    Case("sampler-scheduler-linked", "scheduler = 'never' through a link", E, ("scheduler", "expected one of"),
         lambda: linked(i2v(), "34", "scheduler", "never")),
    Case("sampler-preview-frames", "preview with 5 frames for a 4-frame latent", E, ("preview_frames", "4 frames", "5 frames"),
         lambda: preview_frames_mismatch()),
    Case("sampler-preview-size", "preview 64x40 for a 64x64 latent", E, ("preview_frames", "64x64", "64x40"),
         lambda: i2v(rnd={"height": 40})),
    Case("i2v-width", "Image To Video width = 63", R, ("width", "from 64 to 4096"),
         lambda: i2v(i2v_inputs={"width": 63})),
    Case("i2v-length-0", "length = 0", R, ("length", "from 1 to 64"), lambda: i2v(i2v_inputs={"length": 0})),
    Case("i2v-stride-nan", "frame_stride = NaN", R, ("frame_stride",), lambda: i2v(i2v_inputs={"frame_stride": NAN})),
    Case("shaping-start-nan", "Noise Shaping window_start = NaN", R, ("window_start", "finite"),
         lambda: shaping(window_start=NAN)),
    Case("shaping-mode-linked", "Noise Shaping mode = 'paint' through a link", E, ("mode", "expected one of"),
         lambda: linked(shaping(), "42", "mode", "paint")),
    Case("loop-handoff-nan", "Loop preview_handoff = NaN", R, ("preview_handoff", "finite"),
         lambda: loop(preview_handoff=NAN)),
    Case("loop-overlap-0", "Loop overlap = 0", R, ("overlap", "from 1 to 64"), lambda: loop(overlap=0)),
    # ---- the pose upload route
    Case("upload-ok", "upload a new pose file", UP, ("name",), upload=("up_new.txt", (RE10K_ROW + "\n").encode()),
         checks={"name": "up_new.txt"}),
    Case("upload-over-link", "upload named like an input/ link to a file outside", UP, ("name",),
         upload=("linked_pose.txt", b"https://x\n" + RE10K_ROW.encode()), checks={"name": "linked_pose_1.txt"}),
    Case("upload-existing", "upload over an existing, different file", UP, ("name",),
         upload=("p_ok.txt", b"https://x\n" + RE10K_ROW.encode() + b"\n" + RE10K_ROW.encode()),
         checks={"name": "p_ok_1.txt"}),
    Case("upload-dotdot", "upload named ../../evil.txt (stored as evil.txt in input/)", UP, ("name",),
         upload=("../../evil.txt", RE10K_ROW.encode()), checks={"name": "evil.txt"}),
    Case("upload-suffix", "upload a .py", UP, ("error", "file", "expected a .txt"), upload=("evil.py", b"print(1)")),
    Case("upload-nul", "upload with NUL bytes", UP, ("error", "file", "NUL"), upload=("nul.txt", b"1 2\x003")),
    # ---- the camera-file upload route (glTF, nerfstudio, COLMAP buttons)
    Case("upload-camera-existing", "COLMAP file upload over an existing, different file", UP, ("name",),
         upload=("p_empty.txt", b"# COLMAP images\n", {"kind": "colmap"}), checks={"name": "p_empty_1.txt"}),
    Case("upload-kind", "camera-file upload of an unknown kind", UP, ("error", "kind", "gltf"),
         upload=("x.glb", b"glTF", {"kind": "exe"})),
    Case("upload-gltf-suffix", "glTF upload of a .txt", UP, ("error", "file", "expected a .glb"),
         upload=("x.txt", b"1", {"kind": "gltf"})),
    Case("upload-subfolder", "COLMAP upload into subfolder ../../etc", UP, ("error", "subfolder", "colmap/<id>"),
         upload=("cameras.txt", b"1", {"kind": "colmap", "subfolder": "../../etc"})),
]


# ------------------------------------------------------------------------------------------ files
def _png_header_only(path: Path, w: int, h: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def _safetensors_raw(path: Path, header: object, data: bytes = b"") -> None:
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)


def prepare(base: Path, outside: Path, extra_models: Path) -> None:
    """The files the rows name, in the server's base directory, plus links to `outside`."""
    import pickle

    import numpy as np
    import torch
    from PIL import Image

    from realcam_core.testing import tiny_depth, tiny_realcam

    inp, out = base / "input", base / "output"
    depth_dir, realcam_dir = base / "models" / "depthanything", base / "models" / "realcam"
    for d in (inp, out, depth_dir, realcam_dir, outside, extra_models / "depthanything"):
        d.mkdir(parents=True, exist_ok=True)
    h, w = 320, 512
    ramp = np.linspace(1.0, 5.0, h * w, dtype=np.float32).reshape(h, w)
    Image.fromarray((ramp * 40).astype(np.uint8)).save(inp / "d_u8.png")
    Image.fromarray(np.stack([(ramp * 40).astype(np.uint8)] * 3, -1)).save(inp / "d_rgb8.png")
    Image.fromarray(np.stack([(ramp * 40).astype(np.uint8)] * 4, -1), "RGBA").save(inp / "d_rgba8.png")
    Image.fromarray(ramp, "F").save(inp / "d_float.tif")
    np.save(inp / "d_complex.npy", ramp.astype(np.complex64))
    np.save(inp / "d_bool.npy", ramp > 2)
    np.save(inp / "d_int.npy", (ramp * 1000).astype(np.int32))
    with open(inp / "d_obj.npy", "wb") as f:
        np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (inp / "d_empty.npy").write_bytes(b"")
    np.save(inp / "d_3d.npy", np.stack([ramp, ramp]))
    np.save(inp / "d_hw1.npy", ramp[..., None])
    np.save(inp / "d_1x1.npy", np.full((1, 1), 2.0, dtype=np.float32))
    Image.new("RGB", (1, 1), (120, 80, 40)).save(inp / "img_1x1.png")
    np.save(inp / "d_nan.npy", np.full((h, w), np.nan, dtype=np.float32))
    np.save(inp / "d_zero.npy", np.zeros((h, w), dtype=np.float32))
    np.save(inp / "d_size.npy", np.ones((100, 100), dtype=np.float32))
    _png_header_only(inp / "d_bomb.png", 20000, 20000)
    (inp / "d_junk.png").write_text("not an image")
    good = RE10K_ROW + "\n"
    (inp / "p_ok.txt").write_text("https://x\n" + good * 4)
    (inp / "p_columns.txt").write_text("https://x\n" + good + "0 0.5 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 0\n")
    (inp / "p_nonfinite.txt").write_text("https://x\n" + good + "0 0.5 0.5 0.5 0.5 0 0 1 0 0 nan 0 1 0 0 0 0 1 0\n")
    (inp / "p_rotation.txt").write_text("https://x\n" + good + "0 0.5 0.5 0.5 0.5 0 0 2 0 0 0 0 1 0 0 0 0 1 0\n")
    (inp / "p_empty.txt").write_text("https://x\n")
    (inp / "p_nul.txt").write_bytes(b"https://x\n" + good.encode() + b"\x00\x00\n")
    (inp / "p_binary.txt").write_bytes(bytes(range(256)) * 8)
    rows = [f"{i} 0.5 0.5 0.5 0.5 0 0 1 0 0 {-i * 0.001:.4f} 0 1 0 0 0 0 1 0" for i in range(10_000)]
    (inp / "p_10000.txt").write_text("https://x\n" + "\n".join(rows) + "\n")
    # outside the ComfyUI tree, reached through links from input/, output/ and the model folders
    np.save(outside / "depth.npy", ramp)
    (outside / "pose.txt").write_text("https://x\n" + good * 4)
    (outside / "secret.txt").write_text("do not touch")
    tiny_depth.write_tiny_original(str(outside / "tiny_metric_hypersim.safetensors"), seed=0)
    (inp / "linked_depth.npy").symlink_to(outside / "depth.npy")
    (inp / "linked_pose.txt").symlink_to(outside / "pose.txt")
    (inp / "outside").symlink_to(outside, target_is_directory=True)
    (out / "outside").symlink_to(outside, target_is_directory=True)
    (depth_dir / "linked_metric_hypersim.safetensors").symlink_to(outside / "tiny_metric_hypersim.safetensors")
    # depth models
    tiny_depth.write_tiny_original(str(depth_dir / DEPTH), seed=0)
    tiny_depth.write_tiny_original(str(extra_models / "depthanything" / EXTRA_DEPTH), seed=0)
    data = (depth_dir / DEPTH).read_bytes()
    (depth_dir / "truncated_metric_hypersim.safetensors").write_bytes(data[: len(data) // 2])

    class Evil:
        def __reduce__(self):
            return (print, ("this pickle runs code",))

    torch.save({"weights": Evil()}, depth_dir / "unsafe_metric_hypersim.pth")
    _safetensors_raw(depth_dir / "empty_metric_hypersim.safetensors", {})
    _safetensors_raw(depth_dir / "badoffsets_metric_hypersim.safetensors",
                     {"w": {"dtype": "F32", "shape": [1], "data_offsets": "all"}}, b"\0" * 4)
    hf = tiny_depth.write_tiny_hf(str(depth_dir / "LinkOut-Metric-Indoor-hf"), seed=0)
    weights = Path(hf) / "model.safetensors"
    weights.rename(outside / "hf_model.safetensors")
    weights.symlink_to(outside / "hf_model.safetensors")
    esc = depth_dir / "EscIndex-Metric-Indoor-hf"
    esc.mkdir()
    (esc / "config.json").write_text((Path(hf) / "config.json").read_text())
    (esc / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"backbone.embeddings.cls_token": "../../../../outside_shard.safetensors"}}))
    lst = depth_dir / "ListIndex-Metric-Indoor-hf"
    lst.mkdir()
    (lst / "config.json").write_text((Path(hf) / "config.json").read_text())
    (lst / "model.safetensors.index.json").write_text("[1, 2, 3]")
    partial = depth_dir / "Depth-Anything-V2-Metric-Indoor-Small-hf"
    partial.mkdir()
    (partial / "README.md").write_text("half a download")
    # RealCam checkpoints
    spec = tiny_realcam.TinySpec(variant="512", frames=FRAMES, image_size=(64, 64))
    tiny_realcam.write_tiny_realcam(realcam_dir, spec, base_name=BASE, camera_name=CAMERA, parts=True)

    class EvilCkpt:
        def __reduce__(self):
            return (print, ("this checkpoint runs code",))

    for name in ("evil.ckpt", "evil_camera.ckpt"):
        with open(realcam_dir / name, "wb") as f:
            pickle.dump({"state_dict": EvilCkpt()}, f)
    _safetensors_raw(realcam_dir / "empty.safetensors", {})
    (outside / "camera.safetensors").write_bytes((realcam_dir / CAMERA).read_bytes())
    (realcam_dir / "linked_camera.safetensors").symlink_to(outside / "camera.safetensors")
