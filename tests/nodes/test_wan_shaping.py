"""RealCam on Wan 2.x flow models, in-process ComfyUI with tiny random-weight Wan files in the real formats.

A child process (this file with `--host OUT`) writes a tiny Wan 2.2 Fun Camera diffusion model and a tiny
Wan 2.1 VAE (tests/tiny_wan.py), loads them with core's UNETLoader / VAELoader (core's own detection),
renders a real point-cloud preview, builds the camera embedding with RealCam Wan Camera Embedding, the
conditioning with core WanCameraImageToVideo (unscaled start image), patches the model with RealCam Wan
Noise Shaping (the same unscaled start image) and samples with core sampling (KSampler's path, and
SamplerCustomAdvanced). The text conditioning is a fixed random tensor: the text path is not under test.

The pytest side checks, from the sampler's own callback, that every shaped step is exactly the hand-computed
paste x = (1 - sigma) z + sigma eps where the hand-computed latent mask is 1 and the plain Euler state
elsewhere, and that steps outside the window are untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]

W, H, LENGTH, STEPS, SEED, CFG = 64, 48, 9, 10, 7, 2.0
SHIFT = 8.0  # core's Wan sampling shift
START_HW = (70, 100)  # the unscaled start image (another aspect: core crops it)


def hand_latent_mask() -> torch.Tensor:
    """The pixel mask below at latent size (3 frames, 6x8): left half, minus a hole that pixel frame 6 has."""
    m = torch.zeros(3, 6, 8)
    m[:, :, :4] = 1
    m[2, :3] = 0  # latent frame 2 covers pixel frames 5..8: the hole in frame 6 wins
    return m


def pixel_mask() -> torch.Tensor:
    m = torch.zeros(LENGTH, H, W)
    m[:, :, : W // 2] = 1
    m[6, :24] = 0
    return m


def host(out_path: str) -> None:
    sys.path.insert(0, str(REPO / "tests"))
    from inprocess_comfy import boot_comfy, error_of, import_pack_module

    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp())
    boot_comfy(tmp=tmp)
    import comfy.sample
    import comfy.samplers
    import folder_paths
    import tiny_wan
    from comfy_extras import nodes_custom_sampler as ncs
    from comfy_extras import nodes_wan

    import nodes as comfy_nodes

    for folder, sub in (("diffusion_models", "dm"), ("vae", "vae")):
        folder_paths.add_model_folder_path(folder, str(tmp / sub))
    tiny_wan.write_tiny_dit(tmp / "dm" / "tiny_wan2.2_fun_camera.safetensors", "fun_camera_2.2")
    tiny_wan.write_tiny_vae(tmp / "vae" / "tiny_wan_2.1_vae.safetensors")
    model = comfy_nodes.UNETLoader().load_unet("tiny_wan2.2_fun_camera.safetensors", "default")[0]
    vae = comfy_nodes.VAELoader().load_vae("tiny_wan_2.1_vae.safetensors")[0]

    wn = import_pack_module("nodes.wan_nodes")
    types = import_pack_module("realcam_core.scene.types")
    presets = import_pack_module("realcam_core.trajectory.presets")
    render = import_pack_module("realcam_core.scene.render")
    res: dict = {"model_class": type(model.model).__name__,
                 "model_config": type(model.model.model_config).__name__,
                 "vae_channels": vae.latent_channels}

    g = torch.Generator().manual_seed(0)
    depth = torch.full((48, 64), 2.0)
    depth[:, 32:] = 4.0  # median 2 m (torch's lower median)
    scene = types.Scene(image=torch.rand(48, 64, 3, generator=g), depth=depth,
                        K=torch.tensor([[60.0, 0, 32], [0, 60.0, 24], [0, 0, 1]]), mask=torch.ones(48, 64, dtype=bool))
    traj = presets.make_preset("zoom_in", LENGTH, amplitude=0.5)
    rendered = render.render_scene(scene, traj.c2w, height=H, width=W)
    frames = rendered.frames.float()
    start = torch.rand(1, *START_HW, 3, generator=g)

    emb, *_, info = wn.RealCamWanCameraEmbedding.execute(traj, W, H, LENGTH, "scene median depth", 1.0,
                                                         "true intrinsics", scene).result
    res["info"] = info
    res["emb"] = emb
    res["emb_metres_half"] = import_pack_module("realcam_comfy.wan").wan_embedding(traj.scaled(0.5), W, H, "true intrinsics")
    res["emb_metres"] = wn.RealCamWanCameraEmbedding.execute(traj, W, H, LENGTH, "metres", 1.0,
                                                             "true intrinsics").result[0]

    text = torch.randn(1, 8, 4096, generator=g)
    pos0, neg0 = [[text, {}]], [[text * 0, {}]]
    pos, neg, latent = nodes_wan.WanCameraImageToVideo.execute(pos0, neg0, vae, W, H, LENGTH, 1, start_image=start,
                                                               camera_conditions=emb).args
    res["core_start_latent"] = pos[0][1]["concat_latent_image"][:, :, :1]
    shaped, preview_latent = wn.RealCamWanNoiseShaping.execute(
        model, vae, frames, pixel_mask(), W, H, LENGTH, "xt_paste", "sigma_percent", 0.0, 0.1,
        start_image=start).result
    wrapper = shaped.wrappers["sampler_sample"]["realcam_noise_shaping"][0]  # the patch RealCam added
    res["our_start_latent"] = wrapper.spec.start_latent
    res["preview_latent"] = preview_latent["samples"]
    # the generic RealCam Noise Shaping takes the same unscaled start image (the bug of issue 10)
    generic = import_pack_module("nodes.shaping_nodes").RealCamNoiseShaping.execute(
        model, pixel_mask(), "xt_paste", "sigma_percent", 0.0, 0.1, preview_frames=frames, vae=vae,
        start_image=start).result[0]
    res["generic_start_latent"] = generic.wrappers["sampler_sample"]["realcam_noise_shaping"][0].spec.start_latent
    from_latent = import_pack_module("nodes.shaping_nodes").RealCamNoiseShaping.execute(
        model, pixel_mask(), "xt_paste", "sigma_percent", 0.0, 0.1, preview_latent=preview_latent, vae=vae,
        start_image=start).result[0]  # the Wan latent instead of frames: the start image goes to its pixel size
    res["generic_latent_start"] = from_latent.wrappers["sampler_sample"]["realcam_noise_shaping"][0].spec.start_latent
    res["z_hand"] = model.model.process_latent_in(
        torch.cat([vae.encode(comfy_nodes_resize(start, W, H)), preview_latent["samples"][:, :, 1:]], dim=2))

    ms = model.get_model_object("model_sampling")
    sigmas = comfy.samplers.calculate_sigmas(ms, "simple", STEPS)
    res["sigmas"] = sigmas
    noise = comfy.sample.prepare_noise(latent["samples"], SEED)
    res["noise"] = noise

    def sample(m):
        rec: list = []

        def cb(i, x0, x, total):
            rec.append((i, x.clone(), x0.clone()))

        out = comfy.sample.sample(m, noise, STEPS, CFG, "euler", "simple", pos, neg, latent["samples"], seed=SEED,
                                  callback=cb)
        return out, rec

    res["on"], res["on_rec"] = sample(shaped)
    res["off"], res["off_rec"] = sample(model)
    res["ksampler"] = comfy_nodes.common_ksampler(shaped, SEED, STEPS, CFG, "euler", "simple", pos, neg,
                                                  latent)[0]["samples"]
    guider = ncs.CFGGuider.execute(shaped, pos, neg, CFG).result[0]
    res["custom_advanced"] = ncs.SamplerCustomAdvanced.execute(
        ncs.RandomNoise.execute(SEED).result[0], guider, ncs.KSamplerSelect.execute("euler").result[0],
        ncs.BasicScheduler.execute(model, "simple", STEPS, 1.0).result[0], latent).result[0]["samples"]

    # Wan 2.1 Fun Camera and FLF2V (CLIP vision models): detected as core detects the official files, shaped
    # sampling runs with a CLIP-H-shaped vision output (core's CLIP vision loader builds only the full-size ViT-H)
    import comfy.clip_vision

    def vision(seed: int):
        out = comfy.clip_vision.Output()
        out.penultimate_hidden_states = torch.randn(1, 257, 1280, generator=torch.Generator().manual_seed(seed))
        return out

    for kind in ("fun_camera_2.1", "flf2v_2.1"):
        tiny_wan.write_tiny_dit(tmp / "dm" / f"tiny_{kind}.safetensors", kind, seed=3)
        m21 = comfy_nodes.UNETLoader().load_unet(f"tiny_{kind}.safetensors", "default")[0]
        res[f"{kind}/config"] = type(m21.model.model_config).__name__
        res[f"{kind}/flf_tokens"] = m21.model.model_config.unet_config.get("flf_pos_embed_token_number")
        if kind == "fun_camera_2.1":
            c = nodes_wan.WanCameraImageToVideo.execute(pos0, neg0, vae, W, H, LENGTH, 1, start_image=start,
                                                        clip_vision_output=vision(1), camera_conditions=emb).args
        else:
            c = nodes_wan.WanFirstLastFrameToVideo.execute(pos0, neg0, vae, W, H, LENGTH, 1, start_image=start,
                                                           end_image=start, clip_vision_start_image=vision(1),
                                                           clip_vision_end_image=vision(2)).args
        shaped21 = wn.RealCamWanNoiseShaping.execute(m21, vae, frames, pixel_mask(), W, H, LENGTH, "xt_paste",
                                                     "sigma_percent", 0.0, 0.1, start_image=start).result[0]
        rec21: list = []
        out21 = comfy.sample.sample(shaped21, noise, 3, CFG, "euler", "simple", c[0], c[1], c[2]["samples"],
                                    seed=SEED, callback=lambda i, x0, x, total, rec=rec21: rec.append(x.clone()))
        res[f"{kind}/finite"] = bool(torch.isfinite(out21).all())
        res[f"{kind}/x0"] = rec21[0]

    def shaping(**kw):
        args = dict(model=model, vae=vae, preview_frames=frames, shaping_mask=pixel_mask(), width=W, height=H,
                    length=LENGTH, mode="xt_paste", window_units="sigma_percent", window_start=0.0,
                    window_end=0.1)
        args.update(kw)
        return wn.RealCamWanNoiseShaping.execute(**args).result[0]

    res["err/length"] = error_of(lambda: shaping(length=8))
    res["err/preview_size"] = error_of(lambda: shaping(preview_frames=frames[:, :32]))
    res["err/preview_frames"] = error_of(lambda: shaping(preview_frames=frames[:5]))
    res["err/mask_resolution"] = error_of(lambda: shaping(shaping_mask=pixel_mask()[:, :32, :32]))
    res["err/dc_trajectory"] = error_of(lambda: wn.RealCamWanCameraEmbedding.execute(
        presets.make_preset("zoom_in", 16), W, H, 81, "metres", 1.0, "match core"))
    res["err/length_embedding"] = error_of(lambda: wn.RealCamWanCameraEmbedding.execute(
        presets.make_preset("zoom_in", 16), W, H, 16, "metres", 1.0, "match core"))
    res["err/no_scene"] = error_of(lambda: wn.RealCamWanCameraEmbedding.execute(
        traj, W, H, LENGTH, "scene median depth", 1.0, "true intrinsics"))
    longer = nodes_wan.WanCameraImageToVideo.execute(pos0, neg0, vae, W, H, 13, 1).args[2]
    res["err/latent_mismatch"] = error_of(lambda: comfy_nodes.common_ksampler(
        shaped, SEED, 2, CFG, "euler", "simple", pos0, neg0, longer))
    # window_units switched to timestep, percents kept: Wan's timesteps (sigma x 1000) never reach 0..0.1
    res["err/units_switched"] = error_of(lambda: shaping(window_units="timestep"))
    res["err/percent_range"] = error_of(lambda: shaping(window_start=1000.0, window_end=900.0))
    import_pack_module("realcam_comfy.sampler").register_with_core()  # realcam_trailing: DDPM models only
    res["err/trailing_flow"] = error_of(lambda: comfy_nodes.common_ksampler(
        model, SEED, 2, CFG, "euler", "realcam_trailing", pos, neg, latent))
    torch.save(res, out_path)


def comfy_nodes_resize(image: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Centre crop to the target aspect, then bilinear: core's common_upscale(..., "bilinear", "center"), by hand."""
    x = image.movedim(-1, 1)
    h, w = x.shape[-2:]
    if w / h > width / height:
        cut = round((w - w * ((width / height) / (w / h))) / 2)
        x = x[..., :, cut:w - cut]
    elif w / h < width / height:
        cut = round((h - h * ((w / h) / (width / height))) / 2)
        x = x[..., cut:h - cut, :]
    return torch.nn.functional.interpolate(x, size=(height, width), mode="bilinear").movedim(1, -1)


