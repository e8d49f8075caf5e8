"""Find and load Depth Anything V2 *metric* models as transformers `DepthAnythingForDepthEstimation`.

Accepted on disk:
- a transformers `-hf` folder (`config.json` + `model.safetensors`, or a sharded index, or
  `pytorch_model.bin`), as in `depth-anything/Depth-Anything-V2-Metric-Indoor-Large-hf`;
- an original-format single file, `.safetensors` or `.pth`/`.pt`/`.bin` (keys `pretrained.*`,
  `depth_head.*`, as the upstream release and kijai's ComfyUI-DepthAnythingV2 files). `.pth` files
  are read with `torch.load(weights_only=True)` only: pickles that need code are refused.

Metric or relative cannot be read from the weights (the final Sigmoid has no parameters), and an
early official config used the pre-release key `depth_estimation` (which transformers ignores, so
the model silently loads as relative and returns wrong metres). So the loader decides metric mode
from, in order: the caller's `metric` argument; the config (`depth_estimation_type` or the legacy
key); the name (`metric`, `hypersim`/`indoor` -> 20 m, `vkitti`/`outdoor` -> 80 m). `max_depth` is
an int (transformers 5 rejects floats).

The model is built on the meta device and each weight copied in and its file pages released in turn
(peak about the model's size, bench/loading.py), after the on-disk -> in-memory renames transformers 5
applies to the Dinov2 attention (`_IN_MEMORY_RENAMES`); weights that do not match exactly go to
`from_pretrained(None, config=..., state_dict=...)` instead, which names what is wrong.
transformers is imported lazily so importing this package stays cheap.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from ..errors import RealCamInputError
from ..weights.hub import download, leftover_partial
from ..weights.lazy import materialize, open_weights
from .convert import build_config, infer_architecture, is_hf_format, is_original_format, original_to_hf

ORIGINAL_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
INDOOR_MAX_DEPTH = 20
OUTDOOR_MAX_DEPTH = 80


@dataclass(frozen=True)
class KnownDepthModel:
    """Where a named model comes from: a Hugging Face repo, and the file in it (None = whole `-hf` repo)."""

    repo_id: str
    filename: str | None
    max_depth: int
    note: str = ""


def _known() -> dict[str, KnownDepthModel]:
    models: dict[str, KnownDepthModel] = {}
    # kijai's original-format safetensors (what ComfyUI-DepthAnythingV2 users already have).
    for scene, depth in (("hypersim", INDOOR_MAX_DEPTH), ("vkitti", OUTDOOR_MAX_DEPTH)):
        name = f"depth_anything_v2_metric_{scene}_vitl_fp32.safetensors"
        models[name] = KnownDepthModel("Kijai/DepthAnythingV2-safetensors", name, depth, "ViT-L, 1.3 GB, CC-BY-NC-4.0")
    # Official transformers folders.
    sizes = (
        ("Small", "ViT-S, 99 MB, Apache-2.0"),
        ("Base", "ViT-B, 390 MB, CC-BY-NC-4.0"),
        ("Large", "ViT-L, 1.3 GB, CC-BY-NC-4.0"),
    )
    for scene, depth in (("Indoor", INDOOR_MAX_DEPTH), ("Outdoor", OUTDOOR_MAX_DEPTH)):
        for size, note in sizes:
            name = f"Depth-Anything-V2-Metric-{scene}-{size}-hf"
            models[name] = KnownDepthModel(f"depth-anything/{name}", None, depth, note)
    # Official original-format .pth files.
    for scene, repo_scene, depth in (
        ("hypersim", "Hypersim", INDOOR_MAX_DEPTH),
        ("vkitti", "VKITTI", OUTDOOR_MAX_DEPTH),
    ):
        for enc, size in (("vits", "Small"), ("vitb", "Base"), ("vitl", "Large")):
            name = f"depth_anything_v2_metric_{scene}_{enc}.pth"
            models[name] = KnownDepthModel(f"depth-anything/Depth-Anything-V2-Metric-{repo_scene}-{size}", name, depth)
    return models


#: Names the depth loader node offers; the first is RealCam-I2V's own choice (Hypersim ViT-L).
KNOWN_DEPTH_MODELS: dict[str, KnownDepthModel] = _known()


# ----------------------------------------------------------------------------------------- names


def metric_hint(name: str) -> tuple[bool, int | None]:
    """(looks metric, max_depth) from a file or repo name: hypersim/indoor -> 20, vkitti/outdoor -> 80."""
    low = name.lower()
    if re.search(r"hypersim|indoor", low):
        return True, INDOOR_MAX_DEPTH
    if re.search(r"vkitti|kitti|outdoor", low):
        return True, OUTDOOR_MAX_DEPTH
    return ("metric" in low), None


def _name_text(path: str, config: Mapping | None = None) -> str:
    """The names that say what a model is: the file/folder name, the HF cache repo, `_name_or_path`."""
    path = os.path.abspath(path)
    parts = [os.path.basename(path)]
    parent = os.path.dirname(path)
    if os.path.basename(parent) == "snapshots":  # HF cache: models--org--Name/snapshots/<hash>
        parts.append(os.path.basename(os.path.dirname(parent)))
    if config and isinstance(config.get("_name_or_path"), str):
        parts.append(config["_name_or_path"])
    return " ".join(parts)


def _as_int_depth(value: object, source: str) -> int:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RealCamInputError(f"{source}: expected a whole number of metres, got {value!r}") from None
    if not (f > 0 and f == int(f)):
        raise RealCamInputError(f"{source}: expected a positive whole number of metres (e.g. 20 or 80), got {value!r}")
    return int(f)


def _decide_metric(
    path: str, config: Mapping | None, metric: bool | None, max_depth: float | int | None
) -> tuple[bool, int | None]:
    """Metric mode and max_depth for a checkpoint (see the module docstring for the order)."""
    name = _name_text(path, config)
    name_metric, name_depth = metric_hint(name)
    cfg_type = None
    cfg_depth = None
    if config is not None:
        cfg_type = config.get("depth_estimation_type") or config.get("depth_estimation")
        raw = config.get("max_depth")
        if isinstance(raw, (int, float)) and raw > 1:  # 1 is the relative default, not a metric range
            cfg_depth = _as_int_depth(raw, f"{path}: config max_depth")
    is_metric = metric if metric is not None else (cfg_type == "metric" or name_metric)
    if not is_metric:
        if metric is False:
            return False, None
        raise RealCamInputError(
            f"depth model {os.path.basename(path)!r}: expected a metric Depth Anything V2 model (name with "
            f"'metric'/'hypersim'/'vkitti', or a config with depth_estimation_type='metric'); this one looks like a "
            f"relative-depth model, whose output is not in metres. Use e.g. "
            f"{next(iter(KNOWN_DEPTH_MODELS))!r}, or force metric mode with max_depth (20 indoor, 80 outdoor)"
        )
    if max_depth is not None:
        return True, _as_int_depth(max_depth, "max_depth")
    depth = cfg_depth if cfg_depth is not None else name_depth
    if depth is None:
        raise RealCamInputError(
            f"max_depth: expected 20 (indoor/Hypersim) or 80 (outdoor/VKITTI) for {os.path.basename(path)!r}; "
            f"neither its name nor its config says which"
        )
    return True, depth


# ----------------------------------------------------------------------------------------- files


def read_state_dict(path: str) -> dict[str, torch.Tensor]:
    """All tensors of one checkpoint file, on the CPU, in their stored dtype (memory-mapped: the model
    built from them takes the only in-memory copy, bench/loading.py)."""
    return open_weights(path, "depth model file")


def _read_hf_folder_weights(folder: str) -> dict[str, torch.Tensor]:
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = os.path.join(folder, index_name)
        if os.path.isfile(index):
            try:
                with open(index, encoding="utf-8") as f:
                    data = json.load(f)
            except (OSError, ValueError, RecursionError) as e:
                raise RealCamInputError(f"depth model folder {folder}: unreadable {index_name} ({str(e)[:160]})") from None
            weight_map = data.get("weight_map") if isinstance(data, dict) else None
            if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
                raise RealCamInputError(
                    f"depth model folder {folder}: expected {index_name} to be an object with a 'weight_map' of "
                    f"tensor name -> shard file name, got {type(data).__name__}")
            shards = sorted(set(weight_map.values()))
            sd: dict[str, torch.Tensor] = {}
            real_folder = os.path.realpath(folder)
            for shard in shards:
                shard_path = os.path.join(folder, shard)
                real = os.path.realpath(shard_path)
                if os.path.isabs(shard) or os.path.dirname(real) != real_folder:
                    raise RealCamInputError(
                        f"depth model folder {folder}: shard {shard!r} listed in {index_name} is outside the folder; "
                        "expected file names next to the index")
                if not os.path.isfile(shard_path):
                    raise RealCamInputError(
                        f"depth model folder {folder}: shard {shard} listed in {index_name} is missing"
                    )
                sd.update(read_state_dict(shard_path))
            return sd
    for name in ("model.safetensors", "pytorch_model.bin"):
        if os.path.isfile(os.path.join(folder, name)):
            return read_state_dict(os.path.join(folder, name))
    raise RealCamInputError(f"depth model folder {folder}: expected model.safetensors next to config.json, found none")


def _read_hf_config(folder: str) -> dict:
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise RealCamInputError(f"depth model folder {folder}: unreadable config.json ({e})") from None
    if not isinstance(cfg, dict) or cfg.get("model_type") != "depth_anything":
        got = cfg.get("model_type") if isinstance(cfg, dict) else type(cfg).__name__
        raise RealCamInputError(
            f"depth model folder {folder}: expected a Depth Anything config (model_type 'depth_anything'), got {got!r}"
        )
    return cfg


# ----------------------------------------------------------------------------------------- loading


def _not_depth_anything(path: str, sd: Mapping[str, torch.Tensor]) -> RealCamInputError:
    sample = ", ".join(list(sd)[:4])
    return RealCamInputError(
        f"depth model file {path}: expected a Depth Anything V2 checkpoint (keys pretrained.*/depth_head.*, or "
        f"backbone.*/neck.*/head.*), found keys like {sample}"
    )


# transformers 5 names the Dinov2 attention differently in memory than on disk (4.x keeps the disk names);
# (on-disk part, in-memory part) of each renamed parameter.
_IN_MEMORY_RENAMES = (
    (".attention.attention.query.", ".attention.q_proj."),
    (".attention.attention.key.", ".attention.k_proj."),
    (".attention.attention.value.", ".attention.v_proj."),
    (".attention.output.dense.", ".attention.o_proj."),
)


def _disk_name(name: str, state_dict: Mapping[str, torch.Tensor]) -> str | None:
    if name in state_dict:
        return name
    for disk, memory in _IN_MEMORY_RENAMES:
        if memory in name and name.replace(memory, disk) in state_dict:
            return name.replace(memory, disk)
    return None


def _fill_on_meta(config, state_dict: Mapping[str, torch.Tensor]):
    """The model built on the meta device and given the file's tensors one at a time, or None.

    Each tensor is copied (as float32, the model's dtype) and its file pages released at once
    (`weights.lazy.materialize`), so loading peaks at about the model's size; `from_pretrained` keeps
    the mapped file and its own copies side by side (bench/loading.py). None (the caller then uses
    `from_pretrained`, which also words the errors) when the names or shapes do not match exactly:
    foreign or incomplete weights, or a transformers version that renames differently.
    """
    from transformers import DepthAnythingForDepthEstimation

    try:
        with torch.device("meta"):
            model = DepthAnythingForDepthEstimation(config)
    except Exception:  # a transformers version that cannot build on the meta device: the slow path
        return None
    tensors = [*model.named_parameters(), *model.named_buffers()]
    key_of = {name: _disk_name(name, state_dict) for name, _ in tensors}
    if set(key_of.values()) != set(state_dict) or len(tensors) != len(state_dict):
        return None
    if any(tuple(state_dict[key_of[name]].shape) != tuple(t.shape) for name, t in tensors):
        return None
    missing = materialize(model, dict(state_dict), key_of.__getitem__)
    return None if missing else model


def _from_pretrained(config, state_dict: dict[str, torch.Tensor], path: str):
    from transformers import DepthAnythingForDepthEstimation

    fixed: dict[str, torch.Tensor] = {}
    for k, v in state_dict.items():  # float32; q / k / v of an original file are views of its qkv: own copies
        v = v.float() if v.is_floating_point() else v
        fixed[k] = v.clone() if ".attention.attention." in k else v
    state_dict = fixed
    try:
        model, info = DepthAnythingForDepthEstimation.from_pretrained(
            None, config=config, state_dict=state_dict, output_loading_info=True
        )
    except (RuntimeError, ValueError) as e:  # size mismatches between config and weights
        raise RealCamInputError(f"depth model {path}: weights do not fit the architecture ({str(e)[:300]})") from None
    missing = sorted(info.get("missing_keys") or [])
    unexpected = sorted(info.get("unexpected_keys") or [])
    mismatched = list(info.get("mismatched_keys") or [])
    if missing or unexpected or mismatched:
        raise RealCamInputError(
            f"depth model {path}: incomplete or foreign weights (missing {missing[:4]}, unexpected {unexpected[:4]}, "
            f"mismatched {mismatched[:4]})"
        )
    return model


def _instantiate(config, state_dict: dict[str, torch.Tensor], path: str):
    model = _fill_on_meta(config, state_dict)
    return model if model is not None else _from_pretrained(config, state_dict, path)


def load_depth_model(
    path: str,
    *,
    metric: bool | None = None,
    max_depth: float | int | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
):
    """Load a Depth Anything V2 checkpoint (folder or single file) as a metric transformers model.

    metric: None = decide from config/name and require metric; True = force metric mode; False =
    allow a relative model. max_depth: overrides the config/name (int metres: 20 indoor, 80 outdoor).
    dtype: float32 by default (fp16 files are upcast; kijai notes fp16 costs a lot of quality).
    Returns `DepthAnythingForDepthEstimation` in eval mode on `device`, with `realcam_depth_info`
    (a dict: path, format, encoder, max_depth) attached.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise RealCamInputError(f"depth model: expected an existing file or folder, got {path!r}")
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "config.json")):
            raise RealCamInputError(
                f"depth model folder {path}: expected a transformers folder with config.json and model.safetensors"
            )
        cfg_dict = _read_hf_config(path)
        sd = _read_hf_folder_weights(path)
        if not is_hf_format(sd):
            raise _not_depth_anything(path, sd)
        is_metric, depth = _decide_metric(path, cfg_dict, metric, max_depth)
        fmt = "hf-folder"
    else:
        if not path.lower().endswith(ORIGINAL_SUFFIXES + (".ckpt",)):
            raise RealCamInputError(f"depth model file {path}: expected .safetensors, .pth, .pt or .bin")
        cfg_dict = None
        sd = read_state_dict(path)
        if is_original_format(sd):
            sd = original_to_hf(sd, copy=False)  # q / k / v as views: copied once, into the model
            fmt = "original"
        elif is_hf_format(sd):
            fmt = "hf-file"
        else:
            raise _not_depth_anything(path, sd)
        is_metric, depth = _decide_metric(path, None, metric, max_depth)

    if cfg_dict is not None:  # the folder's config is authoritative; shapes only name the encoder
        config = _fix_hf_config(cfg_dict, is_metric, depth)
        try:
            encoder = infer_architecture(sd)["encoder"]
        except RealCamInputError:
            encoder = "custom"
    else:
        arch = infer_architecture(sd)
        encoder = arch["encoder"]
        config = build_config(arch, is_metric, depth)
    model = _instantiate(config, sd, path)
    model = model.to(device=device, dtype=dtype).eval()
    model.realcam_depth_info = {
        "path": path,
        "format": fmt,
        "encoder": encoder,
        "metric": is_metric,
        "max_depth": depth,
    }
    return model


