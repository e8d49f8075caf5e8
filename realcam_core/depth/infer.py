"""Metric depth from images with a Depth Anything V2 model, preprocessed as the ORIGINAL code does.

Upstream `DepthAnythingV2.infer_image` resizes with `Resize(lower_bound, keep_aspect_ratio,
ensure_multiple_of=14, INTER_CUBIC)` so the *short* side is at least `input_size`, normalises with
ImageNet mean/std, runs the model and resizes the prediction back with bilinear
(align_corners=True). transformers' image processor differs (it needs PIL/torchvision and resizes
back with bicubic), so we do it here in torch, batched, on the model's device.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..errors import RealCamInputError, input_error, require

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PATCH_MULTIPLE = 14


def _round_half_even(x: float) -> int:
    return int(round(x))  # Python's round is half-to-even, like numpy.round used upstream


def lower_bound_size(height: int, width: int, input_size: int = 518, multiple: int = PATCH_MULTIPLE) -> tuple[int, int]:
    """Network input size (h, w): keep aspect, short side >= input_size, both multiples of `multiple`.

    320x512 -> 518x826; 512x320 -> 826x518 (upstream `Resize(..., resize_method="lower_bound")`).
    """
    require(height > 0 and width > 0, "image", "a non-empty image", f"{height}x{width}")
    require(input_size >= multiple, "input_size", f"an int >= {multiple}", input_size)
    scale = max(input_size / height, input_size / width)

    def constrain(x: float) -> int:
        y = _round_half_even(x / multiple) * multiple
        if y < input_size:
            y = math.ceil(x / multiple) * multiple
        return int(y)

    return constrain(scale * height), constrain(scale * width)


def preprocess(image: torch.Tensor, input_size: int = 518) -> torch.Tensor:
    """(B, H, W, 3) float 0..1 -> (B, 3, h, w) float32 network input (bicubic, ImageNet-normalised)."""
    _check_image(image)
    _, h, w, _ = image.shape
    x = image.permute(0, 3, 1, 2).float()
    size = lower_bound_size(h, w, input_size)
    if size != (h, w):
        # cv2.INTER_CUBIC = Keys cubic a=-0.75, half-pixel centres, no antialias: torch's bicubic.
        x = F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=False)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def _check_image(image: object) -> None:
    if not isinstance(image, torch.Tensor):
        raise input_error("image", "a torch tensor (B, H, W, 3)", type(image).__name__)
    require(image.ndim == 4 and image.shape[-1] == 3, "image", "(B, H, W, 3) RGB", tuple(image.shape))
    require(
        image.shape[0] > 0 and image.shape[1] > 0 and image.shape[2] > 0,
        "image",
        "a non-empty batch",
        tuple(image.shape),
    )
    require(image.is_floating_point(), "image", "float values 0..1", image.dtype)


def _model_device_dtype(model: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    p = next(model.parameters())
    return p.device, p.dtype


def predict_metric_depth(
    model: torch.nn.Module,
    image: torch.Tensor,
    input_size: int = 518,
    batch_size: int = 4,
    progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Metric depth in metres for each image.

    image: (B, H, W, 3) float 0..1 (ComfyUI IMAGE). Returns (B, H, W) float32 metres on the image's
    device. Runs in chunks of `batch_size` on the model's device and dtype; `progress(done, total)`
    is called once per image.
    """
    config = getattr(model, "config", None)
    require(
        getattr(config, "depth_estimation_type", None) == "metric",
        "depth model",
        "a metric Depth Anything model (depth_estimation_type='metric')",
        getattr(config, "depth_estimation_type", type(model).__name__),
    )
    _check_image(image)
    require(isinstance(batch_size, int) and batch_size >= 1, "batch_size", "an int >= 1", batch_size)
    if not bool(torch.isfinite(image).all()):
        raise RealCamInputError("image: expected finite values 0..1, got NaN or infinity")
    device, dtype = _model_device_dtype(model)
    b, h, w, _ = image.shape
    out = torch.empty((b, h, w), dtype=torch.float32, device=image.device)
    done = 0
    with torch.inference_mode():
        for start in range(0, b, batch_size):
            chunk = image[start : start + batch_size].to(device)
            x = preprocess(chunk, input_size).to(dtype)
            pred = model(pixel_values=x).predicted_depth  # (b, h', w') metres
            pred = F.interpolate(pred.float().unsqueeze(1), size=(h, w), mode="bilinear", align_corners=True)
            out[start : start + chunk.shape[0]] = pred[:, 0].to(out.device)
            for _ in range(chunk.shape[0]):
                done += 1
                if progress is not None:
                    progress(done, b)
    return out
