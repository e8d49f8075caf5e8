"""GPU benchmark: full-size RealCam-I2V (512 variant, random weights), 512x320x16, upstream DDIM.

Runs the reference sampler of `realcam_core.model` (CFG = 2 UNet calls per step, guidance rescale,
dynamic rescale) on the full-size architecture with random weights, for every combination of noise
shaping off / on and dense / sparse epipolar attention, and prints one table row each: seconds,
seconds per step, peak GiB (CUDA: max_memory_allocated; CPU: peak resident-set rise) and the largest
difference of the final latent from the first (dense, same shaping) row. The model is built once;
a warm-up generation of 2 steps per attention backend runs first (masks, plans, kernels).

    python bench/gpu_generate.py [--steps 25] [--dtype fp16] [--variant 512] [--shaping off on]
                                 [--attention dense sparse] [--tiny]

`--tiny`: a tiny model (tests/CPU smoke run: proves the script runs, says nothing about speed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PeakRSS  # noqa: E402
from realcam_core.model import (  # noqa: E402
    CameraCondition,
    ReferenceShaping,
    Schedule,
    build_models,
    ddim_sample,
    preset_config,
)


def random_init(module: torch.nn.Module, seed: int = 0) -> None:
    """Small random weights (not the default init, so attention / norms see realistic spreads)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_((torch.randn(p.shape, generator=gen) * (0.02 if p.ndim > 1 else 0.01)).to(p))


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--dtype", default="fp16", choices=["fp16", "bf16", "fp32"])
    ap.add_argument("--variant", default="512", choices=["256", "512"])
    ap.add_argument("--shaping", nargs="+", default=["off", "on"], choices=["off", "on"])
    ap.add_argument("--attention", nargs="+", default=["dense", "sparse"], choices=["dense", "sparse", "auto"])
    ap.add_argument("--tiny", action="store_true", help="tiny model (smoke test on the CPU)")
    ap.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    args = ap.parse_args(argv)
    dev = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[args.dtype]
    if args.tiny:
        from realcam_core.testing.tiny_realcam import TinySpec, tiny_config

        cfg = tiny_config(TinySpec(variant=args.variant))
    else:
        cfg = preset_config(args.variant)
    h, w = cfg.image_size
    t = cfg.unet.temporal_length
    unet, res = build_models(cfg, dtype=dtype, device=dev)
    random_init(unet)
    random_init(res, 1)
    unet.eval()
    n_params = sum(p.numel() for p in unet.parameters()) + sum(p.numel() for p in res.parameters())
    g = torch.Generator(device="cpu").manual_seed(0)
    c2w = torch.eye(4).repeat(1, t, 1, 1)
    c2w[0, :, 2, 3] = torch.linspace(0, 0.5, t)
    c2w[0, :, 0, 3] = torch.linspace(0, 0.2, t)
    K = torch.tensor([[0.5 * max(h, w), 0, w / 2], [0, 0.5 * max(h, w), h / 2], [0, 0, 1]]).repeat(1, t, 1, 1)
    cam = CameraCondition(c2w, K, (h, w), seed=0)
    lat = (1, 4, t, h // 8, w // 8)
    concat = torch.randn(1, 4, 1, h // 8, w // 8, generator=g).to(dev, dtype).expand(-1, -1, t, -1, -1)
    rcfg = cfg.resampler
    with torch.no_grad():
        img = res(torch.randn(2, 257, rcfg.embedding_dim, generator=g).to(dev, dtype))
    text = torch.randn(2, 77, cfg.unet.context_dim, generator=g).to(dev, dtype)
    ctx = torch.cat([text, img], dim=1)
    fs = torch.tensor([14 if args.variant == "256" else 24], device=dev)
    scene = torch.randn(lat, generator=g).to(dev)
    mask = (torch.rand((1, 1, *lat[2:]), generator=g) < 0.6).float().to(dev)
    shaping = ReferenceShaping(scene, mask)

    def model(x, ts, c):
        with torch.no_grad():
            return unet(torch.cat([x.to(dtype), concat], 1), ts, c, fs, cam)

    sched = Schedule(cfg.diffusion)
    x_T = torch.randn(lat, generator=g).to(dev)

    def generate(steps: int, shape: bool) -> tuple[float, float, torch.Tensor]:
        if dev.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        with PeakRSS(interval=0.01) as mem:
            t0 = time.perf_counter()
            out = ddim_sample(model, x_T, sched, steps, ctx[:1], ctx[1:], cfg_scale=7.5, guidance_rescale=0.7,
                              noise_shaping=shaping if shape else None,
                              generator=torch.Generator(device=dev).manual_seed(0))
            if dev.type == "cuda":
                torch.cuda.synchronize()
            secs = time.perf_counter() - t0
        peak = torch.cuda.max_memory_allocated() if dev.type == "cuda" else mem.peak - mem.base
        return secs, peak / 2**30, out.final

    for backend in args.attention:  # warm-up: masks, sparse plans, kernels
        unet.set_epipolar_backend(backend)
        generate(2, False)
    name = torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"
    print(f"| device | variant | size | frames | steps | dtype | params (M) | shaping | attention | seconds | s/step "
          f"| peak GiB | max diff vs {args.attention[0]} | finite |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for shape in args.shaping:
        first = None
        for backend in args.attention:
            unet.set_epipolar_backend(backend)
            secs, peak, final = generate(args.steps, shape == "on")
            first = final if first is None else first
            diff = float((final - first).abs().max())
            row = {"shaping": shape, "attention": backend, "seconds": secs, "peak_gib": peak, "diff": diff,
                   "finite": bool(torch.isfinite(final).all())}
            rows.append(row)
            print(f"| {name} | {args.variant}{' tiny' if args.tiny else ''} | {w}x{h} | {t} | {args.steps} | "
                  f"{args.dtype} | {n_params / 1e6:.0f} | {shape} | {backend} | {secs:.1f} | {secs / args.steps:.2f} | "
                  f"{peak:.2f} | {diff:.1e} | {row['finite']} |", flush=True)
    return rows


if __name__ == "__main__":
    main()
