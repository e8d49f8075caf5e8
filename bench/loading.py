"""Peak memory while loading full-size checkpoints: whole-file read + load_state_dict vs memory-mapped loading.

Writes random full-size files to a scratch folder (deleted at the end unless --keep):
  - merged 256 file: RealCam-I2V 256 UNet + pose encoder + Resampler, fp32, one .safetensors;
  - base + camera pair: the same tensors as a Lightning-style zip `.ckpt` (base) plus a `.safetensors`
    camera file (pose encoder, Plücker projections, epipolar attention);
  - depth model: Depth Anything V2 ViT-L (upstream names), fp32 .safetensors.
Each case then loads in a fresh subprocess, reads every weight once (so file pages a lazy reader has not
touched yet count too), and reports the peak resident set (VmHWM) minus the resident set just before
loading (after imports), next to the loaded model's size:

  old: `read_state_dict` (whole file into memory) -> `build_models` -> `load_weights`
  new: `load_models` (memory-mapped files, meta-device modules materialised tensor by tensor)
  node, node-pair: the ComfyUI loader node's path (`nodes/model_nodes.load_realcam`, ComfyUI booted
    in-process) on the merged file / the pair; old = the model built (initialised) and then
    `load_weights` from the mapped files, new = `build_model_patcher` as it is (meta device + `fill_models`).
  depth old: `load_depth_model` as it was (mapped file, q / k / v copied by the converter, then
    transformers' `from_pretrained`); new: as it is (meta-device model filled tensor by tensor).

    python bench/loading.py [--dir /tmp/realcam-load-bench] [--cases merged pair node node-pair depth] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _write_files(folder: str, cases: list[str]) -> None:
    import torch
    from safetensors.torch import save_file

    from realcam_core.model import build_models, preset_config
    from realcam_core.model.loading import (
        CAMERA_MARKERS,
        POSE_PREFIX,
        resampler_key_to_upstream,
        unet_key_to_upstream,
    )

    os.makedirs(folder, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    if {"merged", "pair"} & set(cases):
        cfg = preset_config("256")
        unet, res = build_models(cfg, device="meta")
        sd = {}
        for mod, to_up in ((unet, unet_key_to_upstream), (res, resampler_key_to_upstream)):
            for k, t in mod.state_dict().items():
                sd[to_up(k)] = torch.randn(t.shape, generator=g) * 0.02
        del unet, res
        if "merged" in cases:
            save_file(sd, os.path.join(folder, "merged_256.safetensors"))
        if "pair" in cases:
            cam = [k for k in sd if k.startswith(POSE_PREFIX) or any(m in k for m in CAMERA_MARKERS[1:])]
            save_file({k: sd.pop(k) for k in cam}, os.path.join(folder, "camera_256.safetensors"))
            torch.save({"state_dict": sd}, os.path.join(folder, "base_256.ckpt"))
        del sd
    if "depth" in cases:
        from realcam_core.testing.tiny_depth import original_shapes

        arch = {"hidden": 1024, "layers": 24, "patch": 14, "grid": 37, "mlp": 4096,
                "out_channels": (256, 512, 1024, 1024), "features": 256, "head": 32}
        sd = {k: torch.randn(s, generator=g) * 0.02 for k, s, _ in original_shapes(arch)}
        save_file(sd, os.path.join(folder, "depth_anything_v2_metric_hypersim_vitl.safetensors"))


def _node_loader(files: tuple[str, str | None], mode: str):
    """The loader node's load, ComfyUI booted in-process (imports done here, outside the measurement);
    old: the node's previous `build_model_patcher` (model built and initialised, then `load_weights`)."""
    import torch

    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from inprocess_comfy import boot_comfy, import_pack_module

    cwd = os.getcwd()
    boot_comfy()
    os.chdir(cwd)
    import comfy.model_management as mm
    import comfy.model_patcher

    ck = import_pack_module("realcam_comfy.checkpoints")
    rm = import_pack_module("realcam_comfy.model_base")
    if mode == "old":
        model_pkg = import_pack_module("realcam_core.model")

        def eager(sd, cfg, dtype=None):  # fp32 on the CPU, as the new path picks there
            mc = rm.RealCamModelConfig(cfg)
            mc.set_inference_dtype(torch.float32, None)
            model = rm.RealCamModel(mc, device=mm.unet_offload_device())
            model_pkg.load_weights(model.diffusion_model.unet, model.diffusion_model.resampler, sd, strict=True)
            return comfy.model_patcher.ModelPatcher(model, load_device=mm.get_torch_device(),
                                                    offload_device=mm.unet_offload_device())

        ck.build_model_patcher = eager  # the name checkpoints.load_realcam calls

    def load() -> list:
        patcher, _ = ck.load_realcam(files[0], files[1])
        return [patcher.model.diffusion_model]

    return load


