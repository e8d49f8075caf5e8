"""Write the example workflows in workflows/ (UI format, as the Templates browser loads them).

Each workflow is described compactly below; this script lays it out with the live node schemas
of a real ComfyUI (started here with the pack), so widget order and socket types are always right.
Run: $REALCAM_PY scripts/make_workflows.py  (after scripts/setup.sh)
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from comfy_host import ComfyServer  # noqa: E402
from workflow_api import VIRTUAL_NODES, widget_inputs  # noqa: E402

# node: (id, type, (x, y), {widget: value}); link: (from_id, from_output_index, to_id, to_input_name)
Spec = dict


def first_look_state() -> str:
    """The editor template's path: a gentle 0.6 m dolly forward with a 0.15 m pan and a slight turn, which
    stays inside the synthetic room (tests/core/test_template_paths.py renders it)."""
    sys.path.insert(0, str(REPO))
    import torch

    from realcam_core.trajectory import editor as es

    key = es.euler_to_matrix(4.0, 0.0, 0.0)
    end = torch.eye(4, dtype=torch.float64)
    end[:3, :3] = key
    end[:3, 3] = torch.tensor([0.15, 0.0, 0.6], dtype=torch.float64)
    c2w = torch.stack([torch.eye(4, dtype=torch.float64), end])
    state = es.state_from_keyframes([0, 15], c2w, num_frames=16)
    state.easing = "ease_in_out"
    return state.to_json()


def note(nid: int, pos: tuple[int, int], text: str, size=(420, 220)) -> tuple:
    return (nid, "MarkdownNote", pos, {"text": text}, size)


PREVIEW_NOTE = """### RealCam camera preview
The pack's first minute: a still image becomes a **metric point cloud**, a preset camera moves through it,
and the static scene is rendered along the path (the preview that RealCam's noise shaping uses).

* **Depth model**: put `depth_anything_v2_metric_hypersim_vitl_fp32.safetensors` (indoor) or
  `..._vkitti_vitl_fp32.safetensors` (outdoor) in `models/depthanything/`; a `-hf` folder works too.
  Known names download by themselves when online.
* Try other presets, frame counts and amplitudes (metres / degrees).
* `visibility` / `shaping_mask` show where the preview is trustworthy."""

OFFLINE_NOTE = """### RealCam camera preview (offline): start here
Press **Run**; the render node shows the room seen along the `zoom_in` preset. **Try** `orbit_left`, `pan_right`
or `look_up` in the preset node, 32 frames, or an amplitude (metres or degrees; 0 = the official demo's amount).
Needs **no download**: a synthetic room with exact metric depth (16-bit PNG, millimetres) is bundled with the
pack and copied into `input/` by `scripts/run.sh` (`assets/synthetic_room/` otherwise).
`RealCam Load Depth File` reads the depth without losing precision; `RealCam Scene From Depth` accepts depth
from **any** depth node (metres, normalised or disparity)."""

EDITOR_NOTE = """### RealCam Trajectory Editor (offline): start here
Needs **no download**. Press **Run**: the room's metric point cloud appears in the editor and the render node
previews the path (a gentle dolly forward with a small pan). Then, without re-running:
* drag a camera (keyframe frustum) to move it, **Alt**-drag to turn it, drag empty space to orbit the view;
* **K** adds a keyframe at the current frame, **Delete** removes the selected one; numeric fields take metres,
  degrees and frame numbers; **Snap** rounds to 0.05 m / 5 deg;
* scrub the timeline or press **Space** to play; the camera view uses the same projection as the render node.
**Try**: drag the last camera sideways and run again; pick `orbit_left` in the preset menu and **Apply**; connect a
RealCam Camera Preset or Load Pose File to `trajectory` to seed the path (it seeds until you edit).
The green camera is frame 0, the photo's own camera: drags leave it in place (its fields still edit it).
Your edits are saved with the workflow and sent with API prompts.
`RealCam Save Pose File` writes the path as a RealEstate10K `.txt` into `output/realcam/`."""

WORKFLOWS: dict[str, Spec] = {
    "camera_preview": {
        "nodes": [
            (1, "LoadImage", (40, 60), {"image": "pexels-steve-858076.jpg", "upload": "image"}),
            (2, "RealCamLoadDepthModel", (40, 420), {"model": "depth_anything_v2_metric_hypersim_vitl_fp32.safetensors"}),
            (3, "RealCamMetricDepth", (420, 200), {}),
            (4, "RealCamCameraPreset", (420, 480), {"preset": "orbit_left", "num_frames": 16}),
            (5, "RealCamPointCloudRender", (800, 240), {"width": 512, "height": 320}),
            (6, "CreateVideo", (1180, 120), {"fps": 8.0}),
            (7, "SaveVideo", (1460, 120), {"filename_prefix": "realcam/preview"}),
            (8, "PreviewImage", (1180, 480), {}),
            note(9, (40, 760), PREVIEW_NOTE),
        ],
        "links": [(1, 0, 3, "image"), (2, 0, 3, "depth_model"), (3, 0, 5, "scene"), (4, 0, 5, "trajectory"),
                  (5, 0, 6, "images"), (6, 0, 7, "video"), (3, 1, 8, "images")],
    },
    "camera_editor_offline": {
        "nodes": [
            (1, "LoadImage", (40, 60), {"image": "room_rgb.png", "upload": "image"}),
            (2, "RealCamLoadDepthFile", (40, 420), {"file": "room_depth.png", "metres_per_unit": 0.001}),
            (3, "RealCamSceneFromDepth", (400, 60), {"depth_encoding": "metres"}),
            (5, "RealCamTrajectoryEditor", (760, 60), {"editor_state": first_look_state()}, (600, 660)),
            (6, "RealCamPointCloudRender", (1360, 60), {"width": 512, "height": 320}),
            (7, "CreateVideo", (1720, 60), {"fps": 8.0}),
            (8, "SaveVideo", (2000, 60), {"filename_prefix": "realcam/editor_preview"}),
            (9, "RealCamSavePoseFile", (1360, 480), {"filename_prefix": "realcam/edited_path"}),
            note(10, (40, 760), EDITOR_NOTE, (560, 300)),
        ],
        "links": [(1, 0, 3, "image"), (2, 0, 3, "depth"), (3, 0, 5, "scene"),
                  (3, 0, 6, "scene"), (5, 0, 6, "trajectory"), (6, 0, 7, "images"), (7, 0, 8, "video"),
                  (5, 0, 9, "trajectory")],
    },
    "camera_preview_offline": {
        "nodes": [
            (1, "LoadImage", (40, 60), {"image": "room_rgb.png", "upload": "image"}),
            (2, "RealCamLoadDepthFile", (40, 420), {"file": "room_depth.png", "metres_per_unit": 0.001}),
            (3, "RealCamSceneFromDepth", (420, 200), {"depth_encoding": "metres"}),
            (4, "RealCamCameraPreset", (420, 520), {"preset": "zoom_in", "num_frames": 16}),
            (5, "RealCamPointCloudRender", (800, 240), {"width": 512, "height": 320}),
            (6, "CreateVideo", (1180, 120), {"fps": 8.0}),
            (7, "SaveVideo", (1460, 120), {"filename_prefix": "realcam/preview_offline"}),
            (8, "MaskPreview", (1180, 480), {}),
            note(9, (40, 760), OFFLINE_NOTE),
        ],
        "links": [(1, 0, 3, "image"), (2, 0, 3, "depth"), (3, 0, 5, "scene"), (4, 0, 5, "trajectory"),
                  (5, 0, 6, "images"), (6, 0, 7, "video"), (5, 2, 8, "mask")],
    },
}


# -- loops, interpolation, transitions, continuation (RealCam Loop / Interp Conditioning) -----------
MODELS_NOTE = """* **Models** (`models/realcam/` or `models/checkpoints/`): the DynamiCrafter 512 base
  `model.ckpt` (Doubiiu/DynamiCrafter_512; holds the UNet, VAE, CLIP and CLIP vision) as `base_checkpoint`, and the
  RealCam camera file `512_realcam-i2v_50k.safetensors` (MuteApo/CamI2V) as `camera_checkpoint`.
* **Depth**: `depth_anything_v2_metric_hypersim_vitl_fp32.safetensors` in `models/depthanything/`."""

LOOP_NOTE = """### RealCam camera loop
A still image becomes a clip whose **last frame meets the first**: the camera path is closed (RealCam Close
Trajectory: back to the start with a smooth seam), and the start image is pasted as a fully visible last frame of
the noise-shaping preview. The node's `report` says whether the path really returns to its start.
Play it as a loop without its last frame (it repeats the first).
""" + MODELS_NOTE + """
* **Experimental**: no released RealCam checkpoint was trained for loops; the end frame acts through noise
  shaping only (`end_conditioning = shaping_only`)."""

INTERP_NOTE = """### RealCam camera interpolation (experimental)
Start image -> end image of the **same scene**, the end seen from the trajectory's last pose (bend the path onto
another end pose with RealCam Trajectory End Pose). The bundled end image is only a placeholder (another scene):
load your own photo of the same scene. `end_conditioning = concat_and_shaping` puts the end latent in
the last concat slot (DynamiCrafter's interp layout) **and** pastes it as a visible last preview frame.
* **Models**: the concat layout only makes sense with DynamiCrafter's **512_interp** base
  (Doubiiu/DynamiCrafter_512_Interp `model.ckpt`) as `base_checkpoint` plus `512_realcam-i2v_50k.safetensors` as
  `camera_checkpoint`; this pairing was never trained together (the loader loads it and shows an EXPERIMENTAL
  warning; it recognises the interp base by `interp` in its file name, so keep that in the name). With the normal 512 base use `shaping_only`.
* **Depth**: `depth_anything_v2_metric_hypersim_vitl_fp32.safetensors` in `models/depthanything/`.
* Images of different sizes: `size_mismatch` = crop (here), error or stretch."""

TRANSITION_NOTE = """### RealCam scene transition (experimental)
From image A to image B while the camera moves. The preview of A's point cloud shapes the first half
(`preview_handoff` auto = 0.5), B is a fully visible last frame, cropped to A's size (`size_mismatch = crop`).
""" + MODELS_NOTE

CONTINUE_NOTE = """### RealCam long video (continuation)
A 31-frame camera path is cut into two 16-frame clips that share 1 frame (RealCam Trajectory Clip). Clip 2 is
conditioned on clip 1's last frame: its image, concat latent and camera poses refer to that frame
(`cond_frame_index`), and the shared frame is kept through the latent's noise mask; RealCam Sampler returns it
exactly (upstream's final paste; after other samplers use RealCam Paste Overlap). RealCam Join Clips drops the
repeated frame. Chain more clips the same way.
""" + MODELS_NOTE + """
* **Experimental**: upstream's continuation hooks were never used by a released checkpoint."""

BASE_512 = "DynamiCrafter_512/model.ckpt"  # official file, downloaded into models/realcam when missing
BASE_INTERP = "DynamiCrafter_512_Interp/model.ckpt"
CAMERA_512 = "512_realcam-i2v_50k.safetensors"
DEPTH = "depth_anything_v2_metric_hypersim_vitl_fp32.safetensors"
PROMPT = "a calm, detailed scene, smooth camera motion"
NEGATIVE = ("Fast movement, jittery motion, abrupt transitions, distorted body, missing limbs, unnatural posture, "
            "blurry, cropped, extra limbs, bad anatomy, deformed, glitchy motion, artifacts.")


def _model_nodes(base: str) -> list[tuple]:
    """Loader (2), prompts (3, 4), depth (5, 6): shared by the examples below."""
    return [
        (2, "RealCamCheckpointLoader", (40, 420), {"base_checkpoint": base, "camera_checkpoint": CAMERA_512}),
        (3, "CLIPTextEncode", (420, 40), {"text": PROMPT}),
        (4, "CLIPTextEncode", (420, 260), {"text": NEGATIVE}),
        (5, "RealCamLoadDepthModel", (40, 700), {"model": DEPTH}),
        (6, "RealCamMetricDepth", (420, 700), {}),
    ]


MODEL_LINKS = [(2, 1, 3, "clip"), (2, 1, 4, "clip"), (5, 0, 6, "depth_model"), (1, 0, 6, "image")]


def _shaped_clip(mode: str, base: str, trajectory_nodes: list[tuple], trajectory_links: list[tuple], traj_out: int,
                 extra_nodes: list[tuple], extra_links: list[tuple], cond_widgets: dict, prefix: str, text: str) -> Spec:
    """One shaped clip: image (1) -> ... -> conditioning (11) -> sampler (12) -> decode (13) -> video (14, 15)."""
    nodes = [
        (1, "LoadImage", (40, 60), {"image": "pexels-steve-858076.jpg", "upload": "image"}),
        *_model_nodes(base),
        *trajectory_nodes,
        (9, "RealCamPointCloudRender", (1180, 700), {"width": 512, "height": 320}),
        (10, "RealCamImageToVideo", (1180, 40), {"width": 512, "height": 320, "length": 16}),
        (11, "RealCamLoopInterpConditioning", (1560, 40), {"mode": mode, **cond_widgets}),
        (12, "RealCamSampler", (1940, 40), {}),
        (13, "VAEDecode", (2320, 40), {}),
        (14, "CreateVideo", (2320, 200), {"fps": 8.0}),
        (15, "SaveVideo", (2600, 200), {"filename_prefix": prefix}),
        *extra_nodes,
        note(16, (40, 1000), text, size=(520, 300)),
    ]
    links = [
        *MODEL_LINKS, *trajectory_links, *extra_links,
        (6, 0, 9, "scene"), (traj_out, 0, 9, "trajectory"),
        (3, 0, 10, "positive"), (4, 0, 10, "negative"), (2, 3, 10, "vae"), (2, 2, 10, "clip_vision"),
        (1, 0, 10, "image"), (traj_out, 0, 10, "trajectory"),
        (10, 0, 11, "positive"), (10, 1, 11, "negative"), (10, 2, 11, "latent"), (2, 3, 11, "vae"),
        (1, 0, 11, "start_image"), (9, 0, 11, "preview_frames"), (9, 2, 11, "shaping_mask"),
        (2, 0, 12, "model"), (11, 0, 12, "positive"), (11, 1, 12, "negative"), (11, 2, 12, "latent"),
        (11, 3, 12, "preview_frames"), (11, 4, 12, "shaping_mask"), (2, 3, 12, "vae"),
        (12, 0, 13, "samples"), (2, 3, 13, "vae"), (13, 0, 14, "images"), (14, 0, 15, "video"),
    ]
    return {"nodes": nodes, "links": links}


WORKFLOWS["camera_loop"] = _shaped_clip(
    "loop", BASE_512,
    [(7, "RealCamCameraPreset", (420, 960), {"preset": "orbit_left", "num_frames": 16, "amplitude": 20.0}),
     (8, "RealCamCloseTrajectory", (800, 960), {"num_frames": 16})],
    [(7, 0, 8, "trajectory")], 8, [], [], {"end_conditioning": "shaping_only"}, "realcam/loop", LOOP_NOTE)

WORKFLOWS["camera_interpolation"] = _shaped_clip(
    "interpolate", BASE_INTERP,
    [(7, "RealCamCameraPreset", (420, 960), {"preset": "pan_right", "num_frames": 16, "amplitude": 0.5})],
    [], 7,
    [(17, "LoadImage", (800, 1200), {"image": "pexels-eberhardgross-534164.jpg", "upload": "image"})],
    [(17, 0, 11, "end_image")], {"end_conditioning": "concat_and_shaping", "size_mismatch": "crop"},
    "realcam/interpolation", INTERP_NOTE)

WORKFLOWS["scene_transition"] = _shaped_clip(
    "transition", BASE_512,
    [(7, "RealCamCameraPreset", (420, 960), {"preset": "zoom_in", "num_frames": 16, "amplitude": 0.5})],
    [], 7,
    [(17, "LoadImage", (800, 1200), {"image": "pexels-eberhardgross-534164.jpg", "upload": "image"})],
    [(17, 0, 11, "end_image")], {"end_conditioning": "shaping_only", "size_mismatch": "crop"}, "realcam/transition",
    TRANSITION_NOTE)


def _continuation() -> Spec:
    nodes = [
        (1, "LoadImage", (40, 60), {"image": "pexels-steve-858076.jpg", "upload": "image"}),
        *_model_nodes(BASE_512),
        (7, "RealCamCameraPreset", (420, 960), {"preset": "pan_right", "num_frames": 31, "amplitude": 1.0}),
        (8, "RealCamTrajectoryClip", (800, 900), {"clip_index": 0, "clip_len": 16, "overlap": 1}),
        (9, "RealCamPointCloudRender", (1180, 700), {"width": 512, "height": 320}),
        (10, "RealCamImageToVideo", (1180, 40), {"width": 512, "height": 320, "length": 16}),
        (12, "RealCamSampler", (1560, 40), {}),
        (13, "VAEDecode", (1940, 40), {}),
        (18, "RealCamTrajectoryClip", (800, 1160), {"clip_index": 1, "clip_len": 16, "overlap": 1}),
        (19, "ImageFromBatch", (1940, 260), {"batch_index": 15, "length": 1}),
        (20, "RealCamImageToVideo", (2320, 260), {"width": 512, "height": 320, "length": 16}),
        (21, "RealCamLoopInterpConditioning", (2700, 260), {"mode": "continue", "overlap": 1}),
        (22, "RealCamSampler", (3080, 260), {}),
        (24, "VAEDecode", (3460, 260), {}),
        (25, "RealCamJoinClips", (3840, 260), {"overlap": 1}),
        (14, "CreateVideo", (4220, 260), {"fps": 8.0}),
        (15, "SaveVideo", (4500, 260), {"filename_prefix": "realcam/long"}),
        note(16, (40, 1000), CONTINUE_NOTE, size=(520, 320)),
    ]
    links = [
        *MODEL_LINKS, (7, 0, 8, "trajectory"), (7, 0, 18, "trajectory"),
        (6, 0, 9, "scene"), (8, 0, 9, "trajectory"),
        (3, 0, 10, "positive"), (4, 0, 10, "negative"), (2, 3, 10, "vae"), (2, 2, 10, "clip_vision"),
        (1, 0, 10, "image"), (8, 0, 10, "trajectory"),
        (2, 0, 12, "model"), (10, 0, 12, "positive"), (10, 1, 12, "negative"), (10, 2, 12, "latent"),
        (9, 0, 12, "preview_frames"), (9, 2, 12, "shaping_mask"), (2, 3, 12, "vae"),
        (12, 0, 13, "samples"), (2, 3, 13, "vae"), (13, 0, 19, "image"),
        (3, 0, 20, "positive"), (4, 0, 20, "negative"), (2, 3, 20, "vae"), (2, 2, 20, "clip_vision"),
        (19, 0, 20, "image"), (18, 0, 20, "trajectory"),
        (20, 0, 21, "positive"), (20, 1, 21, "negative"), (20, 2, 21, "latent"), (12, 0, 21, "previous_latent"),
        (2, 0, 22, "model"), (21, 0, 22, "positive"), (21, 1, 22, "negative"), (21, 2, 22, "latent"),
        (22, 0, 24, "samples"), (2, 3, 24, "vae"),
        (13, 0, 25, "first"), (24, 0, 25, "second"), (25, 0, 14, "images"), (14, 0, 15, "video"),
    ]
    return {"nodes": nodes, "links": links}


WORKFLOWS["long_video_continuation"] = _continuation()


# -- the main example: image -> depth -> camera path -> preview -> RealCam-I2V video (issue 3) ------------------
I2V_NOTE = """### RealCam-I2V: camera-controlled image-to-video
The image's metric depth becomes a point cloud; the camera preset moves through it; the preview render of that
static scene **shapes the early, high-noise steps** (`noise_shaping`, only where `shaping_mask` is set), and
RealCam-I2V generates the video along the same camera path.

**Model files** (both resolutions work; width x height must match: 512 x 320 or 256 x 256):
* DynamiCrafter base `model.ckpt` (Doubiiu/DynamiCrafter_512, or Doubiiu/DynamiCrafter for 256; it also holds
  the VAE, the OpenCLIP-H text encoder and the ViT-H image encoder) -> `models/realcam/DynamiCrafter_512/model.ckpt`
  (any name in `models/realcam/` or `models/checkpoints/` works), as `base_checkpoint`.
* The RealCam camera file `512_realcam-i2v_50k.safetensors` (or `256_realcam-i2v_50k.safetensors`;
  MuteApo/CamI2V) -> `models/realcam/`, as `camera_checkpoint`.
* When online, the official names in the loader's lists download themselves into `models/realcam/`.
* Depth: `depth_anything_v2_metric_hypersim_vitl_fp32.safetensors` (indoor; `..._vkitti_...` outdoor)
  -> `models/depthanything/`.

Sampler defaults reproduce upstream (DDIM eta 1, trailing steps, 25 steps, cfg 7.5, guidance rescale 0.7);
core samplers and schedulers work too. Turn `noise_shaping` off to compare."""


def _i2v() -> Spec:
    nodes = [
        (1, "LoadImage", (40, 60), {"image": "pexels-steve-858076.jpg", "upload": "image"}),
        *_model_nodes(BASE_512),
        (7, "RealCamCameraPreset", (420, 960), {"preset": "orbit_left", "num_frames": 16}),
        (9, "RealCamPointCloudRender", (800, 700), {"width": 512, "height": 320}),
        (10, "RealCamImageToVideo", (800, 40), {"width": 512, "height": 320, "length": 16}),
        (12, "RealCamSampler", (1180, 40), {"noise_shaping": True}),
        (13, "VAEDecode", (1560, 40), {}),
        (14, "CreateVideo", (1560, 200), {"fps": 8.0}),
        (15, "SaveVideo", (1840, 200), {"filename_prefix": "realcam/i2v"}),
        note(16, (40, 1200), I2V_NOTE, size=(560, 420)),
    ]
    links = [
        *MODEL_LINKS, (6, 0, 9, "scene"), (7, 0, 9, "trajectory"),
        (3, 0, 10, "positive"), (4, 0, 10, "negative"), (2, 3, 10, "vae"), (2, 2, 10, "clip_vision"),
        (1, 0, 10, "image"), (7, 0, 10, "trajectory"),
        (2, 0, 12, "model"), (10, 0, 12, "positive"), (10, 1, 12, "negative"), (10, 2, 12, "latent"),
        (9, 0, 12, "preview_frames"), (9, 2, 12, "shaping_mask"), (2, 3, 12, "vae"),
        (12, 0, 13, "samples"), (2, 3, 13, "vae"), (13, 0, 14, "images"), (14, 0, 15, "video"),
    ]
    return {"nodes": nodes, "links": links}


WORKFLOWS["realcam_i2v"] = _i2v()

# -- Wan 2.x in core ComfyUI (issue 10): Fun Camera + noise shaping, FLF camera loop ---------------------------------
_WAN21 = "https://huggingface.co/Comfy-Org/Wan_2.1_ComfyUI_repackaged/resolve/main/split_files"
WAN_FUN_CAMERA = "wan2.1_fun_camera_v1.1_1.3B_bf16.safetensors"
WAN_FLF = "wan2.1_flf2v_720p_14B_fp16.safetensors"
WAN_TEXT = "umt5_xxl_fp8_e4m3fn_scaled.safetensors"
WAN_VAE = "wan_2.1_vae.safetensors"
WAN_CLIP_VISION = "clip_vision_h.safetensors"
WAN_FILES = {
    WAN_FUN_CAMERA: "diffusion_models", WAN_FLF: "diffusion_models", WAN_TEXT: "text_encoders", WAN_VAE: "vae",
    WAN_CLIP_VISION: "clip_vision",
}


def wan_models(*names: str) -> list[dict]:
    """The frontend's `models` entries (name, url, directory) for the official Comfy-Org files."""
    return [{"name": n, "url": f"{_WAN21}/{WAN_FILES[n]}/{n}", "directory": WAN_FILES[n]} for n in names]


WAN_FILES_NOTE = f"""**Files** (Comfy-Org/Wan_2.1_ComfyUI_repackaged; the frontend offers them when missing):
* `models/text_encoders/{WAN_TEXT}`, `models/vae/{WAN_VAE}`, `models/clip_vision/{WAN_CLIP_VISION}`
* Depth: `{DEPTH}` in `models/depthanything/` (downloads itself when online).
**Scale**: trajectories are in metres; `RealCam Wan Camera Embedding` divides them by the scene's median depth
(Fun Camera learnt RealEstate10K poses, where the scene is about one unit away) and shows what it used;
`translation_scale` multiplies on top. The 4k+1 frame count (81) comes from `frame_count` = *Wan 81 frames*."""

WAN_CAMERA_NOTE = f"""### RealCam scene -> Wan Fun Camera video
Photo -> metric depth -> camera path (drag it in the **Trajectory Editor**) -> point-cloud preview at the Wan size ->
Wan 2.1 Fun Camera (core `WanCameraImageToVideo`) with **RealCam Wan Noise Shaping**: the first 10 % of the
schedule is pasted from the preview where the render is reliable. Width / height / length are the same on every
node (832 x 480, 81 frames). Bypass the shaping node to compare.
* `models/diffusion_models/{WAN_FUN_CAMERA}`
""" + WAN_FILES_NOTE

WAN_LOOP_NOTE = f"""### RealCam camera loop on Wan (first = last frame)
Core `WanFirstLastFrameToVideo` gets the photo as **start and end** image; the camera orbits and returns
(SE3 Interpolate `closed`), and **RealCam Wan Noise Shaping** pastes the preview of that closed path, so the
motion follows the scene. Give a second photo of the same scene as `end_image` for camera-guided interpolation.
* `models/diffusion_models/{WAN_FLF}` (Wan 2.1 FLF2V 14B, 720p; 1280 x 720 suits it best)
""" + WAN_FILES_NOTE

WAN_NEGATIVE = "static, blurry, distorted, low quality, jittery camera, warped geometry"


def _wan_common(dit: str) -> list[tuple]:
    """Image (1), depth (2, 3), preset (4), editor (5), interpolation (6), render (7), loaders / text (10-14)."""
    return [
        (1, "LoadImage", (40, 60), {"image": "pexels-steve-858076.jpg", "upload": "image"}),
        (2, "RealCamLoadDepthModel", (40, 420), {"model": DEPTH}),
        (3, "RealCamMetricDepth", (420, 60), {}),
        (10, "UNETLoader", (40, 700), {"unet_name": dit, "weight_dtype": "default"}),
        (11, "CLIPLoader", (40, 900), {"clip_name": WAN_TEXT, "type": "wan"}),
        (12, "VAELoader", (40, 1100), {"vae_name": WAN_VAE}),
        (13, "CLIPTextEncode", (420, 900), {"text": PROMPT}),
        (14, "CLIPTextEncode", (420, 1100), {"text": WAN_NEGATIVE}),
        (15, "CLIPVisionLoader", (40, 1300), {"clip_name": WAN_CLIP_VISION}),
        (16, "CLIPVisionEncode", (420, 1300), {"crop": "none"}),
    ]


_WAN_COMMON_LINKS = [(1, 0, 3, "image"), (2, 0, 3, "depth_model"), (11, 0, 13, "clip"), (11, 0, 14, "clip"),
                     (15, 0, 16, "clip_vision"), (1, 0, 16, "image")]
_WAN_SIZE = {"width": 832, "height": 480}


def _wan_tail(cond: int) -> tuple[list[tuple], list[tuple]]:
    """Shaping (20), KSampler (21), decode and save (22-24) after a Wan conditioning node `cond`."""
    nodes = [
        (20, "RealCamWanNoiseShaping", (1560, 700), {**_WAN_SIZE, "length": 81}),
        (21, "KSampler", (1940, 60), {"steps": 20, "cfg": 6.0, "sampler_name": "euler", "scheduler": "simple"}),
        (22, "VAEDecode", (2320, 60), {}),
        (23, "CreateVideo", (2320, 260), {"fps": 16.0}),
    ]
    links = [
        (10, 0, 20, "model"), (12, 0, 20, "vae"), (7, 0, 20, "preview_frames"), (7, 2, 20, "shaping_mask"),
        (1, 0, 20, "start_image"),
        (20, 0, 21, "model"), (cond, 0, 21, "positive"), (cond, 1, 21, "negative"), (cond, 2, 21, "latent_image"),
        (21, 0, 22, "samples"), (12, 0, 22, "vae"), (22, 0, 23, "images"), (23, 0, 24, "video"),
    ]
    return nodes, links


def _wan_camera() -> Spec:
    tail, tail_links = _wan_tail(18)
    nodes = [
        *_wan_common(WAN_FUN_CAMERA),
        (4, "RealCamCameraPreset", (420, 420), {"preset": "orbit_left", "num_frames": 16}),
        (5, "RealCamTrajectoryEditor", (800, 60), {}, (560, 640)),
        (6, "RealCamSE3Interpolate", (1180, 420), {"method": "smooth", "frame_count": "Wan 81 frames"}),
        (7, "RealCamPointCloudRender", (1180, 700), _WAN_SIZE),
        (17, "RealCamWanCameraEmbedding", (1180, 1000), {**_WAN_SIZE, "length": 81}),
        (18, "WanCameraImageToVideo", (1560, 60), {**_WAN_SIZE, "length": 81}),
        *tail,
        (24, "SaveVideo", (2600, 260), {"filename_prefix": "realcam/wan_camera"}),
        note(30, (40, 1500), WAN_CAMERA_NOTE, size=(600, 420)),
    ]
    links = [
        *_WAN_COMMON_LINKS, (3, 0, 5, "scene"), (4, 0, 5, "trajectory"), (5, 0, 6, "trajectory"),
        (3, 0, 7, "scene"), (6, 0, 7, "trajectory"), (6, 0, 17, "trajectory"), (3, 0, 17, "scene"),
        (13, 0, 18, "positive"), (14, 0, 18, "negative"), (12, 0, 18, "vae"), (16, 0, 18, "clip_vision_output"),
        (1, 0, 18, "start_image"), (17, 0, 18, "camera_conditions"),
        *tail_links,
    ]
    return {"nodes": nodes, "links": links, "models": wan_models(WAN_FUN_CAMERA, WAN_TEXT, WAN_VAE, WAN_CLIP_VISION)}


def _wan_loop() -> Spec:
    tail, tail_links = _wan_tail(18)
    nodes = [
        *_wan_common(WAN_FLF),
        (4, "RealCamCameraPreset", (420, 420), {"preset": "orbit_left", "num_frames": 16, "amplitude": 20.0}),
        (6, "RealCamSE3Interpolate", (800, 420), {"method": "smooth", "closed": True, "frame_count": "Wan 81 frames"}),
        (7, "RealCamPointCloudRender", (1180, 700), _WAN_SIZE),
        (18, "WanFirstLastFrameToVideo", (1560, 60), {**_WAN_SIZE, "length": 81}),
        *tail,
        (24, "SaveVideo", (2600, 260), {"filename_prefix": "realcam/wan_loop"}),
        note(30, (40, 1500), WAN_LOOP_NOTE, size=(600, 420)),
    ]
    links = [
        *_WAN_COMMON_LINKS, (4, 0, 6, "trajectory"), (3, 0, 7, "scene"), (6, 0, 7, "trajectory"),
        (13, 0, 18, "positive"), (14, 0, 18, "negative"), (12, 0, 18, "vae"), (16, 0, 18, "clip_vision_start_image"),
        (16, 0, 18, "clip_vision_end_image"), (1, 0, 18, "start_image"), (1, 0, 18, "end_image"),
        *tail_links,
    ]
    return {"nodes": nodes, "links": links, "models": wan_models(WAN_FLF, WAN_TEXT, WAN_VAE, WAN_CLIP_VISION)}


WORKFLOWS["wan_camera_realcam"] = _wan_camera()
WORKFLOWS["wan_camera_loop"] = _wan_loop()


# -- Wan 2.2 TI2V-5B (no camera input: the shaped preview alone steers the camera) ------------------------------
_WAN22 = "https://huggingface.co/Comfy-Org/Wan_2.2_ComfyUI_Repackaged/resolve/main/split_files"
WAN22_5B = "wan2.2_ti2v_5B_fp16.safetensors"
WAN22_VAE = "wan2.2_vae.safetensors"
# core's own 5B template and the model card: 1280 x 704 (multiples of 32), 121 frames at 24 fps
_WAN22_SIZE = {"width": 1280, "height": 704}
_WAN22_LENGTH = 121

WAN22_5B_NOTE = f"""### RealCam scene -> Wan 2.2 TI2V-5B video
Photo -> metric depth -> camera path (preset, then drag it in the **Trajectory Editor**) -> point-cloud preview ->
**RealCam Wan Noise Shaping** on Wan 2.2 TI2V-5B with core `Wan22ImageToVideoLatent` (start image = the photo).
The 5B model has **no camera input**: only the shaped preview steers the camera (the first 10 % of the schedule
is pasted from the render where it is reliable), so moves the scene explains work best.
Width / height / length are the same on every node (1280 x 704, 121 frames, 24 fps; multiples of 32).
**Try**: if the camera drifts back to a still shot, raise `window_end` (0.15-0.25); if the video freezes onto
the point cloud, lower it; bigger preset amplitudes; a prompt that names the motion; bypass the shaping node to compare.
**Files** (Comfy-Org/Wan_2.2_ComfyUI_Repackaged and Wan_2.1_ComfyUI_repackaged; the frontend offers them):
* `models/diffusion_models/{WAN22_5B}`, `models/vae/{WAN22_VAE}` (the Wan 2.1 VAE does not fit the 5B model)
* `models/text_encoders/{WAN_TEXT}`
* Depth: `{DEPTH}` in `models/depthanything/` (downloads itself when online)."""


def _wan22_5b() -> Spec:
    size_len = {**_WAN22_SIZE, "length": _WAN22_LENGTH}
    nodes = [
        (1, "LoadImage", (40, 60), {"image": "pexels-steve-858076.jpg", "upload": "image"}),
        (2, "RealCamLoadDepthModel", (40, 420), {"model": DEPTH}),
        (3, "RealCamMetricDepth", (420, 60), {}),
        (4, "RealCamCameraPreset", (420, 420), {"preset": "orbit_left", "num_frames": 16}),
        (5, "RealCamTrajectoryEditor", (800, 60), {}, (560, 640)),
        (6, "RealCamSE3Interpolate", (1180, 420), {"method": "smooth", "frame_count": "Wan 121 frames"}),
        (7, "RealCamPointCloudRender", (1180, 700), _WAN22_SIZE),
        (10, "UNETLoader", (40, 700), {"unet_name": WAN22_5B, "weight_dtype": "default"}),
        (11, "CLIPLoader", (40, 900), {"clip_name": WAN_TEXT, "type": "wan"}),
        (12, "VAELoader", (40, 1100), {"vae_name": WAN22_VAE}),
        (13, "CLIPTextEncode", (420, 900), {"text": PROMPT}),
        (14, "CLIPTextEncode", (420, 1100), {"text": WAN_NEGATIVE}),
        (18, "Wan22ImageToVideoLatent", (1560, 60), size_len),
        (20, "RealCamWanNoiseShaping", (1560, 700), size_len),
        (21, "KSampler", (1940, 60), {"steps": 20, "cfg": 5.0, "sampler_name": "uni_pc", "scheduler": "simple"}),
        (22, "VAEDecode", (2320, 60), {}),
        (23, "CreateVideo", (2320, 260), {"fps": 24.0}),
        (24, "SaveVideo", (2600, 260), {"filename_prefix": "realcam/wan22_5b"}),
        note(30, (40, 1500), WAN22_5B_NOTE, size=(600, 440)),
    ]
    links = [
        (1, 0, 3, "image"), (2, 0, 3, "depth_model"), (11, 0, 13, "clip"), (11, 0, 14, "clip"),
        (3, 0, 5, "scene"), (4, 0, 5, "trajectory"), (5, 0, 6, "trajectory"), (3, 0, 7, "scene"),
        (6, 0, 7, "trajectory"), (12, 0, 18, "vae"), (1, 0, 18, "start_image"),
        (10, 0, 20, "model"), (12, 0, 20, "vae"), (7, 0, 20, "preview_frames"), (7, 2, 20, "shaping_mask"),
        (1, 0, 20, "start_image"),
        (20, 0, 21, "model"), (13, 0, 21, "positive"), (14, 0, 21, "negative"), (18, 0, 21, "latent_image"),
        (21, 0, 22, "samples"), (12, 0, 22, "vae"), (22, 0, 23, "images"), (23, 0, 24, "video"),
    ]
    models = [{"name": WAN22_5B, "url": f"{_WAN22}/diffusion_models/{WAN22_5B}", "directory": "diffusion_models"},
              *wan_models(WAN_TEXT), {"name": WAN22_VAE, "url": f"{_WAN22}/vae/{WAN22_VAE}", "directory": "vae"}]
    return {"nodes": nodes, "links": links, "models": models}


WORKFLOWS["wan22_5b_realcam"] = _wan22_5b()


# -- cameras out to Blender, lens animation (issue 14) ----------------------------------------------
BLENDER_NOTE = """### RealCam dolly zoom -> Blender (offline)
The bundled room, a **dolly zoom** (the camera moves in while the focal length widens, so the subject at the
scene's centre keeps its size), resampled with easing by SE3 Interpolate and rendered as a preview.
**RealCam Export glTF** writes the point cloud and the animated camera as `output/realcam/room_dolly_00001_.glb`:
in Blender *File -> Import -> glTF 2.0*, make `RealCamCamera` the active camera, frame range 0..15,
resolution 512x320 (README, "Use with Blender"). The pose file keeps the per-frame focal lengths too."""

WORKFLOWS["camera_to_blender_offline"] = {
    "nodes": [
        (1, "LoadImage", (40, 60), {"image": "room_rgb.png", "upload": "image"}),
        (2, "RealCamLoadDepthFile", (40, 420), {"file": "room_depth.png", "metres_per_unit": 0.001}),
        (3, "RealCamSceneFromDepth", (420, 60), {"depth_encoding": "metres"}),
        (4, "RealCamDollyZoom", (420, 420), {"num_frames": 2, "dolly": 1.0, "subject_distance": 0.0,
                                             "start_focal_mm": 35.0, "width": 512, "height": 320}),
        (5, "RealCamSE3Interpolate", (800, 420), {"num_frames": 16, "method": "linear_se3",
                                                  "easing": "ease_in_out"}),
        (6, "RealCamPointCloudRender", (1180, 60), {"width": 512, "height": 320}),
        (7, "CreateVideo", (1560, 60), {"fps": 8.0}),
        (8, "SaveVideo", (1840, 60), {"filename_prefix": "realcam/room_dolly"}),
        (9, "RealCamExportGLTF", (1180, 480), {"fps": 24.0, "filename_prefix": "realcam/room_dolly"}),
        (10, "RealCamSavePoseFile", (1560, 480), {"filename_prefix": "realcam/room_dolly"}),
        note(11, (40, 760), BLENDER_NOTE, (520, 260)),
    ],
    "links": [(1, 0, 3, "image"), (2, 0, 3, "depth"), (3, 0, 4, "scene"), (4, 0, 5, "trajectory"),
              (3, 0, 6, "scene"), (5, 0, 6, "trajectory"), (6, 0, 7, "images"), (7, 0, 8, "video"),
              (5, 0, 9, "trajectory"), (3, 0, 9, "scene"), (5, 0, 10, "trajectory")],
}


# -- camera accuracy (issue 15): render the room along a path, then check the render's camera ----------
ACCURACY_NOTE = """### RealCam camera accuracy (offline)
Did the camera do what was asked? The bundled room (exact metric depth) is rendered along a preset, and
**RealCam Camera Accuracy** estimates the render's cameras with structure from motion (COLMAP) and scores them
as RealCam-I2V does: RotErr (rad, summed over frames), TransErr and CamMC, relative and absolute (metres from
the scene's depth). On these exact renders the errors are the estimator's own floor (near zero).
* Put your **generated video** in `video` instead of the render (same trajectory, same scene) to score a model,
  a seed or a shaping setting. The paper averages 5 trials.
* **RealCam Track Camera** turns any video into a `REALCAM_TRAJECTORY` (metres when the scene of frame 0 is
  connected), e.g. to reuse a real camera move."""

WORKFLOWS["camera_accuracy"] = {
    "nodes": [
        (1, "LoadImage", (40, 60), {"image": "room_rgb.png", "upload": "image"}),
        (2, "RealCamLoadDepthFile", (40, 420), {"file": "room_depth.png", "metres_per_unit": 0.001}),
        (3, "RealCamSceneFromDepth", (420, 200), {"depth_encoding": "metres"}),
        (4, "RealCamCameraPreset", (420, 520), {"preset": "zoom_in", "num_frames": 16}),
        (5, "RealCamPointCloudRender", (800, 240), {"width": 512, "height": 320, "point_size": 3}),
        (6, "RealCamCameraAccuracy", (1180, 60), {"trials": 2}),
        (7, "PreviewImage", (1560, 60), {}),
        (8, "RealCamTrackCamera", (1180, 520), {}),
        (9, "PreviewImage", (1560, 520), {}),
        note(10, (40, 760), ACCURACY_NOTE, (520, 300)),
    ],
    "links": [(1, 0, 3, "image"), (2, 0, 3, "depth"), (3, 0, 5, "scene"), (4, 0, 5, "trajectory"),
              (5, 0, 6, "video"), (4, 0, 6, "trajectory"), (3, 0, 6, "scene"), (6, 1, 7, "images"),
              (5, 0, 8, "video"), (3, 0, 8, "scene"), (8, 1, 9, "images")],
}


def layout(spec: Spec, info: dict) -> dict:
    nodes_out, links_out = [], []
    by_id = {}
    for entry in spec["nodes"]:
        nid, ntype, pos, widgets = entry[:4]
        size = list(entry[4]) if len(entry) > 4 else [320, 200]
        node = {"id": nid, "type": ntype, "pos": list(pos), "size": size, "flags": {}, "order": 0, "mode": 0,
                "inputs": [], "outputs": [], "properties": {"Node name for S&R": ntype}}
        if ntype in VIRTUAL_NODES:
            node["widgets_values"] = [widgets["text"]]
            node["properties"] = {}
        else:
            d = info[ntype]
            values = []
            for name, opts in widget_inputs(d):
                if name in widgets:
                    v = widgets[name]
                elif "default" in opts:
                    v = opts["default"]
                else:
                    spec_in = d["input"].get("required", {}).get(name) or d["input"]["optional"][name]
                    v = spec_in[0][0] if isinstance(spec_in[0], list) else (opts.get("options") or [None])[0]
                values.append(v)
                if opts.get("control_after_generate"):
                    values.append("fixed")
            unknown = set(widgets) - {n for n, _ in widget_inputs(d)} - {"upload"}
            if unknown:
                raise KeyError(f"{ntype}: no widget named {sorted(unknown)}")
            if ntype == "LoadImage":
                values = [widgets["image"], "image"]
            node["widgets_values"] = values
            models = model_entries(values)
            if models:
                node["properties"]["models"] = models
            for i, (otype, oname) in enumerate(zip(d["output"], d["output_name"], strict=True)):
                node["outputs"].append({"name": oname, "type": otype, "links": [], "slot_index": i})
        nodes_out.append(node)
        by_id[nid] = node
    for lid, (src, slot, dst, name) in enumerate(spec["links"], start=1):
        s, t = by_id[src], by_id[dst]
        otype = s["outputs"][slot]["type"]
        s["outputs"][slot]["links"].append(lid)
        d = info[t["type"]]
        all_inputs = {**d["input"].get("required", {}), **d["input"].get("optional", {})}
        if name not in all_inputs:
            raise KeyError(f"{t['type']} has no input {name!r}")
        accepted = all_inputs[name][0]
        if isinstance(accepted, str) and accepted != "*" and otype not in accepted.split(","):
            raise TypeError(f"link {src}->{dst}.{name}: {otype} does not fit {accepted}")
        t["inputs"].append({"name": name, "type": otype, "link": lid})
        links_out.append([lid, src, slot, dst, len(t["inputs"]) - 1, otype])
    auto_layout(nodes_out, links_out, info)
    extra = {}
    if spec.get("models"):  # the frontend's missing-model dialog offers these downloads
        extra["models"] = spec["models"]
        for node in nodes_out:
            named = [m for m in spec["models"] if m["name"] in (node.get("widgets_values") or [])]
            if named:
                node["properties"]["models"] = named
    return {**extra,
        "last_node_id": max(by_id), "last_link_id": len(links_out), "nodes": nodes_out, "links": links_out,
        "groups": [], "config": {}, "extra": {"ds": {"scale": 0.8, "offset": [0, 0]}}, "version": 0.4,
    }


# rough node heights in the classic canvas, so columns never overlap
_ROW, _TITLE, _GAP_X, _GAP_Y = 24, 34, 70, 40
_TALL = {"LoadImage": 330, "PreviewImage": 280, "MaskPreview": 280, "SaveVideo": 330, "PreviewAny": 160,
         "RealCamPointCloudRender": 260, "RealCamLoadDepthFile": 200}


def node_size(node: dict, info: dict) -> list[int]:
    if node["type"] in VIRTUAL_NODES or node["type"] == "RealCamTrajectoryEditor":
        return list(node["size"])
    d = info[node["type"]]
    widgets = widget_inputs(d)
    sockets = max(len(node["outputs"]), sum(1 for i in node["inputs"]))
    height = _TITLE + _ROW * (sockets + len(widgets) + sum(bool(o.get("control_after_generate")) for _, o in widgets))
    height += sum(110 for _, o in widgets if o.get("multiline"))
    if d.get("output_node") or node["type"] in _TALL:
        height += _TALL.get(node["type"], 200)
    return [max(node["size"][0], 320), max(height, 80)]


def auto_layout(nodes: list[dict], links: list[list], info: dict) -> None:
    """Columns by longest path from the sources, stacked top-down in the author's order; notes go last in column 0.

    Also sets each node's execution `order` (topological), which the frontend would otherwise recompute.
    """
    preds: dict[int, list[int]] = {n["id"]: [] for n in nodes}
    for _lid, src, _slot, dst, _i, _t in links:
        preds[dst].append(src)
    depth: dict[int, int] = {}

    def col(nid: int) -> int:
        if nid not in depth:
            depth[nid] = 1 + max((col(p) for p in preds[nid]), default=-1)
        return depth[nid]

    for n in nodes:
        n["size"] = node_size(n, info)
        n["_col"] = 0 if n["type"] in VIRTUAL_NODES else col(n["id"])
    columns: dict[int, list[dict]] = {}
    for n in sorted(nodes, key=lambda n: (n["type"] in VIRTUAL_NODES, n["pos"][1], n["pos"][0])):
        columns.setdefault(n["_col"], []).append(n)
    x = 40
    for c in sorted(columns):
        y = 40
        for n in columns[c]:
            n["pos"] = [x, y]
            y += n["size"][1] + _GAP_Y
        x += max(n["size"][0] for n in columns[c]) + _GAP_X
    for i, n in enumerate(sorted(nodes, key=lambda n: (n["_col"], n["pos"][1]))):
        n["order"] = i
    for n in nodes:
        del n["_col"]


# -- the frontend's missing-model dialog (issue 13): node properties.models = [{name, url, directory}] ---------
def model_entries(widget_values: list) -> list[dict]:
    """The official downloads among a node's widget values, in the form the frontend's missing-model dialog reads
    (it lists the entries whose `name` is one of the node's widget values and is not in `directory`)."""
    sys.path.insert(0, str(REPO))
    from realcam_core.depth.model import KNOWN_DEPTH_MODELS
    from realcam_core.model.sources import KNOWN_CHECKPOINTS

    out = []
    for v in widget_values:
        if not isinstance(v, str):
            continue
        if v in KNOWN_CHECKPOINTS:
            repo, filename = KNOWN_CHECKPOINTS[v]
            out.append({"name": v, "url": f"https://huggingface.co/{repo}/resolve/main/{filename}",
                        "directory": "realcam"})
        elif v in KNOWN_DEPTH_MODELS and KNOWN_DEPTH_MODELS[v].filename:
            known = KNOWN_DEPTH_MODELS[v]
            out.append({"name": v, "url": f"https://huggingface.co/{known.repo_id}/resolve/main/{known.filename}",
                        "directory": "depthanything"})
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        srv = ComfyServer(Path(tmp))
        try:
            info = srv.object_info()
        finally:
            srv.stop()
    out = REPO / "workflows"
    out.mkdir(exist_ok=True)
    for name, spec in WORKFLOWS.items():
        (out / f"{name}.json").write_text(json.dumps(layout(spec, info), indent=1) + "\n")
        print(f"wrote workflows/{name}.json")


if __name__ == "__main__":
    main()
