"""Benchmark the point-cloud renderer: ms/frame, peak memory, and the memory-bandwidth floor.

Scene: the synthetic room (scripts/make_synthetic_room.py) generated at each output size, one point
per pixel (512x320: 163,840 points; 1024x576: 589,824), rendered along a forward dolly with yaw and
lift (1 m, 20 degrees, 0.2 m) with 2-px splats.

Per case it prints
  fresh ms/frame   render_point_cloud as a node calls it (new output tensors every call);
  reuse ms/frame   the same into preallocated outputs (`out=`): the difference is first-touch page
                   faults of fresh memory, which a CPU pays on every new tensor;
  peak MiB         extra memory at the peak of one render, outputs included (CPU: peak RSS growth
                   in a fresh child process, Linux; CUDA: torch.cuda.max_memory_allocated);
  floor ms/frame   one torch copy (read + write, preallocated) of as many bytes as a z-buffer renderer
                   touches at the least, each data structure once: read the points (12 B/point),
                   write + read one int64 key and one int64 z-buffer index per point (32 B/point),
                   fill + read the int64 z-buffer (16 B/cell), read the winners' colours (12 B/pixel),
                   write frames, depth and visibility (17 B/pixel). (The same accounting as the
                   reference prototype's "~14.7 MB per frame" at 512x320.)
  ratio            reuse / floor.
Timings: floor, fresh and reuse run in interleaved rounds; each is the best of --repeats rounds
(the machine may be shared: a busy moment hits all three alike, best-of filters it out).

    python bench/render.py [--device cpu|cuda] [--repeats 7] [--threads N] [--splat 2] [--mode points|surface|mesh]

Two more tables:
  --under-load   16 frames at 512x320, quiet and then with two CPU-bound processes beside it (started
                 and stopped here), for torch's threads always (the renderer before), one thread,
                 and the thread count picked per call (now): median and worst call of --repeats
                 rounds, the three renderers interleaved in each round (a busy moment from elsewhere
                 hits all three alike), and the thread counts the per-call choice took.
  --peak-preview the node's path for 400 frames at 1024x576 (--frames/--size to change): peak RSS of
                 one render + masks as the node did it before (whole-path render, then the masks) and
                 as `render_preview` does now (blocks of 32 frames), each in a fresh process.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from realcam_core.scene.geometry import unproject_depth  # noqa: E402
from realcam_core.scene.render import RenderResult, render_point_cloud  # noqa: E402

CASES = [(512, 320, 16), (1024, 576, 25)]


def _room_module():
    spec = importlib.util.spec_from_file_location("make_synthetic_room", ROOT / "scripts" / "make_synthetic_room.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def scene(width: int, height: int, device: str):
    """-> points (P, 3), colours (P, 3), K (3, 3) of the synthetic room at (height, width)."""
    room = _room_module()
    rgb, depth_mm, meta = room.make_room(width, height)
    K = torch.tensor([[meta["fx"], 0, meta["cx"]], [0, meta["fy"], meta["cy"]], [0, 0, 1]], dtype=torch.float32)
    depth = torch.from_numpy(depth_mm.astype("float32")) / 1000.0
    pts = unproject_depth(depth, K).reshape(-1, 3)
    cols = torch.from_numpy(rgb).float().div(255.0).reshape(-1, 3)
    return pts.to(device), cols.to(device), K


def trajectory(n: int) -> torch.Tensor:
    """(n, 4, 4) c2w: dolly 1 m forward, yaw 20 degrees, lift 0.2 m, linearly over the frames."""
    c2w = torch.eye(4).repeat(n, 1, 1)
    for i in range(n):
        a = i / max(n - 1, 1)
        yaw = math.radians(20.0) * a
        c2w[i, 0, 0], c2w[i, 0, 2] = math.cos(yaw), math.sin(yaw)
        c2w[i, 2, 0], c2w[i, 2, 2] = -math.sin(yaw), math.cos(yaw)
        c2w[i, :3, 3] = torch.tensor([0.0, -0.2 * a, 1.0 * a])
    return c2w


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _best(fn, repeats: int, device: str) -> float:
    """Best wall time of `repeats` calls (0: one untimed warm-up call, returns inf)."""
    best = float("inf")
    if repeats == 0:
        fn()
        _sync(device)
        return best
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def peak_child(width: int, height: int, frames: int, splat: int, threads: int | None, mode: str = "points") -> float:
    """Peak extra RSS (MiB) of one render, measured in a fresh process so earlier runs do not mask it."""
    cmd = [sys.executable, __file__, "--peak-child", f"{width}x{height}x{frames}", "--splat", str(splat),
           "--mode", mode]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_mib"]


def _child(spec: str, splat: int, mode: str = "points") -> None:
    width, height, frames = (int(v) for v in spec.split("x"))
    pts, cols, K = scene(width, height, "cpu")
    c2w = trajectory(frames)
    render_point_cloud(pts[:1000], cols[:1000], K, c2w[:1], height, width, splat=splat)  # load kernels

    def status(field: str) -> float:
        line = next(v for v in Path("/proc/self/status").read_text().splitlines() if v.startswith(field + ":"))
        return int(line.split()[1]) / 1024.0

    before = status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    render_point_cloud(pts, cols, K, c2w, height, width, splat=splat, mode=mode,
                       grid_width=None if mode == "points" else width)
    print(json.dumps({"peak_mib": status("VmHWM") - before}))


def run_case(width: int, height: int, frames: int, args: argparse.Namespace) -> str:
    """One table row. Floor, fresh and reuse are timed in interleaved rounds, so that a busy moment
    on a shared machine hits all three alike; each column is the best round."""
    dev = args.device
    pts, cols, K = scene(width, height, dev)
    c2w = trajectory(frames)
    kw = {"splat": args.splat, "chunk": args.chunk, "mode": args.mode,
          "grid_width": None if args.mode == "points" else width}
    out = RenderResult(
        torch.empty(frames, height, width, 3, device=dev),
        torch.empty(frames, height, width, device=dev),
        torch.empty(frames, height, width, dtype=torch.bool, device=dev),
    )
    n_points, pixels, cells = pts.shape[0], height * width, (height + args.splat + 1) * (width + args.splat + 1)
    floor_bytes = frames * (n_points * (12 + 32) + cells * 16 + pixels * (12 + 17))
    src = torch.ones(floor_bytes // 8, dtype=torch.float32, device=dev)
    dst = torch.zeros_like(src)
    runs = {
        "floor": lambda: dst.copy_(src),
        "fresh": lambda: render_point_cloud(pts, cols, K, c2w, height, width, **kw),
        "reuse": lambda: render_point_cloud(pts, cols, K, c2w, height, width, out=out, **kw),
    }
    best = {name: _best(fn, 0, dev) for name, fn in runs.items()}  # warm-up round
    for _ in range(args.repeats):
        for name, fn in runs.items():
            best[name] = min(best[name], _best(fn, 1, dev))
    if dev.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        render_point_cloud(pts, cols, K, c2w, height, width, **kw)
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak = peak_child(width, height, frames, args.splat, args.threads, args.mode)
    vis = out.visible.float().mean().item()
    ms = {name: t / frames * 1e3 for name, t in best.items()}
    return (f"| {width}x{height} | {frames} | {n_points:,} | {ms['fresh']:.2f} | {ms['reuse']:.2f} "
            f"| {peak:.0f} | {ms['floor']:.2f} | {ms['reuse'] / ms['floor']:.1f} | {vis:.3f} |")


def _interleaved(fns: list, repeats: int) -> list[tuple[list[float], list[float]]]:
    """Wall times (ms) of each fn: `repeats` rounds of one call each on the machine as it is, then as many
    with two busy processes. Rounds interleave the fns, so a busy moment from elsewhere hits all alike."""
    times = [([], []) for _ in fns]
    for fn in fns:
        fn()
    load: list[subprocess.Popen] = []
    try:
        for phase in (0, 1):
            if phase:
                load = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
                time.sleep(1.0)
            for _ in range(repeats):
                for fn, t in zip(fns, times, strict=True):
                    t0 = time.perf_counter()
                    fn()
                    t[phase].append((time.perf_counter() - t0) * 1e3)
    finally:
        for p in load:
            p.kill()
            p.wait()
    return times


def _room_scene(width: int, height: int):
    """The synthetic room as a Scene (what the render node gets)."""
    from realcam_core.scene.types import Scene

    rgb, depth_mm, meta = _room_module().make_room(width, height)
    K = torch.tensor([[meta["fx"], 0, meta["cx"]], [0, meta["fy"], meta["cy"]], [0, 0, 1]], dtype=torch.float32)
    depth = torch.from_numpy(depth_mm.astype("float32")) / 1000.0
    return Scene(image=torch.from_numpy(rgb).float() / 255.0, depth=depth, K=K, mask=depth > 0).validate()


def _split_child(conn, lo: int, hi: int, mode: str, splat: int, preview: bool) -> None:
    """--split-processes: one process rendering frames lo..hi of the --under-load call on one thread, when told."""
    from realcam_core.scene.render import render_preview

    torch.set_num_threads(1)
    width, height = 512, 320
    pts, cols, K = scene(width, height, "cpu")
    sc = _room_scene(width, height)
    c2w = trajectory(16)[lo:hi]
    grid = None if mode == "points" else width

    def render() -> None:
        if preview:
            render_preview(sc, c2w, height, width, splat=splat, mode=mode)
        else:
            render_point_cloud(pts, cols, K, c2w, height, width, splat=splat, mode=mode, grid_width=grid)

    render()
    conn.send("ready")
    while conn.recv() == "go":
        render()
        conn.send("done")


class _SplitProcesses:
    """The frames split between n processes (one thread each), started once; a call = all of them render their
    share; wall time until the last one is done. No data moves: each has its own copy of the scene, and
    the frames stay where they were rendered (a real renderer would have to send and gather them)."""

    def __init__(self, n: int, args: argparse.Namespace):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        step = -(-16 // n)
        self.pipes, self.procs = [], []
        for lo in range(0, 16, step):
            a, b = ctx.Pipe()
            p = ctx.Process(target=_split_child, args=(b, lo, min(lo + step, 16), args.mode, args.splat, args.preview),
                            daemon=True)
            p.start()
            self.pipes.append(a)
            self.procs.append(p)
        for a in self.pipes:
            a.recv()

    def __call__(self) -> None:
        for a in self.pipes:
            a.send("go")
        for a in self.pipes:
            a.recv()

    def close(self) -> None:
        for a in self.pipes:
            a.send("quit")
        for p in self.procs:
            p.join()


def under_load(args: argparse.Namespace) -> None:
    import statistics

    import realcam_core.scene.render as render_mod

    width, height, frames = 512, 320, 16
    pts, cols, K = scene(width, height, "cpu")
    c2w = trajectory(frames)
    kw = {"splat": args.splat, "mode": args.mode, "grid_width": None if args.mode == "points" else width}
    threads = torch.get_num_threads()
    original, choice = render_mod._busy_cpus, render_mod._threads_for_call
    picked: list[int] = []  # the thread count the per-call choice took, per call
    if args.preview:  # the render node's path: render_preview of a Scene (grid cloud, shaping mask)
        from realcam_core.scene.render import render_preview

        sc = _room_scene(width, height)

        def render() -> None:
            render_preview(sc, c2w, height, width, splat=args.splat, mode=args.mode)
    else:
        def render() -> None:
            render_point_cloud(pts, cols, K, c2w, height, width, **kw)

    first = [False]  # the first probe of a call decides (render_preview probes again inside if it took all)

    def probe() -> int:
        busy = original()
        cpus = len(os.sched_getaffinity(0))
        if first[0]:
            picked.append(threads if busy + threads <= cpus else 1)
            first[0] = False
        return busy

    def render_only(device):  # the choice as it was: render_point_cloud's own calls only, not render_preview's
        return contextlib.nullcontext() if sys._getframe(1).f_code.co_name == "render_preview" else choice(device)

    # (name, torch threads, busy-CPU probe, thread choice)
    configs = [
        (f"always {threads} torch threads (before)", threads, lambda: 0, choice),
        ("always one thread", 1, original, choice),
        (f"{threads} threads, one while the CPUs are busy (now)", threads, probe, choice),
    ]
    if args.preview:
        configs.insert(2, (f"{threads} threads, one while busy, render_point_cloud only (previous)", threads,
                           original, render_only))

    def call(n: int, busy, threads_for_call):
        def run() -> None:
            torch.set_num_threads(n)
            render_mod._busy_cpus = busy  # the busy-CPU probe the renderer uses
            render_mod._threads_for_call = threads_for_call
            first[0] = True
            try:
                render()
            finally:
                render_mod._busy_cpus, render_mod._threads_for_call = original, choice
                torch.set_num_threads(threads)
        return run

    what = "render_preview (the node's path)" if args.preview else "render_point_cloud"
    print(f"16 frames at 512x320, {what}, mode {args.mode}, {os.cpu_count()} CPUs, {args.repeats} interleaved "
          f"rounds; loaded = two `while True: pass` processes beside it; load average before: "
          f"{os.getloadavg()[0]:.2f}")
    fns = [call(n, b, w) for _, n, b, w in configs]
    splits = [_SplitProcesses(n, args) for n in args.split_processes]
    for n, sp in zip(args.split_processes, splits, strict=True):
        configs.append((f"{n} processes x {-(-16 // n)} frames, 1 thread each (experiment, no data moved)", 1, None,
                        None))
        fns.append(sp)
    try:
        times = _interleaved(fns, args.repeats)
    finally:
        for sp in splits:
            sp.close()
    n_quiet = args.repeats + 1  # warm-up + quiet rounds
    chosen_q, chosen_l = picked[:n_quiet], picked[n_quiet:]
    print("| renderer | quiet median ms | quiet worst | loaded median ms | loaded worst | loaded / own quiet "
          "| loaded / best quiet |")
    print("|---|---|---|---|---|---|---|")
    rows = [(name, statistics.median(q), max(q), statistics.median(ld), max(ld))
            for (name, _, _, _), (q, ld) in zip(configs, times, strict=True)]
    best_quiet = min(r[1] for r in rows)
    for name, qm, qw, lm, lw in rows:
        print(f"| {name} | {qm:.1f} | {qw:.1f} | {lm:.1f} | {lw:.1f} | {lm / qm:.2f} | {lm / best_quiet:.2f} |")
    print(f"threads the per-call choice took: quiet {chosen_q[1:]}, loaded {chosen_l}; "
          f"load average after: {os.getloadavg()[0]:.2f}")


def _preview_child(spec: str, how: str, mode: str) -> None:
    """Peak RSS growth of the render node's work for one path, the old way or through render_preview."""
    from realcam_core.scene import render as R

    width, height, frames = (int(v) for v in spec.split("x"))
    sc = _room_scene(512, 320)
    c2w = trajectory(frames)
    R.render_scene(sc, c2w[:2], 64, 64, mode=mode)  # load kernels

    def status(field: str) -> float:
        line = next(v for v in Path("/proc/self/status").read_text().splitlines() if v.startswith(field + ":"))
        return int(line.split()[1]) / 1024.0

    before = status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    t0 = time.perf_counter()
    if how == "before":  # the node until now: the whole path at once, then the masks as float
        res = R.render_scene(sc, c2w, height, width, mode=mode)
        shaping = R.shaping_mask(res.visible, k=5)
        out = (res.frames.cpu().float(), res.visible.float().cpu(), shaping.float().cpu())
    else:
        p = R.render_preview(sc, c2w, height, width, mask_kernel=5, mode=mode)
        out = (p.frames, p.visibility, p.shaping)
    secs = time.perf_counter() - t0
    outputs = sum(t.numel() * t.element_size() for t in out) / 2**20
    print(json.dumps({"peak_mib": status("VmHWM") - before, "outputs_mib": outputs, "s": secs}))


