"""A lens-animated trajectory reaches the RealCam Plücker embedding and the Wan camera embedding per frame
(in-process ComfyUI, in a child process like test_wan_camera)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def child() -> None:
    sys.path.insert(0, str(REPO / "tests"))
    from inprocess_comfy import boot_comfy, import_pack_module

    boot_comfy()
    import torch

    lens = import_pack_module("realcam_core.camera.lens")
    adapters = import_pack_module("realcam_core.camera.adapters")
    cam = import_pack_module("realcam_core.model.camera")
    wc = import_pack_module("realcam_comfy.wan")
    condition_mod = import_pack_module("realcam_core.model.condition")

    n, width, height = 9, 64, 40
    # a pure zoom: the camera stands still while the focal length goes 24 -> 48 mm
    still = adapters.trajectory_from_c2w(torch.eye(4).expand(n, 4, 4).clone())
    traj = lens.with_lens_keys(still, [(0.0, 24.0), (n - 1.0, 48.0)], width, height)
    fx = traj.K_norm[:, 0, 0] * width  # pixels at the output size
    # the corner pixel's ray: x / z = (u - cx) / fx, halving as the focal length doubles
    u = 0.5
    expect = (u - width / 2) / fx

    condition = condition_mod.camera_from_trajectory(traj, height, width, (height, width))
    assert torch.allclose(condition.K[0, :, 0, 0], fx, atol=1e-4)
    pl = cam.plucker_embedding(condition.c2w_rel, condition.K, height, width)  # (1, 6, T, H, W)
    d = pl[0, 3:, :, 0, 0]  # ray direction at pixel (0, 0) per frame
    assert torch.allclose(d[0] / d[2], expect, atol=1e-5), (d[0] / d[2], expect)

    emb = wc.wan_embedding(traj, width, height)  # (1, 24, (n + 3) // 4, H, W): 4 frames per latent
    # latent frame k packs video frames 4k-3..4k (the first latent: frame 0 four times) as channel c of
    # group frame j at 4c + j, Plücker (o x d, d) as core's process_pose_params builds them
    first = emb[0, 0::4, 0, 0, 0]  # video frame 0
    last = emb[0, 3::4, -1, 0, 0]  # video frame n - 1 = 8: last of latent 2
    ratio_first = float(first[3] / first[5])
    ratio_last = float(last[3] / last[5])
    assert abs(ratio_first - float(expect[0])) < 1e-4, (ratio_first, float(expect[0]))
    assert abs(ratio_last - float(expect[-1])) < 1e-4, (ratio_last, float(expect[-1]))
    print("LENS-OK")


def test_lens_reaches_plucker_and_wan_embeddings() -> None:
    env = dict(os.environ, PYTHONPATH="")
    py = os.environ.get("REALCAM_PY", sys.executable)
    proc = subprocess.run([py, __file__, "--child"], capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0 and "LENS-OK" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]


if __name__ == "__main__" and sys.argv[1:] == ["--child"]:
    child()
