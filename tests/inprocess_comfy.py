"""ComfyUI imported in-process (for child processes of tests and for benchmarks).

The import order matters (ARCHITECTURE §10): `args.cpu` before model
management loads, and `utils.extra_config` before `nodes` puts comfy/ first on sys.path.
Run this in a child process: it changes the working directory and sys.path for good.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def comfy_dir() -> Path:
    return Path(os.environ.get("COMFYUI_PATH") or Path.home() / ".cache" / "comfyui-realcam" / "ComfyUI")


def boot_comfy(comfy: Path | None = None, tmp: Path | None = None, cpu: bool = True) -> None:
    """Import ComfyUI (on the CPU unless cpu=False); outputs and temp files go to `tmp` when given."""
    comfy = Path(comfy or comfy_dir())
    sys.path.insert(0, str(comfy))
    os.chdir(comfy)
    from comfy.cli_args import args

    args.cpu = cpu
    import folder_paths

    if tmp is not None:
        folder_paths.set_output_directory(str(tmp))
        folder_paths.set_temp_directory(str(tmp))
    import utils.extra_config  # noqa: F401


def boot_with_model_folder() -> Path:
    """One thread, ComfyUI booted on the CPU with outputs in a fresh temp folder whose `realcam/` subfolder is
    the realcam model folder; returns that temp folder (the in-process RealCam model tests start here)."""
    import tempfile

    import torch

    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp())
    boot_comfy(Path(os.environ["COMFY"]) if "COMFY" in os.environ else None, tmp)
    import folder_paths

    folder_paths.folder_names_and_paths["realcam"] = ([str(tmp / "realcam")], set())
    return tmp


def error_of(fn) -> str:
    """"Type: message" of what fn() raised, or "no error": lets a child process report errors as results."""
    try:
        fn()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "no error"


def import_pack_module(name: str):
    """Import one module of this pack as `realcam_pack.<name>` without running the pack's __init__ files."""
    for pkg, path in (("realcam_pack", REPO), ("realcam_pack.nodes", REPO / "nodes")):
        if pkg not in sys.modules:
            mod = types.ModuleType(pkg)
            mod.__path__ = [str(path)]
            sys.modules[pkg] = mod
    return importlib.import_module(f"realcam_pack.{name}")


def tiny_fixture_model(fixture: Path):
    """(config json, io tensors, (H, W), RealCamConfig, ModelPatcher) of an upstream tiny fixture folder, built the
    way the checkpoint loader builds a MODEL (call after `boot_comfy`)."""
    import json

    from safetensors.torch import load_file

    rm = import_pack_module("realcam_comfy.model_base")
    conf = import_pack_module("realcam_core.conformance")
    model_pkg = import_pack_module("realcam_core.model")
    cfg_json = json.loads((fixture / "config.json").read_text())
    sd = load_file(str(fixture / "model.safetensors"))
    io = load_file(str(fixture / "io.safetensors"))
    params, _, diff, factors, _ = conf._fixture_settings(cfg_json)
    rp = (params.get("image_proj_stage_config") or {}).get("params", {})
    pp = (params.get("pose_encoder_config") or {}).get("params", {})
    hw = tuple(cfg_json["derived"]["image_size_pixels_HW"])
    cfg = model_pkg.infer_config(sd, diffusion=diff, epipolar_mask_factors=factors, resampler_heads=rp.get("heads"),
                                 pose_heads=pp.get("temporal_attention_nhead"), image_size=hw)
    return cfg_json, io, hw, cfg, rm.build_model_patcher(sd, cfg)
