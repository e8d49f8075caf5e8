"""Export / import times of the interchange formats for a scene's point cloud and an 81-frame path.

    python bench/interchange.py [--sizes 256 512] [--frames 81]

Prints a markdown table (seconds, and the ratio to writing the same points as PLY in the same run).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from realcam_core.interchange import colmap, gltf, nerfstudio, ply  # noqa: E402
from realcam_core.scene.build import scene_from_depth  # noqa: E402
from realcam_core.scene.geometry import scene_point_cloud  # noqa: E402
from realcam_core.trajectory.presets import make_preset  # noqa: E402


def timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--frames", type=int, default=81)
    a = ap.parse_args()
    traj = make_preset("orbit_left", a.frames)
    print("| scene | points | PLY s | glb s (x PLY) | COLMAP+points s (x PLY) | nerfstudio s | glb read s | COLMAP read s |")
    print("|---|---|---|---|---|---|---|---|")
    for s in a.sizes:
        g = torch.Generator().manual_seed(0)
        scene = scene_from_depth(torch.rand(s, s, 3, generator=g), 1 + 4 * torch.rand(s, s, generator=g))
        pts, cols = scene_point_cloud(scene)
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            t_ply = timed(ply.write_ply, d / "p.ply", pts, cols)
            t_glb = timed(gltf.write_glb, d / "s.glb", traj, pts, cols)
            t_col = timed(colmap.write_colmap_text, d / "c", traj, s, s, pts.numpy(), cols.numpy())
            t_ns = timed(nerfstudio.write_transforms_json, d / "t.json", traj, s, s)
            t_rg = timed(gltf.read_gltf_trajectory, d / "s.glb")
            t_rc = timed(colmap.read_colmap_text, d / "c")
        print(f"| {s}x{s} | {pts.shape[0]} | {t_ply:.3f} | {t_glb:.3f} ({t_glb / t_ply:.1f}x) | "
              f"{t_col:.2f} ({t_col / t_ply:.0f}x) | {t_ns:.3f} | {t_rg:.3f} | {t_rc:.2f} |")


if __name__ == "__main__":
    main()
