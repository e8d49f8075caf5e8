"""Render time of modes "surface" (gap filling) and "mesh" against the plain `points` splat.

Scene and path as bench/render.py (the synthetic room generated at each size, one point per pixel, a forward
dolly with yaw and lift, 2-px splats), rendered into preallocated outputs. Per size, in interleaved rounds:
  points     render_point_cloud(mode="points")
  surface0   mode="surface" with the gap filler as first written (whole-image tests and writes; kept as the
             bit-exact reference in tests/core/test_render_gapfill_exact.py and swapped in here)
  surface    mode="surface" as it is now
  mesh       mode="mesh" (2-px splats + the stretched quads of the source grid as triangles, realcam_core/scene/render_mesh.py)
Each figure is the best of --repeats rounds, ms/frame; the ratios are to `points` of the same run.
--node times what the render node waits for instead: `render_preview` (the point cloud of the scene, the render in
blocks, the shaping mask, the output copies) with mode points / surface / mesh, in the same interleaved rounds.

    python bench/render_surface_speed.py [--repeats 5] [--threads 1] [--sizes 512x320x16,1024x576x25,832x480x81] [--node]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import torch  # noqa: E402
from render import _room_scene, scene, trajectory  # noqa: E402  (bench/render.py)

import realcam_core.scene.render as R  # noqa: E402


def _reference_fill() -> type:
    path = ROOT / "tests" / "core" / "test_render_gapfill_exact.py"
    spec = importlib.util.spec_from_file_location("test_render_gapfill_exact", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod._ReferenceGapFill


def case(w: int, h: int, n: int, repeats: int, ref: type, new: type) -> str:
    pts, cols, K = scene(w, h, "cpu")
    c2w = trajectory(n)
    out = R.RenderResult(torch.empty(n, h, w, 3), torch.empty(n, h, w), torch.empty(n, h, w, dtype=torch.bool))
    outputs = {}

    def run(name: str) -> float:
        R._GapFill = ref if name == "surface0" else new
        try:
            mode = name if name in ("points", "mesh") else "surface"
            t = time.perf_counter()
            R.render_point_cloud(pts, cols, K, c2w, h, w, mode=mode, out=out,
                                 grid_width=None if mode == "points" else w)
            dt = (time.perf_counter() - t) * 1000 / n
            outputs[name] = (out.frames.clone(), out.depth.clone(), out.visible.clone())
            return dt
        finally:
            R._GapFill = new

    best = {k: float("inf") for k in ("points", "surface0", "surface", "mesh")}
    for k in best:
        run(k)  # warm-up (workspace, kernels)
    for _ in range(repeats):
        for k in best:
            best[k] = min(best[k], run(k))
    same = all(torch.equal(a, b) for a, b in zip(outputs["surface0"], outputs["surface"], strict=True))
    assert same, "the optimised surface render differs from the reference"
    p, s0, s1, me = best["points"], best["surface0"], best["surface"], best["mesh"]
    return (f"| {w}x{h} | {n} | {p:.2f} | {s0:.2f} | {s1:.2f} | {me:.2f} | {s0 / p:.2f} | {s1 / p:.2f} | {s1 / s0:.2f} "
            f"| {me / p:.2f} |")


def node_case(w: int, h: int, n: int, repeats: int) -> str:
    """render_preview (the render node's path) per mode, best of `repeats` interleaved rounds, ms/frame."""
    sc, c2w = _room_scene(w, h), trajectory(n)
    modes = ("points", "surface", "mesh")

    def run(mode: str) -> float:
        t = time.perf_counter()
        R.render_preview(sc, c2w, h, w, mode=mode)
        return (time.perf_counter() - t) * 1000 / n

    best = {m: float("inf") for m in modes}
    for m in modes:
        run(m)  # warm-up
    for _ in range(repeats):
        for m in modes:
            best[m] = min(best[m], run(m))
    p, s, me = (best[m] for m in modes)
    return f"| {w}x{h} | {n} | {p:.2f} | {s:.2f} | {me:.2f} | {s / p:.2f} | {me / p:.2f} |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sizes", default="512x320x16,1024x576x25,832x480x81", help="WxHxFRAMES, comma-separated")
    ap.add_argument("--node", action="store_true", help="time render_preview (the render node's path) per mode")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.node:
        print(f"render_preview, {args.threads} thread(s), best of {args.repeats} interleaved rounds, ms/frame")
        print("| size | frames | points | surface | mesh | surface / points | mesh / points |")
        print("|---|---|---|---|---|---|---|")
        for spec in args.sizes.split(","):
            w, h, n = (int(v) for v in spec.split("x"))
            print(node_case(w, h, n, args.repeats), flush=True)
        return
    ref, new = _reference_fill(), R._GapFill
    print(f"{args.threads} thread(s), best of {args.repeats} interleaved rounds, ms/frame")
    print("| size | frames | points | surface before | surface now | mesh | before / points | now / points | now / before "
          "| mesh / points |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for spec in args.sizes.split(","):
        w, h, n = (int(v) for v in spec.split("x"))
        print(case(w, h, n, args.repeats, ref, new), flush=True)


if __name__ == "__main__":
    main()
