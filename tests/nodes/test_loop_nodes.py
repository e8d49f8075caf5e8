"""Loop / interpolation / transition / continuation nodes in a real (in-process) ComfyUI, tiny checkpoints.

A child process (this file with `--host OUT`) boots ComfyUI on the CPU, loads a tiny random-weight
RealCam-I2V 512 model (DynamiCrafter-style base + camera file) with RealCam Checkpoint Loader, builds
conditioning with RealCam Image To Video, edits it with RealCam Loop / Interp Conditioning and samples
with RealCam Sampler (core sampling). VAE and CLIP vision are small deterministic stand-ins with the
core interfaces (the core loaders only build full-size encoders). The pytest side checks the records.

The four example workflows (camera_loop, camera_interpolation, scene_transition, long_video_continuation)
then run as shipped through a real server's POST /prompt with tiny checkpoints whose base also carries a
tiny VAE / text / image encoder (only file names, sizes, frame counts and steps changed), to saved videos.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE.parent))

FRAMES, SIZE = 4, 64
LATENT_TOL = 1e-5  # float32 round-off of process_latent_in/out (x 0.18215 and back)


def host(out_path: str) -> None:
    from inprocess_comfy import boot_with_model_folder, error_of, import_pack_module
    from stand_ins import FakeClipVision, FakeVAE

    tmp = boot_with_model_folder()

    tiny = import_pack_module("realcam_core.testing.tiny_realcam")
    presets = import_pack_module("realcam_core.trajectory.presets")
    clips = import_pack_module("realcam_core.trajectory.clips")
    mn = import_pack_module("nodes.model_nodes")
    iv = import_pack_module("nodes.i2v_nodes")
    rm = import_pack_module("realcam_comfy.conditioning")
    sm = import_pack_module("nodes.sampler_nodes")
    ln = import_pack_module("nodes.loop_nodes")
    clip_nodes = import_pack_module("nodes.clip_nodes")

    tiny.write_tiny_realcam(tmp / "realcam", tiny.TinySpec(variant="512", frames=FRAMES, image_size=(SIZE, SIZE)))
    model = mn.RealCamCheckpointLoader.execute("512_dynamicrafter_tiny.ckpt", "512_realcam-i2v_tiny.safetensors",
                                               "default").result[0]
    vae, cv = FakeVAE(), FakeClipVision()
    g = torch.Generator().manual_seed(0)
    start = torch.rand(1, SIZE, SIZE, 3, generator=g)
    end = torch.rand(1, SIZE, SIZE, 3, generator=g)
    text = torch.randn(1, 77, 32, generator=g)
    pos0, neg0 = [[text, {}]], [[text * 0.1, {}]]
    closed = clips.close_trajectory(presets.make_preset("orbit_left", 3, amplitude=20.0), num_frames=FRAMES)
    open_ = presets.make_preset("zoom_in", FRAMES, amplitude=0.5)
    preview = torch.rand(FRAMES, SIZE, SIZE, 3, generator=g)
    mask = torch.zeros(FRAMES, SIZE, SIZE)
    mask[:, :, : SIZE // 2] = 1.0
    res: dict = {}

    def i2v(traj, image=start):
        return iv.RealCamImageToVideo.execute(pos0, neg0, vae, cv, image, traj, SIZE, SIZE, FRAMES, 2, 1).result

    def cond(mode, pos, neg, latent, **kw):
        args = dict(end_conditioning="shaping_only", size_mismatch="error", overlap=1, cond_frame_index=-1,
                    preview_handoff=-1.0, vae=vae)
        args.update(kw)
        return ln.RealCamLoopInterpConditioning.execute(pos, neg, latent, mode, **args).result

    def sample(pos, neg, latent, seed=3, **kw):
        args = dict(seed=seed, steps=4, cfg=3.0, sampler_name="realcam_ddim", scheduler="realcam_trailing", eta=1.0,
                    guidance_rescale=0.7, noise_shaping=False)
        args.update(kw)
        return sm.RealCamSampler.execute(model, pos, neg, latent, **args).result[0]

    # -- loop: shaping pulls the last frame onto the start latent ----------------------------------
    pos, neg, latent = i2v(closed)
    lp, ln_, llat, lframes, lmask, report = cond("loop", pos, neg, latent, start_image=start, preview_frames=preview,
                                                 shaping_mask=mask)
    res["loop_report"] = report
    res["loop_mask_last"] = lmask[-1]
    res["start_latent"] = vae.encode(start)[0]
    x0_window = dict(noise_shaping=True, vae=vae, shaping_mode="x0_paste", window_start=1000.0, window_end=0.0,
                     sampler_name="euler", scheduler="simple")  # the window reaches sigma 0: its end is the output
    res["loop_shaped"] = sample(lp, ln_, llat, preview_frames=lframes, shaping_mask=lmask, **x0_window)["samples"]
    res["loop_unedited"] = sample(pos, neg, latent, preview_frames=preview, shaping_mask=mask, **x0_window)["samples"]
    res["loop_xt"] = sample(lp, ln_, llat, noise_shaping=True, vae=vae, preview_frames=lframes,
                            shaping_mask=lmask)["samples"]
    opos, oneg, olat = i2v(open_)
    res["open_report"] = cond("loop", opos, oneg, olat, start_image=start)[5]

    # -- interpolate / transition ---------------------------------------------------------------
    pos, neg, latent = i2v(open_)
    ip, ineg, ilat, iframes, imask, ireport = cond("interpolate", pos, neg, latent, end_image=end, start_image=start,
                                                   end_conditioning="concat_and_shaping", preview_frames=preview,
                                                   shaping_mask=mask)
    res["interp_concat"] = ip[0][1][rm.KEY_CONCAT]
    res["interp_concat_neg"] = ineg[0][1][rm.KEY_CONCAT]
    res["end_latent"], res["end_image"] = vae.encode(end)[0], end[0]
    res["interp_frames_last"], res["interp_mask"] = iframes[-1], imask
    res["interp_sample"] = sample(ip, ineg, ilat)["samples"]
    res["err/interp_shaping_with_concat"] = error_of(
        lambda: sample(ip, ineg, ilat, noise_shaping=True, vae=vae, preview_frames=iframes, shaping_mask=imask))
    res["err/size"] = error_of(lambda: cond("interpolate", pos, neg, latent, start_image=start,
                                            end_image=torch.rand(1, 48, 80, 3)))
    res["size_crop"] = cond("interpolate", pos, neg, latent, start_image=start, end_image=torch.rand(1, 48, 80, 3),
                            size_mismatch="crop")[5]
    res["err/no_end"] = error_of(lambda: cond("interpolate", pos, neg, latent))
    tp, tneg, tlat, tframes, tmask, _ = cond("transition", pos, neg, latent, end_image=end, start_image=start,
                                             preview_frames=preview, shaping_mask=mask)
    res["transition_mask"] = tmask
    res["transition_sample"] = sample(tp, tneg, tlat, noise_shaping=True, vae=vae, preview_frames=tframes,
                                      shaping_mask=tmask)["samples"]

    # -- continuation ---------------------------------------------------------------------------
    long = presets.make_preset("pan_right", 2 * FRAMES - 2, amplitude=0.4)
    overlap = 2
    t1 = clips.clip_trajectory(long, 0, FRAMES, overlap)
    t2 = clips.clip_trajectory(long, 1, FRAMES, overlap)
    p1, n1, lat1 = i2v(t1)
    clip1 = sample(p1, n1, lat1, seed=5)
    last = vae.decode(clip1["samples"][-1:])
    p2, n2, lat2 = i2v(t2, image=last)  # the previous clip's last frame is the image
    cp, cn, clat, _, _, creport = cond("continue", p2, n2, lat2, previous_latent=clip1, overlap=overlap)
    res["cont_report"] = creport
    res["cont_cam"] = cp[0][1][rm.KEY_CAMERA].c2w_rel[0]
    res["cont_cam_before"] = p2[0][1][rm.KEY_CAMERA].c2w_rel[0]
    res["cont_concat"] = cp[0][1][rm.KEY_CONCAT]
    res["cont_noise_mask"] = clat["noise_mask"]
    clip2 = sample(cp, cn, clat, seed=6)
    pasted = clip_nodes.RealCamPasteOverlap.execute(clip2, clip1, overlap, FRAMES).result[0]
    res["clip1"], res["clip2_raw"], res["clip2"] = clip1["samples"], clip2["samples"], pasted["samples"]
    res["clip1_px"], res["clip2_px"] = vae.decode(clip1["samples"]), vae.decode(pasted["samples"])
    res["joined"] = clip_nodes.RealCamJoinClips.execute(res["clip1_px"], res["clip2_px"], overlap).result[0]
    short = {"samples": clip1["samples"][:1]}
    res["err/short_previous"] = error_of(lambda: cond("continue", p2, n2, lat2, previous_latent=short,
                                                      overlap=overlap))
    res["err/no_previous"] = error_of(lambda: cond("continue", p2, n2, lat2, overlap=overlap))
    res["err/plain_conditioning"] = error_of(lambda: cond("loop", pos0, neg0, latent))
    torch.save(res, out_path)


# ===================================== the tests (pytest) ===================================
@pytest.fixture(scope="module")
def res(tmp_path_factory) -> dict:
    from comfy_host import comfy_path, host_python

    out = tmp_path_factory.mktemp("loop_nodes") / "results.pt"
    env = dict(os.environ, COMFY=str(comfy_path()), PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.run([host_python(), str(HERE), "--host", str(out)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"ComfyUI child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return torch.load(out, weights_only=False)


def test_loop_last_frame_equals_the_start_latent_at_the_end_of_the_shaping_window(res):
    assert bool((res["loop_mask_last"] == 1).all())  # the end image is a fully visible preview frame
    out = res["loop_shaped"]  # (T, 4, h, w); x0_paste window 1000 -> 0 ends at the output
    assert torch.allclose(out[-1], res["start_latent"], atol=LATENT_TOL)
    # frame 0 holds the start latent too (upstream), but only where its preview is visible (left half)
    assert torch.allclose(out[0][..., :3], res["start_latent"][..., :3], atol=LATENT_TOL)
    # without the loop node the last frame is only half visible: the check can fail
    assert (res["loop_unedited"][-1] - res["start_latent"]).abs().max() > 1e-2
    assert torch.isfinite(res["loop_xt"]).all()
    assert "returns to its start" in res["loop_report"]


def test_loop_on_an_open_path_warns(res):
    assert "does NOT return to its start" in res["open_report"] and "0.5 m" in res["open_report"]


def test_interp_concat_layout_in_the_conditioning(res):
    c = res["interp_concat"]  # frames-as-batch (T, 4, h, w): upstream interp_mode
    assert c.shape == (FRAMES, 4, SIZE // 8, SIZE // 8)
    assert torch.allclose(c[0], res["start_latent"]) and torch.allclose(c[-1], res["end_latent"])
    assert not c[1:-1].any()
    assert torch.equal(res["interp_concat_neg"], c)  # uncond keeps the same concat, as upstream
    assert torch.allclose(res["interp_frames_last"], res["end_image"], atol=1e-5)
    assert bool((res["interp_mask"][-1] == 1).all())
    assert torch.isfinite(res["interp_sample"]).all()


def test_transition_hands_the_preview_over_to_the_end_image(res):
    m = res["transition_mask"]  # 4 frames, handoff 0.5: frame 1 (1/3) kept, frame 2 (2/3) dropped, last = 1
    assert m[1].sum() > 0 and not m[2].any() and bool((m[-1] == 1).all())
    assert torch.isfinite(res["transition_sample"]).all()


def test_continuation_overlap_equals_the_previous_clip_after_decoding(res):
    n = 2
    assert torch.equal(res["clip2_px"][:n], res["clip1_px"][-n:])
    assert torch.equal(res["clip2"][:n], res["clip1"][-n:])
    # the sampler itself pastes what the noise mask keeps (the trailing schedule stops at alpha_bar(0) < 1,
    # so without the paste these frames keep a trace of noise and the VP rescale)
    assert torch.equal(res["clip2_raw"][:n], res["clip1"][-n:])
    assert (res["clip2_raw"][n:] - res["clip2"][n:]).abs().max() == 0  # Paste Overlap: harmless afterwards
    assert not torch.equal(res["clip2"][n:], res["clip1"][:FRAMES - n])
    assert res["joined"].shape[0] == 2 * FRAMES - n


def test_continuation_conditioning_refers_to_the_previous_clips_last_frame(res):
    cam, before = res["cont_cam"], res["cont_cam_before"]
    assert torch.allclose(cam[1], torch.eye(4), atol=1e-6)  # cond_frame_index = overlap - 1
    assert torch.allclose(cam, torch.linalg.inv(before[1]) @ before, atol=1e-5)
    assert torch.equal(res["cont_concat"][0], res["clip1"][-1])  # the exact latent, not a re-encode
    m = res["cont_noise_mask"]
    assert m.shape == (FRAMES, 1, SIZE // 8, SIZE // 8) and not m[:2].any() and bool((m[2:] == 1).all())


@pytest.mark.parametrize("key,words", [
    ("err/size", ["end_image", "64x64", "80x48", "size_mismatch"]),
    ("err/no_end", ["end_image", "interpolate"]),
    ("err/short_previous", ["previous_latent", "overlap=2", "got 1"]),
    ("err/no_previous", ["previous_latent", "continue"]),
    ("err/plain_conditioning", ["RealCam Image To Video"]),
])
def test_bad_input_is_a_clear_error(res, key, words):
    msg = res[key]
    assert msg.startswith("RealCamInputError"), msg
    for w in words:
        assert w in msg, msg


def test_crop_option_accepts_a_differently_sized_end_image(res):
    assert "mode interpolate" in res["size_crop"]


# ============================ the example workflows on the live server ============================
LOOP_WORKFLOWS = ["camera_loop", "camera_interpolation", "scene_transition", "long_video_continuation"]
WF_H, WF_W = 64, 128  # the tiny model's resolution (non-square: catches swapped width/height)
WF_BASE = "512_dynamicrafter_tiny_loopwf.ckpt"
WF_BASE_INTERP = "512_dynamicrafter_interp_tiny_loopwf.ckpt"  # the same tiny base under an interp-style name
WF_CAMERA = "512_realcam-i2v_tiny_loopwf.safetensors"
WF_DEPTH = "tiny_depth_anything_v2_metric_hypersim_vits_loopwf.safetensors"
MODES = {"camera_loop": "loop", "camera_interpolation": "interpolate", "scene_transition": "transition",
         "long_video_continuation": "continue"}


@pytest.fixture(scope="module")
def loop_server(server):
    """Example images in input/, a tiny depth model and a tiny RealCam base (with VAE / CLIP parts) + camera file."""
    import shutil

    sys.path.insert(0, str(REPO / "scripts"))
    import install_examples

    from realcam_core.testing import tiny_depth, tiny_realcam

    install_examples.install(server.base / "input")
    depth_dir = server.base / "models" / "depthanything"
    depth_dir.mkdir(parents=True, exist_ok=True)
    tiny_depth.write_tiny_original(depth_dir / WF_DEPTH, seed=0)
    folder = server.base / "models" / "realcam"
    spec = tiny_realcam.TinySpec(variant="512", frames=FRAMES, image_size=(WF_H, WF_W))
    base, _ = tiny_realcam.write_tiny_realcam(folder, spec, base_name=WF_BASE, camera_name=WF_CAMERA, parts=True)
    shutil.copyfile(base, folder / WF_BASE_INTERP)
    return server


def shipped_prompt(server, name: str) -> tuple[dict, dict]:
    """The shipped UI workflow as an API prompt, and its UI form."""
    import json

    from workflow_api import ui_to_api

    wf = json.loads((REPO / "workflows" / f"{name}.json").read_text())
    return ui_to_api(wf, server.object_info()), wf


def tiny_workflow_prompt(server, name: str) -> tuple[dict, int]:
    """The shipped workflow with only file names, sizes, frame counts and steps changed; (prompt, frames expected)."""
    from workflow_api import with_inputs

    prompt, _ = shipped_prompt(server, name)
    size = {"width": WF_W, "height": WF_H}
    changes: dict[str, dict] = {}
    expected = FRAMES
    for nid, node in prompt.items():
        kind, inputs = node["class_type"], node["inputs"]
        if kind == "RealCamCheckpointLoader":
            interp = "interp" in inputs["base_checkpoint"].lower()
            changes[nid] = {"base_checkpoint": WF_BASE_INTERP if interp else WF_BASE, "camera_checkpoint": WF_CAMERA}
        elif kind == "RealCamLoadDepthModel":
            changes[nid] = {"model": WF_DEPTH}
        elif kind == "RealCamCameraPreset":
            n = 2 * FRAMES - 1 if name == "long_video_continuation" else FRAMES  # two clips sharing one frame
            changes[nid] = {"num_frames": n}
            if name == "long_video_continuation":
                expected = n
        elif kind in ("RealCamCloseTrajectory",):
            changes[nid] = {"num_frames": FRAMES}
        elif kind == "RealCamTrajectoryClip":
            changes[nid] = {"clip_len": FRAMES}
        elif kind == "ImageFromBatch":  # the first clip's last frame
            changes[nid] = {"batch_index": FRAMES - 1}
        elif kind == "RealCamPointCloudRender":
            changes[nid] = size
        elif kind == "RealCamImageToVideo":
            changes[nid] = {**size, "length": FRAMES}
        elif kind == "RealCamSampler":
            changes[nid] = {"steps": 2}
        elif kind == "RealCamPasteOverlap":
            changes[nid] = {"frames": FRAMES}
    return with_inputs(prompt, changes), expected


def ui_text(outputs: dict, node_id: str) -> str:
    return "\n".join(outputs[node_id]["text"])


@pytest.mark.parametrize("name", LOOP_WORKFLOWS)
def test_example_workflow_makes_a_video_on_the_live_server(loop_server, name):
    """The shipped template, with tiny models, runs through POST /prompt to a saved video of the right size."""
    from workflow_api import find_node

    prompt, wf = shipped_prompt(loop_server, name)
    assert any(n["type"] == "MarkdownNote" and "models/" in n["widgets_values"][0] for n in wf["nodes"])
    types = {v["class_type"] for v in prompt.values()}
    assert "SaveVideo" in types and "RealCamSampler" in types
    conds = [v for v in prompt.values() if v["class_type"] == "RealCamLoopInterpConditioning"]
    assert len(conds) == 1 and conds[0]["inputs"]["mode"] == MODES[name]
    if MODES[name] in ("interpolate", "transition"):  # a second shipped example image as the end
        loads = {v["inputs"]["image"] for v in prompt.values() if v["class_type"] == "LoadImage"}
        assert len(loads) == 2 and loads <= {p.name for p in (REPO / "assets" / "examples").iterdir()}

    prompt, frames = tiny_workflow_prompt(loop_server, name)
    outputs = loop_server.run_ok(prompt)
    assert loop_server.saved_video(outputs, find_node(prompt, "SaveVideo")) == (frames, WF_W, WF_H)
    report = ui_text(outputs, find_node(prompt, "RealCamLoopInterpConditioning"))
    assert f"mode {MODES[name]}: {FRAMES} frames at {WF_W}x{WF_H}" in report
    # a cached node reports no UI in /history: the loader's text is there when it ran (the interp name runs once)
    loader = outputs.get(find_node(prompt, "RealCamCheckpointLoader"), {}).get("text", [""])[0]
    if name == "camera_loop":
        assert "returns to its start" in report and "WARNING" not in report
    if name == "camera_interpolation":  # the shipped pairing: DynamiCrafter 512_interp base + 512 camera file
        assert f"RealCam 512: v, {WF_W}x{WF_H}, {FRAMES} frames" in loader
        assert "WARNING" in loader and WF_BASE_INTERP in loader and "EXPERIMENTAL" in loader
        assert "interp layout" in report
        assert f"RealCam: {WF_BASE_INTERP} looks like a DynamiCrafter interp base (EXPERIMENTAL)" in loop_server.log()
    else:
        assert "WARNING" not in loader and "EXPERIMENTAL" not in loader
    if name == "long_video_continuation":
        assert "continue: frames 0..0" in report


def test_loop_on_an_open_path_warns_in_the_ui(loop_server):
    """camera_loop with RealCam Close Trajectory skipped: the node's UI text (in /history) carries the warning."""
    from workflow_api import find_node

    prompt, _ = tiny_workflow_prompt(loop_server, "camera_loop")
    close, preset = find_node(prompt, "RealCamCloseTrajectory"), find_node(prompt, "RealCamCameraPreset")
    for node in prompt.values():
        for k, v in node["inputs"].items():
            if isinstance(v, list) and v[0] == close:
                node["inputs"][k] = [preset, 0]
    del prompt[close]
    cond = find_node(prompt, "RealCamLoopInterpConditioning")
    # stop after the conditioning node: a text preview of its report is the only output
    prompt = {k: v for k, v in prompt.items() if v["class_type"] not in ("RealCamSampler", "VAEDecode",
                                                                          "CreateVideo", "SaveVideo")}
    prompt["990"] = {"class_type": "PreviewAny", "inputs": {"source": [cond, 5]}}
    outputs = loop_server.run_ok(prompt)
    text = ui_text(outputs, cond)
    assert text.startswith("WARNING") and "does NOT return to its start" in text and "Close Trajectory" in text
    assert "RealCam loop: WARNING: the camera path does NOT return to its start" in loop_server.log()


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--host":
    host(sys.argv[2])
