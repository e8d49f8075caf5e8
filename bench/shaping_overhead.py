"""Benchmark noise shaping's cost: the same sampling run with the shaping patch off and on.

ComfyUI is imported in-process (COMFYUI_PATH, else ~/.cache/comfyui-realcam/ComfyUI). The model is
a small random conv net wrapped as a real `comfy.model_base.BaseModel` (EPS, SD latents) on
RealCam's 512x320 latent, (1, 4, 16, 40, 64); KSampler path, CFG 7.5 (cond + uncond batched),
`simple` schedule (= upstream's trailing DDIM steps), window 1000 -> 900 (3 of 25 steps shaped),
xt_paste with the default seeded noise, mask from a 16-frame 320x512 pixel mask.

It prints, per sampler, wall seconds per run off and on (best and median of --repeats runs,
interleaved off/on so load on a shared machine hits both alike) and the overhead they imply; then the
time spent inside shaping code itself (preparation + blends, timed inside the run) and its share of a
run (median over the runs), which load disturbs far less than a difference of two noisy run times; and separately the cost of
one blend (noise draw + paste) and of the per-run preparation, which do not depend on the model. A
real video model takes far longer per step than this one, so its relative overhead is smaller still.

    python bench/shaping_overhead.py [--steps 25] [--repeats 7] [--hidden 16] [--threads 1] [--samplers euler_ancestral,dpmpp_2m]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import inprocess_comfy  # noqa: E402

LATENT = (1, 4, 16, 40, 64)  # RealCam 512x320, 16 frames


def boot_comfy() -> None:
    """ComfyUI in-process (tests/inprocess_comfy.py), on the GPU when there is one."""
    inprocess_comfy.boot_comfy(tmp=Path(tempfile.mkdtemp()), cpu=not torch.cuda.is_available())


pack_module = inprocess_comfy.import_pack_module


class SmallUnet(torch.nn.Module):
    """conv3d(4 -> hidden) -> SiLU -> conv3d(hidden -> 4), plus a timestep term: a cheap stand-in denoiser."""

    dtype = torch.float32

    def __init__(self, hidden: int):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.a = torch.nn.Conv3d(4, hidden, 3, padding=1)
        self.b = torch.nn.Conv3d(hidden, 4, 3, padding=1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)

    def forward(self, x, timesteps, context=None, **kwargs):
        t = timesteps.float().reshape(-1, 1, 1, 1, 1) / 1000.0
        return self.b(torch.nn.functional.silu(self.a(x))) * (1 + t)


def build_model(hidden: int):
    import comfy.latent_formats as lf
    import comfy.model_base as mb
    import comfy.model_management as mm
    import comfy.model_patcher as mp
    import comfy.supported_models_base as smb

    class Config(smb.BASE):
        unet_config: dict = {}
        unet_extra_config: dict = {}
        latent_format = lf.SD15

    model = mb.BaseModel(Config({"disable_unet_model_creation": True}), model_type=mb.ModelType.EPS,
                         device=mm.get_torch_device())
    model.diffusion_model = SmallUnet(hidden)
    return mp.ModelPatcher(model, load_device=mm.get_torch_device(), offload_device=mm.unet_offload_device())


def instrumented(shaping, model, spec):
    """A shaped model whose wrapper adds the time spent in shaping code (prepare, blends) to `.total`."""
    from comfy.patcher_extension import WrappersMP

    patched = shaping.apply_noise_shaping(model, spec)
    wrapper = patched.get_wrappers(WrappersMP.SAMPLER_SAMPLE, shaping.WRAPPER_KEY)[0]
    prepare = wrapper.prepare

    def timed_prepare(*args, **kwargs):
        t0 = time.perf_counter()
        shaper = prepare(*args, **kwargs)
        blend = shaper.blend

        def timed_blend(*a, **k):
            t1 = time.perf_counter()
            out = blend(*a, **k)
            patched.total += time.perf_counter() - t1
            return out

        shaper.blend = timed_blend
        patched.total += time.perf_counter() - t0
        return shaper

    wrapper.prepare = timed_prepare
    patched.total = 0.0
    return patched


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--samplers", default="euler_ancestral,dpmpp_2m")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default; 1 is steadier on a shared machine)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    boot_comfy()
    import comfy.model_management as mm

    import nodes as comfy_nodes

    core = pack_module("realcam_core.shaping")
    shaping = pack_module("realcam_comfy.shaping")

    model = build_model(a.hidden)
    g = torch.Generator().manual_seed(1)
    pos = [[torch.randn(1, 77, 16, generator=g), {}]]
    neg = [[torch.randn(1, 77, 16, generator=g), {}]]
    latent = {"samples": torch.zeros(LATENT)}
    mask = torch.zeros(LATENT[2], LATENT[3] * 8, LATENT[4] * 8)
    mask[:, 40:280, 60:460] = 1
    spec = shaping.ShapingSpec(preview=torch.randn(LATENT, generator=g), mask=mask,
                               window=core.ShapingWindow(1000, 900, "timestep"))
    shaped = shaping.apply_noise_shaping(model, spec)

    def run(m, sampler: str) -> float:
        """-> wall seconds of one sampling run."""
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        comfy_nodes.common_ksampler(m, 7, a.steps, 7.5, sampler, "simple", pos, neg, latent)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    device = mm.get_torch_device()
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, latent {LATENT}, "
          f"{a.steps} steps, CFG 7.5, window 1000->900 (3 steps), hidden {a.hidden}, {a.repeats} runs each")
    timed = instrumented(shaping, model, spec)
    print(f"{'sampler':16s} {'off s/run':>15s} {'on s/run':>15s} {'overhead':>17s} {'shaping code':>21s}")
    print(f"{'':16s} {'best / median':>15s} {'best / median':>15s} {'best / median':>17s} {'ms/run / share':>21s}")
    for sampler in a.samplers.split(","):
        run(model, sampler), run(shaped, sampler)  # warm-up
        off, on, timed_runs, shaping_ms = [], [], [], []
        for _ in range(a.repeats):  # interleaved, so load on a shared machine hits all alike
            off.append(run(model, sampler))
            on.append(run(shaped, sampler))
            timed.total = 0.0
            timed_runs.append(run(timed, sampler))
            shaping_ms.append(1000 * timed.total)
        b_off, b_on, m_off, m_on = min(off), min(on), statistics.median(off), statistics.median(on)
        ms = statistics.median(shaping_ms)
        share = statistics.median(100 * t / 1000 / r for t, r in zip(shaping_ms, timed_runs, strict=True))
        print(f"{sampler:16s} {b_off:7.3f} {m_off:7.3f} {b_on:7.3f} {m_on:7.3f} "
              f"{100 * (b_on - b_off) / b_off:7.2f}% {100 * (m_on - m_off) / m_off:7.2f}% "
              f"{ms:10.1f} ms {share:7.2f}%")

    # model-independent parts: one blend (noise draw + paste) and one preparation per run
    x = torch.randn(LATENT, device=device)
    wrapper = shaping.NoiseShapingWrapper(spec)

    class Wrap:  # what the wrapper reads from ComfyUI's guider
        inner_model = model.model

    prep_t, blend_t = [], []
    for _ in range(20):
        t0 = time.perf_counter()
        shaper = wrapper.prepare(Wrap, x, seed=7)
        prep_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        shaper.blend(x, 0, torch.tensor(14.6))
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        blend_t.append(time.perf_counter() - t0)
    print(f"per run: prepare {1000 * statistics.median(prep_t):.2f} ms; per shaped step: blend "
          f"{1000 * statistics.median(blend_t):.2f} ms (latent {LATENT}, noise drawn on the CPU as ComfyUI does)")


if __name__ == "__main__":
    with torch.no_grad():
        main()
