"""RealCam-I2V model nodes: checkpoint loader, image-to-video conditioning, sampler (ARCHITECTURE §4-5).

The model itself (BaseModel subclass, sampling, conds) lives in `realcam_comfy/`; these nodes
only resolve files, check pairs and prepare conditioning. The sampler is `sampler_nodes`.
"""

from __future__ import annotations

import logging
import os
import re

import folder_paths
import torch
from comfy_api.latest import io

from ..realcam_comfy import conditioning as rm
from ..realcam_comfy.base_parts import clip_from, clip_vision_from, vae_from
from ..realcam_comfy.common import CATEGORY, REALCAM_FOLDER, TrajectoryType
from ..realcam_comfy.conditioning import with_values
from ..realcam_comfy.file_policy import check_model_path
from ..realcam_comfy.model_base import build_model_patcher
from ..realcam_core.errors import RealCamInputError, require
from ..realcam_core.model import CameraCondition, classify_checkpoint, infer_config, merge_checkpoints
from ..realcam_core.model.loading import POSE_PREFIX, RESAMPLER_PREFIX, UNET_PREFIX
from ..realcam_core.model.preprocess import clip_squash, resize_crop
from ..realcam_core.model.sources import KNOWN_CHECKPOINTS, download_checkpoint
from ..realcam_core.paths import check_name
from ..realcam_core.trajectory.types import Trajectory
from ..realcam_core.weights.hub import hub_offline, hub_url
from ..realcam_core.weights.lazy import open_weights, release_pages

log = logging.getLogger("RealCam")
CKPT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth")
NONE = "none"
IMAGE_SIZE_KEY = "realcam_image_size"  # optional [H, W] training-resolution stamp (tiny / fine-tuned models)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


# ------------------------------------------------------------------------------------------ files
def list_checkpoints() -> list[str]:
    """Checkpoint files in models/realcam, then models/checkpoints, then the official files not yet downloaded."""
    out: list[str] = []
    for folder in (REALCAM_FOLDER, "checkpoints"):
        try:
            names = folder_paths.get_filename_list(folder)
        except Exception:  # folder not registered in an unusual host set-up
            names = []
        out += [n for n in names if n.lower().endswith(CKPT_SUFFIXES) and n not in out]
    return out + [n for n in KNOWN_CHECKPOINTS if n not in out]


def resolve_checkpoint(name: str, what: str) -> str:
    """Path of `name`; an official file that is missing is downloaded into models/realcam (clear error offline).

    Path policy (file_policy.py): a relative name, and the file (links followed) inside the model folders.
    """
    folders = (REALCAM_FOLDER, "checkpoints")
    check_name(name, what, f"models/{REALCAM_FOLDER} or models/checkpoints")
    for folder in folders:
        try:
            path = folder_paths.get_full_path(folder, name)
        except Exception:
            path = None
        if path and (os.path.isfile(path) or os.path.islink(path)):
            return str(check_model_path(path, folders, what))
    if name in KNOWN_CHECKPOINTS:
        path = download_checkpoint(name, folder_paths.get_folder_paths(REALCAM_FOLDER)[0], what)
        return str(check_model_path(path, folders, what))
    raise RealCamInputError(f"{what}: {name!r} not found in models/{REALCAM_FOLDER} or models/checkpoints")


def missing_checkpoint(name: str, what: str) -> str | None:
    """Why `name` cannot be loaded, checked before the prompt runs; None if it is on disk or will download."""
    if name == NONE:
        return None
    for folder in (REALCAM_FOLDER, "checkpoints"):
        try:
            path = folder_paths.get_full_path(folder, name)
        except Exception:
            path = None
        if path and os.path.isfile(path):
            return None
    target = folder_paths.get_folder_paths(REALCAM_FOLDER)[0]
    if name in KNOWN_CHECKPOINTS:
        if not hub_offline():
            return None  # downloaded when the node runs
        repo, filename = KNOWN_CHECKPOINTS[name]
        return (f"{what}: {name!r} is not in models/{REALCAM_FOLDER} or models/checkpoints and downloads are off "
                f"(HF_HUB_OFFLINE); get it from {hub_url(repo, filename)} into {os.path.join(target, name)}")
    return f"{what}: {name!r} not found in models/{REALCAM_FOLDER} or models/checkpoints ({target})"


