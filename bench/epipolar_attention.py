"""Dense vs sparse epipolar attention in one full-size denoiser call (random weights, CPU or CUDA).

Builds the real-size RealCam-I2V UNet (256: 256x256x16, or 512: 320x512x16) with random weights, then
times one UNet call with a camera (batch 1, fp32 on the CPU) with the dense masked SDPA and with the
sparse block-gathered path, interleaved (dense, sparse, dense, sparse, ...), after one warm-up call per
backend (which builds the masks, the sparse plans and the pose features: reported as "first call").
Memory: the cached masks (bit-packed) and sparse plans, and the peak resident-set rise during a warm
call (sampled every 5 ms; CUDA: max_memory_allocated).

    python bench/epipolar_attention.py [--variant 256|512] [--repeats 2] [--threads 2] [--device cpu]
                                       [--modules]

`--modules`: instead of the whole call, time one epipolar attention module per masked level (real
width, heads and token count, random weights and tokens), dense vs sparse interleaved; cheap enough for
the 512 model on a busy CPU. Levels the model leaves unmasked (512: d = 8) are listed as such.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import PeakRSS, dolly_camera  # noqa: E402
from realcam_core.model import build_models, preset_config  # noqa: E402
from realcam_core.model.sparse_attention import plan_for  # noqa: E402


def modules_table(cfg, args: argparse.Namespace, dev: torch.device) -> None:
    from realcam_core.model.attention import EpipolarAttention
    from realcam_core.model.camera import epipolar_masks

    h, w = cfg.image_size
    t = cfg.unet.temporal_length
    u = cfg.unet
    factors = [8 * 2**i for i in range(len(u.channel_mult)) if 2**i in u.attention_resolutions]
    t0 = time.perf_counter()
    masks = epipolar_masks(dolly_camera(t, (h, w)), u.epipolar_mask_factors)
    print(f"variant {args.variant}, {w}x{h}x{t}, device {dev}, {args.threads} threads, fp32, batch 1; "
          f"masks built in {time.perf_counter() - t0:.1f} s")
    print("| d | tokens | width / heads | mask true | computed (sparse) | plan s | dense s | sparse s | sparse / dense "
          "| max diff |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    g = torch.Generator().manual_seed(0)
    for d in factors:
        level = int(math.log2(d // 8))
        ch = u.model_channels * u.channel_mult[level]
        length = t * (h // d) * (w // d)
        mask = masks.get(d)
        if mask is None:
            print(f"| {d} | {length} | {ch} / {ch // u.num_head_channels} | unmasked (full attention, as trained) "
                  f"| - | - | - | - | - | - |")
            continue
        mod = EpipolarAttention(ch, ch // u.num_head_channels, u.num_register_tokens).to(dev).eval()
        with torch.no_grad():
            for p in mod.parameters():
                p.normal_(0, 0.02, generator=g)
        x = torch.randn(1, length, ch, generator=g).to(dev)
        mask = mask.to(dev)
        t0 = time.perf_counter()
        plan = plan_for(mask, u.num_register_tokens, 0)
        plan_s = time.perf_counter() - t0
        times: dict[str, list[float]] = {"dense": [], "sparse": []}
        outs = {}
        with torch.no_grad():
            for _ in range(args.repeats):
                for backend in ("dense", "sparse"):
                    mod.backend = backend
                    t0 = time.perf_counter()
                    outs[backend] = mod(x, mask)
                    if dev.type == "cuda":
                        torch.cuda.synchronize()
                    times[backend].append(time.perf_counter() - t0)
        dn, sp = min(times["dense"]), min(times["sparse"])
        print(f"| {d} | {length} | {ch} / {ch // u.num_head_channels} | {mask.dense()[0].float().mean():.1%} | "
              f"{plan.computed_fraction:.1%} | {plan_s:.1f} | {dn:.2f} | {sp:.2f} | {sp / dn:.2f}x | "
              f"{float((outs['dense'] - outs['sparse']).abs().max()):.1e} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", default="256", choices=["256", "512"])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--modules", action="store_true", help="per masked level, one attention module only")
    ap.add_argument("--backends", nargs="+", default=["dense", "sparse"], choices=["dense", "sparse", "auto"],
                    help="whole call: backends to interleave, dense first (auto = sparse where it plans to win)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    cfg = preset_config(args.variant)
    h, w = cfg.image_size
    t = cfg.unet.temporal_length
    if args.modules:
        modules_table(cfg, args, dev)
        return
    torch.manual_seed(0)
    unet, _ = build_models(cfg, device=dev)
    with torch.no_grad():
        for p in unet.parameters():
            p.normal_(0, 0.02 if p.ndim > 1 else 0.01)
    unet.eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, cfg.unet.in_channels, t, h // 8, w // 8, generator=g).to(dev)
    ctx = torch.randn(1, 77 + t * cfg.unet.image_tokens_per_frame, cfg.unet.context_dim, generator=g).to(dev)
    ts = torch.tensor([500.0], device=dev)
    cam = dolly_camera(t, (h, w))

    def call(backend: str) -> tuple[float, int, torch.Tensor]:
        unet.set_epipolar_backend(backend)
        if dev.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        with torch.no_grad(), PeakRSS() as mem:
            t0 = time.perf_counter()
            out = unet(x, ts, ctx, None, cam)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
        peak = torch.cuda.max_memory_allocated() - base if dev.type == "cuda" else mem.peak - mem.base
        return dt, peak, out

    backends = ["dense"] + [b for b in args.backends if b != "dense"]
    first = {}
    for backend in backends:
        first[backend] = call(backend)[0]
        if backend == "dense":
            prep = next(iter(unet._camera_cache.values()))
    times: dict[str, list[float]] = {b: [] for b in backends}
    peaks: dict[str, list[int]] = {b: [] for b in backends}
    outs = {}
    for _ in range(args.repeats):
        for backend in backends:
            dt, peak, outs[backend] = call(backend)
            times[backend].append(dt)
            peaks[backend].append(peak)
    mb = 2**-20
    packed = sum(m.packed.numel() for m in prep.masks.values())
    plans = sum(plan_for(m, cfg.unet.num_register_tokens, 0).nbytes() for m in prep.masks.values())
    fracs = ", ".join(f"d={d}: {plan_for(m, cfg.unet.num_register_tokens, 0).computed_fraction:.1%} "
                      f"({m.dense()[0].float().mean():.1%} true)" for d, m in sorted(prep.masks.items()))
    ref = float(outs["dense"].abs().max())
    print(f"variant {args.variant}, {w}x{h}x{t}, device {dev}, {args.threads} threads, fp32, batch 1")
    print(f"masks: {fracs}; packed masks {packed * mb:.1f} MiB, sparse plans {plans * mb:.1f} MiB")
    print("| backend | first call s | warm calls s (in run order) | best s | best vs dense | per-round ratio "
          "| peak rise MiB | max |out diff| |")
    print("|---|---|---|---|---|---|---|---|")
    best = {k: min(v) for k, v in times.items()}
    for k in backends:
        rounds = ", ".join(f"{s / d:.2f}" for s, d in zip(times[k], times["dense"], strict=True))
        diff = float((outs["dense"] - outs[k]).abs().max())
        print(f"| {k} | {first[k]:.1f} | {', '.join(f'{v:.1f}' for v in times[k])} | {best[k]:.1f} | "
              f"{best[k] / best['dense']:.2f}x | {'-' if k == 'dense' else rounds} | {max(peaks[k]) * mb:.0f} | "
              f"{'-' if k == 'dense' else f'{diff:.1e} (max ref {ref:.2f})'} |")


if __name__ == "__main__":
    main()