def _fix_hf_config(cfg_dict: dict, is_metric: bool, max_depth: int | None):
    """A DepthAnythingConfig from config.json with the metric fields forced (legacy key removed)."""
    from transformers import DepthAnythingConfig

    d = dict(cfg_dict)
    d.pop("depth_estimation", None)
    d["depth_estimation_type"] = "metric" if is_metric else "relative"
    if max_depth is not None:
        d["max_depth"] = int(max_depth)
    elif "max_depth" in d and d["max_depth"] is not None:
        d["max_depth"] = int(round(float(d["max_depth"])))
    try:
        return DepthAnythingConfig.from_dict(d)
    except Exception as e:
        raise RealCamInputError(
            f"depth model config.json: not a valid Depth Anything config ({str(e)[:300]})"
        ) from None


# ----------------------------------------------------------------------------------------- resolving


def _dirs(models_dir: str | Sequence[str]) -> list[str]:
    if isinstance(models_dir, (str, os.PathLike)):
        return [os.fspath(models_dir)]
    return [os.fspath(d) for d in models_dir]


def _looks_like_model(path: str) -> bool:
    if os.path.isdir(path):
        return os.path.isfile(os.path.join(path, "config.json"))
    return path.lower().endswith(ORIGINAL_SUFFIXES)


