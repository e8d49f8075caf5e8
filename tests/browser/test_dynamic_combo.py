"""The prompt converter reads dynamic combos (COMFY_DYNAMICCOMBO_V3) the way the real frontend writes them.

Newer ComfyUI hosts (0.33: core SaveVideo.codec) have them; the 0.3.75 host has none, so there the test
checks that, and the converter's rules are covered by tests/core/test_workflow_api.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from workflow_api import DYNAMIC_COMBO, ui_to_api  # noqa: E402

sys.path.insert(0, str(HERE))
from driver import ARTIFACTS, run_node  # noqa: E402


def _nested_widget_options(spec: list) -> bool:
    return any(o.get("inputs", {}).get("required") or o.get("inputs", {}).get("optional")
               for o in spec[1].get("options", []))


def test_frontend_dynamic_combo_matches_converter(server):
    info = server.object_info()
    candidates = sorted(
        name for name, d in info.items()
        for section in ("required", "optional") for spec in d["input"].get(section, {}).values()
        if spec[0] == DYNAMIC_COMBO and _nested_widget_options(spec)
    )
    if not candidates:
        pytest.skip("this ComfyUI has no dynamic combo with nested inputs (0.3.75 predates them)")
    node_type = "SaveVideo" if "SaveVideo" in candidates else candidates[0]
    run_node("dynamic_combo.mjs", server, node=node_type)
    result = json.loads((ARTIFACTS / "dynamic_combo.json").read_text())
    assert result["chosen"], f"no option of {node_type} added widgets in the frontend"
    (wf_node,) = result["workflow"]["nodes"]
    frontend = result["output"][str(wf_node["id"])]["inputs"]
    ours = ui_to_api(result["workflow"], info)[str(wf_node["id"])]["inputs"]
    assert any("." in k for k in frontend), f"the frontend sent no nested input: {frontend}"
    assert {k: v for k, v in frontend.items() if not isinstance(v, list)} == ours
    assert result["consoleErrors"] == [], result["consoleErrors"]