def read_checkpoint(path: str, what: str) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint, memory-mapped (no second copy of a 6.5 GB file in RAM); unreadable /
    truncated / code-executing files raise naming `what`."""
    return open_weights(path, what)


_RES_HINT = re.compile(r"(?<!\d)(256|512)(?!\d)")


def check_dynamicrafter_base(sd: dict[str, torch.Tensor], what: str) -> None:
    """A video UNet with the 8-channel (noisy + image latent) input, not an image model."""
    w = sd.get("model.diffusion_model.input_blocks.0.0.weight")
    if w is None:
        return
    temporal = any(".temopral_conv." in k for k in sd) or "model.diffusion_model.init_attn.0.norm.weight" in sd
    if w.ndim != 4 or w.shape[1] != 8 or not temporal:
        raise RealCamInputError(
            f"{what}: expected a DynamiCrafter / RealCam-I2V video checkpoint (8 input channels, temporal layers), "
            f"got an image model ({w.shape[1] if w.ndim == 4 else '?'} input channels"
            f"{', no temporal layers' if not temporal else ''}), e.g. SD1.5/SD2; load it with core loaders instead")


def merge_pair(base_name: str, base: dict | None, cam_name: str, cam: dict | None) -> tuple[dict, str]:
    """Canonical merged state dict and its variant; refuses mismatched or incomplete pairs."""
    b = merge_checkpoints(base, None) if base is not None else None
    c = merge_checkpoints(None, cam) if cam is not None else None
    bi = classify_checkpoint(b) if b is not None else None
    ci = classify_checkpoint(c) if c is not None else None
    if b is not None:
        check_dynamicrafter_base(b, "base_checkpoint")
        require(bi.kind in ("full", "base"), "base_checkpoint",
                "a DynamiCrafter base or a merged RealCam-I2V checkpoint (UNet keys model.diffusion_model.*)",
                f"a {bi.kind.replace('_', '-')} file ({base_name})")
    if c is not None:
        check_dynamicrafter_base(c, "camera_checkpoint")
        require(ci.kind in ("camera_only", "full"), "camera_checkpoint",
                "the RealCam/CamI2V camera file (pose_encoder.*, pluker_projection, epipolar)",
                f"a file without camera modules ({cam_name})")
    if b is None and c is None:
        raise RealCamInputError("base_checkpoint: expected a checkpoint, got none")
    if c is None:
        require(bi.kind == "full", "camera_checkpoint", "the RealCam/CamI2V camera file (the base has no camera "
                "modules)", NONE)
    if b is None:
        require(ci.kind == "full", "base_checkpoint", f"the DynamiCrafter base for camera-only file {cam_name}", NONE)
    variant = (bi or ci).variant if (bi and bi.variant) else ci.variant
    if bi is not None and ci is not None:
        other = ci.variant
        if other is None:  # camera-only files have the same keys and shapes at 256 and 512: the name is all we have
            m = _RES_HINT.search(os.path.basename(cam_name))
            other = m.group(1) if m else None
        if other is not None and other != bi.variant:
            raise RealCamInputError(
                f"camera_checkpoint: expected the camera file of a {bi.variant} model to match base {base_name} "
                f"({bi.variant}: {'; '.join(bi.evidence) or 'from its keys'}), got a {other} file ({cam_name})")
    merged = merge_checkpoints(base, cam)
    return merged, variant or "256"


def load_realcam(base_path: str | None, cam_path: str | None, dtype: torch.dtype | None = None):
    """(ModelPatcher, passthrough state dict) from a base + camera pair or a merged file."""
    base = read_checkpoint(base_path, "base_checkpoint") if base_path else None
    cam = read_checkpoint(cam_path, "camera_checkpoint") if cam_path else None
    merged, variant = merge_pair(os.path.basename(base_path or ""), base, os.path.basename(cam_path or ""), cam)
    size = merged.get(IMAGE_SIZE_KEY)
    image_size = tuple(int(v) for v in size.tolist()) if size is not None else None
    cfg = infer_config(merged, variant=variant, image_size=image_size)
    log.info("RealCam: %s model, %s, image %s, %d frames", cfg.variant, cfg.diffusion.parameterization,
             cfg.image_size, cfg.unet.temporal_length)
    patcher = build_model_patcher(merged, cfg, dtype=dtype)
    for k, v in merged.items():  # copied into the model: drop their file pages (the rest stays for VAE / CLIP)
        if k.startswith((UNET_PREFIX, POSE_PREFIX, RESAMPLER_PREFIX)):
            release_pages(v)
    return patcher, merged


class RealCamCheckpointLoader(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        files = list_checkpoints()
        return io.Schema(
            node_id="RealCamCheckpointLoader",
            display_name="RealCam Checkpoint Loader",
            category=CATEGORY,
            description="Loads RealCam-I2V: the DynamiCrafter base (model.ckpt or a pruned .safetensors) plus the "
                        "RealCam/CamI2V camera file ({256,512}_realcam-i2v_50k.safetensors), or one merged file. "
                        "Detects full vs camera-only and 256 vs 512 from keys; .ckpt files are read with "
                        "torch.load(weights_only=True) only. Outputs CLIP / CLIP vision / VAE when the base holds them. "
                        "DynamiCrafter's 512_interp base (a name containing 'interp') with the 512 camera file "
                        "loads as an EXPERIMENTAL pairing (warned here and in the log).",
            inputs=[
                io.Combo.Input("base_checkpoint", options=files or [NONE], default=(files or [NONE])[0],
                               tooltip="DynamiCrafter base or merged RealCam-I2V file (models/realcam or "
                                       "models/checkpoints)."),
                io.Combo.Input("camera_checkpoint", options=[NONE, *files], default=NONE,
                               tooltip="The RealCam/CamI2V camera file (wins over the base); none for a merged file."),
                io.Combo.Input("weight_dtype", options=["default", "fp16", "bf16", "fp32"], default="default",
                               tooltip="Weights dtype; default picks what the device supports."),
            ],
            outputs=[io.Model.Output(display_name="model"), io.Clip.Output(display_name="clip"),
                     io.ClipVision.Output(display_name="clip_vision"), io.Vae.Output(display_name="vae")],
        )

    @classmethod
    def validate_inputs(cls, base_checkpoint: str | None = None, camera_checkpoint: str | None = None,
                        **_) -> bool | str:
        # refuse the prompt at once (not after the depth and render steps) when a model file is missing
        problems = [m for m in (missing_checkpoint(base_checkpoint, "base_checkpoint") if isinstance(base_checkpoint, str)
                                else None,
                                missing_checkpoint(camera_checkpoint, "camera_checkpoint")
                                if isinstance(camera_checkpoint, str) else None) if m]
        return "; ".join(problems) if problems else True

    @classmethod
    def execute(cls, base_checkpoint: str, camera_checkpoint: str, weight_dtype: str) -> io.NodeOutput:
        base = None if base_checkpoint == NONE else resolve_checkpoint(base_checkpoint, "base_checkpoint")
        cam = None if camera_checkpoint == NONE else resolve_checkpoint(camera_checkpoint, "camera_checkpoint")
        dtype = {"default": None, "fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[weight_dtype]
        patcher, sd = load_realcam(base, cam, dtype)
        cfg = patcher.model.realcam
        lines = [f"RealCam {cfg.variant}: {cfg.diffusion.parameterization}, {cfg.image_size[1]}x{cfg.image_size[0]}, "
                 f"{cfg.unet.temporal_length} frames"]
        note = interp_note(base_checkpoint, camera_checkpoint)
        if note:
            log.warning("RealCam: %s", note)
            lines.append("WARNING: " + note)
        return io.NodeOutput(patcher, clip_from(sd), clip_vision_from(sd), vae_from(sd), ui={"text": ("\n".join(lines),)})


def interp_note(base_name: str, camera_name: str) -> str | None:
    """The experimental-pairing note for a DynamiCrafter interp base (e.g. 512_interp) with a RealCam camera file.

    Its keys and shapes equal the 512 base's (interp_mode is a training flag, not a layer), so only the file name
    can tell; the pairing loads, but the camera modules were never trained with it.
    """
    names = [n for n in (base_name, camera_name) if n and n != NONE and "interp" in os.path.basename(n).lower()]
    if not names:
        return None
    return (f"{names[0]} looks like a DynamiCrafter interp base (EXPERIMENTAL): the RealCam camera modules were "
            "never trained with it; use it for RealCam Loop / Interp Conditioning's concat_and_shaping layout")


# ------------------------------------------------------------------------------------------ conditioning
def camera_from_trajectory(traj: Trajectory, height: int, width: int, resized: tuple[int, int],
                           seed: int = 0) -> CameraCondition:
    """(1, T, 4, 4) c2w relative to frame 0 and (1, T, 3, 3) pixel K at the model resolution.

    fx, fy from the normalised intrinsics times the resized (pre-crop) size, principal point at the
    crop centre: with the scene's default K (0.5 max side) this is upstream's fx = fy = 0.5 max(Hr, Wr).
    """
    c2w = traj.c2w.float()
    rel = torch.linalg.inv(c2w[:1]) @ c2w
    kn = traj.K_norm.float()
    K = torch.zeros(c2w.shape[0], 3, 3)
    K[:, 0, 0] = kn[:, 0, 0] * resized[1]
    K[:, 1, 1] = kn[:, 1, 1] * resized[0]
    K[:, 0, 2] = width / 2
    K[:, 1, 2] = height / 2
    K[:, 2, 2] = 1
    return CameraCondition(rel[None], K[None], (height, width), seed).validate()


class RealCamImageToVideo(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="RealCamImageToVideo",
            display_name="RealCam Image To Video",
            category=CATEGORY,
            description="Conditioning for RealCam-I2V: the image latent (concat), CLIP-vision image tokens and the "
                        "camera path travel inside positive/negative; outputs the empty video latent. The "
                        "negative gets the CLIP tokens of a blank image and the same camera, as upstream.",
            inputs=[
                io.Conditioning.Input("positive"),
                io.Conditioning.Input("negative"),
                io.Vae.Input("vae"),
                io.ClipVision.Input("clip_vision"),
                io.Image.Input("image", tooltip="The first frame; resized and centre-cropped to width x height."),
                TrajectoryType.Input("trajectory", tooltip="Camera path with one pose per video frame."),
                io.Int.Input("width", default=512, min=64, max=4096, step=64,
                             tooltip="512x320 for the 512 model, 256x256 for the 256 model (checked when sampling)."),
                io.Int.Input("height", default=320, min=64, max=4096, step=64,
                             tooltip="Video height; must be what the checkpoint was trained for (512 model: 320, 256: 256)."),
                io.Int.Input("length", default=16, min=1, max=64, tooltip="Frames; the released models use 16."),
                io.Int.Input("frame_stride", default=2, min=1, max=30,
                             tooltip="Motion speed condition (upstream demo: 2). The 512 model gets fps = "
                                     "29.97 // stride, the 256 model the stride itself."),
                io.Int.Input("batch_size", default=1, min=1, max=64, tooltip="Videos sampled at once (same image and path)."),
            ],
            outputs=[io.Conditioning.Output(display_name="positive"), io.Conditioning.Output(display_name="negative"),
                     io.Latent.Output(display_name="latent")],
        )

    @classmethod
    def execute(cls, positive, negative, vae, clip_vision, image, trajectory, width, height, length, frame_stride,
                batch_size) -> io.NodeOutput:
        require(isinstance(trajectory, Trajectory), "trajectory", "a REALCAM_TRAJECTORY", type(trajectory).__name__)
        for name, value in (("vae", vae), ("clip_vision", clip_vision)):
            require(value is not None, name, f"a {name.upper()} (the checkpoint loader outputs none when the base "
                    "file has no VAE / image encoder: load them with core loaders)", "None")
        trajectory.validate()
        require(trajectory.num_frames == length, "trajectory", f"{length} frames (the video's length)",
                f"{trajectory.num_frames} frames")
        require(width % 8 == 0 and height % 8 == 0, "width/height", "multiples of 8", f"{width}x{height}")
        require(torch.is_tensor(image) and image.ndim == 4, "image", "an IMAGE (B, H, W, 3)", getattr(image, "shape", None))
        img, resized = resize_crop(image[:1, ..., :3], height, width)
        latent = vae.encode(img)
        cam = camera_from_trajectory(trajectory, height, width, resized)
        tokens = clip_vision.encode_image(clip_squash(img), crop=False)["last_hidden_state"]
        blank = clip_vision.encode_image(torch.full_like(clip_squash(img), 0.5), crop=False)["last_hidden_state"]
        common = {rm.KEY_CONCAT: latent, rm.KEY_CAMERA: cam, rm.KEY_STRIDE: int(frame_stride),
                  rm.KEY_FRAMES: int(length)}
        pos = with_values(positive, {**common, rm.KEY_IMAGE: tokens})
        neg = with_values(negative, {**common, rm.KEY_IMAGE: blank})
        empty = torch.zeros(batch_size * length, 4, height // 8, width // 8)
        return io.NodeOutput(pos, neg, {"samples": empty})


NODES = [RealCamCheckpointLoader, RealCamImageToVideo]
