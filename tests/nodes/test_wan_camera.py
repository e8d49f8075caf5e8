"""Our WAN_CAMERA_EMBEDDING equals core WanCameraEmbedding's for the same camera motion (in-process ComfyUI)."""

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
    import numpy as np
    import torch
    from comfy_extras import nodes_camera_trajectory as core

    wc = import_pack_module("realcam_comfy.wan")
    adapters = import_pack_module("realcam_core.camera.adapters")
    errors = import_pack_module("realcam_core.errors")
    length, width, height = 9, 128, 72  # 16:9 = core's assumed original pose aspect, so core keeps fx/fy
    for pose in ("Zoom In", "Pan Left", "Anti Clockwise (ACW)"):
        ref = core.WanCameraEmbedding.execute(pose, width, height, length).args[0]
        d = core.CAMERA_DICT[pose]
        rt = core.get_camera_motion(np.array(d["angle"]), np.array(d["T"]), 1.0, length)
        c2w = np.tile(np.eye(4), (length, 1, 1))
        c2w[:, :3, :] = rt
        traj = adapters.trajectory_from_c2w(torch.tensor(c2w, dtype=torch.float32))
        ours = wc.wan_embedding(traj, width, height)
        assert ours.shape == ref.shape == (1, 24, (length + 3) // 4, height, width), (ours.shape, ref.shape)
        err = float((ours - ref.to(ours)).abs().max())
        assert err < 1e-4, (pose, err)
        if pose != "Static":
            assert float(ref.abs().max()) > 0.1
    try:
        wc.wan_embedding(adapters.trajectory_from_c2w(torch.eye(4).expand(8, 4, 4)), width, height)
    except errors.RealCamInputError as e:
        assert "4k+1" in str(e)
    else:
        raise AssertionError("8 frames accepted")
    # RealCam Wan Camera Embedding, "match core" + "metres": core's own embedding at a size that is not 16:9
    # (core rescales fx from its assumed 1280x720 original there)
    wn = import_pack_module("nodes.wan_nodes")
    for pose in ("Zoom Out", "Pan Right"):
        ref = core.WanCameraEmbedding.execute(pose, 96, 96, length).args[0]
        d = core.CAMERA_DICT[pose]
        rt = core.get_camera_motion(np.array(d["angle"]), np.array(d["T"]), 1.0, length)
        c2w = np.tile(np.eye(4), (length, 1, 1))
        c2w[:, :3, :] = rt
        traj = adapters.trajectory_from_c2w(torch.tensor(c2w, dtype=torch.float32))
        ours = wn.RealCamWanCameraEmbedding.execute(traj, 96, 96, length, "metres", 1.0, "match core").result[0]
        true_k = wn.RealCamWanCameraEmbedding.execute(traj, 96, 96, length, "metres", 1.0, "true intrinsics").result[0]
        assert float((ours - ref.to(ours)).abs().max()) < 1e-4, pose
        assert float((true_k - ref.to(true_k)).abs().max()) > 1e-3, pose  # the modes differ off 16:9
    print("WAN-OK")


def test_wan_embedding_matches_core() -> None:
    env = dict(os.environ, PYTHONPATH="")
    py = os.environ.get("REALCAM_PY", sys.executable)
    proc = subprocess.run([py, __file__, "--child"], capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0 and "WAN-OK" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]


if __name__ == "__main__" and sys.argv[1:] == ["--child"]:
    child()
