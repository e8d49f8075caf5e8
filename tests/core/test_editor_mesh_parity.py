"""Python <-> JS parity of the "mesh" render mode: the editor's camera view (web/js/realcam_math.js,
renderPointCloud(..., {mode: "mesh"})) against realcam_core's render_point_cloud(mode="mesh").

The scenes and cameras are those of test_editor_parity's surface cases (its random scene and pose
generators: a tilted bumpy plane, two boxes in front, 3 % invalid depth, random small moves), rendered
magnified ~2x, ~3x and ~4x so that both parts of the mesh rule run: mildly stretched quads densified, the rest
rasterised as triangles, cut at the boxes' edges and the invalid pixels. Every point is coloured with its
grid index, so the winning point of every pixel is read back exactly. The checks and their tolerances are in
tests/js/mesh_parity.test.mjs; it also renders the old "surface" rule and plain points and requires them to
fail those tolerances, so the test can tell the rules apart.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from realcam_core.camera.intrinsics import fit_intrinsics
from realcam_core.camera.se3 import from_euler
from realcam_core.scene.build import scene_from_depth
from realcam_core.scene.geometry import scene_grid_cloud
from realcam_core.scene.render import render_point_cloud
from realcam_core.scene.render_mesh import MeshFill
from realcam_core.trajectory import editor as es
from tests.core.test_editor_parity import _random_poses, _random_scene

REPO = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.contiguous().numpy().tobytes()).decode("ascii")


def _ramp_scene(g: torch.Generator, h: int, w: int):
    """Where the cut rules decide: through a long lens (6 degrees), ramps of 8 columns whose depth grows by a
    factor 1.1-1.45 per column (row by row), so neighbours straddle the 30 % depth spread and, this far from
    the camera, the 89.5 degree slant limit; each ramp starts again at a jump."""
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    ratio = 1.1 + 0.35 * ys.float() / (h - 1)
    depth = 20.0 * ratio ** (xs % 8).float()
    image = torch.rand(h, w, 3, generator=g)
    return scene_from_depth(image, depth, fov_deg=6.0)


def _ramp_poses() -> torch.Tensor:
    f64 = torch.float64
    return from_euler(torch.tensor([0.0, 0.8, -0.6], dtype=f64), torch.tensor([0.0, 0.3, -0.2], dtype=f64),
                      torch.zeros(3, dtype=f64),
                      translation=torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.5, 5.0], [-1.5, -0.5, 3.0]], dtype=f64))


def _mesh_cases() -> list[dict]:
    g = torch.Generator().manual_seed(1234)
    cases = []
    # magnified by factors off the integers: at an integer factor the identity camera puts every point
    # exactly on a pixel edge, where float32 and double rounding pick different pixels all over the frame
    for ci, (h, w, mag) in enumerate([(36, 48, 2.1), (40, 60, 3.1), (36, 48, 4.2), (32, 48, 2.6)]):
        scene = _random_scene(g, h, w) if ci < 3 else _ramp_scene(g, h, w)
        payload = es.scene_payload(scene.depth, scene.image, scene.K, max_points=h * w)
        assert payload["stride"] == 1
        points, _ = scene_grid_cloud(scene)  # every pixel, invalid ones at the origin: index = row * w + column
        idx = torch.arange(h * w, dtype=torch.int64)
        code = torch.stack([idx % 256, (idx // 256) % 256, idx // 65536], dim=1).float()
        c2w = _random_poses(g, 3) if ci < 3 else _ramp_poses()
        c2w[0] = torch.eye(4, dtype=torch.float64)
        out_h, out_w = round(mag * h), round(mag * w)
        K = fit_intrinsics(scene.K.double(), (h, w), (out_h, out_w), "crop")
        res = render_point_cloud(points, code, K, c2w.float(), out_h, out_w, background=(1.0, 1.0, 1.0),
                                 mode="mesh", grid_width=w)
        plain = render_point_cloud(points, code, K, c2w.float(), out_h, out_w, grid_width=w)
        # the case exercises the mesh: it covers more than the splats alone
        assert res.visible.sum() > plain.visible.sum() * 1.02, (res.visible.sum(), plain.visible.sum())
        c = res.frames.round().long()
        winners = c[..., 0] + 256 * c[..., 1] + 65536 * c[..., 2]
        winners = torch.where(res.visible, winners, torch.full_like(winners, -1)).to(torch.int32)
        cases.append({"name": f"mesh{ci}_{h}x{w}_to_{out_h}x{out_w}", "payload": payload, "K": K.tolist(), "c2w": c2w.tolist(),
                      "width": out_w, "height": out_h, "winners_i32_b64": _b64(winners),
                      "depth_f32_b64": _b64(res.depth.float())})
    return cases


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_js_mesh_mode_matches_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the winners are read from their index-coded colours: each pixel shows its winner's own colour
    # (blending the corners' colours where the mesh fills a gap changes the frames only, not the winners)
    monkeypatch.setattr(MeshFill, "BLEND", False)
    path = tmp_path / "mesh_cases.json"
    path.write_text(json.dumps({"mesh": _mesh_cases()}))
    proc = subprocess.run(
        [NODE, "--test", "--test-reporter=spec", str(REPO / "tests" / "js" / "mesh_parity.test.mjs")],
        env={"REALCAM_MESH_PARITY_CASES": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "ℹ skipped 0" in proc.stdout and "ℹ fail 0" in proc.stdout and "ℹ pass 2" in proc.stdout, proc.stdout[-3000:]
