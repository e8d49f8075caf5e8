"""Python <-> JS parity: the editor's maths (web/js/realcam_math.js) against realcam_core.

Cases are computed here with the real renderer, interpolator, presets and state validator, written
to a temp JSON file, and checked by tests/js/parity.test.mjs under node. The render cases colour
every point with its own index, so the winning point of every pixel is read back exactly.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from realcam_core.camera.intrinsics import fit_intrinsics
from realcam_core.camera.se3 import from_euler
from realcam_core.errors import RealCamInputError
from realcam_core.scene.build import scene_from_depth
from realcam_core.scene.geometry import scene_grid_cloud, scene_point_cloud
from realcam_core.scene.render import render_point_cloud
from realcam_core.trajectory import editor as es
from realcam_core.trajectory.interpolate import EASINGS, METHODS, interpolate_c2w
from realcam_core.trajectory.presets import PRESET_NAMES, preset_c2w

REPO = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.contiguous().numpy().tobytes()).decode("ascii")


def _random_scene(g: torch.Generator, h: int, w: int):
    """A structured random scene: a tilted plane with bumps and two boxes in front, some invalid depth."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    base = 3.0 + float(torch.rand(1, generator=g)) * 3 + 0.8 * ys + 0.3 * torch.sin(5 * xs + 3 * ys)
    depth = base.clone()
    for _ in range(2):
        y0, x0 = (torch.rand(2, generator=g) * 0.6 + 0.2).tolist()
        box = ((ys - (y0 * 2 - 1)).abs() < 0.25) & ((xs - (x0 * 2 - 1)).abs() < 0.2)
        depth[box] = 1.0 + float(torch.rand(1, generator=g))
    depth[torch.rand(h, w, generator=g) < 0.03] = 0.0
    image = torch.rand(h, w, 3, generator=g)
    fov = 50 + 40 * float(torch.rand(1, generator=g))
    return scene_from_depth(image, depth, fov_deg=fov)


def _random_poses(g: torch.Generator, n: int) -> torch.Tensor:
    ang = (torch.rand(n, 3, generator=g, dtype=torch.float64) * 2 - 1) * torch.tensor([15.0, 10.0, 8.0])
    t = (torch.rand(n, 3, generator=g, dtype=torch.float64) * 2 - 1) * torch.tensor([0.5, 0.3, 0.8])
    return from_euler(ang[:, 0], ang[:, 1], ang[:, 2], translation=t)


