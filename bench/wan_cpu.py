"""Wan on the CPU: noise-shaping overhead on a tiny Wan 2.2 Fun Camera model, and the Wan-size preview render.

1. Shaping overhead: core sampling (euler, simple, cfg 1) of a tiny random-weight Wan 2.2 Fun Camera model
   (tests/tiny_wan.py: dim 128, 1 block, loaded by core's UNETLoader) on the real Wan latent of 81 frames at
   832x480 (16 x 21 x 60 x 104), with and without RealCam Wan noise shaping (default window: the first 10 %
   of the schedule), best of --repeats interleaved rounds; and shaping's own work timed alone (prepare the
   preview / mask once per run, one blend per shaped step) against one model step, for 10-30 step schedules.
   A tiny model makes the overhead look large (a real model's step costs far more): the shares are upper
   bounds. One step of this tiny model already takes most of a minute on 2 cores (32,760 tokens of attention).
2. Preview render: RealCamPointCloudRender's work (render_scene + shaping_mask) for 81 frames at 832x480 from
   the synthetic room (one point per pixel at 832x480), ms/frame and peak RSS growth (fresh child process).

    python bench/wan_cpu.py [--steps 2] [--repeats 1] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
W, H, LENGTH = 832, 480, 81


def shaping_child(steps: int, repeats: int) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from inprocess_comfy import boot_comfy, import_pack_module

    tmp = Path(tempfile.mkdtemp())
    boot_comfy(tmp=tmp)
    import comfy.sample
    import folder_paths
    import tiny_wan
    import torch
    from comfy_extras import nodes_wan

    import nodes as comfy_nodes

    folder_paths.add_model_folder_path("diffusion_models", str(tmp))
    tiny_wan.write_tiny_dit(tmp / "tiny.safetensors", "fun_camera_2.2")
    model = comfy_nodes.UNETLoader().load_unet("tiny.safetensors", "default")[0]
    shaping = import_pack_module("realcam_comfy.shaping")
    wan = import_pack_module("realcam_core.wan")
    g = torch.Generator().manual_seed(0)
    text = [[torch.randn(1, 8, 4096, generator=g), {}]]
    pos, neg, latent = nodes_wan.WanCameraImageToVideo.execute(text, text, None, W, H, LENGTH, 1).args
    samples = latent["samples"]
    preview = torch.randn(samples.shape, generator=g)
    mask = torch.zeros(LENGTH, H, W)
    mask[:, :, : W // 2] = 1
    shaped = shaping.apply_noise_shaping(model, shaping.ShapingSpec(preview, mask, wan.DEFAULT_FLOW_WINDOW))
    noise = comfy.sample.prepare_noise(samples, 0)

    def run(m) -> float:
        t = time.perf_counter()
        comfy.sample.sample(m, noise, steps, 1.0, "euler", "simple", pos, neg, samples, seed=0)
        return time.perf_counter() - t

    # the work shaping adds, timed alone: preparing preview / mask for the run, and one blend per shaped step
    wrapper = shaping.NoiseShapingWrapper(shaping.ShapingSpec(preview, mask, wan.DEFAULT_FLOW_WINDOW))
    model_wrap = types.SimpleNamespace(inner_model=model.model)
    x = noise.clone()
    prep, blend = [], []
    for _ in range(5):
        t = time.perf_counter()
        shaper = wrapper.prepare(model_wrap, noise, 0)
        prep.append(time.perf_counter() - t)
        t = time.perf_counter()
        shaper.blend(x, 0, torch.tensor(0.99))
        blend.append(time.perf_counter() - t)
    off, on = [], []
    for _ in range(repeats):
        off.append(run(model))
        on.append(run(shaped))
    return {"latent": list(samples.shape), "steps": steps, "off_s": min(off), "on_s": min(on),
            "prepare_s": min(prep), "blend_s": min(blend)}


def render_child() -> dict:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_synthetic_room
    import torch

    from realcam_core.scene import render
    from realcam_core.scene.types import Scene
    from realcam_core.trajectory import presets

    rgb, depth_mm, meta = make_synthetic_room.make_room(W, H)
    K = torch.tensor([[meta["fx"], 0, meta["cx"]], [0, meta["fy"], meta["cy"]], [0, 0, 1]], dtype=torch.float32)
    depth = torch.from_numpy(depth_mm.astype("float32")) / 1000.0
    scene = Scene(image=torch.from_numpy(rgb).float() / 255.0, depth=depth, K=K, mask=depth > 0)
    traj = presets.make_preset("orbit_left", LENGTH)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    out = render.render_scene(scene, traj.c2w, height=H, width=W)
    render.shaping_mask(out.visible, k=5)
    dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"ms_per_frame": 1000 * dt / LENGTH, "total_s": dt, "peak_mib": (peak - base) / 1024}


def child(kind: str, args: argparse.Namespace) -> dict:
    env = dict(os.environ, PYTHONPATH="", OMP_NUM_THREADS=str(args.threads))
    cmd = [sys.executable, __file__, "--child", kind, "--steps", str(args.steps), "--repeats", str(args.repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-4000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", choices=["shaping", "render"])
    args = ap.parse_args()
    if args.child:
        import torch

        torch.set_num_threads(args.threads)
        out = shaping_child(args.steps, args.repeats) if args.child == "shaping" else render_child()
        print(json.dumps(out))
        return
    r = child("render", args)
    print(f"Wan preview render, {LENGTH} frames {W}x{H}, CPU {args.threads} threads")
    print("| ms/frame | total s | peak MiB (RSS growth) |")
    print("|---:|---:|---:|")
    print(f"| {r['ms_per_frame']:.1f} | {r['total_s']:.2f} | {r['peak_mib']:.0f} |")
    s = child("shaping", args)
    print(f"\nShaping overhead, tiny Wan 2.2 Fun Camera, latent {s['latent']}, {s['steps']} euler steps, cfg 1, "
          f"best of {args.repeats}")
    print("| sampling s (off) | sampling s (shaped) | overhead |")
    print("|---:|---:|---:|")
    print(f"| {s['off_s']:.2f} | {s['on_s']:.2f} | {100 * (s['on_s'] / s['off_s'] - 1):+.2f} % |")
    step = s["off_s"] / s["steps"]
    print(f"\nShaping's own work: prepare {1000 * s['prepare_s']:.0f} ms per run, blend {1000 * s['blend_s']:.0f} ms "
          f"per shaped step; one model step {step:.1f} s")
    print("| steps | shaped steps (default window) | shaping work / sampling |")
    print("|---:|---:|---:|")
    for n, shaped in ((10, 2), (20, 3), (30, 3)):
        share = (s["prepare_s"] + shaped * s["blend_s"]) / (n * step)
        print(f"| {n} | {shaped} | {100 * share:.3f} % |")


if __name__ == "__main__":
    main()