def peak_preview(args: argparse.Namespace) -> None:
    spec = f"{args.size}x{args.frames}"
    print(f"node path, {spec.replace('x', ' x ', 2)} frames, mode {args.mode}: peak RSS growth in a fresh process")
    print("| path | peak MiB | outputs MiB | peak - outputs | seconds |")
    print("|---|---|---|---|---|")
    for how in ("before", "blocks"):
        cmd = [sys.executable, __file__, "--preview-child", spec, "--how", how, "--mode", args.mode]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        name = "whole path, then masks (before)" if how == "before" else "render_preview, 32-frame blocks (now)"
        print(f"| {name} | {r['peak_mib']:.0f} | {r['outputs_mib']:.0f} | {r['peak_mib'] - r['outputs_mib']:.0f} "
              f"| {r['s']:.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--splat", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=None, help="frames per pass (default: the renderer's)")
    ap.add_argument("--mode", default="points", choices=["points", "surface", "mesh"])
    ap.add_argument("--under-load", action="store_true", help="the quiet vs busy-machine table")
    ap.add_argument("--preview", action="store_true", help="--under-load: time render_preview (the node's path)")
    ap.add_argument("--split-processes", type=int, nargs="*", default=[],
                    help="--under-load: rows for the frames split between this many processes (experiment)")
    ap.add_argument("--peak-preview", action="store_true", help="peak memory of the node's path, before / now")
    ap.add_argument("--size", default="1024x576", help="--peak-preview: output size")
    ap.add_argument("--frames", type=int, default=400, help="--peak-preview: frames")
    ap.add_argument("--peak-child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--preview-child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--how", default="blocks", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.peak_child:
        _child(args.peak_child, args.splat, args.mode)
        return
    if args.preview_child:
        _preview_child(args.preview_child, args.how, args.mode)
        return
    if args.under_load:
        under_load(args)
        return
    if args.peak_preview:
        peak_preview(args)
        return

    dev = args.device
    print(f"torch {torch.__version__}, device {dev}"
          + (f" ({torch.cuda.get_device_name()})" if dev.startswith("cuda") else f", {torch.get_num_threads()} threads")
          + f", {os.cpu_count()} CPUs, splat {args.splat}, mode {args.mode}, best of {args.repeats}")
    print("| size | frames | points | fresh ms/frame | reuse ms/frame | peak MiB | floor ms/frame | ratio | visible |")
    print("|---|---|---|---|---|---|---|---|---|")
    for width, height, frames in CASES:
        print(run_case(width, height, frames, args), flush=True)


if __name__ == "__main__":
    main()
