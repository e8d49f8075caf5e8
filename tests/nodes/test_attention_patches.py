"""ComfyUI attention patches reach the RealCam MODEL: core's ModelPatcher API and a core node.

A child process (this file with `--host OUT`) boots ComfyUI in-process on the CPU, builds the upstream
fixture's tiny model as a real `RealCamModel` in a ModelPatcher and samples 2 steps with `CFGGuider`:
plain; with an identity attn1 patch (must be bit-identical); with `set_model_attn1_patch` scaling the
queries; with core's Perturbed Attention Guidance node, whose guidance is the difference between a normal
pass and one whose middle-block self-attention is replaced (`patches_replace`) - if the replacement did
not reach the UNet, PAG would add exactly nothing.
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


def host(out_path: str) -> None:
    torch.set_num_threads(1)
    boot_comfy(Path(os.environ["COMFY"]), Path(tempfile.mkdtemp()))
    import comfy.k_diffusion.sampling as kds
    import comfy.samplers
    from comfy_extras.nodes_pag import PerturbedAttentionGuidance

    rm = import_pack_module("realcam_comfy.conditioning")
    model_pkg = import_pack_module("realcam_core.model")

    cfg_json, io, hw, cfg, patcher = tiny_fixture_model(FIXTURE)
    frames = int(io["in.ddim_x_T"].shape[2])
    cam = model_pkg.CameraCondition(io["in.camera_c2w_rel"][:1], io["in.camera_K"][:1], hw, 0)
    scale = patcher.model.latent_format.scale_factor

    def cond(text: torch.Tensor, clip: torch.Tensor) -> list:
        return [[text, {rm.KEY_CONCAT: io["in.cond_latent"][:1, :, 0] / scale, rm.KEY_IMAGE: clip, rm.KEY_CAMERA: cam,
                        rm.KEY_FS: int(io["in.fs"][0]), rm.KEY_FRAMES: frames}]]

    positive = cond(io["in.text_context"][:1], io["in.clip_image_hidden"][:1])
    negative = cond(io["in.text_context_uncond"][:1], io["in.clip_image_hidden_uncond"][:1])
    # a low-noise schedule: at the model's sigma_max (~4500) float32 rounding alone moves the output by ~1e-3
    sigmas = torch.tensor([2.0, 0.5, 0.0])
    x_T = io["in.ddim_x_T"][0].permute(1, 0, 2, 3).contiguous()
    seen: list = []

    def run(m) -> torch.Tensor:
        guider = comfy.samplers.CFGGuider(m)
        guider.set_conds(positive, negative)
        guider.set_cfg(5.0)
        return guider.sample(x_T.clone(), torch.zeros_like(x_T), comfy.samplers.KSAMPLER(kds.sample_euler),
                             sigmas.clone(), seed=0, disable_pbar=True)

    def identity(n, context, value, extra):
        seen.append(extra["block"])
        return n, context, value

    res = {"plain": run(patcher)}
    m = patcher.clone()
    m.set_model_attn1_patch(identity)
    res["identity"] = run(m)
    res["blocks_seen"] = sorted(set(seen))
    m = patcher.clone()
    m.set_model_attn1_patch(lambda n, context, value, extra: (n * 1.5, context, value))
    res["attn1_patch"] = run(m)
    res["pag"] = run(PerturbedAttentionGuidance.execute(patcher, 3.0).result[0])
    # what PAG's extra cond-only pass costs numerically when its replacement is the plain attention
    m = patcher.clone()
    m.set_model_attn1_replace(lambda q, k, v, extra: torch.nn.functional.scaled_dot_product_attention(
        *(t.reshape(t.shape[0], t.shape[1], extra["n_heads"], -1).transpose(1, 2) for t in (q, k, v))
    ).transpose(1, 2).reshape(q.shape), "middle", 0)
    res["replace_plain"] = run(m)
    torch.save(res, out_path)


# ===================================== the tests (pytest) ===================================
@pytest.fixture(scope="module")
def res(tmp_path_factory) -> dict:
    from comfy_host import comfy_path, host_python

    out = tmp_path_factory.mktemp("attn_patches") / "results.pt"
    env = dict(os.environ, COMFY=str(comfy_path()), PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.run([host_python(), str(HERE), "--host", str(out)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"ComfyUI child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return torch.load(out, weights_only=False)


def test_identity_patch_is_bit_identical_and_reaches_the_unet(res):
    assert torch.isfinite(res["plain"]).all()
    assert torch.equal(res["identity"], res["plain"])
    assert ("middle", 0) in res["blocks_seen"] and any(b[0] == "output" for b in res["blocks_seen"])


def test_model_patcher_attention_patch_changes_the_output(res):
    assert not torch.allclose(res["attn1_patch"], res["plain"], atol=1e-4)


def test_core_perturbed_attention_guidance_acts_on_the_realcam_model(res):
    diff = float((res["pag"] - res["plain"]).abs().max())
    print(f"PAG moves the output by {diff:.3e}")
    assert diff > 1e-2


def test_replacing_attention_with_the_same_attention_keeps_the_output(res):
    assert torch.allclose(res["replace_plain"], res["plain"], atol=1e-5)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--host":
    host(sys.argv[2])
