"""What the blended colours of mode "mesh" cost: MeshFill.BLEND on against off, and both against `points`.

With BLEND on, a pixel a densified quad's added splat won shows the source image's colour at its place in the
quad (`MeshFill.colour`: bilinear between the quad's corners) instead of corner 00's. Its cost grows with the
pixels the densified quads fill, so two kinds of case:
  dolly    bench/render_surface_speed.py's case: the synthetic room generated at each size (one point per
           output pixel), a 1 m forward dolly with yaw and lift (bench/render.py's path);
  preset   the room asset (512x320) rendered at a larger size along one of the 16 presets (16 frames): the
           magnified cases of bench/render_holes.py, where the mesh fills up to a third of the image.
Per case, in interleaved rounds: points, mesh with BLEND off ("nearest", as before), mesh with BLEND on;
best of --repeats, ms/frame; ratios within the same run.

    python bench/render_mesh_colour_speed.py [--repeats 3] [--threads 1]
        [--dolly 512x320x16,1024x576x25,832x480x81] [--presets 1024x576:zoom_in,1024x576:look_left,...]
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
from render_holes import load_room  # noqa: E402

import realcam_core.scene.render as R  # noqa: E402
from realcam_core.camera.intrinsics import fit_intrinsics  # noqa: E402
from realcam_core.scene.geometry import scene_grid_cloud  # noqa: E402
from realcam_core.scene.render_mesh import MeshFill  # noqa: E402
from realcam_core.trajectory.presets import preset_c2w  # noqa: E402

PRESETS = "1024x576:zoom_in,1024x576:look_left,1024x576:orbit_up,832x480:zoom_in,832x480:orbit_left"


def timed(pts, cols, K, c2w, h: int, w: int, gw: int, repeats: int) -> dict[str, float]:
    n = c2w.shape[0]
    out = R.RenderResult(torch.empty(n, h, w, 3), torch.empty(n, h, w), torch.empty(n, h, w, dtype=torch.bool))
    results = {}

    def run(name: str) -> float:
        default, MeshFill.BLEND = MeshFill.BLEND, name == "blend"
        try:
            t = time.perf_counter()
            R.render_point_cloud(pts, cols, K, c2w, h, w, out=out, mode="points" if name == "points" else "mesh",
                                 grid_width=gw)
            dt = (time.perf_counter() - t) * 1000 / n
        finally:
            MeshFill.BLEND = default
        results[name] = (out.depth.clone(), out.visible.clone())
        return dt

    best = {k: float("inf") for k in ("points", "nearest", "blend")}
    for k in best:
        run(k)  # warm-up
    for _ in range(repeats):
        for k in best:
            best[k] = min(best[k], run(k))
    same = all(torch.equal(a, b) for a, b in zip(results["nearest"], results["blend"], strict=True))
    assert same, "blending changed depth or coverage"
    return best


def row(label: str, size: str, n: int, b: dict[str, float]) -> str:
    p, a, c = b["points"], b["nearest"], b["blend"]
    return (f"| {label} | {size} | {n} | {p:.2f} | {a:.2f} | {c:.2f} | {c - a:+.2f} | {c / a:.3f} | {a / p:.2f} "
            f"| {c / p:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dolly", default="512x320x16,1024x576x25,832x480x81", help="WxHxFRAMES, comma-separated")
    ap.add_argument("--presets", default=PRESETS, help="WxH:preset, comma-separated (the room asset, 16 frames)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.threads} thread(s), best of {args.repeats} interleaved rounds, ms/frame")
    print("| case | size | frames | points | mesh nearest | mesh blend | blend - nearest | blend / nearest "
          "| nearest / points | blend / points |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for spec in filter(None, args.dolly.split(",")):
        w, h, n = (int(v) for v in spec.split("x"))
        pts, cols, K = scene(w, h, "cpu")
        print(row("dolly", f"{w}x{h}", n, timed(pts, cols, K, trajectory(n), h, w, w, args.repeats)), flush=True)
    room = load_room()
    pts, cols = scene_grid_cloud(room)
    for spec in filter(None, args.presets.split(",")):
        size, name = spec.split(":")
        w, h = (int(v) for v in size.split("x"))
        K = fit_intrinsics(room.K.float(), (room.height, room.width), (h, w), "crop")
        b = timed(pts, cols, K, preset_c2w(name, 16).float(), h, w, room.width, args.repeats)
        print(row(f"preset {name}", size, 16, b), flush=True)


if __name__ == "__main__":
    main()
