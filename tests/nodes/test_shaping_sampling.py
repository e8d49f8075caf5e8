"""Noise shaping inside real ComfyUI sampling (KSampler and SamplerCustomAdvanced paths).

ComfyUI runs in-process in a child process (this file with `--host OUT`), so the pytest process
never imports it: the child builds tiny random models as real `comfy.model_base.BaseModel`s (EPS and
FLOW sampling, video and frames-as-batch latents, and an exact Gaussian denoiser whose ODE has a
closed form), samples with and without the shaping patch and with hand-written reference loops, and
saves every tensor; the tests below compare them.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "tests"))
from inprocess_comfy import boot_comfy, import_pack_module  # noqa: E402

SEED = 1234
STEPS = 10
END_T = 700.0  # with 10 `simple` steps: t = 999, 899, 799 are shaped, 7 steps are not
FLOW_END_T = 750.0  # flow timesteps are sigma * 1000: 1000, 900, 800 are shaped
CFG = 2.0


# ===================================== the child: ComfyUI ====================================
class TinyUnet(torch.nn.Module):
    """A random Conv3d denoiser; kernel 1 mixes channels only, so shaping cannot leak across pixels."""

    dtype = torch.float32  # BaseModel.get_dtype() reads it

    def __init__(self, channels: int, kernel: int, seed: int):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.conv = torch.nn.Conv3d(channels, channels, kernel, padding=kernel // 2)
        with torch.no_grad():
            for p in self.conv.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)

    def forward(self, x, timesteps, context=None, **kwargs):
        frames_as_batch = x.ndim == 4
        h = x[:, :, None] if frames_as_batch else x
        shape = (-1,) + (1,) * (h.ndim - 1)
        t = timesteps.float().reshape(shape) / 1000.0
        c = context.float().mean(dim=(1, 2)).reshape(shape)
        out = torch.tanh(self.conv(h)) * (1 + t) + 0.2 * c
        return out[:, :, 0] if frames_as_batch else out


class GaussDenoiser(torch.nn.Module):
    """The exact denoiser for data ~ N(mu, s^2) per element (EPS output), so the ODE has a closed form:
    x(sigma) - mu = (x(sigma0) - mu) * sqrt(s^2 + sigma^2) / sqrt(s^2 + sigma0^2)."""

    dtype = torch.float32

    def __init__(self, mu: torch.Tensor, s: float = 0.5):
        super().__init__()
        self.mu, self.s = mu, s

    def forward(self, xc, timesteps, context=None, transformer_options=None, **kwargs):
        sigma = transformer_options["sigmas"].reshape((-1,) + (1,) * (xc.ndim - 1))
        x = xc * (sigma**2 + 1) ** 0.5  # EPS input scaling undone: back to sampler space
        x0 = self.mu + self.s**2 / (self.s**2 + sigma**2) * (x - self.mu)
        return (x - x0) / sigma


def tiny_model(kind: str, kernel: int):
    import comfy.latent_formats as lf
    import comfy.model_base as mb
    import comfy.model_management as mm
    import comfy.model_patcher as mp
    import comfy.supported_models_base as smb

    fmt, mtype, channels = {"eps": (lf.SD15, mb.ModelType.EPS, 4), "flow": (lf.Wan21, mb.ModelType.FLOW, 16)}[kind]

    class Config(smb.BASE):
        unet_config: dict = {}
        unet_extra_config: dict = {}
        latent_format = fmt

    model = mb.BaseModel(Config({"disable_unet_model_creation": True}), model_type=mtype, device=torch.device("cpu"))
    model.diffusion_model = TinyUnet(channels, kernel, seed=kernel + channels)
    return mp.ModelPatcher(model, load_device=mm.get_torch_device(), offload_device=mm.unet_offload_device())


def conds(dim: int = 8):
    g = torch.Generator().manual_seed(5)
    return [[torch.randn(1, 7, dim, generator=g), {}]], [[torch.randn(1, 7, dim, generator=g), {}]]


def host(out_path: str) -> None:
    import tempfile

    boot_comfy(Path(os.environ["COMFY"]), Path(tempfile.mkdtemp()))
    import comfy.k_diffusion.sampling as kds
    import comfy.model_sampling
    import comfy.sample
    import comfy.samplers
    from comfy_extras import nodes_custom_sampler as ncs

    import nodes as comfy_nodes

    core = import_pack_module("realcam_core.shaping")
    shaping = import_pack_module("realcam_comfy.shaping")
    shaping_node = import_pack_module("nodes.shaping_nodes")
    errors = import_pack_module("realcam_core.errors")
    res: dict = {}
    pos, neg = conds()
    warned: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warned.append(record.getMessage())

    logging.getLogger("RealCam").addHandler(Collect())

    # -- scene inputs: 5 latent frames of 8x8, a pixel mask at 8x (64x64) with 17 frames (4x time)
    g = torch.Generator().manual_seed(11)
    preview_eps = torch.randn(1, 4, 5, 8, 8, generator=g)
    start_eps = torch.randn(1, 4, 1, 8, 8, generator=g)
    pixel_mask = torch.zeros(17, 64, 64)
    pixel_mask[:, 8:48, 16:64] = 1
    pixel_mask[6, 8:32, 16:40] = 0  # a hole in pixel frame 6 only: latent frame 2 (frames 5..8)
    res["pixel_mask"] = pixel_mask
    noise_list = [torch.randn(1, 4, 5, 8, 8, generator=g) for _ in range(STEPS)]
    res["noise_list"] = torch.stack(noise_list)
    empty = {"samples": torch.zeros(1, 4, 5, 8, 8)}

    def spec(preview=preview_eps, mask=pixel_mask, mode="xt_paste", window=None, start=start_eps, noise=None):
        return core.ShapingSpec(preview=preview, mask=mask, window=window or core.ShapingWindow(1000, END_T),
                                   mode=mode, start_latent=start, noise_factory=noise)

    def recorded(noises):
        return lambda seed: core.RecordedNoise(noises)

    def ksample(model, sampler, latent=empty, cfg=CFG, seed=SEED):
        return comfy_nodes.common_ksampler(model, seed, STEPS, cfg, sampler, "simple", pos, neg, latent)[0]["samples"]

    def reference(model, ref_fn, latent=empty):
        sigmas = comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), "simple", STEPS)
        noise = comfy.sample.prepare_noise(latent["samples"], SEED)
        return comfy.sample.sample_custom(model, noise, CFG, comfy.samplers.KSAMPLER(ref_fn), sigmas, pos, neg,
                                          latent["samples"], seed=SEED)

    # ---- A: the masked region only (pointwise model), KSampler path --------------------------
    point = tiny_model("eps", kernel=1)
    zero_mask = torch.zeros_like(pixel_mask)
    for name in ("euler", "euler_ancestral", "dpmpp_sde", "ddim"):
        res[f"A/{name}/off"] = ksample(point, name)
        res[f"A/{name}/on"] = ksample(shaping.apply_noise_shaping(point, spec()), name)
        res[f"A/{name}/zero_mask"] = ksample(shaping.apply_noise_shaping(point, spec(mask=zero_mask)), name)
        res[f"A/{name}/empty_window"] = ksample(
            shaping.apply_noise_shaping(point, spec(window=core.ShapingWindow(1000, 999.5))), name)
        res[f"A/{name}/late_window"] = ksample(
            shaping.apply_noise_shaping(point, spec(window=core.ShapingWindow(150, 0))), name)
    res["A/latent_mask"] = core.latent_mask(pixel_mask, 5, (8, 8))
    res["A/warnings"] = "\n".join(warned)

    # ---- B: equal to hand-written loops (3x3x3 model mixes pixels and frames) ----------------
    conv = tiny_model("eps", kernel=3)
    m = core.latent_mask(pixel_mask, 5, (8, 8))[None, None]
    z = preview_eps.clone() * 0.18215
    z[:, :, :1] = start_eps * 0.18215  # SD15 latent format: process_in = x 0.18215; frame 0 = the start latent
    shaped = [0, 1, 2]

    def blend(x, i, sigma):
        return m * (z + sigma * noise_list[i]) + (1 - m) * x

    def ref_euler(model, x, sigmas, extra_args=None, callback=None, disable=None):
        s_in = x.new_ones([x.shape[0]])
        for i in range(len(sigmas) - 1):
            if i in shaped:
                x = blend(x, i, sigmas[i])
            d = (x - model(x, sigmas[i] * s_in, **extra_args)) / sigmas[i]
            x = x + d * (sigmas[i + 1] - sigmas[i])
        return x

    def ref_euler_ancestral(model, x, sigmas, extra_args=None, callback=None, disable=None):
        # the sampler's fixed noise, one stream, from ComfyUI's own noise sampler (its seeding rule
        # changed across versions: seed on 0.3.75, seed + 1 on CPU from 0.6 on)
        noise_sampler = kds.default_noise_sampler(x, seed=extra_args["seed"])
        s_in = x.new_ones([x.shape[0]])
        for i in range(len(sigmas) - 1):
            if i in shaped:
                x = blend(x, i, sigmas[i])
            denoised = model(x, sigmas[i] * s_in, **extra_args)
            s, s_next = sigmas[i], sigmas[i + 1]
            if s_next == 0:
                x = denoised
                continue
            s_up = min(s_next, (s_next**2 * (s**2 - s_next**2) / s**2) ** 0.5)
            s_down = (s_next**2 - s_up**2) ** 0.5
            x = x + (x - denoised) / s * (s_down - s)
            x = x + noise_sampler(s, s_next) * s_up
        return x

    def ref_ddim(model, x, sigmas, extra_args=None, callback=None, disable=None):
        """Upstream's DDIM (eta 0) written in VP form: x_vp = sqrt(ab) x, eps from the x0 prediction."""
        s_in = x.new_ones([x.shape[0]])
        ab = 1 / (1 + sigmas.double() ** 2)
        xv = x.double() * ab[0].sqrt()
        for i in range(len(sigmas) - 1):
            if i in shaped:  # upstream q_sample: sqrt(ab) z + sqrt(1 - ab) eps
                xv = m * (ab[i].sqrt() * z + (1 - ab[i]).sqrt() * noise_list[i]) + (1 - m) * xv
            x0 = model((xv / ab[i].sqrt()).float(), sigmas[i] * s_in, **extra_args).double()
            eps = (xv - ab[i].sqrt() * x0) / (1 - ab[i]).sqrt()
            xv = ab[i + 1].sqrt() * x0 + (1 - ab[i + 1]).sqrt() * eps
        return (xv / ab[-1].sqrt()).float()

    def ref_dpmpp_2m(model, x, sigmas, extra_args=None, callback=None, disable=None):
        """DPM-Solver++(2M); its history restarts after every state replacement (each shaped step is a chunk)."""
        s_in = x.new_ones([x.shape[0]])
        old = None
        for i in range(len(sigmas) - 1):
            if i in shaped:
                x = blend(x, i, sigmas[i])
            if i in shaped or i - 1 in shaped:
                old = None
            denoised = model(x, sigmas[i] * s_in, **extra_args)
            t, t_next = -sigmas[i].log(), -sigmas[i + 1].log()
            h = t_next - t
            if old is None or sigmas[i + 1] == 0:
                x = (sigmas[i + 1] / sigmas[i]) * x - (-h).expm1() * denoised
            else:
                r = (t - (-sigmas[i - 1].log())) / h
                x = (sigmas[i + 1] / sigmas[i]) * x - (-h).expm1() * ((1 + 1 / (2 * r)) * denoised - old / (2 * r))
            old = denoised
        return x

    def ref_x0_paste(model, x, sigmas, extra_args=None, callback=None, disable=None):
        s_in = x.new_ones([x.shape[0]])
        for i in range(len(sigmas) - 1):
            denoised = model(x, sigmas[i] * s_in, **extra_args)
            if i in shaped:
                denoised = m * z + (1 - m) * denoised
            x = x + (x - denoised) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
        return x

    refs = {"euler": ref_euler, "euler_ancestral": ref_euler_ancestral, "ddim": ref_ddim, "dpmpp_2m": ref_dpmpp_2m}
    for name, fn in refs.items():
        res[f"B/{name}/on"] = ksample(shaping.apply_noise_shaping(conv, spec(noise=recorded(noise_list))), name)
        res[f"B/{name}/ref"] = reference(conv, fn)
        res[f"B/{name}/off"] = ksample(conv, name)
    res["B/x0_paste/on"] = ksample(shaping.apply_noise_shaping(conv, spec(mode="x0_paste")), "euler")
    res["B/x0_paste/ref"] = reference(conv, ref_x0_paste)

    # ---- C: callback step indices through the chunks ------------------------------------------
    seen: list = []
    patched = shaping.apply_noise_shaping(conv, spec())
    comfy.sample.sample(patched, comfy.sample.prepare_noise(empty["samples"], SEED), STEPS, CFG, "euler_ancestral",
                        "simple", pos, neg, empty["samples"], callback=lambda i, x0, x, total: seen.append((i, total)),
                        seed=SEED)
    res["C/callback"] = torch.tensor(seen)

    # ---- D: SamplerCustomAdvanced (node classes) equals KSampler; window units agree ----------
    ms = conv.get_model_object("model_sampling")
    sigmas = comfy.samplers.calculate_sigmas(ms, "simple", STEPS)
    guider = comfy.samplers.CFGGuider(patched)
    guider.set_conds(pos, neg)
    guider.set_cfg(CFG)
    out = ncs.SamplerCustomAdvanced.execute(ncs.Noise_RandomNoise(SEED), guider,
                                            comfy.samplers.sampler_object("euler_ancestral"), sigmas, empty)
    res["D/advanced"] = out.args[0]["samples"]
    res["D/ksampler"] = ksample(patched, "euler_ancestral")
    pct = core.convert_window(core.ShapingWindow(1000, END_T), "sigma_percent")
    res["D/percent"] = ksample(shaping.apply_noise_shaping(conv, spec(window=pct)), "euler_ancestral")
    res["D/percent_window"] = torch.tensor([pct.start, pct.end])
    res["D/steps_timestep"] = torch.tensor(core.window_steps(sigmas, core.window_predicate(
        core.ShapingWindow(1000, END_T), ms.timestep, ms.percent_to_sigma)))
    res["D/steps_percent"] = torch.tensor(core.window_steps(sigmas, core.window_predicate(
        pct, ms.timestep, ms.percent_to_sigma)))

    # ---- E: a FLOW model (Wan 2.1 latents, 16 channels), 17 pixel frames -> 5 latent frames --
    flow = tiny_model("flow", kernel=1)
    preview_flow = torch.randn(1, 16, 5, 8, 8, generator=g)
    flow_noise = [torch.randn(1, 16, 5, 8, 8, generator=g) for _ in range(STEPS)]
    empty_flow = {"samples": torch.zeros(1, 16, 5, 8, 8)}
    fz = flow.model.process_latent_in(preview_flow.clone())
    fsig = comfy.samplers.calculate_sigmas(flow.get_model_object("model_sampling"), "simple", STEPS)
    fshaped = core.window_steps(fsig, lambda s: s >= FLOW_END_T / 1000 - 1e-6)
    res["E/shaped_steps"] = torch.tensor(fshaped)

    def ref_flow_euler(model, x, sigmas, extra_args=None, callback=None, disable=None):
        s_in = x.new_ones([x.shape[0]])
        for i in range(len(sigmas) - 1):
            if i in fshaped:  # flow q_sample: (1 - sigma) z + sigma eps
                x = m * ((1 - sigmas[i]) * fz + sigmas[i] * flow_noise[i]) + (1 - m) * x
            x = x + (x - model(x, sigmas[i] * s_in, **extra_args)) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
        return x

    fspec = spec(preview=preview_flow, start=None, window=core.ShapingWindow(1000, FLOW_END_T),
                 noise=recorded(flow_noise))
    res["E/on"] = comfy_nodes.common_ksampler(shaping.apply_noise_shaping(flow, fspec), SEED, STEPS, CFG, "euler",
                                              "simple", *conds(), empty_flow)[0]["samples"]
    res["E/off"] = comfy_nodes.common_ksampler(flow, SEED, STEPS, CFG, "euler", "simple", *conds(),
                                               empty_flow)[0]["samples"]
    fpos, fneg = conds()
    res["E/ref"] = comfy.sample.sample_custom(flow, comfy.sample.prepare_noise(empty_flow["samples"], SEED), CFG,
                                              comfy.samplers.KSAMPLER(ref_flow_euler), fsig, fpos, fneg,
                                              empty_flow["samples"], seed=SEED)
    fpct = core.ShapingWindow(0.0, 1 - FLOW_END_T / 1000, "sigma_percent")
    res["E/percent"] = comfy_nodes.common_ksampler(
        shaping.apply_noise_shaping(flow, spec(preview=preview_flow, start=None, window=fpct,
                                               noise=recorded(flow_noise))),
        SEED, STEPS, CFG, "euler", "simple", *conds(), empty_flow)[0]["samples"]

    # ---- F: frames-as-batch latents (SVD-style, 4D state) --------------------------------------
    fb_latent = {"samples": torch.zeros(5, 4, 8, 8)}
    fb_mask = pixel_mask[[0, 4, 8, 12, 16]]  # one pixel frame per latent frame
    fb_preview = preview_eps[0].permute(1, 0, 2, 3).contiguous()  # (T, C, h, w), as an SD VAE encodes frames
    res["F/off"] = ksample(point, "euler_ancestral", latent=fb_latent)
    res["F/on"] = ksample(shaping.apply_noise_shaping(point, spec(preview=fb_preview, mask=fb_mask, start=None)),
                          "euler_ancestral", latent=fb_latent)
    res["F/latent_mask"] = core.latent_mask(fb_mask, 5, (8, 8))

    # ---- G: every core sampler runs chunked (analytic Gaussian denoiser: the exact answer is known)
    gauss = tiny_model("eps", kernel=1)
    mu = torch.randn(1, 4, 5, 8, 8, generator=g) * 2.0
    gauss.model.diffusion_model = GaussDenoiser(mu)
    sig0 = float(comfy.samplers.calculate_sigmas(gauss.get_model_object("model_sampling"), "simple", STEPS)[0])
    x_T = comfy.sample.prepare_noise(empty["samples"], SEED) * (1 + sig0**2) ** 0.5  # KSAMPLER's max_denoise
    res["G/exact"] = (mu + 0.5 / (0.25 + sig0**2) ** 0.5 * (x_T - mu)) / 0.18215  # SD15 process_latent_out
    for name in comfy.samplers.KSampler.SAMPLERS:
        try:
            res[f"G/{name}/on"] = ksample(shaping.apply_noise_shaping(gauss, spec()), name, cfg=1.0)
            res[f"G/{name}/zero"] = ksample(shaping.apply_noise_shaping(gauss, spec(mask=zero_mask)), name, cfg=1.0)
            res[f"G/{name}/off"] = ksample(gauss, name, cfg=1.0)
        except Exception as exc:  # reported, the test fails on it
            res[f"G/{name}/error"] = f"{type(exc).__name__}: {exc}"

    # sa_solver without its stochastic part (tau 0), so its chunked run can be compared with the plain one
    det = comfy.samplers.KSAMPLER(kds.sample_sa_solver, extra_options={"tau_func": lambda sigma: 0.0})
    gsig = comfy.samplers.calculate_sigmas(gauss.get_model_object("model_sampling"), "simple", STEPS)
    for label, mdl in (("zero", shaping.apply_noise_shaping(gauss, spec(mask=zero_mask))), ("off", gauss)):
        res[f"G/sa_solver_tau0/{label}"] = comfy.sample.sample_custom(
            mdl, comfy.sample.prepare_noise(empty["samples"], SEED), 1.0, det, gsig, pos, neg, empty["samples"],
            seed=SEED)

    # ---- H: the node: inputs, errors naming the input ------------------------------------------
    node = shaping_node.RealCamNoiseShaping
    res["H/schema_id"] = node.define_schema().node_id
    node.VALIDATE_CLASS()
    types_ = node.INPUT_TYPES()
    res["H/inputs"] = ",".join(types_["required"]) + "|" + ",".join(types_.get("optional", {}))
    res["H/mode_default"] = types_["required"]["mode"][1]["default"]

    class FakeVAE:  # only the interface the node uses: IMAGE (F, H, W, 3) -> latent (F, 4, H/8, W/8)
        def encode(self, images):
            return torch.nn.functional.avg_pool2d(images.movedim(-1, 1), 8).repeat(1, 2, 1, 1)[:, :4]

    frames = torch.rand(5, 64, 64, 3)
    via_vae = node.execute(conv, pixel_mask[[0, 4, 8, 12, 16]], "xt_paste", "timestep", 1000.0, END_T,
                           preview_frames=frames, vae=FakeVAE(), start_image=frames[:1]).args[0]
    res["H/vae_on"] = ksample(via_vae, "euler")
    res["H/vae_off"] = res["B/euler/off"]

    def error_of(fn) -> str:
        try:
            fn()
        except errors.RealCamInputError as exc:
            return str(exc)
        except Exception as exc:  # the wrong kind of error is a failure too
            return f"NOT A RealCamInputError: {type(exc).__name__}: {exc}"
        return "no error"

    lat = {"samples": preview_eps}
    res["H/err_mask_aspect"] = error_of(lambda: node.execute(conv, torch.ones(17, 64, 40), "xt_paste", "timestep",
                                                             1000.0, 900.0, preview_latent=lat))
    res["H/err_no_preview"] = error_of(lambda: node.execute(conv, pixel_mask, "xt_paste", "timestep", 1000.0, 900.0))
    res["H/err_percent_range"] = error_of(lambda: node.execute(conv, pixel_mask, "xt_paste", "sigma_percent", 1000.0,
                                                               900.0, preview_latent=lat))
    res["H/err_frames_no_vae"] = error_of(lambda: node.execute(conv, pixel_mask, "xt_paste", "timestep", 1000.0,
                                                               900.0, preview_frames=frames))
    wrong = node.execute(conv, torch.ones(5, 48, 48), "xt_paste", "timestep", 1000.0, 900.0,
                         preview_latent={"samples": torch.zeros(1, 4, 5, 6, 6)}).args[0]
    res["H/err_preview_size"] = error_of(lambda: ksample(wrong, "euler"))
    res["H/sampler_names"] = ",".join(comfy.samplers.KSampler.SAMPLERS)
    res["H/brownian_ok"] = all(hasattr(kds, n) for n in shaping._BROWNIAN)
    torch.save(res, out_path)


