"""Camera accuracy of the SfM evaluation on ground truth: the synthetic room rendered along every preset.

For each of the 16 presets (16 frames, the upstream total motion unless --amplitude-scale) and a few
random smooth paths, render the room (exact metric depth) at --size with the point-cloud renderer,
estimate the cameras with `realcam_core.evaluation` (pycolmap, intrinsics fixed to the room's, metric
scale from the room's depth) and print RotErr (rad), TransErr and CamMC (relative and absolute) averaged
over --trials, the registered frames per trial, the method, and wall-clock seconds per frame of the
estimation on the CPU (features once + every trial's matching and mapping, divided by frames; no rendering).
Renders are exact, so the errors are the estimator's own floor; a row that did not register says why.

    python bench/camera_accuracy.py [--frames 16] [--size 512x320] [--trials 3] [--random 3]
                                    [--amplitude-scale 1.0] [--threads -1] [--presets a,b,...] [--splat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from realcam_core.evaluation import evaluate_camera_accuracy  # noqa: E402
from realcam_core.evaluation.synthetic import load_room, random_smooth_path  # noqa: E402
from realcam_core.scene.render import render_scene  # noqa: E402
from realcam_core.trajectory.presets import PRESET_NAMES, PRESETS, make_preset  # noqa: E402
from realcam_core.trajectory.types import Trajectory  # noqa: E402


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", default="512x320", help="WxH of the renders")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--random", type=int, default=3, help="random smooth paths (seeds 0..N-1)")
    ap.add_argument("--amplitude-scale", type=float, default=1.0, help="times each preset's upstream amplitude")
    ap.add_argument("--threads", type=int, default=-1, help="pycolmap threads (-1: all cores)")
    ap.add_argument("--presets", default="", help="comma-separated subset (default: all 16)")
    ap.add_argument("--splat", type=int, default=3, help="render splat in pixels (2 leaves holes when zooming)")
    args = ap.parse_args()
    w, h = (int(s) for s in args.size.lower().split("x"))
    room = load_room()
    cases: list[tuple[str, Trajectory]] = []
    for name in (args.presets.split(",") if args.presets else PRESET_NAMES):
        amp = PRESETS[name]["amplitude"] * args.amplitude_scale
        cases.append((name, make_preset(name, args.frames, amplitude=amp)))
    for seed in range(args.random):
        c2w = random_smooth_path(args.frames, seed).float()
        cases.append((f"random_{seed}", Trajectory(c2w=c2w, K_norm=make_preset("stationary", args.frames).K_norm)))

    print(f"# {len(cases)} paths, {args.frames} frames, {w}x{h}, {args.trials} trials, splat {args.splat}, amplitude x"
          f"{args.amplitude_scale}, torch threads {torch.get_num_threads()}")
    print("| path | method | registered | RotErr (rad) | TransErr rel | CamMC rel | TransErr abs | CamMC abs "
          "| s/frame |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, traj in cases:
        frames = render_scene(room, traj.c2w, h, w, splat=args.splat).frames
        t0 = time.perf_counter()
        rep = evaluate_camera_accuracy(frames, traj, scene=room, trials=args.trials, num_threads=args.threads)
        spf = (time.perf_counter() - t0) / args.frames
        m = rep.metrics or {}
        methods = ",".join(sorted({t.estimate.method for t in rep.trials}))
        reg = " ".join(str(k) for k in rep.registered)
        print(f"| {name} | {methods} | {reg} | {_fmt(m.get('RotErr'))} | {_fmt(m.get('TransErr_rel'))} | "
              f"{_fmt(m.get('CamMC_rel'))} | {_fmt(m.get('TransErr_abs'))} | {_fmt(m.get('CamMC_abs'))} | "
              f"{spf:.2f} |", flush=True)
        if not rep.ok:
            causes = sorted({t.estimate.message for t in rep.trials})
            print(f"|  ↳ {name}: {'; '.join(causes)} |||||||||", flush=True)


if __name__ == "__main__":
    main()