@pytest.fixture(scope="module")
def res(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("wan") / "res.pt"
    env = dict(os.environ, PYTHONPATH="")
    py = os.environ.get("REALCAM_PY", sys.executable)
    proc = subprocess.run([py, str(HERE), "--host", str(out)], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return torch.load(out, weights_only=False)


def shaped_steps_by_hand(sigmas: torch.Tensor) -> list[int]:
    """Core percent 0.1 on a shift-8 flow schedule: sigma(0.9) = 8 * 0.9 / (1 + 7 * 0.9); shaped if sigma >= it."""
    bound = SHIFT * 0.9 / (1 + (SHIFT - 1) * 0.9)
    return [i for i in range(len(sigmas) - 1) if float(sigmas[i]) >= bound * (1 - 1e-5)]


def test_core_detects_the_tiny_files_as_wan(res):
    assert res["model_class"] == "WAN21_Camera" and res["model_config"] == "WAN22_Camera"
    assert res["vae_channels"] == 16


def test_wan21_fun_camera_and_flf2v_files_are_detected_and_shaped(res):
    assert res["fun_camera_2.1/config"] == "WAN21_Camera" and res["flf2v_2.1/config"] == "WAN21_I2V"
    assert res["flf2v_2.1/flf_tokens"] == 514
    gen = torch.Generator().manual_seed(SEED + 0x5EED)
    z = res["z_hand"].float()
    paste = (1 - res["sigmas"][0]) * z + res["sigmas"][0] * torch.randn(z.shape, generator=gen)
    m = hand_latent_mask()[None, None].expand_as(z).bool()
    for kind in ("fun_camera_2.1", "flf2v_2.1"):
        assert res[f"{kind}/finite"]
        x0 = res[f"{kind}/x0"]  # step 0 (sigma 1) is shaped: the paste where the mask is 1, the noise elsewhere
        assert torch.allclose(x0[m], paste[m], atol=1e-6, rtol=0) and torch.equal(x0[~m], res["noise"][~m].to(x0))


def test_start_image_is_resized_as_core_does(res):
    assert res["our_start_latent"] is not None
    assert torch.equal(res["our_start_latent"], res["core_start_latent"])


def test_generic_noise_shaping_takes_the_unscaled_start_image(res):
    assert torch.equal(res["generic_start_latent"], res["core_start_latent"])
    assert torch.equal(res["generic_latent_start"], res["core_start_latent"])


def test_shaped_steps_are_the_hand_computed_paste(res):
    sigmas, rec, z = res["sigmas"], res["on_rec"], res["z_hand"].float()
    steps = shaped_steps_by_hand(sigmas)
    assert steps == [0, 1]  # the first 10 % of a 10-step schedule
    m = hand_latent_mask()[None, None].expand_as(z).bool()
    gen = torch.Generator().manual_seed(SEED + 0x5EED)  # RealCam's per-step shaping noise (SeededStepNoise)
    eps = {i: torch.randn(z.shape, generator=gen) for i in steps}
    state = sigmas[0] * res["noise"]  # flow noise_scaling at sigma 0 of an empty latent
    assert [r[0] for r in rec] == list(range(STEPS))
    for i, x, den in rec:
        s = float(sigmas[i])
        if i in steps:
            paste = (1 - s) * z + s * eps[i]
            assert torch.allclose(x[m], paste[m], atol=1e-6, rtol=0), i
            assert torch.equal(x[~m], state[~m].to(x)), i
        else:
            assert torch.equal(x, state.to(x)), i
        state = x + (x - den) / sigmas[i] * (sigmas[i + 1] - sigmas[i])  # core Euler, by hand


def test_unshaped_run_never_pastes(res):
    assert not torch.equal(res["on"], res["off"])
    x0_on, x0_off = res["on_rec"][0][1], res["off_rec"][0][1]
    m = hand_latent_mask()[None, None].expand_as(x0_on).bool()
    assert torch.equal(x0_on[~m], x0_off[~m]) and not torch.equal(x0_on[m], x0_off[m])


def test_ksampler_and_sampler_custom_advanced_agree(res):
    assert torch.equal(res["ksampler"], res["on"])
    assert torch.allclose(res["custom_advanced"], res["on"], atol=1e-6)


def test_camera_embedding_scale(res):
    assert "median depth 2 m" in res["info"] and "true intrinsics" in res["info"]
    assert torch.allclose(res["emb"], res["emb_metres_half"], atol=1e-6)
    assert not torch.allclose(res["emb"], res["emb_metres"], atol=1e-3)


@pytest.mark.parametrize("key,pattern", [
    ("err/length", "length: expected 4k+1"),
    ("err/preview_size", "preview_frames: expected 9 frames of 64x48"),
    ("err/preview_frames", "preview_frames: expected 9 frames"),
    ("err/mask_resolution", "shaping_mask: expected a mask of 9 frames of 64x48"),
    ("err/dc_trajectory", "trajectory: expected 81 poses"),
    ("err/length_embedding", "length: expected 4k+1"),
    ("err/no_scene", "scene: expected a SCENE"),
    ("err/latent_mismatch", "preview_latent: expected a latent with 16 channels, 4 frame"),
    ("err/units_switched", "window_start/window_end: expected a window that overlaps this model's timesteps"),
    ("err/percent_range", "window_start: expected a sigma percent in 0..1 with window_units sigma_percent"),
    ("err/trailing_flow", "scheduler: expected a discrete-timestep model for realcam_trailing"),
])
def test_bad_input_names_the_input(res, key, pattern):
    assert pattern in res[key] and "RealCamInputError" in res[key], res[key]


if __name__ == "__main__" and sys.argv[1:2] == ["--host"]:
    host(sys.argv[2])
