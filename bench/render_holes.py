"""Preview quality against ray-traced ground truth: holes, disocclusions, leaks and colour error.

The synthetic room (assets/synthetic_room/, 512x320, exact metric depth) is made of analytic planes,
boxes and spheres (scripts/make_synthetic_room.py), so the true image and depth of any camera can be
ray-traced. For each of the 16 presets (16 frames, default amplitudes) and a few cameras along it,
the room's point cloud is rendered as the Point Cloud Render node does (scene K fitted to the output
size by centre crop) and compared pixel by pixel with the traced truth:

  seen     the true surface point of the pixel was seen by the source camera: it projects inside
           the source image (within the hull of its pixel centres) and nothing occludes it there;
  holes    % of all pixels that are seen but left empty by the render;
  disocc   % of all pixels whose true point lies in the source view but is occluded there
           (no single-view point cloud can fill these; "outside" = out of the source view);
  leaks    % of all pixels that are seen, covered, but show a point farther than every true
           surface within one pixel (x 1.02): a farther surface showing through a gap;
  colour   mean absolute error (0..255, over channels) on covered seen pixels, against the true
           colour supersampled 2x2 per pixel like the asset itself.
Like for like (when `points` and another mode are both rendered; a mode that covers more is otherwise
scored on pixels the other leaves black): per other mode, `both` = colour error of `points` and of the
mode on the seen pixels both cover; `only` = the mode's colour error on the seen pixels only it covers
(holes of `points`) and their share of all pixels.
Per preset: mean over its cameras and the worst camera ("max"). Also ms per render call (all
the preset's cameras in one call; a shared machine makes these rough: bench/render.py times).

    python bench/render_holes.py [--sizes 512x320,1024x576,832x480] [--modes points,surface,mesh]
                                 [--frames 4,8,12,15] [--presets zoom_in,orbit_left] [--threads 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from realcam_core.camera.intrinsics import fit_intrinsics  # noqa: E402
from realcam_core.scene.render import render_scene  # noqa: E402
from realcam_core.scene.render_mesh import MeshFill  # noqa: E402
from realcam_core.scene.types import Scene  # noqa: E402
from realcam_core.trajectory.presets import PRESET_NAMES, preset_c2w  # noqa: E402

ASSET = ROOT / "assets" / "synthetic_room"
LEAK_SLACK = 1.02


def _room_module():
    spec = importlib.util.spec_from_file_location("make_synthetic_room", ROOT / "scripts" / "make_synthetic_room.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ROOM = _room_module()


def load_room() -> Scene:
    meta = json.loads((ASSET / "room.json").read_text())
    rgb = np.array(Image.open(ASSET / meta["rgb"]).convert("RGB"))
    depth = torch.from_numpy(np.array(Image.open(ASSET / meta["depth"])).astype(np.float32)) * meta["depth_scale_to_metres"]
    K = torch.tensor([[meta["fx"], 0.0, meta["cx"]], [0.0, meta["fy"], meta["cy"]], [0.0, 0.0, 1.0]])
    return Scene(image=torch.from_numpy(rgb).float() / 255.0, depth=depth, K=K, mask=depth > 0).validate()


def ground_truth(c2w: np.ndarray, K: np.ndarray, h: int, w: int, src_K: np.ndarray, src_hw: tuple[int, int]):
    """-> true depth (H, W) (camera z, inf where nothing), colour (H, W, 3) 0..1, and a class per
    pixel: 0 seen by the source camera, 1 disoccluded (in its view, occluded), 2 outside its view."""
    R, t = c2w[:3, :3], c2w[:3, 3]
    Kinv = np.linalg.inv(K)

    def rays(ox: float, oy: float) -> np.ndarray:
        u, v = np.meshgrid(np.arange(w) + ox, np.arange(h) + oy, indexing="xy")
        cam = np.stack([u, v, np.ones_like(u)], -1) @ Kinv.T
        cam = cam / cam[..., 2:3]
        return cam @ R.T  # world direction whose camera z step is 1: the hit's t is its camera depth

    d = rays(0.5, 0.5)
    depth, _ = ROOM.trace_rays(t, d)
    colour = np.zeros((h, w, 3))
    for oy in (0.25, 0.75):
        for ox in (0.25, 0.75):
            colour += ROOM.trace_rays(t, rays(ox, oy))[1] / 4
    hit = np.isfinite(depth)
    X = t + d * np.where(hit, depth, 0.0)[..., None]  # world = the source camera's frame
    sh, sw = src_hw
    with np.errstate(divide="ignore", invalid="ignore"):
        uvw = X @ src_K.T
        us, vs = uvw[..., 0] / uvw[..., 2], uvw[..., 1] / uvw[..., 2]
        inside = hit & (X[..., 2] > 1e-6) & (us >= 0.5) & (us <= sw - 0.5) & (vs >= 0.5) & (vs <= sh - 0.5)
        back, _ = ROOM.trace_rays(np.zeros(3), X / X[..., 2:3])  # from the source camera towards X
    seen = inside & (back >= X[..., 2] * (1 - 1e-6) - 1e-9)
    cls = np.full((h, w), 2, np.int8)
    cls[inside] = 1
    cls[seen] = 0
    return depth, colour, cls


def measure(res_frames: torch.Tensor, res_depth: torch.Tensor, res_vis: torch.Tensor, gt) -> dict[str, float]:
    depth, colour, cls = gt
    seen = torch.from_numpy(cls == 0)
    vis = res_vis.cpu()
    n = seen.numel()
    true_d = torch.from_numpy(np.where(np.isfinite(depth), depth, 1e9)).float()
    far = F.max_pool2d(true_d[None, None], 3, 1, 1)[0, 0] * LEAK_SLACK
    covered = seen & vis
    leak = covered & (res_depth.cpu() > far)
    err = (res_frames.cpu().double() - torch.from_numpy(colour)).abs().mean(-1) * 255.0
    return {
        "holes": float((seen & ~vis).sum()) / n * 100,
        "disocc": float((cls == 1).sum()) / n * 100,
        "outside": float((cls == 2).sum()) / n * 100,
        "leaks": float(leak.sum()) / n * 100,
        "colour": float(err[covered].mean()) if covered.any() else float("nan"),
    }


def like_for_like(ref_frame: torch.Tensor, ref_vis: torch.Tensor, frame: torch.Tensor, vis: torch.Tensor,
                  gt) -> dict[str, float]:
    """Colour error of `ref` (the 2-px splats) and `res` on the seen pixels both cover, and of `res` on the seen
    pixels only it covers (holes of `ref`), with their share of all pixels."""
    depth, colour, cls = gt
    seen = torch.from_numpy(cls == 0)
    a, b = seen & ref_vis.cpu(), seen & vis.cpu()
    both, only = a & b, b & ~a
    truth = torch.from_numpy(colour)

    def err(frame: torch.Tensor, sel: torch.Tensor) -> float:
        if not sel.any():
            return float("nan")
        return float((frame.cpu().double()[sel] - truth[sel]).abs().mean() * 255.0)

    return {"ref_both": err(ref_frame, both), "both": err(frame, both), "only": err(frame, only),
            "only_px": float(only.sum()) / only.numel() * 100}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="512x320,1024x576,832x480")
    ap.add_argument("--modes", default="points,surface,mesh",
                    help="render modes (points = upstream's fixed 2-px splats; mesh = the default; mesh-blend = "
                         "mesh with MeshFill.BLEND on: densified pixels blend their quad's corners' colours)")
    ap.add_argument("--frames", default="4,8,12,15", help="cameras along each 16-frame preset")
    ap.add_argument("--presets", default=",".join(PRESET_NAMES))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    scene = load_room()
    src_K = scene.K.double().numpy()
    src_hw = (scene.height, scene.width)
    frames = [int(f) for f in args.frames.split(",")]
    modes = args.modes.split(",")
    others = [m for m in modes if m != "points"] if "points" in modes else []  # like-for-like colour columns
    print(f"| size | preset | {' | '.join(f'{m} holes mean / max % | {m} leaks % | {m} colour | {m} ms' for m in modes)}"
          " | disocc % | outside % |"
          + "".join(f" points colour on both | {m} colour on both | {m}-only colour | {m}-only % |" for m in others))
    print("|---|---|" + "---|---|---|---|" * len(modes) + "---|---|" + "---|---|---|---|" * len(others))
    summary: dict[tuple[str, str], list[dict]] = {}
    pairs: dict[tuple[str, str], list[dict]] = {}
    for size in args.sizes.split(","):
        w, h = (int(x) for x in size.split("x"))
        K = fit_intrinsics(scene.K.float(), src_hw, (h, w), "crop")
        for name in args.presets.split(","):
            c2w = preset_c2w(name, 16)[frames]
            gts = [ground_truth(c.numpy(), K.double().numpy(), h, w, src_K, src_hw) for c in c2w]
            cells = []
            outs = {}
            for mode in modes:
                base, blend = mode.removesuffix("-blend"), MeshFill.BLEND
                MeshFill.BLEND = mode.endswith("-blend")
                render_scene(scene, c2w.float(), h, w, mode=base)  # warm-up
                t0 = time.perf_counter()
                res = render_scene(scene, c2w.float(), h, w, mode=base)
                ms = (time.perf_counter() - t0) * 1e3
                MeshFill.BLEND = blend
                outs[mode] = res
                per = [measure(res.frames[i], res.depth[i], res.visible[i], gt) for i, gt in enumerate(gts)]
                summary.setdefault((size, mode), []).extend(per)
                holes = [p["holes"] for p in per]
                cells.append(f"{np.mean(holes):.2f} / {np.max(holes):.2f} | {np.mean([p['leaks'] for p in per]):.2f} | "
                             f"{np.nanmean([p['colour'] for p in per]):.2f} | {ms:.0f}")
            dis = np.mean([p["disocc"] for p in per])
            out = np.mean([p["outside"] for p in per])
            extra = ""
            for m in others:
                ref, res = outs["points"], outs[m]
                lfl = [like_for_like(ref.frames[i], ref.visible[i], res.frames[i], res.visible[i], gt)
                       for i, gt in enumerate(gts)]
                pairs.setdefault((size, m), []).extend(lfl)
                extra += (f" {np.nanmean([p['ref_both'] for p in lfl]):.2f} | {np.nanmean([p['both'] for p in lfl]):.2f} | "
                          f"{_nanmean([p['only'] for p in lfl])} | {np.mean([p['only_px'] for p in lfl]):.2f} |")
            print(f"| {size} | {name} | {' | '.join(cells)} | {dis:.1f} | {out:.1f} |{extra}", flush=True)
    print("\nworst preset mean / worst frame, per size and mode:")
    for (size, mode), per in summary.items():
        holes = np.array([p["holes"] for p in per]).reshape(-1, len(frames))
        leaks = np.array([p["leaks"] for p in per])
        colour = np.array([p["colour"] for p in per])
        print(f"  {size} {mode}: holes {holes.mean(1).max():.2f} % / {holes.max():.2f} %, leaks max "
              f"{leaks.max():.2f} %, colour mean {np.nanmean(colour):.2f}")
    for (size, mode), lfl in pairs.items():
        print(f"  {size} like for like, points vs {mode}: on both {np.nanmean([p['ref_both'] for p in lfl]):.2f} vs "
              f"{np.nanmean([p['both'] for p in lfl]):.2f}, {mode}-only {_nanmean([p['only'] for p in lfl])}")


def _nanmean(v: list[float]) -> str:
    """mean of the finite entries, '-' when there are none (no pixel in the set)"""
    v = [x for x in v if np.isfinite(x)]
    return f"{np.mean(v):.2f}" if v else "-"


if __name__ == "__main__":
    main()
