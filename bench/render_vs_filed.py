"""What the render node waits for now, against what it waited for when issue 13 was filed (its goal: the new
preview "at no more than 1.5x today's render time").

"then": the renderer at commit 5fc6af5 (main when issue 13 was filed: 2-px splats only), as its render node ran
it (`render_scene`, `shaping_mask`, the outputs as float). "now": `render_preview` (the render node's path today)
in mode "mesh" (the default) and "points" (upstream's 2-px splats, sped up since). Scene and path as
bench/render_surface_speed.py --node: the synthetic room generated at each size, the dolly of bench/render.py,
one thread. The old renderer is extracted with `git archive` into a temporary folder; each measurement runs in its
own process (the two trees share module names), the three alternating over --rounds rounds; each cell is the best
call (ms per frame) over all rounds.

    python bench/render_vs_filed.py [--rounds 3] [--repeats 3] [--sizes 512x320x16,1024x576x25,832x480x81]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILED = "5fc6af5"  # main when issue 13 was filed
WHICH = ("then", "mesh", "points")


def _child(which: str, tree: str, inputs: str, repeats: int) -> None:
    sys.path.insert(0, tree)
    import torch

    torch.set_num_threads(1)
    data = torch.load(inputs)
    rgb, depth, K, c2w = data["rgb"], data["depth"], data["K"], data["c2w"]
    n, h, w = c2w.shape[0], depth.shape[0], depth.shape[1]
    if which == "then":
        import realcam_core.render as R  # noqa: PLC0415  (the layout at FILED)
        from realcam_core.types import Scene  # noqa: PLC0415
    else:
        import realcam_core.scene.render as R  # noqa: PLC0415
        from realcam_core.scene.types import Scene  # noqa: PLC0415
    assert Path(R.__file__).resolve().is_relative_to(Path(tree).resolve()), R.__file__
    scene = Scene(image=rgb, depth=depth, K=K, mask=depth > 0).validate()

    def node() -> None:
        if which == "then":  # its render node: render_scene, shaping_mask, the outputs as float
            res = R.render_scene(scene, c2w, height=h, width=w, splat=2)
            R.shaping_mask(res.visible, k=5).float()
            res.frames.float(), res.visible.float()
        else:
            R.render_preview(scene, c2w, h, w, mode=which)

    node()  # warm-up (kept workspace, kernels)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        node()
        best = min(best, (time.perf_counter() - t) * 1000 / n)
    print(json.dumps({"ms": best}))


def _inputs(size: str, path: Path) -> Path:
    """The room at this size and the dolly, saved for the children (which import only the tree they time)."""
    import torch
    from render import _room_scene, trajectory  # noqa: PLC0415  (bench/render.py: the room as the node gets it)

    w, h, n = (int(v) for v in size.split("x"))
    room = _room_scene(w, h)
    torch.save({"rgb": room.image, "depth": room.depth, "K": room.K, "c2w": trajectory(n)}, path)
    return path


def _extract_filed(dest: Path) -> Path:
    data = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", FILED, "realcam_core"],
                          check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", default="512x320x16,1024x576x25,832x480x81", help="WxHxFRAMES, comma-separated")
    ap.add_argument("--child", nargs=4, metavar=("WHICH", "TREE", "INPUTS", "REPEATS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        which, tree, inputs, repeats = args.child
        _child(which, tree, inputs, int(repeats))
        return
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # bench/render.py builds the inputs (not in the children)
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"then": str(_extract_filed(Path(tmp) / "filed")), "mesh": str(ROOT), "points": str(ROOT)}
        print(f"render node's path, 1 thread, best call of {args.rounds} rounds x {args.repeats} calls, ms/frame "
              f"(then = {FILED})")
        print("| size | frames | then (points) | now mesh | now points | mesh / then | mesh / now points |")
        print("|---|---|---|---|---|---|---|")
        for size in args.sizes.split(","):
            inputs = _inputs(size, Path(tmp) / f"{size}.pt")
            best = dict.fromkeys(WHICH, float("inf"))
            for _ in range(args.rounds):
                for which in WHICH:
                    out = subprocess.run([sys.executable, __file__, "--child", which, trees[which], str(inputs),
                                          str(args.repeats)], check=True, capture_output=True, text=True).stdout
                    best[which] = min(best[which], json.loads(out.strip().splitlines()[-1])["ms"])
            w, h, n = size.split("x")
            t, m, p = (best[k] for k in WHICH)
            print(f"| {w}x{h} | {n} | {t:.2f} | {m:.2f} | {p:.2f} | {m / t:.2f} | {m / p:.2f} |", flush=True)


if __name__ == "__main__":
    main()
