"""Where the time of mode="mesh" goes, against the plain `points` render (realcam_core/scene/render_mesh.py).

Scene and path as bench/render_surface_speed.py (the synthetic room generated at each size, one point per pixel,
the forward dolly of bench/render.py, 2-px splats). Per size, `points` and `mesh` render in interleaved rounds
into preallocated outputs; MeshFill's steps are timed by the thread's CPU time (less sensitive to other jobs on
the machine than wall time) and each column is its best round, in ms per frame:
  points     the plain splat render
  mesh       the mesh render; extra = mesh - points
  stretch    `_stretched`: the whole-grid test for quads with a diagonal longer than 2 px (every frame)
  surface    `_validity`: the one-surface test of quads stretched for the first time in the render
  densify    the rest of `_densify`: corners, boxes, the mild quads' three new splats
  triangles  `_frame` (with `_emit`): the quads left for the triangles
  other      extra less the four steps: the hooks' loops, and the splat pass itself running slower beside the
             mesh steps' memory traffic (its caches refilled)
  quads      mean stretched quads / quads left for the triangles, per frame

    python bench/render_mesh_profile.py [--repeats 5] [--sizes 512x320x16,1024x576x25,832x480x81]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import torch  # noqa: E402
from render import scene, trajectory  # noqa: E402  (bench/render.py)

import realcam_core.scene.render as R  # noqa: E402
from realcam_core.scene.render_mesh import MeshFill  # noqa: E402

STEPS = ("_stretched", "_validity", "_densify", "_frame")


class _Timer:
    """Wraps MeshFill's steps: CPU seconds per step and quad counts, for one render at a time."""

    def __init__(self) -> None:
        self.t = dict.fromkeys(STEPS, 0.0)
        self.stretched = self.left = 0

    def install(self) -> dict:
        saved = {name: getattr(MeshFill, name) for name in STEPS}
        for name, fn in saved.items():
            def timed(*args, _fn=fn, _name=name):
                t0 = time.thread_time()
                try:
                    out = _fn(*args)
                finally:
                    self.t[_name] += time.thread_time() - t0
                if _name == "_stretched":
                    self.stretched += out.shape[0]
                elif _name == "_densify":
                    self.left += out.shape[0]
                return out
            setattr(MeshFill, name, timed)
        return saved

    def reset(self) -> None:
        self.t = dict.fromkeys(STEPS, 0.0)
        self.stretched = self.left = 0


def case(w: int, h: int, n: int, repeats: int, timer: _Timer) -> str:
    pts, cols, K = scene(w, h, "cpu")
    c2w = trajectory(n)
    out = R.RenderResult(torch.empty(n, h, w, 3), torch.empty(n, h, w), torch.empty(n, h, w, dtype=torch.bool))
    best: dict[str, float] = {}
    for r in range(repeats + 1):  # round 0 warms up
        for mode in ("points", "mesh"):
            timer.reset()
            t0 = time.thread_time()
            R.render_point_cloud(pts, cols, K, c2w, h, w, mode=mode, out=out, grid_width=None if mode == "points" else w)
            total = (time.thread_time() - t0) * 1000 / n
            if r == 0:
                continue
            best[mode] = min(best.get(mode, float("inf")), total)
            if mode == "mesh":
                t = {k: v * 1000 / n for k, v in timer.t.items()}
                t["_densify"] -= t["_stretched"] + t["_validity"]  # its own part
                for k, v in t.items():
                    best[k] = min(best.get(k, float("inf")), v)
                quads = (timer.stretched / n, timer.left / n)
    p, m = best["points"], best["mesh"]
    return (f"| {w}x{h} | {n} | {p:.2f} | {m:.2f} | {m - p:.2f} | {m / p:.2f} | {best['_stretched']:.2f} | "
            f"{best['_validity']:.2f} | {best['_densify']:.2f} | {best['_frame']:.2f} | "
            f"{m - p - sum(best[k] for k in STEPS):.2f} | {quads[0]:.0f} / {quads[1]:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", default="512x320x16,1024x576x25,832x480x81", help="WxHxFRAMES, comma-separated")
    args = ap.parse_args()
    torch.set_num_threads(1)
    timer = _Timer()
    saved = timer.install()
    try:
        print(f"1 thread, best of {args.repeats} interleaved rounds, CPU ms/frame")
        print("| size | frames | points | mesh | extra | mesh / points | stretch | surface | densify | triangles | other "
              "| quads stretched / to triangles |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for spec in args.sizes.split(","):
            w, h, n = (int(v) for v in spec.split("x"))
            print(case(w, h, n, args.repeats, timer), flush=True)
    finally:
        for name, fn in saved.items():
            setattr(MeshFill, name, fn)


if __name__ == "__main__":
    main()
