"""RealCam Wan Noise Shaping on Wan 2.2 TI2V-5B (48-channel VAE, 16x spatial), in-process ComfyUI 0.3.75.

A child process (this file with `--host OUT`) writes a tiny random-weight TI2V-5B diffusion model and the Wan 2.2
VAE's encoder at core's fixed size (tests/tiny_wan22.py: core hard-codes that VAE's width, so it cannot be tiny),
loads them with core's UNETLoader / VAELoader (core's own detection), builds the latent with core
Wan22ImageToVideoLatent (start image: frame 0 encoded, noise_mask 0 there), patches the model with RealCam Wan
Noise Shaping and samples through core's KSampler path (comfy.sample.sample with the noise mask, common_ksampler).

The pytest side checks the preview latent against core's latent shape (48 channels, /16, (length - 1) / 4 + 1
frames), the latent mask against a hand-computed one at that size, and every shaped step of the sampler's own
callback against the hand-computed paste x = (1 - sigma) z + sigma eps (plain Euler elsewhere).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))
from test_wan_shaping import comfy_nodes_resize, shaped_steps_by_hand  # noqa: E402

W, H, LENGTH, STEPS, SEED, CFG = 96, 64, 9, 10, 7, 2.0
LATENT = (1, 48, 3, 4, 6)  # (length - 1) // 4 + 1 frames, H / 16 x W / 16
START_HW = (70, 100)  # the unscaled start image (another aspect: core crops it)


def pixel_mask() -> torch.Tensor:
    m = torch.zeros(LENGTH, H, W)
    m[:, :, : W // 2] = 1
    m[6, :32] = 0
    return m


def hand_latent_mask() -> torch.Tensor:
    """pixel_mask at latent size (3 frames, 4x6): left half; latent frame 2 (pixel frames 5..8) keeps frame 6's hole."""
    m = torch.zeros(3, 4, 6)
    m[:, :, :3] = 1
    m[2, :2] = 0
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
    import tiny_wan22
    from comfy_extras import nodes_wan

    import nodes as comfy_nodes

    for folder, sub in (("diffusion_models", "dm"), ("vae", "vae")):
        folder_paths.add_model_folder_path(folder, str(tmp / sub))
    tiny_wan22.write_tiny_ti2v(tmp / "dm" / "tiny_wan2.2_ti2v_5B.safetensors")
    tiny_wan22.write_vae22_encoder(tmp / "vae" / "wan2.2_vae_encoder.safetensors")
    model = comfy_nodes.UNETLoader().load_unet("tiny_wan2.2_ti2v_5B.safetensors", "default")[0]
    vae = comfy_nodes.VAELoader().load_vae("wan2.2_vae_encoder.safetensors")[0]
    (tmp / "vae" / "wan2.2_vae_encoder.safetensors").unlink()  # 360 MB: gone once loaded
    res: dict = {"model_class": type(model.model).__name__, "model_config": type(model.model.model_config).__name__,
                 "latent_format": type(model.model.latent_format).__name__, "vae_channels": vae.latent_channels,
                 "vae_spatial": vae.spacial_compression_encode(), "vae_frames": vae.downscale_ratio[0](LENGTH)}

    wn = import_pack_module("nodes.wan_nodes")
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(LENGTH, H, W, 3, generator=g)
    start = torch.rand(1, *START_HW, 3, generator=g)
    latent = nodes_wan.Wan22ImageToVideoLatent.execute(vae, W, H, LENGTH, 1, start_image=start).args[0]
    res["core_latent"] = latent
    shaped, preview_latent = wn.RealCamWanNoiseShaping.execute(
        model, vae, frames, pixel_mask(), W, H, LENGTH, "xt_paste", "sigma_percent", 0.0, 0.1,
        start_image=start).result
    wrapper = shaped.wrappers["sampler_sample"]["realcam_noise_shaping"][0]  # the patch RealCam added
    res["preview_latent"] = preview_latent["samples"]
    res["our_start_latent"] = wrapper.spec.start_latent
    res["generic_latent_start"] = import_pack_module("nodes.shaping_nodes").RealCamNoiseShaping.execute(
        model, pixel_mask(), "xt_paste", "sigma_percent", 0.0, 0.1, preview_latent=preview_latent, vae=vae,
        start_image=start).result[0].wrappers["sampler_sample"]["realcam_noise_shaping"][0].spec.start_latent
    res["hand_start_latent"] = vae.encode(comfy_nodes_resize(start, W, H))
    res["z_hand"] = model.model.process_latent_in(
        torch.cat([res["hand_start_latent"], preview_latent["samples"][:, :, 1:]], dim=2))
    noise = comfy.sample.prepare_noise(latent["samples"], SEED)
    run = wrapper.prepare(types.SimpleNamespace(inner_model=model.model), noise, SEED)
    res["run_mask"], res["run_z"] = run.mask, run.z

    ms = model.get_model_object("model_sampling")
    res["sigmas"] = comfy.samplers.calculate_sigmas(ms, "simple", STEPS)
    res["noise"] = noise
    res["latent_in"] = model.model.process_latent_in(latent["samples"])

    def sample(m):
        rec: list = []
        out = comfy.sample.sample(m, noise, STEPS, CFG, "euler", "simple", pos, neg, latent["samples"],
                                  noise_mask=latent["noise_mask"], seed=SEED,
                                  callback=lambda i, x0, x, total: rec.append((i, x.clone(), x0.clone())))
        return out, rec

    text = torch.randn(1, 8, 4096, generator=g)
    pos, neg = [[text, {}]], [[text * 0, {}]]
    res["on"], res["on_rec"] = sample(shaped)
    res["off"], res["off_rec"] = sample(model)
    res["ksampler"] = comfy_nodes.common_ksampler(shaped, SEED, STEPS, CFG, "euler", "simple", pos, neg,
                                                  latent)[0]["samples"]
    # the usual mix-up: the Wan 2.1 VAE (16 channels, 8x) with the 5B model's 48-channel latent
    tiny_wan.write_tiny_vae(tmp / "vae" / "tiny_wan_2.1_vae.safetensors")
    vae21 = comfy_nodes.VAELoader().load_vae("tiny_wan_2.1_vae.safetensors")[0]
    shaped21 = wn.RealCamWanNoiseShaping.execute(model, vae21, frames, pixel_mask(), W, H, LENGTH, "xt_paste",
                                                 "sigma_percent", 0.0, 0.1).result[0]
    res["err/wan21_vae"] = error_of(lambda: comfy_nodes.common_ksampler(shaped21, SEED, 2, CFG, "euler", "simple",
                                                                        pos, neg, latent))
    torch.save(res, out_path)


