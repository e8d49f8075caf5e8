"""Hashes of mode="mesh" renders, to show that a speed change leaves the output bit for bit as it was.

57 renders, one thread: the dolly of bench/render.py on the synthetic room generated at 512x320 (16 frames, splats
1-4), 1024x576 (25) and 832x480 (81), each size once more with chunk=3; and every preset (16 frames) of the room
asset as bench/render_holes.py renders it, at 512x320, 1024x576 and 832x480. Per render: sha256 of frames, depth
and visibility. Save the hashes before a change, compare after:

    python bench/render_mesh_hashes.py --save /tmp/mesh_before.json
    python bench/render_mesh_hashes.py --check /tmp/mesh_before.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import torch  # noqa: E402
from render import scene, trajectory  # noqa: E402  (bench/render.py)
from render_holes import load_room  # noqa: E402

from realcam_core.scene.render import render_point_cloud, render_scene  # noqa: E402
from realcam_core.trajectory.presets import PRESET_NAMES, preset_c2w  # noqa: E402


def _digest(res) -> str:
    h = hashlib.sha256()
    for t in (res.frames, res.depth, res.visible):
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def hashes() -> dict[str, str]:
    out = {}
    for w, h, n in ((512, 320, 16), (1024, 576, 25), (832, 480, 81)):
        pts, cols, K = scene(w, h, "cpu")
        c2w = trajectory(n)
        for splat in (1, 2, 3, 4) if w == 512 else (2,):
            out[f"dolly {w}x{h} s{splat}"] = _digest(
                render_point_cloud(pts, cols, K, c2w, h, w, mode="mesh", grid_width=w, splat=splat))
        out[f"dolly {w}x{h} chunk3"] = _digest(
            render_point_cloud(pts, cols, K, c2w, h, w, mode="mesh", grid_width=w, chunk=3))
    room = load_room()
    for w, h in ((512, 320), (1024, 576), (832, 480)):
        for name in PRESET_NAMES:  # the scene's K fitted to the size, as bench/render_holes.py renders it
            out[f"{name} {w}x{h}"] = _digest(render_scene(room, preset_c2w(name, 16).float(), h, w, mode="mesh"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="write the hashes to this JSON file")
    group.add_argument("--check", type=Path, help="compare with the hashes in this JSON file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    now = hashes()
    if args.save:
        args.save.write_text(json.dumps(now, indent=1))
        print(f"{len(now)} renders hashed -> {args.save}")
        return
    before = json.loads(args.check.read_text())
    differ = [k for k in before if now.get(k) != before[k]]
    print(f"{len(before)} renders, {len(differ)} differ" + (": " + ", ".join(differ) if differ else " (bit-identical)"))
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
