"""The checkpoint loader node holds the weights about once while loading (issue 12), in a real ComfyUI.

The pytest side writes a 125 MiB merged RealCam file (tiny layout at 4x the width: big enough that the
interpreter's own noise is small next to it); a child process boots ComfyUI in-process, resets its peak
resident set (`/proc/self/clear_refs`), loads the file through the node's own path (`load_realcam`:
memory-mapped file -> `build_model_patcher`), reads every weight once and reports the peak rise. Building
the model first and `load_state_dict`-ing the mapped file into it peaks at ~2x the model (the initialised
model plus the file's pages); filling a meta-built model tensor by tensor peaks at ~1x.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "tests"))

WIDTH = 128  # UNet model channels (the tiny spec has 32): 125 MiB of fp32 weights


def _write_model(path: Path) -> None:
    """A merged 256-layout file with random weights, written the way the tiny fixtures are."""
    from realcam_core.model import build_models
    from realcam_core.model.loading import resampler_key_to_upstream, unet_key_to_upstream
    from realcam_core.testing.tiny_realcam import IMAGE_SIZE_KEY, TinySpec, save, tiny_config

    spec = TinySpec(variant="256")
    cfg = tiny_config(spec)
    pose = replace(cfg.unet.pose_encoder, channels=(WIDTH, 2 * WIDTH))
    cfg = replace(cfg, unet=replace(cfg.unet, model_channels=WIDTH, pose_encoder=pose))
    unet, res = build_models(cfg)
    g = torch.Generator().manual_seed(0)
    sd = {}
    for module, rename in ((unet, unet_key_to_upstream), (res, resampler_key_to_upstream)):
        params = dict(module.named_parameters())
        for k, v in module.state_dict().items():
            sd[rename(k)] = torch.randn(v.shape, generator=g) * 0.05 if k in params else v.clone()
    sd[IMAGE_SIZE_KEY] = torch.tensor(spec.image_size)
    save(sd, path)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


def host(path: str, out: str) -> None:
    from inprocess_comfy import boot_comfy, import_pack_module

    torch.set_num_threads(1)
    boot_comfy(Path(os.environ["COMFY"]))
    ck = import_pack_module("realcam_comfy.checkpoints")
    lazy = import_pack_module("realcam_core.weights.lazy")
    with open("/proc/self/clear_refs", "w") as fh:  # VmHWM := VmRSS (Linux >= 4.0)
        fh.write("5")
    before = _status_kb("VmRSS")
    patcher, _sd = ck.load_realcam(path, None)
    with torch.no_grad():  # pages a lazy loader has not touched count, as they will when the model runs
        tensors = [*patcher.model.diffusion_model.parameters(), *patcher.model.diffusion_model.buffers()]
        for t in tensors:
            t.sum()
    peak = _status_kb("VmHWM") - before
    model = sum(t.numel() * t.element_size() for t in tensors) // 1024
    # the values are the file's (read independently of the loader), and the model owns them
    file = lazy.open_weights(path)
    unet = patcher.model.diffusion_model.unet.state_dict()
    same = all(torch.equal(v, file["model.diffusion_model." + k]) for k, v in unet.items()
               if not k.startswith("pose_encoder."))
    res = {"peak_kb": peak, "model_kb": model, "same": same, "n": len(unet),
           "meta": any(t.is_meta for t in tensors), "dtype": str(tensors[0].dtype)}
    Path(out).write_text(json.dumps(res))


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> dict:
    from comfy_host import comfy_path, host_python

    tmp = tmp_path_factory.mktemp("loader_memory")
    model = tmp / "merged_wide.safetensors"
    _write_model(model)
    out = tmp / "result.json"
    env = dict(os.environ, COMFY=str(comfy_path()), PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    proc = subprocess.run([host_python(), str(HERE), "--host", str(model), str(out)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"ComfyUI child failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return json.loads(out.read_text())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self (Linux)")
def test_loader_node_peaks_at_about_one_model(loaded):
    assert loaded["dtype"] == "torch.float32" and loaded["model_kb"] > 120 * 1024, loaded
    assert not loaded["meta"]
    ratio = loaded["peak_kb"] / loaded["model_kb"]
    assert ratio < 1.3, f"loading peaked at {ratio:.2f}x the model ({loaded})"  # build + load_state_dict: ~2x


def test_loader_node_weights_are_the_files(loaded):
    assert loaded["same"] and loaded["n"] > 100, loaded


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--host":
    host(sys.argv[2], sys.argv[3])
