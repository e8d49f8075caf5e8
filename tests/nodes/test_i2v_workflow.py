"""The `realcam_i2v` example workflow end to end through a real ComfyUI server (POST /prompt, /history).

Tiny random-weight checkpoints in the real formats are written at test time: a DynamiCrafter-style base
`.ckpt` that also holds a tiny VAE, OpenCLIP text tower and ViT image tower in the real key layout
(so the loader's CLIP / CLIP_VISION / VAE outputs are the ones the workflow uses), the camera-only
`.safetensors`, and a tiny metric depth model. Only file names and sizes are changed in the shipped graph.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import av
import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from workflow_api import find_node, ui_to_api, with_inputs  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import install_examples  # noqa: E402

from realcam_core.shaping import latent_mask  # noqa: E402
from realcam_core.testing import tiny_depth, tiny_realcam  # noqa: E402

FRAMES, H, W = 4, 64, 128
BASE = "512_dynamicrafter_tiny_i2v.ckpt"
CAMERA = "512_realcam-i2v_tiny_i2v.safetensors"
CAMERA_ZERO_OUT = "512_realcam-i2v_tiny_zero_out.safetensors"
DEPTH = "tiny_depth_anything_v2_metric_hypersim_vits_i2v.safetensors"


@pytest.fixture(scope="module")
def prepared(server):
    """Example image in input/, tiny depth model, tiny RealCam base (with VAE/CLIP parts) + camera files."""
    install_examples.install(server.base / "input")
    depth_dir = server.base / "models" / "depthanything"
    depth_dir.mkdir(parents=True, exist_ok=True)
    tiny_depth.write_tiny_original(depth_dir / DEPTH, seed=0)
    folder = server.base / "models" / "realcam"
    spec = tiny_realcam.TinySpec(variant="512", frames=FRAMES, image_size=(H, W))
    _, cam_path = tiny_realcam.write_tiny_realcam(folder, spec, base_name=BASE, camera_name=CAMERA, parts=True)
    # The same camera file plus a zeroed UNet output layer (the camera file wins over the base): the model then
    # predicts 0 everywhere, every sampler step is elementwise in the latent, and any difference between
    # shaping on and off can only come from the shaping paste itself.
    cam = load_file(cam_path)
    unet_out = {k: torch.zeros_like(v) for k, v in tiny_realcam.tiny_state_dict(spec).items()
                if k.startswith("model.diffusion_model.out.2.")}
    assert len(unet_out) == 2
    tiny_realcam.save({**cam, **unet_out}, folder / CAMERA_ZERO_OUT)
    return server


def tiny_prompt(server, camera: str = CAMERA) -> dict:
    wf = json.loads((REPO / "workflows" / "realcam_i2v.json").read_text())
    prompt = ui_to_api(wf, server.object_info())
    size = {"width": W, "height": H}
    return with_inputs(prompt, {
        find_node(prompt, "RealCamCheckpointLoader"): {"base_checkpoint": BASE, "camera_checkpoint": camera},
        find_node(prompt, "RealCamLoadDepthModel"): {"model": DEPTH},
        find_node(prompt, "RealCamCameraPreset"): {"num_frames": FRAMES, "preset": "pan_right", "amplitude": 2.0},
        find_node(prompt, "RealCamPointCloudRender"): size,
        find_node(prompt, "RealCamImageToVideo"): {**size, "length": FRAMES},
        find_node(prompt, "RealCamSampler"): {"steps": 4, "seed": 7},
    })


def saved_file(server, outputs: dict, node_id: str, kind: str) -> Path:
    f = outputs[node_id][kind][0]
    return server.base / "output" / f["subfolder"] / f["filename"]


def test_workflow_as_shipped_lays_out_the_pipeline():
    wf = json.loads((REPO / "workflows" / "realcam_i2v.json").read_text())
    types = [n["type"] for n in wf["nodes"]]
    for t in ("LoadImage", "RealCamLoadDepthModel", "RealCamMetricDepth", "RealCamCameraPreset",
              "RealCamPointCloudRender", "RealCamCheckpointLoader", "RealCamImageToVideo", "RealCamSampler",
              "VAEDecode", "CreateVideo", "SaveVideo", "MarkdownNote"):
        assert t in types, t
    assert types.count("CLIPTextEncode") == 2
    sampler = next(n for n in wf["nodes"] if n["type"] == "RealCamSampler")
    assert {i["name"] for i in sampler["inputs"]} >= {"preview_frames", "shaping_mask", "vae", "model"}
    text = next(n for n in wf["nodes"] if n["type"] == "MarkdownNote")["widgets_values"][0]
    for words in ("models/realcam/", "models/checkpoints/", "models/depthanything/", "model.ckpt",
                  "512_realcam-i2v_50k.safetensors", "256_realcam-i2v_50k.safetensors"):
        assert words in text, words


def test_i2v_workflow_makes_a_video(prepared):
    prompt = tiny_prompt(prepared)
    outputs = prepared.run_ok(prompt)
    assert prepared.saved_video(outputs, find_node(prompt, "SaveVideo")) == (FRAMES, W, H)


def test_noise_shaping_changes_the_video_only_inside_the_shaping_mask(prepared):
    """Shaping on vs off (window 1000 -> 900: the first of 4 steps) with an elementwise (zero-output) model:
    the final latents differ exactly where the latent shaping mask is set, and nowhere else."""
    base = tiny_prompt(prepared, camera=CAMERA_ZERO_OUT)
    sampler, render = find_node(base, "RealCamSampler"), find_node(base, "RealCamPointCloudRender")
    extra = {
        "900": {"class_type": "SaveLatent", "inputs": {"samples": [sampler, 0], "filename_prefix": "i2v_test/on"}},
        "901": {"class_type": "MaskToImage", "inputs": {"mask": [render, 2]}},
        "902": {"class_type": "SaveImage", "inputs": {"images": ["901", 0], "filename_prefix": "i2v_test/mask"}},
    }
    on = {**base, **extra}
    off = with_inputs(on, {sampler: {"noise_shaping": False}, "900": {"filename_prefix": "i2v_test/off"}})
    out_on, out_off = prepared.run_ok(on), prepared.run_ok(off)
    z_on = load_file(str(saved_file(prepared, out_on, "900", "latents")))["latent_tensor"]
    z_off = load_file(str(saved_file(prepared, out_off, "900", "latents")))["latent_tensor"]
    assert z_on.shape == (FRAMES, 4, H // 8, W // 8) and torch.isfinite(z_on).all()

    masks = []  # one PNG per frame
    for f in out_on["902"]["images"]:
        with av.open(str(prepared.base / "output" / f["subfolder"] / f["filename"])) as c:
            masks.append(torch.from_numpy(next(c.decode(video=0)).to_ndarray(format="gray")).float() / 255)
    mask = torch.stack(masks)
    assert mask.shape == (FRAMES, H, W)
    expected = latent_mask(mask, FRAMES, (H // 8, W // 8)).bool()  # (T, h, w), as the sampler computes it
    assert 0.05 < expected.float().mean() < 0.95, "the test needs a partly visible scene"
    changed = (z_on != z_off).any(dim=1)  # (T, h, w)
    assert torch.equal(changed, expected)
