"""Node presentation in the frontend (issue 13, problem 9): subcategories like peers, a tooltip on every
output, and one wording for the preset amplitude's default."""

from __future__ import annotations


def test_subcategories_and_output_tooltips(server):
    info = {k: v for k, v in server.object_info().items() if k.startswith("RealCam")}
    assert len(info) >= 23
    groups = {v["category"] for v in info.values()}
    assert all(c.startswith("RealCam/") for c in groups), groups
    assert {"RealCam/depth", "RealCam/camera", "RealCam/render", "RealCam/model"} <= groups
    assert max(sum(v["category"] == g for v in info.values()) for g in groups) <= 9  # no flat list of 23
    for name, d in info.items():
        tips = d.get("output_tooltips") or []
        assert len(tips) == len(d["output"]) and all(t for t in tips), (name, d["output_name"], tips)
    render = info["RealCamPointCloudRender"]
    assert "holes" in render["output_tooltips"][render["output_name"].index("visibility")]


def test_amplitude_default_is_worded_the_same(server):
    tip = server.object_info()["RealCamCameraPreset"]["input"]["required"]["amplitude"][1]["tooltip"]
    assert "0 = the official demo's amount" in tip
