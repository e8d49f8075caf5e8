"""Epipolar mask cost for the real 256x256 RealCam-I2V model (16 frames, d = 8 ... 64).

Prints, per downsampling factor d: tokens L, time and peak memory of our chunked bit-packed builder,
the same for an upstream-style dense build (float (B, T, T, N, N) distance tensor, then a bool
(B, L, L) mask), the size of upstream's float `dist` tensor, and our peak as a fraction of it.
Each measurement runs in a fresh subprocess; on CPU the peak is the rise of the process's maximum
resident set over its resident set just before the build, on CUDA torch.cuda.max_memory_allocated.

    python bench/epipolar.py [--device cpu|cuda] [--frames 16] [--size 256 256] [--factors 8 16 32 64]
                             [--no-dense]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import dolly_camera, rss_bytes  # noqa: E402


def _rss_kb() -> int:
    return rss_bytes() // 1024


def _dense_upstream_style(F, rows: int, cols: int, d: int):
    """Reference of the upstream method (our own code): full float distances, then a bool mask."""
    import torch

    from realcam_core.model.camera import cell_centres

    b, t = F.shape[:2]
    grid = cell_centres(rows, cols, d, F.device)  # (N, 3)
    lines = F @ grid.T  # (B, T, T, 3, N)
    lines = lines / lines[..., :2, :].norm(dim=-2, keepdim=True)
    dist = (lines.transpose(-1, -2) @ grid.T).abs()  # (B, T, T, N, N) float32
    mask = dist < d * math.sqrt(2) / 2
    del dist
    n = rows * cols
    return mask.permute(0, 1, 3, 2, 4).reshape(b, t * n, t * n).contiguous(), torch


def _measure(mode: str, d: int, frames: int, size: tuple[int, int], device: str) -> dict:
    import torch

    from realcam_core.model.camera import epipolar_mask, fundamental_matrices

    cam = dolly_camera(frames, size)
    F = fundamental_matrices(cam.c2w_rel.to(device), cam.K.to(device), seed=0)
    rows, cols = size[0] // d, size[1] // d
    # warm-up on a tiny grid so one-off library initialisation is not measured
    epipolar_mask(F[:, :2, :2], 2, 2, d)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _rss_kb() * 1024
    t0 = time.perf_counter()
    if mode == "ours":
        out = epipolar_mask(F, rows, cols, d)
        result_bytes = out.packed.numel()
    else:
        out, _ = _dense_upstream_style(F, rows, cols, d)
        result_bytes = out.numel()
    if device == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    if device == "cuda":
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    return {"time_s": dt, "peak_bytes": max(int(peak), 0), "result_bytes": int(result_bytes)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, nargs=2, default=(256, 256), metavar=("H", "W"))
    ap.add_argument("--factors", type=int, nargs="+", default=(8, 16, 32, 64))
    ap.add_argument("--no-dense", action="store_true", help="skip the upstream-style dense build")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "D"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    size = tuple(args.size)
    if args.child:
        res = _measure(args.child[0], int(args.child[1]), args.frames, size, args.device)
        print(json.dumps(res))
        return

    def child(mode: str, d: int) -> dict:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, str(d), "--frames", str(args.frames),
               "--size", str(size[0]), str(size[1]), "--device", args.device]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    mb = 1 / 2**20
    print(f"epipolar masks, B=1, T={args.frames}, image {size[0]}x{size[1]}, device {args.device}")
    hdr = (f"{'d':>3} {'tokens L':>9} {'upstream dist':>14} {'ours time':>10} {'ours peak':>10} {'ours result':>12} "
           f"{'dense time':>11} {'dense peak':>11} {'peak/dist':>10}")
    print(hdr)
    print("-" * len(hdr))
    for d in args.factors:
        n = (size[0] // d) * (size[1] // d)
        length = args.frames * n
        dist_bytes = args.frames**2 * n * n * 4
        ours = child("ours", d)
        dense = None if args.no_dense else child("dense", d)
        dt = f"{dense['time_s']:>10.2f}s" if dense else f"{'-':>11}"
        dp = f"{dense['peak_bytes'] * mb:>9.1f}MB" if dense else f"{'-':>11}"
        print(f"{d:>3} {length:>9} {dist_bytes * mb:>12.1f}MB {ours['time_s']:>9.2f}s {ours['peak_bytes'] * mb:>8.1f}MB "
              f"{ours['result_bytes'] * mb:>10.1f}MB {dt} {dp} {ours['peak_bytes'] / dist_bytes:>9.1%}")


if __name__ == "__main__":
    main()