def _child(case: str, mode: str, folder: str) -> dict:
    import torch

    from realcam_core.model import build_models, infer_config, load_weights, merge_checkpoints, read_state_dict
    from realcam_core.model.loading import load_models

    torch.set_num_threads(1)
    files = {"merged": (os.path.join(folder, "merged_256.safetensors"), None),
             "pair": (os.path.join(folder, "base_256.ckpt"), os.path.join(folder, "camera_256.safetensors"))}
    node_load = _node_loader(files["merged" if case == "node" else "pair"], mode) if case.startswith("node") else None
    if case == "depth":  # transformers' import (~0.25 GiB) is not part of the load
        from transformers import DepthAnythingForDepthEstimation  # noqa: F401
    base_kb = _status_kb("VmRSS")
    t0 = time.perf_counter()
    if case.startswith("node"):
        modules = node_load()
    elif case == "depth":
        import realcam_core.depth.model as dm

        if mode == "old":
            from realcam_core.depth import convert

            dm._fill_on_meta = lambda *a: None  # straight to from_pretrained
            dm.original_to_hf = lambda sd, copy=True: convert.original_to_hf(sd, copy=True)
        model = dm.load_depth_model(os.path.join(folder, "depth_anything_v2_metric_hypersim_vitl.safetensors"),
                                    metric=True, max_depth=20)
        modules = [model]
    elif mode == "old":
        base, cam = files[case]
        sd = merge_checkpoints(read_state_dict(base), read_state_dict(cam) if cam else None)
        unet, res = build_models(infer_config(sd))
        load_weights(unet, res, sd)
        del sd
        modules = [unet, res]
    else:
        base, cam = files[case]
        loaded = load_models(base, cam)
        modules = [loaded.unet, loaded.resampler]
    dt = time.perf_counter() - t0
    # read every weight once, so pages a lazy loader left on disk count as they will when the model runs
    with torch.no_grad():
        for m in modules:
            for t in [*m.parameters(), *m.buffers()]:
                t.sum()
    size = sum(t.numel() * t.element_size() for m in modules for t in [*m.parameters(), *m.buffers()])
    return {"peak_rise": (_status_kb("VmHWM") - base_kb) * 1024, "after": (_status_kb("VmRSS") - base_kb) * 1024,
            "model": size, "seconds": dt}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="/tmp/realcam-load-bench")
    ap.add_argument("--cases", nargs="+", default=["merged", "pair", "node", "node-pair", "depth"],
                    choices=["merged", "pair", "node", "node-pair", "depth"])
    ap.add_argument("--keep", action="store_true", help="keep the random files")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], args.child[1], args.dir)))
        return
    sizes = {"merged": ["merged_256.safetensors"], "pair": ["base_256.ckpt", "camera_256.safetensors"],
             "depth": ["depth_anything_v2_metric_hypersim_vitl.safetensors"]}
    sizes |= {"node": sizes["merged"], "node-pair": sizes["pair"]}
    need = sorted({{"node": "merged", "node-pair": "pair"}.get(c, c) for c in args.cases
                   if not all(os.path.isfile(os.path.join(args.dir, f)) for f in sizes[c])})
    if need:
        subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {ROOT!r}); "
                        f"from bench.loading import _write_files; _write_files({args.dir!r}, {need!r})"],
                       check=True, cwd=ROOT)
    gib = 2**-30
    print("| case | reader | file GiB | model GiB | peak rise GiB | peak / model | resident after GiB | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    try:
        for case in args.cases:
            file_bytes = sum(os.path.getsize(os.path.join(args.dir, f)) for f in sizes[case])
            for mode in ("old", "new"):
                out = subprocess.run([sys.executable, os.path.abspath(__file__), "--dir", args.dir,
                                      "--child", case, mode], capture_output=True, text=True, check=True, cwd=ROOT)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"| {case} | {mode} | {file_bytes * gib:.2f} | {r['model'] * gib:.2f} | "
                      f"{r['peak_rise'] * gib:.2f} | {r['peak_rise'] / r['model']:.2f}x | {r['after'] * gib:.2f} | "
                      f"{r['seconds']:.1f} |", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