def list_depth_models(models_dir: str | Sequence[str]) -> list[str]:
    """Known names first, then model files and `-hf` folders found in the folder(s), no duplicates."""
    names = list(KNOWN_DEPTH_MODELS)
    for d in _dirs(models_dir):
        if not os.path.isdir(d):
            continue
        for entry in sorted(os.listdir(d)):
            if entry.startswith(".") or entry in names:
                continue
            if _looks_like_model(os.path.join(d, entry)):
                names.append(entry)
    return names


def resolve_depth_model(models_dir: str | Sequence[str], name: str, allow_download: bool) -> str:
    """The path of model `name` in the folder(s); download a known model into the first folder if allowed.

    `name` is a file or folder name inside one of the folders (or an existing absolute path), a
    known `-hf` repo name, or `org/repo` of a known repo. Raises RealCamInputError naming the
    folders searched, the file and where to get it when it is missing and download is off.
    """
    dirs = _dirs(models_dir)
    name = (name or "").strip()
    if not name:
        raise RealCamInputError("depth model: expected a model name, got an empty string")
    if os.path.isabs(name) and os.path.exists(name):
        return name
    # "org/Repo-hf" (a hub id) is stored as the folder "Repo-hf"; try the name as given first.
    local_name = name.split("/")[-1] if name.count("/") == 1 and not os.path.splitext(name)[1] else name
    for candidate_name in dict.fromkeys((name, local_name)):
        for d in dirs:
            candidate = os.path.join(d, candidate_name)
            if os.path.exists(candidate):
                _check_not_partial(candidate)
                return candidate
    known = KNOWN_DEPTH_MODELS.get(local_name)
    searched = ", ".join(dirs) if dirs else "(no folders)"
    if known is None:
        raise RealCamInputError(
            f"depth model: {name!r} not found in {searched}; expected a Depth Anything V2 metric file "
            f"(.safetensors/.pth) or -hf folder there, or one of the known names: {', '.join(KNOWN_DEPTH_MODELS)}"
        )
    where = f"https://huggingface.co/{known.repo_id}" + (f" (file {known.filename})" if known.filename else "")
    if not allow_download:
        partial = leftover_partial(os.path.join(dirs[0], local_name)) if dirs else None
        raise RealCamInputError(
            f"depth model: {local_name!r} not found in {searched}; download it from {where} into {dirs[0] if dirs else 'the models folder'}"
            f" (or allow automatic download)" + (f"; an interrupted download is in {partial}" if partial else "")
        )
    if not dirs:
        raise RealCamInputError("depth model: expected a models folder to download into, got none")
    return _download(known, local_name, dirs[0], where)


def _check_not_partial(path: str) -> None:
    """A `-hf` folder without its config or weights is an interrupted download (older versions wrote in place)."""
    if not (os.path.isdir(path) and path.rstrip("/\\").endswith("-hf")):
        return
    has_cfg = os.path.isfile(os.path.join(path, "config.json"))
    has_weights = any(os.path.isfile(os.path.join(path, n)) for n in (
        "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"))
    if not (has_cfg and has_weights):
        missing = [n for n, ok in (("config.json", has_cfg), ("model.safetensors", has_weights)) if not ok]
        raise RealCamInputError(
            f"depth model folder {path}: missing {', '.join(missing)}, so it looks like an interrupted download; "
            "delete the folder and run again to download it afresh (or copy the missing files in)"
        )


def _download(known: KnownDepthModel, local_name: str, target_dir: str, where: str) -> str:
    if known.filename is None:
        return download(known.repo_id, None, os.path.join(target_dir, local_name), "depth model",
                        allow_patterns=["config.json", "model.safetensors", "preprocessor_config.json", "README.md"])
    return download(known.repo_id, known.filename, target_dir, "depth model")
