"""The Wan example workflows (wan_camera_realcam, wan_camera_loop) end to end on a real ComfyUI server.

Tiny random-weight files in the formats core loads (tests/tiny_wan.py): Wan 2.2 Fun Camera and Wan 2.2 I2V
layouts (no CLIP vision input: those models take none, so the templates' CLIP vision nodes are dropped), the
Wan 2.1 VAE, a tiny metric depth model. The text encoder is replaced by a test node that returns a fixed
random conditioning (the text path is not under test; core builds a full-size UMT5-XXL from any UMT5 file).
Only file names, sizes, frame counts and steps change otherwise; the graphs go through POST /prompt.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "scripts"))
import install_examples  # noqa: E402
from comfy_host import ComfyServer, host_python  # noqa: E402
from workflow_api import find_node, ui_to_api  # noqa: E402

from realcam_core.testing import tiny_depth  # noqa: E402

W, H, LENGTH, STEPS = 64, 48, 9, 4
TINY_DEPTH = "tiny_depth_anything_v2_metric_hypersim_vits.safetensors"
TINY_CAMERA = "tiny_wan2.2_fun_camera.safetensors"
TINY_I2V = "tiny_wan2.2_i2v.safetensors"
TINY_VAE = "tiny_wan_2.1_vae.safetensors"

TEXT_NODE = textwrap.dedent('''
    import torch

    class RealCamTestTextConditioning:
        """Test stand-in for CLIPLoader + CLIPTextEncode: a fixed random UMT5-shaped conditioning."""
        CATEGORY = "testing"
        RETURN_TYPES = ("CONDITIONING",)
        FUNCTION = "run"

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"text": ("STRING", {"multiline": True})}}

        def run(self, text):
            g = torch.Generator().manual_seed(len(text))
            return ([[torch.randn(1, 8, 4096, generator=g), {}]],)

    NODE_CLASS_MAPPINGS = {"RealCamTestTextConditioning": RealCamTestTextConditioning}
''')

WRITE_MODELS = textwrap.dedent('''
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from inprocess_comfy import boot_comfy
    boot_comfy()
    import tiny_wan
    models = Path({models!r})
    tiny_wan.write_tiny_dit(models / "diffusion_models" / {camera!r}, "fun_camera_2.2")
    tiny_wan.write_tiny_dit(models / "diffusion_models" / {i2v!r}, "i2v_2.2", seed=1)
    tiny_wan.write_tiny_vae(models / "vae" / {vae!r})
''')


@pytest.fixture(scope="module")
def wan_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("wan_base")
    (base / "custom_nodes").mkdir(parents=True)
    (base / "custom_nodes" / "realcam_test_text.py").write_text(TEXT_NODE)
    install_examples.install(base / "input")
    tiny_depth.write_tiny_original(base / "models" / "depthanything" / TINY_DEPTH, seed=0)
    script = WRITE_MODELS.format(tests=str(REPO / "tests"), models=str(base / "models"), camera=TINY_CAMERA,
                                 i2v=TINY_I2V, vae=TINY_VAE)
    subprocess.run([host_python(), "-c", script], check=True, timeout=300, capture_output=True)
    srv = ComfyServer(base)
    yield srv
    srv.stop()


def tiny_prompt(server, name: str, dit: str, vae: str = TINY_VAE, size: tuple[int, int, int] = (W, H, LENGTH)) -> dict:
    """The shipped template as an API prompt, at tiny size ((width, height, length)) with tiny files and the
    text stand-in (CLIP vision nodes dropped: the tiny models take none)."""
    wf = json.loads((REPO / "workflows" / f"{name}.json").read_text())
    prompt = ui_to_api(wf, server.object_info())
    for nid in [k for k, v in prompt.items() if v["class_type"] in ("CLIPLoader", "CLIPVisionLoader",
                                                                      "CLIPVisionEncode")]:
        del prompt[nid]
    for node in prompt.values():
        inputs = node["inputs"]
        for k in [k for k in inputs if k.startswith("clip_vision")]:
            del inputs[k]
        if node["class_type"] == "CLIPTextEncode":
            node["class_type"] = "RealCamTestTextConditioning"
            del inputs["clip"]
        for k, v in zip(("width", "height", "length"), size, strict=True):
            if k in inputs and not isinstance(inputs[k], list):
                inputs[k] = v
    prompt[find_node(prompt, "RealCamLoadDepthModel")]["inputs"]["model"] = TINY_DEPTH
    prompt[find_node(prompt, "UNETLoader")]["inputs"]["unet_name"] = dit
    prompt[find_node(prompt, "VAELoader")]["inputs"]["vae_name"] = vae
    prompt[find_node(prompt, "RealCamSE3Interpolate")]["inputs"].update(frame_count="custom", num_frames=size[2])
    prompt[find_node(prompt, "KSampler")]["inputs"]["steps"] = STEPS
    return prompt


def test_shipped_templates_name_official_files_and_explain_them():
    for name, dit in (("wan_camera_realcam", "wan2.1_fun_camera"), ("wan_camera_loop", "wan2.1_flf2v")):
        wf = json.loads((REPO / "workflows" / f"{name}.json").read_text())
        names = {m["name"] for m in wf["models"]}
        assert any(n.startswith(dit) for n in names) and "wan_2.1_vae.safetensors" in names
        assert all(m["url"].startswith("https://huggingface.co/Comfy-Org/") and m["url"].endswith(m["name"])
                   for m in wf["models"])
        notes = [n for n in wf["nodes"] if n["type"] == "MarkdownNote"]
        assert notes and all(n in notes[0]["widgets_values"][0] for n in names)
        shaping = [n for n in wf["nodes"] if n["type"] == "RealCamWanNoiseShaping"][0]
        assert shaping["widgets_values"][:3] == [832, 480, 81]


def test_wan_camera_workflow_runs_end_to_end(wan_server):
    prompt = tiny_prompt(wan_server, "wan_camera_realcam", TINY_CAMERA)
    outputs = wan_server.run_ok(prompt, timeout=600)
    assert wan_server.saved_video(outputs, find_node(prompt, "SaveVideo")) == (LENGTH, W, H)
    log = wan_server.log()
    # shift-8 flow schedule, 4 steps: sigma 1 -> 0.96: only step 0 is in the first 10 %
    assert f"RealCam noise shaping (xt_paste): steps [0] of {STEPS}" in log
    info = outputs[find_node(prompt, "RealCamWanCameraEmbedding")]["text"][0]
    assert "median depth" in info and "true intrinsics" in info


def test_wan_loop_workflow_runs_end_to_end(wan_server):
    prompt = tiny_prompt(wan_server, "wan_camera_loop", TINY_I2V)
    assert prompt[find_node(prompt, "WanFirstLastFrameToVideo")]["inputs"]["end_image"] == \
        prompt[find_node(prompt, "WanFirstLastFrameToVideo")]["inputs"]["start_image"]
    outputs = wan_server.run_ok(prompt, timeout=600)
    assert wan_server.saved_video(outputs, find_node(prompt, "SaveVideo")) == (LENGTH, W, H)


def test_dynamicrafter_length_trajectory_is_refused_by_name(wan_server):
    prompt = tiny_prompt(wan_server, "wan_camera_realcam", TINY_CAMERA)
    prompt[find_node(prompt, "RealCamSE3Interpolate")]["inputs"]["frame_count"] = "DynamiCrafter 16 frames"
    err = wan_server.run_error(prompt)
    assert "trajectory: expected 9 poses (length), got 16" in err, err


def test_wan_interpolation_two_images_runs(wan_server):
    """Camera-guided interpolation: the loop graph with a second photo as end_image and an open path."""
    prompt = tiny_prompt(wan_server, "wan_camera_loop", TINY_I2V)
    prompt["90"] = {"class_type": "LoadImage", "inputs": {"image": "pexels-eberhardgross-534164.jpg"}}
    prompt[find_node(prompt, "WanFirstLastFrameToVideo")]["inputs"]["end_image"] = ["90", 0]
    prompt[find_node(prompt, "RealCamSE3Interpolate")]["inputs"]["closed"] = False
    outputs = wan_server.run_ok(prompt, timeout=600)
    assert wan_server.saved_video(outputs, find_node(prompt, "SaveVideo")) == (LENGTH, W, H)
