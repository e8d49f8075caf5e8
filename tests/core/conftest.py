from __future__ import annotations

from pathlib import Path

import pytest
import torch

TINY_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_realcam"


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors gain nothing from threads; on oversubscribed CI cores OpenMP spinning costs 10x."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tiny_fixture_model():
    """The upstream tiny fixture's UNet and Resampler (eval, its weights), io tensors, config and state dict."""
    from safetensors.torch import load_file

    from realcam_core.model import build_models, infer_config, load_weights

    sd = load_file(str(TINY_FIXTURE / "model.safetensors"))
    io = load_file(str(TINY_FIXTURE / "io.safetensors"))
    cfg = infer_config(sd, epipolar_mask_factors=(16, 8), resampler_heads=3)
    unet, res = build_models(cfg)
    load_weights(unet, res, sd)
    return unet.eval(), res.eval(), io, cfg, sd
