"""RealCam-I2V denoiser: DynamiCrafter 3D UNet + CamI2V camera modules, Resampler, schedule, reference DDIM.

Plain nn.Modules configured from the state dict (see README.md in this folder for key renames and
deviations from upstream). Never imports ComfyUI; layers can be built from ComfyUI's `comfy.ops`
classes by passing `operations=`.
"""

from .camera import CameraCondition, PackedMask, epipolar_masks, fundamental_matrices, plucker_embedding
from .config import (
    VARIANTS,
    DiffusionConfig,
    PoseEncoderConfig,
    RealCamConfig,
    ResamplerConfig,
    UNetConfig,
    infer_resampler_config,
    infer_unet_config,
    preset_config,
)
from .ddim import DDIMResult, ReferenceShaping, ddim_sample, rescale_guidance
from .loading import (
    CheckpointInfo,
    build_models,
    canonical_keys,
    classify_checkpoint,
    infer_config,
    load_weights,
    merge_checkpoints,
    read_state_dict,
    split_state_dict,
)
from .pose_encoder import CameraPoseEncoder
from .resampler import Resampler
from .schedule import Schedule, ddim_timesteps
from .unet import RealCamUNet, timestep_embedding

__all__ = [
    "VARIANTS", "CameraCondition", "CameraPoseEncoder", "CheckpointInfo", "DDIMResult", "DiffusionConfig",
    "ReferenceShaping", "PackedMask", "PoseEncoderConfig", "RealCamConfig", "RealCamUNet", "Resampler", "ResamplerConfig",
    "Schedule", "UNetConfig", "build_models", "canonical_keys", "classify_checkpoint", "ddim_sample", "ddim_timesteps",
    "epipolar_masks", "fundamental_matrices", "infer_config", "infer_resampler_config", "infer_unet_config",
    "load_weights", "merge_checkpoints", "plucker_embedding", "preset_config", "read_state_dict", "rescale_guidance",
    "split_state_dict", "timestep_embedding",
]
