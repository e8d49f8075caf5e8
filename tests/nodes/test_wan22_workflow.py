"""The Wan 2.2 TI2V-5B template (workflows/wan22_5b_realcam.json) end to end on a real ComfyUI server.

Core's loaders get a tiny random-weight TI2V-5B file and the whole Wan 2.2 VAE at core's fixed size
(tests/tiny_wan22.py: core 0.3.75 hard-codes that VAE's width, and the template decodes, so the decoder is there
too); the text encoder is the fixed random conditioning of test_wan_workflows. Only file names, the size (64 x 64,
multiples of 32 as Wan22ImageToVideoLatent asks), frame counts and steps change; the graph goes through POST /prompt.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import install_examples  # noqa: E402
from comfy_host import ComfyServer, host_python  # noqa: E402
from test_wan_workflows import TEXT_NODE, TINY_DEPTH  # noqa: E402
from test_wan_workflows import tiny_prompt as wan_prompt  # noqa: E402
from workflow_api import find_node  # noqa: E402

from realcam_core.testing import tiny_depth  # noqa: E402

NAME = "wan22_5b_realcam"
W, H, LENGTH, STEPS = 64, 64, 9, 4
TINY_5B = "tiny_wan2.2_ti2v_5B.safetensors"
VAE22 = "random_wan2.2_vae.safetensors"
OFFICIAL = {
    "wan2.2_ti2v_5B_fp16.safetensors": "Comfy-Org/Wan_2.2_ComfyUI_Repackaged/resolve/main/split_files/"
                                       "diffusion_models/wan2.2_ti2v_5B_fp16.safetensors",
    "wan2.2_vae.safetensors": "Comfy-Org/Wan_2.2_ComfyUI_Repackaged/resolve/main/split_files/vae/"
                              "wan2.2_vae.safetensors",
    "umt5_xxl_fp8_e4m3fn_scaled.safetensors": "Comfy-Org/Wan_2.1_ComfyUI_repackaged/resolve/main/split_files/"
                                              "text_encoders/umt5_xxl_fp8_e4m3fn_scaled.safetensors",
}

WRITE_MODELS = textwrap.dedent('''
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from inprocess_comfy import boot_comfy
    boot_comfy()
    import tiny_wan22
    models = Path({models!r})
    tiny_wan22.write_tiny_ti2v(models / "diffusion_models" / {dit!r})
    tiny_wan22.write_vae22_full(models / "vae" / {vae!r})
''')


def template() -> dict:
    return json.loads((REPO / "workflows" / f"{NAME}.json").read_text())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("wan22_base")
    (base / "custom_nodes").mkdir(parents=True)
    (base / "custom_nodes" / "realcam_test_text.py").write_text(TEXT_NODE)
    install_examples.install(base / "input")
    tiny_depth.write_tiny_original(base / "models" / "depthanything" / TINY_DEPTH, seed=0)
    script = WRITE_MODELS.format(tests=str(REPO / "tests"), models=str(base / "models"), dit=TINY_5B, vae=VAE22)
    subprocess.run([host_python(), "-c", script], check=True, timeout=300, capture_output=True)
    srv = ComfyServer(base)
    yield srv
    srv.stop()
    (base / "models" / "vae" / VAE22).unlink()  # 1.4 GB


def tiny_prompt(server) -> dict:
    return wan_prompt(server, NAME, TINY_5B, VAE22, (W, H, LENGTH))


def video_frames(server, outputs: dict, node_id: str) -> np.ndarray:
    import av

    f = outputs[node_id]["images"][0]
    with av.open(str(server.base / "output" / f["subfolder"] / f["filename"])) as container:
        return np.stack([fr.to_ndarray(format="rgb24") for fr in container.decode(container.streams.video[0])])


def test_template_wires_core_5b_nodes_and_names_official_files():
    wf = template()
    by_type = {n["type"]: n for n in wf["nodes"]}
    assert {m["name"]: m["url"].removeprefix("https://huggingface.co/") for m in wf["models"]} == OFFICIAL
    assert {m["name"]: m["directory"] for m in wf["models"]} == {
        "wan2.2_ti2v_5B_fp16.safetensors": "diffusion_models", "wan2.2_vae.safetensors": "vae",
        "umt5_xxl_fp8_e4m3fn_scaled.safetensors": "text_encoders"}
    note = by_type["MarkdownNote"]["widgets_values"][0]
    assert all(name in note for name in OFFICIAL) and "no camera input" in note
    # core's 5B size (multiples of 32) and 121 frames on every node that takes them; 24 fps as core's template
    assert by_type["Wan22ImageToVideoLatent"]["widgets_values"] == [1280, 704, 121, 1]
    assert by_type["RealCamWanNoiseShaping"]["widgets_values"][:3] == [1280, 704, 121]
    assert by_type["RealCamPointCloudRender"]["widgets_values"][:2] == [1280, 704]
    assert "Wan 121 frames" in by_type["RealCamSE3Interpolate"]["widgets_values"]
    assert by_type["CreateVideo"]["widgets_values"][0] == 24.0
    assert by_type["UNETLoader"]["widgets_values"][0] == "wan2.2_ti2v_5B_fp16.safetensors"
    assert by_type["CLIPLoader"]["widgets_values"][:2] == ["umt5_xxl_fp8_e4m3fn_scaled.safetensors", "wan"]
    assert "WanCameraImageToVideo" not in by_type and "CLIPVisionLoader" not in by_type


def test_template_runs_end_to_end_and_shaping_changes_the_video(server):
    prompt = tiny_prompt(server)
    ksampler = prompt[find_node(prompt, "KSampler")]["inputs"]
    shaping = find_node(prompt, "RealCamWanNoiseShaping")
    latent = find_node(prompt, "Wan22ImageToVideoLatent")
    assert ksampler["model"] == [shaping, 0] and ksampler["latent_image"] == [latent, 0]
    assert prompt[latent]["inputs"]["start_image"] == prompt[shaping]["inputs"]["start_image"]
    save = find_node(prompt, "SaveVideo")
    outputs = server.run_ok(prompt, timeout=600)
    assert server.saved_video(outputs, save) == (LENGTH, W, H)
    # shift-8 flow schedule, 4 steps: sigma 1 -> 0.96: only step 0 is in the first 10 %
    log = server.log()
    assert f"RealCam noise shaping (xt_paste): steps [0] of {STEPS}" in log
    # the template's uni_pc (core's 5B template) cannot take one step alone: euler takes the shaped step
    assert "RealCam noise shaping: sample_unipc cannot stop after steps 0..0; euler takes them" in log
    shaped = video_frames(server, outputs, save)

    ksampler["model"] = prompt[shaping]["inputs"]["model"]  # shaping bypassed: the plain 5B model
    plain = video_frames(server, server.run_ok(prompt, timeout=600), save)
    assert shaped.shape == plain.shape == (LENGTH, H, W, 3)
    diff = np.abs(shaped.astype(float) - plain.astype(float)).mean(axis=(1, 2, 3))
    # shaping moved every generated frame; frame 0 is core's start latent in both runs (its noise mask keeps it,
    # the VAE is causal in time), so it differs only by the video codec's rate control (2.7 vs 15..25 measured)
    assert diff[1:].min() > 5.0, diff
    assert diff[0] < 0.5 * diff[1:].min(), diff
