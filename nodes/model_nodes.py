"""RealCam Checkpoint Loader (ARCHITECTURE §4, §9): the base + camera pair, or one merged file.

Folders, downloads and the ModelPatcher are `realcam_comfy.checkpoints`; the pair checks
`realcam_core.model.pairing`. Image To Video is `i2v_nodes`, the sampler `sampler_nodes`.
"""

from __future__ import annotations

from comfy_api.latest import io

from ..realcam_comfy.base_parts import clip_from, clip_vision_from, vae_from
from ..realcam_comfy.checkpoints import WEIGHT_DTYPES, list_checkpoints, load_checkpoint_pair, missing_pair
from ..realcam_comfy.common import CATEGORY
from ..realcam_core.model.pairing import NONE


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
                io.Combo.Input("weight_dtype", options=list(WEIGHT_DTYPES), default="default",
                               tooltip="Weights dtype; default picks what the device supports."),
            ],
            outputs=[io.Model.Output(display_name="model"), io.Clip.Output(display_name="clip"),
                     io.ClipVision.Output(display_name="clip_vision"), io.Vae.Output(display_name="vae")],
        )

    @classmethod
    def validate_inputs(cls, base_checkpoint: str | None = None, camera_checkpoint: str | None = None,
                        **_) -> bool | str:
        return missing_pair(base_checkpoint, camera_checkpoint)  # refused before the depth and render steps run

    @classmethod
    def execute(cls, base_checkpoint: str, camera_checkpoint: str, weight_dtype: str) -> io.NodeOutput:
        patcher, sd, summary = load_checkpoint_pair(base_checkpoint, camera_checkpoint, weight_dtype)
        return io.NodeOutput(patcher, clip_from(sd), clip_vision_from(sd), vae_from(sd), ui={"text": (summary,)})


NODES = [RealCamCheckpointLoader]
