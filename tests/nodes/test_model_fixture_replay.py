"""The upstream fixture through ComfyUI's own sampling code (our MODEL, our hooks, a KSAMPLER).

A child process (this file with `--host OUT`) boots ComfyUI in-process on the CPU, builds the
fixture's tiny model as a real `RealCamModel` inside a ModelPatcher, and samples with
`CFGGuider.sample` + `KSAMPLER(sample_realcam_ddim)`: the fixture's x_T as initial noise, a noise
sampler replaying `rng.ddim_*step_noise`, noise shaping through the RealCam Noise Shaping patch
(SAMPLER_SAMPLE wrapper) replaying `rng.ns_q_sample_noise`. The pytest side compares the finals
with `out.ddim_final` / `out.ddim_ns_final` at the fixture's bound (5e-5 of max|ref|).
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
FIXTURE = REPO / "tests" / "fixtures" / "tiny_realcam"
sys.path.insert(0, str(REPO / "tests"))
from inprocess_comfy import boot_comfy, import_pack_module, tiny_fixture_model  # noqa: E402


def fab(x: torch.Tensor) -> torch.Tensor:
    """(1, C, T, h, w) -> frames-as-batch (T, C, h, w)."""
    return x[0].permute(1, 0, 2, 3).contiguous()


def unfab(x: torch.Tensor) -> torch.Tensor:
    return x.permute(1, 0, 2, 3)[None]


def host(out_path: str) -> None:
    torch.set_num_threads(1)
    boot_comfy(Path(os.environ["COMFY"]), Path(tempfile.mkdtemp()))
    import comfy.k_diffusion.sampling as kds
    import comfy.samplers

    rm = import_pack_module("realcam_comfy.sampling")
    rc = import_pack_module("realcam_comfy.conditioning")
    shaping_nodes = import_pack_module("realcam_comfy.shaping")
    core_shaping = import_pack_module("realcam_core.shaping")
    model_pkg = import_pack_module("realcam_core.model")

    cfg_json, io, hw, cfg, patcher = tiny_fixture_model(FIXTURE)
    ms = patcher.model.model_sampling
    steps = int(io["sched.ddim4_timesteps"].numel())
    frames = int(io["in.ddim_x_T"].shape[2])
    t_pairs = io["out.epipolar_t_pairs_perturbed"][..., 0]
    cam = model_pkg.CameraCondition(io["in.camera_c2w_rel"][:1], io["in.camera_K"][:1], hw, 0, t_pairs[:1])
    scale = patcher.model.latent_format.scale_factor

    def cond(text: torch.Tensor, clip: torch.Tensor) -> list:
        return [[text, {rc.KEY_CONCAT: io["in.cond_latent"][:1, :, 0] / scale, rc.KEY_IMAGE: clip, rc.KEY_CAMERA: cam,
                        rc.KEY_FS: int(io["in.fs"][0]), rc.KEY_FRAMES: frames}]]

    positive = cond(io["in.text_context"][:1], io["in.clip_image_hidden"][:1])
    negative = cond(io["in.text_context_uncond"][:1], io["in.clip_image_hidden_uncond"][:1])
    model = patcher.clone()
    model.set_model_sampler_cfg_function(rm.guidance_rescale_cfg(0.7, frames))
    sigmas = rm.upstream_schedule(ms, steps)
    x_T = fab(io["in.ddim_x_T"])

    def replay(draws: torch.Tensor):
        seq = [fab(d) for d in draws]
        return lambda sigma, sigma_next: seq.pop(0)

    def run(m, fn, step_noise: torch.Tensor) -> torch.Tensor:
        guider = comfy.samplers.CFGGuider(m)
        guider.set_conds(positive, negative)
        guider.set_cfg(7.5)
        sampler = comfy.samplers.KSAMPLER(fn, extra_options={"noise_sampler": replay(step_noise)})
        out = guider.sample(x_T.clone(), torch.zeros_like(x_T), sampler, sigmas.clone(), seed=0, disable_pbar=True)
        return unfab(rm.vp_latent(out * scale, float(sigmas[-1])))

    res = {"sigmas": sigmas, "ref": io["out.ddim_final"], "ref_ns": io["out.ddim_ns_final"]}
    res["plain"] = run(model, rm.sample_realcam_ddim, io["rng.ddim_step_noise"])
    res["core_euler_ancestral"] = run(model, kds.sample_euler_ancestral, io["rng.ddim_step_noise"])

    q_noise = [fab(n) for n in io["rng.ns_q_sample_noise"]]
    spec = core_shaping.ShapingSpec(
        preview=io["in.ns_scene_frames"] / scale, mask=io["in.ns_scene_mask"][0, 0],
        window=core_shaping.ShapingWindow(1000.0, float(cfg_json["sampling"]["noise_shaping_run"]["noise_shaping_minimum_timesteps"]),
                                             "timestep"),
        mode="xt_paste", noise_factory=lambda seed: core_shaping.RecordedNoise(q_noise))
    shaped = shaping_nodes.apply_noise_shaping(model, spec)
    res["shaped"] = run(shaped, rm.sample_realcam_ddim, io["rng.ddim_ns_step_noise"])
    torch.save(res, out_path)


# ===================================== the tests (pytest) ===================================
@pytest.fixture(scope="module")
def res(tmp_path_factory) -> dict:
    from comfy_host import comfy_path, host_python

    out = tmp_path_factory.mktemp("replay") / "results.pt"
    env = dict(os.environ, COMFY=str(comfy_path()), PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.run([host_python(), str(HERE), "--host", str(out)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"ComfyUI child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return torch.load(out, weights_only=False)


def rel_err(got: torch.Tensor, ref: torch.Tensor) -> float:
    return float((got.double() - ref.double()).abs().max() / ref.double().abs().max())


BOUND = 5e-5  # the fixture README's DDIM criterion: 5e-5 of max|reference|


def test_schedule_is_upstreams_trailing_ddim(res):
    s = res["sigmas"]
    assert s.shape == (5,) and bool((s[:-1] > s[1:]).all()) and float(s[-1]) > 0  # ends at alpha_bar(0), not 0
    assert 4000 < float(s[0]) < 5000  # zero-SNR sigma_max is finite (ComfyUI's 4.9e-8 alpha-bar)


def test_ddim_without_shaping_reproduces_upstream(res):
    err = rel_err(res["plain"], res["ref"])
    print(f"ddim_final through ComfyUI: rel err {err:.2e}")
    assert err < BOUND


def test_ddim_with_noise_shaping_reproduces_upstream(res):
    err = rel_err(res["shaped"], res["ref_ns"])
    print(f"ddim_ns_final through ComfyUI: rel err {err:.2e}")
    assert err < BOUND
    assert rel_err(res["ref_ns"], res["ref"]) > 100 * BOUND  # shaping changes the result: the check has teeth


def test_core_euler_ancestral_is_the_same_step_away_from_the_zero_snr_limit(res):
    """Core's euler_ancestral is DDIM eta=1 in sigma space; it differs only through the finite sigma_max."""
    err = rel_err(res["core_euler_ancestral"], res["ref"])
    print(f"core euler_ancestral vs upstream: rel err {err:.2e}")
    assert err < 0.1
    assert rel_err(res["core_euler_ancestral"], res["plain"]) > 0


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--host":
    host(sys.argv[2])
