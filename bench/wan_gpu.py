"""GPU benchmark: one real-size Wan 2.2 Fun Camera (A14B, one expert) run with random weights, with and without
RealCam Wan noise shaping, through core ComfyUI sampling (euler, simple, cfg 1 = one model call per step).

The state dict is random bf16 in the layout core loads (core's own classes enumerate the keys), loaded with
core's `load_diffusion_model_state_dict` (its model detection picks WAN22_Camera). Latent: 81 frames at
832x480 (16 x 21 x 60 x 104), camera embedding from RealCam Wan Camera Embedding's code, default shaping
window (first 10 % of the schedule). Prints seconds per run, the overhead and peak GiB.

    python bench/wan_gpu.py [--steps 10] [--repeats 2]          # real size: needs ~60 GB of GPU memory
    python bench/wan_gpu.py --tiny --cpu --steps 2 --frames 5    # smoke test of the script on a CPU
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--frames", type=int, default=81)
    ap.add_argument("--width", type=int, default=832)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--tiny", action="store_true", help="dim 128, 1 block (smoke test)")
    ap.add_argument("--cpu", action="store_true")
    args = ap.parse_args()

    from inprocess_comfy import boot_comfy, import_pack_module

    boot_comfy(tmp=Path(tempfile.mkdtemp()), cpu=args.cpu)
    import comfy.ldm.wan.model as wm
    import comfy.model_management as mm
    import comfy.ops
    import comfy.sample
    import comfy.sd
    import torch
    from comfy_extras import nodes_wan

    dims = dict(dim=128, ffn_dim=256, num_heads=1, num_layers=1) if args.tiny else \
        dict(dim=5120, ffn_dim=13824, num_heads=40, num_layers=40)
    meta = wm.CameraWanModel(model_type="camera_2.2", in_dim=36, out_dim=16, device="meta",
                             operations=comfy.ops.disable_weight_init, **dims)
    g = torch.Generator().manual_seed(0)
    sd = {}
    for k, v in meta.state_dict().items():
        scale = 1.0 if ("norm" in k and v.ndim == 1) else (0.02 if v.ndim < 2 else v[0].numel() ** -0.5)
        t = torch.ones(v.shape) if scale == 1.0 else torch.randn(v.shape, generator=g) * scale
        sd[k] = t.to(torch.bfloat16)
    del meta
    model = comfy.sd.load_diffusion_model_state_dict(sd)
    del sd
    print(f"model: {type(model.model.model_config).__name__}, {dims}")

    shaping = import_pack_module("realcam_comfy.shaping")
    wan_glue = import_pack_module("realcam_comfy.wan")
    wan = import_pack_module("realcam_core.wan")
    presets = import_pack_module("realcam_core.trajectory.presets")
    w, h, n = args.width, args.height, wan.check_length(args.frames)
    text = [[torch.randn(1, 512, 4096, generator=g), {}]]
    emb = wan_glue.wan_embedding(presets.make_preset("orbit_left", n), w, h, "true intrinsics")
    pos, neg, latent = nodes_wan.WanCameraImageToVideo.execute(text, text, None, w, h, n, 1,
                                                               camera_conditions=emb).args
    samples = latent["samples"]
    mask = torch.zeros(n, h, w)
    mask[:, :, : w // 2] = 1
    spec = shaping.ShapingSpec(torch.randn(samples.shape, generator=g), mask, wan.DEFAULT_FLOW_WINDOW)
    shaped = shaping.apply_noise_shaping(model, spec)
    noise = comfy.sample.prepare_noise(samples, 0)
    device = mm.get_torch_device()

    def run(m) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        comfy.sample.sample(m, noise, args.steps, 1.0, "euler", "simple", pos, neg, samples, seed=0)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t

    run(model)  # warm-up: weights to the device, kernels
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    off, on = [], []
    for _ in range(args.repeats):
        off.append(run(model))
        on.append(run(shaped))
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    print(f"Wan 2.2 Fun Camera, latent {list(samples.shape)}, {args.steps} euler steps, cfg 1, {device}, "
          f"best of {args.repeats}")
    print("| sampling s (off) | sampling s (shaped) | overhead | peak GiB |")
    print("|---:|---:|---:|---:|")
    print(f"| {min(off):.2f} | {min(on):.2f} | {100 * (min(on) / min(off) - 1):+.2f} % | {peak:.1f} |")


if __name__ == "__main__":
    main()
