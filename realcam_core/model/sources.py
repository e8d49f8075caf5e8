"""Where the official RealCam-I2V / DynamiCrafter files live, for optional download.

Local names keep DynamiCrafter's three `model.ckpt` files apart by folder.
"""

from __future__ import annotations

import os

from ..weights.hub import download

# local name (relative to the models folder) -> (Hugging Face repo, file in the repo)
KNOWN_CHECKPOINTS: dict[str, tuple[str, str]] = {
    "DynamiCrafter_256/model.ckpt": ("Doubiiu/DynamiCrafter", "model.ckpt"),
    "DynamiCrafter_512/model.ckpt": ("Doubiiu/DynamiCrafter_512", "model.ckpt"),
    "DynamiCrafter_512_Interp/model.ckpt": ("Doubiiu/DynamiCrafter_512_Interp", "model.ckpt"),
    "256_realcam-i2v_50k.safetensors": ("MuteApo/CamI2V", "256_realcam-i2v_50k.safetensors"),
    "512_realcam-i2v_50k.safetensors": ("MuteApo/CamI2V", "512_realcam-i2v_50k.safetensors"),
}


def download_checkpoint(local_name: str, models_dir: str, what: str) -> str:
    """Download a known checkpoint into `models_dir/<local_name>`; errors name `what`, the source and the folder."""
    repo_id, filename = KNOWN_CHECKPOINTS[local_name]
    target = os.path.join(models_dir, os.path.dirname(local_name))
    return download(repo_id, filename, target, what)
