"""GPU benchmark: full-size RealCam-I2V (512 variant, random weights), 512x320x16, upstream DDIM.

Runs the reference sampler of `realcam_core.model` (CFG = 2 UNet calls per step, guidance rescale,
dynamic rescale) on the full-size architecture with random weights, and prints seconds and peak
GiB. Usage: python bench/gpu_generate.py [--steps 25] [--dtype fp16] [--variant 512]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from realcam_core.model import CameraCondition, Schedule, build_models, ddim_sample, preset_config  # noqa: E402


def random_init(module: torch.nn.Module, seed: int = 0) -> None:
    """Small random weights (not the default init, so attention / norms see realistic spreads)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_((torch.randn(p.shape, generator=gen) * (0.02 if p.ndim > 1 else 0.01)).to(p))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--dtype", default="fp16", choices=["fp16", "bf16", "fp32"])
    ap.add_argument("--variant", default="512", choices=["256", "512"])
    args = ap.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[args.dtype]
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
    K = torch.tensor([[0.5 * max(h, w), 0, w / 2], [0, 0.5 * max(h, w), h / 2], [0, 0, 1]]).repeat(1, t, 1, 1)
    cam = CameraCondition(c2w, K, (h, w), seed=0)
    concat = torch.randn(1, 4, 1, h // 8, w // 8, generator=g).to(dev, dtype).expand(-1, -1, t, -1, -1)
    with torch.no_grad():
        img = res(torch.randn(2, 257, 1280, generator=g).to(dev, dtype))
    text = torch.randn(2, 77, 1024, generator=g).to(dev, dtype)
    ctx = torch.cat([text, img], dim=1)
    fs = torch.tensor([14], device=dev)

    def model(x, ts, c):
        with torch.no_grad():
            return unet(torch.cat([x.to(dtype), concat], 1), ts, c, fs, cam)

    sched = Schedule(cfg.diffusion)
    x_T = torch.randn(1, 4, t, h // 8, w // 8, generator=g).to(dev)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = ddim_sample(model, x_T, sched, args.steps, ctx[:1], ctx[1:], cfg_scale=7.5, guidance_rescale=0.7,
                      generator=torch.Generator(device=dev).manual_seed(0))
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda" else float("nan")
    name = torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"
    print("| device | variant | size | frames | steps | dtype | params (M) | seconds | s/step | peak GiB | finite |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {name} | {args.variant} | {w}x{h} | {t} | {args.steps} | {args.dtype} | {n_params / 1e6:.0f} | "
          f"{secs:.1f} | {secs / args.steps:.2f} | {peak:.2f} | {bool(torch.isfinite(out.final).all())} |")


if __name__ == "__main__":
    main()