@pytest.fixture(scope="module")
def res(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("wan22") / "res.pt"
    env = dict(os.environ, PYTHONPATH="")
    py = os.environ.get("REALCAM_PY", sys.executable)
    proc = subprocess.run([py, str(HERE), "--host", str(out)], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return torch.load(out, weights_only=False)


def test_core_detects_ti2v_5b_and_the_wan22_vae(res):
    assert (res["model_class"], res["model_config"], res["latent_format"]) == ("WAN22", "WAN22_T2V", "Wan22")
    assert (res["vae_channels"], res["vae_spatial"], res["vae_frames"]) == (48, 16, 3)


def test_preview_latent_has_core_wan22_latent_shape(res):
    assert tuple(res["core_latent"]["samples"].shape) == LATENT
    assert tuple(res["preview_latent"].shape) == LATENT
    assert torch.isfinite(res["preview_latent"]).all() and res["preview_latent"].abs().max() > 0


def test_latent_mask_is_hand_computed_at_latent_size(res):
    assert tuple(res["run_mask"].shape) == (1, 1, *LATENT[2:])  # broadcast over the 48 channels
    assert torch.equal(res["run_mask"], hand_latent_mask()[None, None])
    assert torch.allclose(res["run_z"], res["z_hand"].float(), atol=1e-6, rtol=0)


def test_start_image_is_frame_0_of_cores_latent(res):
    core_frame0 = res["core_latent"]["samples"][:, :, :1]  # raw VAE latent of the resized start image
    assert torch.equal(res["our_start_latent"], core_frame0)
    assert torch.equal(res["generic_latent_start"], core_frame0)  # pixel size from the 16x VAE, not 8x
    assert torch.allclose(res["hand_start_latent"], core_frame0, atol=1e-5)
    assert torch.equal(res["core_latent"]["noise_mask"][0, 0, 0], torch.zeros(4, 6))


def test_shaped_steps_are_the_hand_computed_paste(res):
    sigmas, rec, z = res["sigmas"], res["on_rec"], res["z_hand"].float()
    steps = shaped_steps_by_hand(sigmas)
    assert steps == [0, 1]  # the first 10 % of a 10-step shift-8 schedule
    m = hand_latent_mask()[None, None].expand_as(z).bool()
    gen = torch.Generator().manual_seed(SEED + 0x5EED)  # RealCam's per-step shaping noise (SeededStepNoise)
    eps = {i: torch.randn(z.shape, generator=gen) for i in steps}
    s0 = sigmas[0]
    state = s0 * res["noise"] + (1 - s0) * res["latent_in"]  # core's flow noise_scaling of the start latent
    assert [r[0] for r in rec] == list(range(STEPS))
    for i, x, den in rec:
        s = float(sigmas[i])
        if i in steps:
            paste = (1 - s) * z + s * eps[i]
            assert torch.allclose(x[m], paste[m], atol=1e-6, rtol=0), i
            assert torch.equal(x[~m], state[~m].to(x)), i
        else:
            assert torch.allclose(x, state.to(x), atol=1e-6, rtol=0), i
        state = x + (x - den) / sigmas[i] * (sigmas[i + 1] - sigmas[i])  # core Euler, by hand
    # core's noise mask keeps the start frame: the model's prediction there is the start latent
    assert all(torch.equal(den[:, :, :1], res["latent_in"][:, :, :1].to(den)) for _, _, den in rec)


def test_unshaped_run_differs_only_inside_the_mask_at_step_0(res):
    assert torch.isfinite(res["on"]).all() and not torch.equal(res["on"], res["off"])
    x0_on, x0_off = res["on_rec"][0][1], res["off_rec"][0][1]
    m = hand_latent_mask()[None, None].expand_as(x0_on).bool()
    assert torch.equal(x0_on[~m], x0_off[~m]) and not torch.equal(x0_on[m], x0_off[m])


def test_ksampler_node_path_agrees(res):
    assert torch.equal(res["ksampler"], res["on"])


def test_wan21_vae_with_the_5b_latent_names_the_mismatch(res):
    err = res["err/wan21_vae"]
    assert "RealCamInputError" in err and "preview_latent: expected a latent with 48 channels" in err, err


if __name__ == "__main__" and sys.argv[1:2] == ["--host"]:
    host(sys.argv[2])
