"""Every example workflow opens in the real ComfyUI frontend (Debian chromium) without missing nodes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
from workflow_api import ui_to_api  # noqa: E402

sys.path.insert(0, str(HERE))
from driver import ARTIFACTS, run_node  # noqa: E402


def test_templates_open_without_missing_nodes(server):
    run_node("templates.mjs", server)
    result = json.loads((ARTIFACTS / "templates.json").read_text())
    for ext in ("comfyui-realcam.TrajectoryEditor", "RealCam.PoseFileUpload", "RealCam.NodeInfo"):
        assert ext in result["extensions"], f"{ext} did not load: {result['extensions']}"
    shipped = sorted(p.stem for p in (REPO / "workflows").glob("*.json"))
    assert sorted(result["templates"]) == shipped
    info = server.object_info()
    for name, r in result["templates"].items():
        assert r["missing"] == [], f"{name}: missing node types {r['missing']}"
        wf = json.loads((REPO / "workflows" / f"{name}.json").read_text())
        expected = ui_to_api(wf, info)
        # the frontend's own conversion yields the same nodes and node types as ours
        assert sorted(r["output"]) == sorted(expected), name
        for nid, node in expected.items():
            assert r["output"][nid]["class_type"] == node["class_type"]
            for k, v in node["inputs"].items():
                if not isinstance(v, list):
                    assert r["output"][nid]["inputs"].get(k) == v, f"{name} node {nid} input {k}"
    assert result["consoleErrors"] == [], result["consoleErrors"]


def test_pose_file_upload_button(server, tmp_path):
    from realcam_core.camera import re10k
    from realcam_core.trajectory import presets

    src = tmp_path / "uploaded_orbit.txt"
    src.write_text(re10k.format_re10k(presets.make_preset("orbit_left", 8)))
    run_node("pose_upload.mjs", server, file=src)
    result = json.loads((ARTIFACTS / "pose_upload.json").read_text())
    assert "choose pose file to upload" in result["buttons"]
    assert result["value"] == "uploaded_orbit.txt"
    assert result["widgetsValues"][0] == "uploaded_orbit.txt" and len(result["widgetsValues"]) == 2
    assert (server.base / "input" / "uploaded_orbit.txt").read_text() == src.read_text()
    assert result["consoleErrors"] == []


def test_templates_layout_thumbnails_section_and_models(server):
    """Issue 13, problems 4, 5, 7: measured in the page under both renderers, before and after running the
    offline templates; the template browser's RealCam section loads every thumbnail with zero 404s; the
    missing-model dialog of the full pipeline offers the official files."""
    sys.path.insert(0, str(REPO / "scripts"))
    import install_examples

    install_examples.install(server.base / "input")
    run_node("template_layout.mjs", server, timeout=590)
    r = json.loads((ARTIFACTS / "template_layout.json").read_text())
    shipped = sorted(p.stem for p in (REPO / "workflows").glob("*.json"))
    for renderer in ("classic", "vue"):
        for name in shipped:
            assert len(r["rects"][f"{renderer}/{name}"]) >= 3
            assert r["overlaps"][f"{renderer}/{name}"] == [], (renderer, name, r["overlaps"][f"{renderer}/{name}"])
        for name in ("camera_editor_offline", "camera_preview_offline"):
            assert r["runs"][f"{renderer}/{name}"] == "success"
            assert r["overlaps"][f"{renderer}/{name}/after_run"] == [], (renderer, name)
    # template browser: a "RealCam" section, one thumbnail per template, all served, nothing 404
    assert r["sectionVisible"], r.get("navLabels")
    assert r["notFound"] == [], r["notFound"]
    served = {u.rsplit("/", 1)[1].rsplit(".", 1)[0]: status for u, status in r["thumbnails"]}
    assert served == {name: 200 for name in shipped}, served
    assert r["templateCards"] and all(c["loaded"] for c in r["templateCards"])
    for f in ("realcam / DynamiCrafter_512/model.ckpt", "realcam / 512_realcam-i2v_50k.safetensors",
              "depthanything / depth_anything_v2_metric_hypersim_vitl_fp32.safetensors"):
        assert f in r["missingModelsDialog"], r["missingModelsDialog"]
    assert r["consoleErrors"] == [], r["consoleErrors"]
