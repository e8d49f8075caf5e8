"""Metric depth with Depth Anything V2 through transformers (ARCHITECTURE §6).

`resolve_depth_model` finds (or downloads) a checkpoint, `load_depth_model` loads a `-hf` folder
or an original-format file as a metric `DepthAnythingForDepthEstimation`, and
`predict_metric_depth` turns ComfyUI images (B, H, W, 3) into depth (B, H, W) in metres.
Intrinsics are not estimated here (the camera package uses fx = fy = 0.5 * max(H, W)).
"""

from .convert import infer_architecture, is_hf_format, is_original_format, original_to_hf
from .infer import lower_bound_size, predict_metric_depth, preprocess
from .model import (
    KNOWN_DEPTH_MODELS,
    KnownDepthModel,
    list_depth_models,
    load_depth_model,
    metric_hint,
    read_state_dict,
    resolve_depth_model,
)

__all__ = [
    "KNOWN_DEPTH_MODELS",
    "KnownDepthModel",
    "infer_architecture",
    "is_hf_format",
    "is_original_format",
    "list_depth_models",
    "load_depth_model",
    "lower_bound_size",
    "metric_hint",
    "original_to_hf",
    "predict_metric_depth",
    "preprocess",
    "read_state_dict",
    "resolve_depth_model",
]