# ===================================== the tests (pytest) ===================================
@pytest.fixture(scope="module")
def res(tmp_path_factory) -> dict:
    from comfy_host import comfy_path, host_python

    out = tmp_path_factory.mktemp("shaping") / "results.pt"
    env = dict(os.environ, COMFY=str(comfy_path()), PYTHONPATH=str(REPO))
    proc = subprocess.run([host_python(), str(HERE), "--host", str(out)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"ComfyUI child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return torch.load(out, weights_only=False)


def region(mask_thw: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(T, h, w) latent mask -> bool, broadcast to a (B, C, T, h, w) or (T, C, h, w) latent."""
    m = mask_thw[None, None] if like.ndim == 5 else mask_thw[:, None]
    return m.expand_as(like).bool()


@pytest.mark.parametrize("sampler", ["euler", "euler_ancestral", "dpmpp_sde", "ddim"])
def test_shaping_changes_only_the_masked_region(res, sampler):
    on, off = res[f"A/{sampler}/on"], res[f"A/{sampler}/off"]
    inside = region(res["A/latent_mask"], on)
    assert 0 < inside.float().mean() < 1
    assert torch.equal(on[~inside], off[~inside])
    assert (on[inside] - off[inside]).abs().min() > 0  # every shaped latent pixel moved


@pytest.mark.parametrize("sampler", ["euler", "euler_ancestral", "dpmpp_sde", "ddim"])
def test_only_the_window_steps_matter(res, sampler):
    off = res[f"A/{sampler}/off"]
    assert torch.equal(res[f"A/{sampler}/zero_mask"], off)  # chunking alone changes nothing
    assert torch.equal(res[f"A/{sampler}/empty_window"], off)  # no step inside the window: untouched
    assert not torch.equal(res[f"A/{sampler}/late_window"], res[f"A/{sampler}/on"])  # which steps matters


def test_an_empty_window_is_reported(res):
    # 4 samplers x 1 empty window; the schedule's timesteps are named so the user sees the mismatch
    assert res["A/warnings"].count("no step of this schedule is inside the window 1000..999.5 (timestep)") == 4
    assert "its timesteps run 999..99" in res["A/warnings"]


def test_latent_frame_2_follows_the_hole_in_pixel_frame_6(res):
    m = res["A/latent_mask"]
    assert m.shape == (5, 8, 8)
    assert m[2, 1:4, 2:5].sum() == 0 and m[1, 1:4, 2:5].all() and m[3, 1:4, 2:5].all()


@pytest.mark.parametrize("sampler", ["euler", "euler_ancestral", "ddim", "dpmpp_2m"])
def test_xt_paste_equals_hand_written_loop(res, sampler):
    on, ref, off = res[f"B/{sampler}/on"], res[f"B/{sampler}/ref"], res[f"B/{sampler}/off"]
    scale = ref.abs().max()
    torch.testing.assert_close(on, ref, rtol=0, atol=2e-5 * float(scale))
    assert (on - off).abs().max() > 100 * 2e-5 * scale  # the comparison can tell shaping from no shaping


def test_x0_paste_equals_hand_written_loop(res):
    on, ref = res["B/x0_paste/on"], res["B/x0_paste/ref"]
    torch.testing.assert_close(on, ref, rtol=0, atol=2e-5 * float(ref.abs().max()))
    assert not torch.allclose(on, res["B/euler/off"])
    assert not torch.allclose(on, res["B/euler/on"])  # x0 and xt paste are different things


def test_callback_step_indices_survive_chunking(res):
    cb = res["C/callback"]
    assert cb[:, 0].tolist() == list(range(STEPS)) and set(cb[:, 1].tolist()) == {STEPS}


def test_sampler_custom_advanced_path_matches_ksampler(res):
    assert torch.equal(res["D/advanced"], res["D/ksampler"])
    assert not torch.equal(res["D/ksampler"], res["B/euler_ancestral/off"])


def test_window_units_agree(res):
    assert res["D/steps_timestep"].tolist() == [0, 1, 2] == res["D/steps_percent"].tolist()
    assert res["D/percent_window"][1] == pytest.approx(1 - END_T / 999)
    assert torch.equal(res["D/percent"], res["D/ksampler"])
    torch.testing.assert_close(res["E/percent"], res["E/on"], rtol=0, atol=0)


def test_flow_model_equals_reference_and_stays_in_mask(res):
    assert res["E/shaped_steps"].tolist() == [0, 1, 2]
    on, ref, off = res["E/on"], res["E/ref"], res["E/off"]
    torch.testing.assert_close(on, ref, rtol=0, atol=2e-5 * float(ref.abs().max()))
    inside = region(res["A/latent_mask"], on)
    assert torch.equal(on[~inside], off[~inside]) and (on[inside] - off[inside]).abs().min() > 0


def test_frames_as_batch_latents(res):
    on, off = res["F/on"], res["F/off"]
    assert on.shape == (5, 4, 8, 8)
    inside = region(res["F/latent_mask"], on)
    assert 0 < inside.float().mean() < 1
    assert torch.equal(on[~inside], off[~inside]) and (on[inside] - off[inside]).abs().min() > 0


SINGLE_STEP = ["euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "dpm_2",
               "dpm_2_ancestral", "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu",
               "ddpm", "lcm", "ddim", "seeds_2", "seeds_3"]
DETERMINISTIC_WITH_HISTORY = ["heunpp2", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2m", "dpmpp_2m_cfg_pp", "ipndm",
                              "ipndm_v", "deis", "res_multistep", "res_multistep_cfg_pp", "gradient_estimation",
                              "gradient_estimation_cfg_pp", "uni_pc", "uni_pc_bh2", "sa_solver_tau0"]


def test_every_core_sampler_runs_with_shaping(res):
    names = res["H/sampler_names"].split(",")
    assert len(names) > 30 and res["H/brownian_ok"]
    failed = {n: res[f"G/{n}/error"] for n in names if f"G/{n}/error" in res}
    assert not failed
    for n in names:
        on, off = res[f"G/{n}/on"], res[f"G/{n}/off"]
        assert torch.isfinite(on).all(), n
        assert not torch.equal(on, off), n


@pytest.mark.parametrize("sampler", SINGLE_STEP)
def test_chunking_is_exact_for_samplers_without_history(res, sampler):
    assert torch.equal(res[f"G/{sampler}/zero"], res[f"G/{sampler}/off"])


@pytest.mark.parametrize("sampler", DETERMINISTIC_WITH_HISTORY)
def test_chunking_barely_moves_samplers_with_history(res, sampler):
    """Their history restarts at each shaped step: a change well below the sampler's own error.

    A chunk that does not advance the state (uni_pc's one-step call, sa_solver's cut-off run) moves the
    result by about its whole error; measured here: <= 0.40 x error for all of these (dpm_fast, whose
    step orders depend on the chunk length), 0.01-0.07 x for the multistep solvers."""
    zero, off, exact = res[f"G/{sampler}/zero"], res[f"G/{sampler}/off"], res["G/exact"]
    err = (off - exact).abs().max()
    assert (zero - off).abs().max() <= 0.5 * err


def test_node_encodes_preview_frames_with_the_vae(res):
    assert res["H/schema_id"] == "RealCamNoiseShaping"
    assert res["H/inputs"] == ("model,shaping_mask,mode,window_units,window_start,window_end|"
                               "preview_latent,preview_frames,vae,start_image")
    assert res["H/mode_default"] == "xt_paste"
    assert not torch.equal(res["H/vae_on"], res["H/vae_off"])


@pytest.mark.parametrize("key,pattern", [
    ("H/err_mask_aspect", r"^shaping_mask: expected a mask with the latent's aspect ratio.*got 64x40"),
    ("H/err_no_preview", r"^preview_latent: expected either preview_latent or preview_frames.*neither"),
    ("H/err_percent_range", r"^window_start: expected a sigma percent in 0\.\.1"),
    ("H/err_frames_no_vae", r"^vae: expected a VAE to encode preview_frames"),
    ("H/err_preview_size", r"^preview_latent: expected a latent with 4 channels, 5 frame\(s\) and 8x8"),
])
def test_bad_input_is_a_clear_error_naming_the_input(res, key, pattern):
    import re

    assert re.search(pattern, res[key]), res[key]


if __name__ == "__main__" and "--host" in sys.argv:
    torch.set_num_threads(1)
    with torch.no_grad():
        host(sys.argv[sys.argv.index("--host") + 1])
