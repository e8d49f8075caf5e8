"""SE3 interpolation speed: 1000 frames from 8 keyframes, every method (target <= 5 ms).

Run: $REALCAM_PY bench/interpolate.py [--threads N] [--repeats R]
Prints min / median ms per call for each method.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from realcam_core.camera import se3  # noqa: E402
from realcam_core.trajectory.interpolate import METHODS, interpolate_c2w  # noqa: E402


def keyframes(k: int, seed: int = 9) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    twists = torch.randn(k, 6, generator=g, dtype=torch.float64) * torch.tensor([0.5] * 3 + [0.3] * 3)
    return se3.se3_exp(twists).float()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--frames", type=int, default=1000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    keys = keyframes(8)
    times = [0, 100, 250, 400, 500, 700, 850, 999]
    print(f"SE3 interpolation, {args.frames} frames, 8 keyframes, ease_in_out, {args.threads} thread(s)")
    print(f"{'method':<22} {'min ms':>8} {'median ms':>10}")
    for method in METHODS:
        interpolate_c2w(times, keys, args.frames, method=method)  # warm-up
        samples = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            interpolate_c2w(times, keys, args.frames, method=method, easing="ease_in_out")
            samples.append((time.perf_counter() - t0) * 1e3)
        print(f"{method:<22} {min(samples):8.2f} {statistics.median(samples):10.2f}")


if __name__ == "__main__":
    main()
