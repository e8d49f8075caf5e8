"""RealCam loader, image-to-video and sampler nodes in a real (in-process) ComfyUI, tiny checkpoints.

A child process (this file with `--host OUT`) writes tiny random-weight checkpoints in the real key
layout (DynamiCrafter-style base `.ckpt` + camera-only `.safetensors`) into a models/realcam folder,
runs the node classes' `execute` with ComfyUI booted in-process, and records results and the error
messages of bad inputs; the pytest side checks them. Most sampler checks use small stand-ins for
CLIP vision and VAE (`encode_image`, `encode`); the loader's own CLIP / CLIP_VISION / VAE outputs are
checked on a tiny base that holds them in the real layout (`tiny_base_parts`), and the real key lists
(`tests/fixtures/realcam_keys_*.json`) are checked against core modules built on the meta device.
"""

from __future__ import annotations

import os
import pickle
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


def host(out_path: str) -> None:
    from inprocess_comfy import boot_with_model_folder, error_of, import_pack_module
    from stand_ins import FakeClipVision, FakeVAE

    tmp = boot_with_model_folder()
    import comfy.sample
    import comfy.samplers
    from comfy_extras.nodes_model_advanced import RescaleCFG
    from comfy_extras.nodes_torch_compile import TorchCompileModel

    tiny = import_pack_module("realcam_core.testing.tiny_realcam")
    types_ = import_pack_module("realcam_core.trajectory.types")
    mn = import_pack_module("nodes.model_nodes")
    iv = import_pack_module("nodes.i2v_nodes")
    ck = import_pack_module("realcam_comfy.checkpoints")
    rm = import_pack_module("realcam_comfy.sampling")
    rc = import_pack_module("realcam_comfy.conditioning")
    sm = import_pack_module("nodes.sampler_nodes")
    shaping = import_pack_module("realcam_comfy.shaping")
    core_shaping = import_pack_module("realcam_core.shaping")

    folder = tmp / "realcam"
    spec = tiny.TinySpec(variant="512", frames=FRAMES, image_size=(SIZE, SIZE))
    tiny.write_tiny_realcam(folder, spec)
    tiny.write_tiny_realcam(folder, tiny.TinySpec(variant="256", frames=FRAMES, image_size=(SIZE, SIZE)))
    full = tiny.tiny_state_dict(spec)
    tiny.save(full, folder / "512_merged_tiny.safetensors")
    sd15 = {"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(32, 4, 3, 3),
            "model.diffusion_model.out.2.weight": torch.zeros(4, 32, 3, 3)}
    tiny.save(sd15, folder / "sd15_like.safetensors")
    data = (folder / "512_realcam-i2v_tiny.safetensors").read_bytes()
    (folder / "truncated.safetensors").write_bytes(data[: len(data) // 2])

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp / "pwned"),))

    with open(folder / "evil.ckpt", "wb") as f:
        pickle.dump({"state_dict": Evil()}, f)

    res: dict = {"files": ck.list_checkpoints()}

    def load(base, cam="none"):
        return mn.RealCamCheckpointLoader.execute(base, cam, "default")

    out = load("512_dynamicrafter_tiny.ckpt", "512_realcam-i2v_tiny.safetensors")
    model, clip, clip_vision, vae = out.result
    res["model_type"] = type(model.model).__name__
    res["parts_absent"] = (clip, clip_vision, vae) == (None, None, None)
    res["parameterization"] = type(model.model.model_sampling).__name__
    merged = load("512_merged_tiny.safetensors").result[0]
    res["merged_equal"] = all(torch.equal(a, b) for a, b in zip(model.model.state_dict().values(),
                                                                   merged.model.state_dict().values(), strict=True))
    res["err/sd15"] = error_of(lambda: load("sd15_like.safetensors", "512_realcam-i2v_tiny.safetensors"))
    res["err/mismatch"] = error_of(lambda: load("256_dynamicrafter_tiny.ckpt", "512_realcam-i2v_tiny.safetensors"))
    res["err/truncated"] = error_of(lambda: load("512_dynamicrafter_tiny.ckpt", "truncated.safetensors"))
    res["err/evil"] = error_of(lambda: load("evil.ckpt", "512_realcam-i2v_tiny.safetensors"))
    res["pwned"] = (tmp / "pwned").exists()
    res["err/camera_as_base"] = error_of(lambda: load("512_realcam-i2v_tiny.safetensors"))
    res["err/no_camera"] = error_of(lambda: load("512_dynamicrafter_tiny.ckpt"))

    # -- conditioning
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 48, 80, 3, generator=g)
    c2w = torch.eye(4).repeat(FRAMES, 1, 1)
    c2w[:, 0, 3] = torch.linspace(0, 0.3, FRAMES)
    K = torch.tensor([[0.5 * 80 / 80, 0, 0.5], [0, 0.5 * 80 / 48, 0.5], [0, 0, 1]]).repeat(FRAMES, 1, 1)
    traj = types_.Trajectory(c2w=c2w, K_norm=K)
    text = torch.randn(1, 77, 32, generator=g)
    pos0, neg0 = [[text, {}]], [[text * 0.1, {}]]
    vae_f, cv_f = FakeVAE(), FakeClipVision()

    def i2v(traj=traj, w=SIZE, h=SIZE, length=FRAMES):
        return iv.RealCamImageToVideo.execute(pos0, neg0, vae_f, cv_f, image, traj, w, h, length, 2, 1).result

    pos, neg, latent = i2v()
    res["latent_shape"] = tuple(latent["samples"].shape)
    res["cam_K"] = pos[0][1][rc.KEY_CAMERA].K[0, 0]
    res["err/frames"] = error_of(lambda: i2v(length=FRAMES + 1))
    res["err/no_vae"] = error_of(lambda: iv.RealCamImageToVideo.execute(pos0, neg0, None, cv_f, image, traj, SIZE,
                                                                       SIZE, FRAMES, 2, 1))

    def sample(m=model, p=pos, n=neg, lat=latent, steps=4, **kw):
        args = dict(seed=3, steps=steps, cfg=7.5, sampler_name="realcam_ddim", scheduler="realcam_trailing", eta=1.0,
                    guidance_rescale=0.7, noise_shaping=False)
        args.update(kw)
        return sm.RealCamSampler.execute(m, p, n, lat, **args).result[0]["samples"]

    res["default"] = sample()
    res["default_again"] = sample()
    mask = torch.zeros(FRAMES, SIZE, SIZE)
    mask[:, :, : SIZE // 2] = 1
    preview = torch.rand(FRAMES, SIZE, SIZE, 3, generator=g)
    shaping_kw = dict(noise_shaping=True, preview_frames=preview, shaping_mask=mask, vae=vae_f, window_start=1000.0,
                      window_end=700.0)
    res["shaped"] = sample(**shaping_kw)
    res["shaping_disabled"] = sample(**{**shaping_kw, "noise_shaping": False})
    res["err/mask_size"] = error_of(lambda: sample(**{**shaping_kw, "shaping_mask": torch.ones(FRAMES, 40, 64)}))
    big_pos, big_neg, big_latent = i2v(w=128, h=64)
    res["err/resolution"] = error_of(lambda: sample(p=big_pos, n=big_neg, lat=big_latent))
    res["core_sampler"] = sample(sampler_name="dpmpp_2m", scheduler="karras")

    # The first step's state: shaping replaces it only inside the mask.
    first: dict = {}
    m = model.clone()
    spec_s = core_shaping.ShapingSpec(preview=vae_f.encode(preview), mask=mask,
                                 window=core_shaping.ShapingWindow(1000.0, 700.0, "timestep"))
    for name, mm_ in (("on", shaping.apply_noise_shaping(m, spec_s)), ("off", m)):
        x = latent["samples"]
        noise = comfy.sample.prepare_noise(x, 3)
        sig = rm.upstream_schedule(model.model.model_sampling, 4)

        def cb(step, x0, xs, total, name=name):
            first.setdefault(name, xs.clone())

        comfy.sample.sample_custom(mm_, noise, 7.5, comfy.samplers.KSAMPLER(rm.sample_realcam_ddim), sig, pos, neg,
                                   x, callback=cb, disable_pbar=True, seed=3)
    res["first_on"], res["first_off"] = first["on"], first["off"]
    res["latent_mask"] = core_shaping.latent_mask(mask, FRAMES, (SIZE // 8, SIZE // 8))

    # core interop: KSampler path, RescaleCFG, TorchCompileModel
    res["ksampler"] = comfy.sample.sample(model, comfy.sample.prepare_noise(latent["samples"], 1), 3, 5.0, "euler",
                                          "simple", pos, neg, latent["samples"], seed=1, disable_pbar=True)
    rescaled = RescaleCFG().patch(model, 0.7)[0]
    res["rescalecfg"] = comfy.sample.sample(rescaled, comfy.sample.prepare_noise(latent["samples"], 1), 3, 5.0,
                                            "euler", "simple", pos, neg, latent["samples"], seed=1, disable_pbar=True)
    compiled = TorchCompileModel.execute(model, "inductor").result[0]
    from comfy.patcher_extension import WrappersMP
    from comfy_api.torch_helpers.torch_compile import COMPILE_KEY

    res["compile_wrapped"] = (bool(compiled.get_wrappers(WrappersMP.APPLY_MODEL, COMPILE_KEY))
                              and not model.get_wrappers(WrappersMP.APPLY_MODEL, COMPILE_KEY))
    # KSampler with the registered realcam_ddim / realcam_trailing is RealCam Sampler's path (issue 9)
    import nodes as comfy_nodes

    res["registered"] = ("realcam_ddim" in comfy.samplers.KSampler.SAMPLERS,
                         "realcam_trailing" in comfy.samplers.KSampler.SCHEDULERS)
    for sched in ("realcam_trailing", "karras"):
        res[f"ks/{sched}"] = comfy_nodes.KSampler().sample(model, 3, 4, 7.5, "realcam_ddim", sched, pos, neg,
                                                           latent)[0]["samples"]
        res[f"rs/{sched}"] = sample(scheduler=sched, guidance_rescale=0.0)
    res["ks/euler"] = comfy_nodes.KSampler().sample(model, 3, 4, 7.5, "euler", "realcam_trailing", pos, neg,
                                                    latent)[0]["samples"]
    sig = rm.upstream_schedule(model.model.model_sampling, 4)
    res["last_sigma"] = float(sig[-1])
    # the run RealCam Sampler inlined before it delegated: its own KSAMPLER with eta, sample_custom, VP rescale
    m = model.clone()
    m.set_model_sampler_cfg_function(rm.guidance_rescale_cfg(0.7, FRAMES))
    x = latent["samples"]
    inline = comfy.sample.sample_custom(m, comfy.sample.prepare_noise(x, 3), 7.5,
                                        comfy.samplers.KSAMPLER(rm.sample_realcam_ddim, extra_options={"eta": 0.3}),
                                        sig, pos, neg, x, disable_pbar=True, seed=3)
    res["inline_eta"] = rm.vp_latent(inline, float(sig[-1]))
    res["rs_eta"] = sample(eta=0.3)
    res["err/percent_window"] = error_of(lambda: sample(**{**shaping_kw, "window_units": "sigma_percent"}))
    base_parts_checks(res, folder, tiny, mn, iv, import_pack_module)
    torch.save(res, out_path)


def base_parts_checks(res: dict, folder: Path, tiny, mn, iv, import_pack_module) -> None:
    """Loader CLIP / CLIP_VISION / VAE: tiny parts through the node, full-size layouts on the meta device."""
    import json

    import comfy.clip_model
    import comfy.ldm.models.autoencoder as ae
    import comfy.ops
    import comfy.text_encoders.sd2_clip as sd2

    bp = import_pack_module("realcam_comfy.base_parts")
    sm = import_pack_module("nodes.sampler_nodes")
    spec = tiny.TinySpec(variant="512", frames=FRAMES, image_size=(SIZE, SIZE))
    tiny.write_tiny_realcam(folder, spec, base_name="512_parts_tiny.safetensors",
                            camera_name="512_realcam-i2v_parts_tiny.safetensors", parts=True)
    model, clip, clip_vision, vae = mn.RealCamCheckpointLoader.execute(
        "512_parts_tiny.safetensors", "512_realcam-i2v_parts_tiny.safetensors", "default").result
    res["parts_types"] = [type(x).__name__ for x in (clip, clip_vision, vae)]
    tokens = clip.tokenize("a red house by the sea")
    res["text_ids"] = [t[0] for t in tokens["h"][0][:8]]
    res["text"] = clip.encode_from_tokens(tokens)
    res["text_other"] = clip.encode_from_tokens(clip.tokenize("a blue car in the snow"))
    g = torch.Generator().manual_seed(5)
    res["image_tokens"] = clip_vision.encode_image(torch.rand(2, 224, 224, 3, generator=g), crop=False)[
        "last_hidden_state"].detach()
    frames = torch.rand(FRAMES, SIZE, SIZE, 3, generator=g)
    with torch.no_grad():
        z = vae.encode(frames)
        res["vae_latent"], res["vae_decoded"] = z, vae.decode(z)
    with torch.no_grad():
        i2v = iv.RealCamImageToVideo.execute([[res["text"], {}]], [[res["text_other"], {}]], vae, clip_vision,
                                             frames[:1], _traj(import_pack_module), SIZE, SIZE, FRAMES, 2, 1).result
    res["parts_sample"] = sm.RealCamSampler.execute(model, i2v[0], i2v[1], i2v[2], seed=1, steps=2, cfg=7.5,
                                                    sampler_name="realcam_ddim", scheduler="realcam_trailing", eta=1.0,
                                                    guidance_rescale=0.7, noise_shaping=False).result[0]["samples"]

    # The real key lists (every key and shape of the released checkpoints) against core modules built on the
    # meta device from the configuration the loader infers: same keys, same shapes, core's own configuration.
    def diff(conv: dict, module: torch.nn.Module) -> list:
        a = {k: tuple(v.shape) for k, v in conv.items()}
        b = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        return sorted(set(a) ^ set(b)) + [k for k in a if k in b and a[k] != b[k]]

    for variant in ("256", "512"):
        groups = json.loads((REPO / "tests" / "fixtures" / f"realcam_keys_{variant}.json").read_text())["groups"]
        sd = {k: torch.empty(v, device="meta") for g in ("first_stage_model.", "cond_stage_model.", "embedder.")
              for k, v in groups[g].items()}
        overrides, conv = bp.text_encoder_parts(sd)
        with torch.device("meta"):
            text_model = sd2.SD2ClipModel(device="meta", dtype=torch.float32,
                                          model_options={"clip_h_model_config": overrides})
        cfg, vconv = bp.vision_encoder_parts(sd)
        with torch.device("meta"):
            vision_model = comfy.clip_model.CLIPVisionModelProjection(cfg, torch.float32, "meta",
                                                                      comfy.ops.manual_cast)
        vpart = {k[len(bp.VAE_PREFIX):]: v for k, v in sd.items() if k.startswith(bp.VAE_PREFIX)}
        ddconfig, embed = bp.vae_config(vpart)
        with torch.device("meta"):
            vae_model = ae.AutoencoderKL(ddconfig=ddconfig, embed_dim=embed)
        res[f"meta/{variant}"] = {
            "text_overrides": overrides, "text_diff": diff(conv, text_model), "vision_core": bp.is_core_vision(cfg),
            "vision_diff": diff(vconv, vision_model), "vae_core": ddconfig == bp.CORE_VAE_DDCONFIG and embed == 4,
            "vae_diff": diff(vpart, vae_model), "n": (len(conv), len(vconv), len(vpart))}


def _traj(import_pack_module):
    types_ = import_pack_module("realcam_core.trajectory.types")
    c2w = torch.eye(4).repeat(FRAMES, 1, 1)
    c2w[:, 0, 3] = torch.linspace(0, 0.2, FRAMES)
    K = torch.tensor([[0.5, 0, 0.5], [0, 0.5, 0.5], [0, 0, 1]]).repeat(FRAMES, 1, 1)
    return types_.Trajectory(c2w=c2w, K_norm=K)


# ===================================== the tests (pytest) ===================================
@pytest.fixture(scope="module")
def res(tmp_path_factory) -> dict:
    from comfy_host import comfy_path, host_python

    out = tmp_path_factory.mktemp("model_nodes") / "results.pt"
    env = dict(os.environ, COMFY=str(comfy_path()), PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.run([host_python(), str(HERE), "--host", str(out)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"ComfyUI child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return torch.load(out, weights_only=False)


def test_loader_lists_and_loads_base_plus_camera(res):
    assert "512_dynamicrafter_tiny.ckpt" in res["files"] and "512_realcam-i2v_tiny.safetensors" in res["files"]
    assert res["model_type"] == "RealCamModel"
    assert res["parameterization"] == "RealCamSamplingV"  # 512: v-prediction (+ zero-SNR, rescale)
    assert res["parts_absent"]  # the tiny base holds no CLIP / VAE parts
    assert res["merged_equal"]  # base + camera == the same weights as one merged file


@pytest.mark.parametrize("key,words", [
    ("err/sd15", ["base_checkpoint", "image model", "4 input channels"]),
    ("err/mismatch", ["camera_checkpoint", "256", "512"]),
    ("err/truncated", ["camera_checkpoint", "truncated"]),
    ("err/evil", ["base_checkpoint", "weights_only"]),
    ("err/camera_as_base", ["base_checkpoint", "camera-only"]),
    ("err/no_camera", ["camera_checkpoint", "camera file"]),
    ("err/frames", ["trajectory", f"{FRAMES + 1} frames"]),
    ("err/no_vae", ["vae", "core loaders"]),
    ("err/resolution", ["width/height", f"{SIZE}x{SIZE}"]),
    ("err/mask_size", ["shaping_mask", "aspect ratio"]),
    ("err/percent_window", ["window_start", "sigma percent in 0..1", "window_units", "percent 0 on a DDPM"]),
])
def test_bad_input_is_a_clear_error(res, key, words):
    msg = res[key]
    assert msg.startswith("RealCamInputError"), msg
    for w in words:
        assert w in msg, msg


def test_pickle_code_never_ran(res):
    assert not res["pwned"]


def test_image_to_video_outputs(res):
    assert res["latent_shape"] == (FRAMES, 4, SIZE // 8, SIZE // 8)  # frames as batch
    K = res["cam_K"]  # 80x48 image -> resized 106x64 -> crop 64x64: fx = 0.5 * 106, centre of the crop
    assert abs(float(K[0, 0]) - 53.0) < 1e-4 and abs(float(K[1, 1]) - 53.33333) < 1e-3
    assert float(K[0, 2]) == SIZE / 2 and float(K[1, 2]) == SIZE / 2


def test_sampler_is_seeded_and_finite(res):
    assert torch.isfinite(res["default"]).all()
    assert torch.equal(res["default"], res["default_again"])
    assert torch.equal(res["shaping_disabled"], res["default"])
    assert not torch.equal(res["shaped"], res["default"])
    assert torch.isfinite(res["core_sampler"]).all() and not torch.equal(res["core_sampler"], res["default"])


def test_shaping_changes_the_first_state_only_inside_the_mask(res):
    on, off, m = res["first_on"], res["first_off"], res["latent_mask"]
    inside = m[:, None].expand_as(on).bool()
    assert 0 < inside.float().mean() < 1
    assert torch.equal(on[~inside], off[~inside])
    assert (on[inside] - off[inside]).abs().min() > 0


def test_core_ksampler_rescalecfg_and_torch_compile_accept_the_model(res):
    assert torch.isfinite(res["ksampler"]).all() and torch.isfinite(res["rescalecfg"]).all()
    assert not torch.equal(res["ksampler"], res["rescalecfg"])
    assert res["compile_wrapped"]


def test_ksampler_with_realcam_ddim_and_trailing_is_the_realcam_sampler(res):
    assert res["registered"] == (True, True)
    # a schedule ending at sigma 0: the same latent; realcam_trailing ends at alpha_bar(0) > 0, where RealCam
    # Sampler returns upstream's VP latent x / sqrt(1 + sigma^2)
    assert torch.equal(res["ks/karras"], res["rs/karras"])
    assert torch.equal(res["ks/realcam_trailing"] / (1.0 + res["last_sigma"] ** 2) ** 0.5, res["rs/realcam_trailing"])
    assert res["last_sigma"] > 0 and not torch.equal(res["ks/realcam_trailing"], res["rs/realcam_trailing"])
    assert not torch.equal(res["ks/euler"], res["ks/realcam_trailing"])  # the name picked the sampler
    # eta reaches realcam_ddim through the model options; the result is the former inline run's
    assert torch.equal(res["rs_eta"], res["inline_eta"])
    assert not torch.equal(res["rs_eta"], res["default"])


@pytest.mark.parametrize("variant", ["256", "512"])
def test_tiny_part_writer_at_full_size_is_the_real_layout(variant):
    """The writer of tiny VAE / text / image-encoder parts reproduces every real key and shape at full size."""
    import json

    from realcam_core.testing.tiny_base_parts import part_shapes

    groups = json.loads((REPO / "tests" / "fixtures" / f"realcam_keys_{variant}.json").read_text())["groups"]
    real = {k: tuple(v) for g in ("first_stage_model.", "cond_stage_model.", "embedder.") for k, v in groups[g].items()}
    assert len(real) == 940
    assert part_shapes() == real


def test_loader_builds_core_clip_clip_vision_and_vae_from_tiny_parts(res):
    assert res["parts_types"] == ["CLIP", "ClipVisionModel", "VAE"]
    assert res["text_ids"][:2] == [49406, 320]  # core SD2 tokenizer: start token, "a"
    assert res["text"].shape == (1, 77, 32) and torch.isfinite(res["text"]).all()
    assert not torch.allclose(res["text"], res["text_other"])
    tok = res["image_tokens"]
    assert tok.shape == (2, 257, 32) and torch.isfinite(tok).all() and not torch.allclose(tok[0], tok[1])
    assert res["vae_latent"].shape == (FRAMES, 4, SIZE // 8, SIZE // 8)
    assert res["vae_decoded"].shape == (FRAMES, SIZE, SIZE, 3)
    assert 0 <= float(res["vae_decoded"].min()) and float(res["vae_decoded"].max()) <= 1
    assert res["parts_sample"].shape == (FRAMES, 4, SIZE // 8, SIZE // 8) and torch.isfinite(res["parts_sample"]).all()


@pytest.mark.parametrize("variant", ["256", "512"])
def test_real_key_layout_builds_core_modules_with_core_configs(res, variant):
    m = res[f"meta/{variant}"]
    assert all(n > 200 for n in m["n"])  # the comparison below is over the real key lists, not empty sets
    assert m["text_overrides"] == {}  # the inferred text config is core's SD2 CLIP-H config
    assert m["vision_core"] and m["vae_core"]  # ... and core's ViT-H/14 and SD KL-f8 configs
    assert m["text_diff"] == [] and m["vision_diff"] == [] and m["vae_diff"] == []


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--host":
    host(sys.argv[2])