def _render_cases(g: torch.Generator) -> list[dict]:
    cases = []
    for ci, (h, w, splat, stride_cap) in enumerate([(48, 64, 1, None), (40, 56, 2, None), (36, 60, 3, None),
                                                    (50, 50, 4, None), (64, 96, 2, 2000)]):
        scene = _random_scene(g, h, w)
        payload = es.scene_payload(scene.depth, scene.image, scene.K, max_points=stride_cap or h * w)
        # the cloud the widget sees: the payload's (possibly subsampled) pixels
        s = payload["stride"]
        sub_depth = scene.depth[::s, ::s]
        points_full, _ = scene_point_cloud(scene)
        if s == 1:
            points = points_full
        else:
            from realcam_core.scene.geometry import unproject_depth

            pts = unproject_depth(scene.depth, scene.K)[::s, ::s]
            points = pts[sub_depth > 0]
        n = points.shape[0]
        idx = torch.arange(n, dtype=torch.int64)
        code = torch.stack([idx % 256, (idx // 256) % 256, idx // 65536], dim=1).float()
        c2w = _random_poses(g, 3)
        c2w[0] = torch.eye(4, dtype=torch.float64)
        # render at a different size through fit_intrinsics, as RealCamPointCloudRender does
        out_h, out_w = (h, w) if ci % 2 == 0 else (h + 8, w - 8)
        K = fit_intrinsics(scene.K.double(), (h, w), (out_h, out_w), "crop")
        res = render_point_cloud(points, code, K, c2w.float(), out_h, out_w, splat=splat, background=(1.0, 1.0, 1.0))
        c = res.frames.round().long()
        winners = c[..., 0] + 256 * c[..., 1] + 65536 * c[..., 2]
        winners = torch.where(res.visible, winners, torch.full_like(winners, -1)).to(torch.int32)
        cases.append({
            "name": f"render{ci}_{h}x{w}_splat{splat}_stride{s}",
            "payload": payload,
            "points_f32_b64": _b64(points.float()),
            "K": K.tolist(),
            "c2w": c2w.tolist(),
            "width": out_w,
            "height": out_h,
            "splat": splat,
            "winners_i32_b64": _b64(winners),
        })
    return cases


def _surface_cases(g: torch.Generator) -> list[dict]:
    """The "surface" render mode (gaps closed, cut at depth jumps) on random scenes, magnified 2x."""
    cases = []
    for ci, (h, w) in enumerate([(36, 48), (40, 60)]):
        scene = _random_scene(g, h, w)
        payload = es.scene_payload(scene.depth, scene.image, scene.K, max_points=h * w)
        assert payload["stride"] == 1
        points, _ = scene_grid_cloud(scene)  # every pixel, invalid ones culled: index = row * w + column
        idx = torch.arange(h * w, dtype=torch.int64)
        code = torch.stack([idx % 256, (idx // 256) % 256, idx // 65536], dim=1).float()
        c2w = _random_poses(g, 3)
        c2w[0] = torch.eye(4, dtype=torch.float64)
        out_h, out_w = 2 * h, 2 * w
        K = fit_intrinsics(scene.K.double(), (h, w), (out_h, out_w), "crop")
        res = render_point_cloud(points, code, K, c2w.float(), out_h, out_w, background=(1.0, 1.0, 1.0),
                                 mode="surface", grid_width=w)
        plain = render_point_cloud(points, code, K, c2w.float(), out_h, out_w, grid_width=w)
        assert res.visible.sum() > plain.visible.sum()  # the case exercises the gap filling
        c = res.frames.round().long()
        winners = c[..., 0] + 256 * c[..., 1] + 65536 * c[..., 2]
        winners = torch.where(res.visible, winners, torch.full_like(winners, -1)).to(torch.int32)
        cases.append({"name": f"surface{ci}_{h}x{w}", "payload": payload, "K": K.tolist(), "c2w": c2w.tolist(),
                      "width": out_w, "height": out_h, "winners_i32_b64": _b64(winners)})
    return cases


def _projection_cases(g: torch.Generator) -> list[dict]:
    cases = []
    for ci in range(3):
        K = torch.tensor([[300.0 + 50 * ci, 0.0, 160.5], [0.0, 280.0 + 30 * ci, 100.25], [0.0, 0.0, 1.0]],
                         dtype=torch.float64)
        c2w = _random_poses(g, 1)[0]
        pts = (torch.rand(50, 3, generator=g, dtype=torch.float64) * 2 - 1) * torch.tensor([3.0, 2.0, 4.0])
        pts[:, 2] += 2.0
        cam = (torch.linalg.inv(c2w) @ torch.cat([pts, torch.ones(50, 1, dtype=torch.float64)], 1).T).T[:, :3]
        uvw = (K @ cam.T).T
        uv = [None if float(z) <= 1e-3 else [float(a / z), float(b / z)] for a, b, z in uvw.tolist()]
        cases.append({"name": f"proj{ci}", "K": K.tolist(), "c2w": c2w.tolist(), "points": pts.tolist(), "uv": uv})
    return cases


def _fit_cases() -> list[dict]:
    K = torch.tensor([[256.0, 0.0, 256.0], [0.0, 256.0, 160.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    out = []
    for dst in ((320, 512), (256, 256), (480, 832), (100, 400)):
        for fit in ("crop", "stretch"):
            out.append({"K": K.tolist(), "src": [320, 512], "dst": list(dst), "fit": fit,
                        "out": fit_intrinsics(K, (320, 512), dst, fit).tolist()})
    return out


def _interpolation_cases(g: torch.Generator) -> list[dict]:
    cases = []
    for ci in range(12):
        k = 1 + ci % 4
        n = 9 + 4 * ci
        closed = ci % 3 == 2 and k >= 2
        last = n - 2 if closed else n - 1
        times = sorted(torch.randperm(last + 1, generator=g)[:k].tolist())
        poses = _random_poses(g, k)
        for method in METHODS:
            easing = EASINGS[ci % len(EASINGS)]
            per_segment = ci % 2 == 1
            expected = interpolate_c2w(times, poses, n, method=method, easing=easing, closed=closed,
                                       ease_per_segment=per_segment)
            cases.append({
                "name": f"interp{ci}_{method}_{easing}{'_closed' if closed else ''}",
                "times": times, "poses": poses.tolist(), "num_frames": n, "method": method, "easing": easing,
                "closed": closed, "ease_per_segment": per_segment, "expected": expected.double().tolist(),
            })
    return cases


def _preset_cases() -> list[dict]:
    cases = []
    for name in PRESET_NAMES:
        for n, amp in ((16, None), (5, 2.5), (1, None)):
            cases.append({"name": name, "num_frames": n, "amplitude": amp,
                          "expected": preset_c2w(name, n, amplitude=amp).tolist()})
    return cases


def _state_cases() -> list[dict]:
    good = es.default_state().to_dict()

    def variant(**kw) -> dict:
        d = json.loads(json.dumps(good))
        d.update(kw)
        return d

    key = {"frame": 0, "position": [0.0, 0.0, 0.0], "rotation": [0.0, 0.0, 0.0]}
    k2 = {"frame": 10, "position": [0.5, -0.2, 1.0], "rotation": [20.0, -5.0, 3.0]}
    texts = [
        json.dumps(good),
        json.dumps(variant(keyframes=[key, k2], interpolation="smooth", easing="ease_in_out")),
        json.dumps(variant(keyframes=[key, k2], closed=True, interpolation="geodesic")),
        json.dumps({"version": 1, "num_frames": 4, "keyframes": [key]}),  # optional fields omitted
        "",
        "{not json",
        "[1, 2]",
        json.dumps(variant(version=2)),
        json.dumps(variant(version="1")),
        json.dumps({k: v for k, v in good.items() if k != "version"}),
        json.dumps(variant(num_frames=0)),
        json.dumps(variant(num_frames=1025)),
        json.dumps(variant(num_frames=2.5)),
        json.dumps(variant(fps=0)),
        json.dumps(variant(fps=None)),
        json.dumps(variant(interpolation="cubic")),
        json.dumps(variant(easing="bounce")),
        json.dumps(variant(closed="yes")),
        json.dumps(variant(fov_deg=180)),
        json.dumps(variant(extra=1)),
        json.dumps(variant(source={"preset": 3})),
        json.dumps(variant(source={"preset": None, "color": 1})),
        json.dumps(variant(keyframes=[])),
        json.dumps(variant(keyframes=[key, key])),
        json.dumps(variant(keyframes=[k2, key])),
        json.dumps(variant(keyframes=[{**key, "frame": 16}])),
        json.dumps(variant(keyframes=[{**key, "position": [0, None, 0]}])),
        json.dumps(variant(keyframes=[{**key, "position": [0, 0]}])),
        json.dumps(variant(keyframes=[{**key, "rotation": [0, 0, "a"]}])),
        json.dumps(variant(keyframes=[{**key, "position": [1e9, 0, 0]}])),
        json.dumps(variant(keyframes=[{"frame": 0, "position": [0, 0, 0]}])),
        json.dumps(variant(keyframes=[key, {**k2, "frame": 15}], closed=True)),
        json.dumps(variant(view=[1])),
        '{"version": 1, "num_frames": 4, "keyframes": [{"frame": 0, "position": [NaN, 0, 0], "rotation": [0, 0, 0]}]}',
    ]
    cases = []
    for text in texts:
        try:
            state = es.parse_editor_state(text)
        except RealCamInputError as e:
            field = str(e).split(": expected")[0]
            cases.append({"text": text, "error_field": field})
            continue
        cases.append({"text": text, "error_field": None, "normalised": state.to_dict(),
                      "path": state.path_c2w().double().tolist()})
    return cases


def _euler_cases(g: torch.Generator) -> list[dict]:
    out = []
    for _ in range(20):
        e = ((torch.rand(3, generator=g, dtype=torch.float64) * 2 - 1) * torch.tensor([179.0, 89.0, 179.0])).tolist()
        R = es.euler_to_matrix(*e)
        out.append({"euler": e, "matrix": R.tolist(), "back": list(es.matrix_to_euler(R))})
    return out


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_js_matches_python(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(1234)
    cases = {
        "render": _render_cases(g),
        "surface": _surface_cases(g),
        "projection": _projection_cases(g),
        "fit": _fit_cases(),
        "interpolation": _interpolation_cases(g),
        "presets": _preset_cases(),
        "states": _state_cases(),
        "euler": _euler_cases(g),
    }
    # the cases themselves must be meaningful: some states fail, some pass; renders cover pixels
    assert sum(c["error_field"] is None for c in cases["states"]) == 4
    assert all(math.isfinite(x) for c in cases["interpolation"] for m in c["expected"] for r in m for x in r)
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    proc = subprocess.run(
        [NODE, "--test", "--test-reporter=spec", str(REPO / "tests" / "js" / "parity.test.mjs")],
        env={"REALCAM_PARITY_CASES": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "ℹ skipped 0" in proc.stdout and "ℹ fail 0" in proc.stdout, proc.stdout[-3000:]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_editor_frame_choices_match_python() -> None:
    """The editor's frames menu offers exactly the nodes' frame_count choices (realcam_core.wan.FRAME_CHOICES)."""
    from realcam_core.wan import FRAME_CHOICES, check_length

    script = ("import * as M from " + json.dumps((REPO / "web" / "js" / "realcam_math.js").as_uri()) + ";"
              "console.log(JSON.stringify({choices: M.FRAME_CHOICES,"
              " picked: [16, 17, 81, 121, 80].map(M.frameChoiceFor)}));")
    proc = subprocess.run([NODE, "--input-type=module", "-e", script],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    js = json.loads(proc.stdout)
    assert [tuple(c) for c in js["choices"]] == list(FRAME_CHOICES.items())
    assert js["picked"] == ["DynamiCrafter 16 frames", "custom", "Wan 81 frames", "Wan 121 frames", "custom"]
    for name, n in FRAME_CHOICES.items():
        if name.startswith("Wan"):
            check_length(n, name)  # every Wan choice is 4k+1
