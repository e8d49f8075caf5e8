"""The UI -> API prompt converter (tests/workflow_api.py) on node definitions shaped like /object_info.

The dynamic combo below has the layout of core SaveVideo.codec in ComfyUI 0.33 (an option whose inputs hold
a nested dynamic combo, whose option holds a FLOAT). The expected prompts follow the frontend's rules
(src/core/graph/widgets/dynamicWidgets.ts): the chosen option's widgets are laid out right after the combo,
required before optional, named "<combo>.<input>"; tests/browser/test_dynamic_combo.py checks the same
against the real frontend on a host that has dynamic combos.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from workflow_api import ui_to_api, widget_inputs  # noqa: E402

DC = "COMFY_DYNAMICCOMBO_V3"
ENCODING = [DC, {"options": [
    {"key": "auto", "inputs": {"required": {}}},
    {"key": "re-encode", "inputs": {"required": {"crf": ["FLOAT", {"default": 23.0}]}}},
]}]
SAVE_VIDEO = {"input": {
    "required": {
        "video": ["VIDEO", {}],
        "filename_prefix": ["STRING", {"default": "video/ComfyUI"}],
        "format": ["COMBO", {"options": ["auto", "mp4"]}],
        "codec": [DC, {"options": [
            {"key": "auto", "inputs": {"required": {}}},
            {"key": "h264", "inputs": {"required": {}, "optional": {"encoding": ENCODING}}},
        ]}],
    },
    "optional": {"seed": ["INT", {"default": 0, "control_after_generate": True}]},
}}
INFO = {"SaveVideo": SAVE_VIDEO, "Src": {"input": {"required": {}}}}


def workflow(values: list) -> dict:
    return {
        "nodes": [{"id": 1, "type": "Src", "inputs": [], "widgets_values": []},
                  {"id": 2, "type": "SaveVideo", "inputs": [{"name": "video", "link": 7}], "widgets_values": values}],
        "links": [[7, 1, 0, 2, 0, "VIDEO"]],
    }


def test_dynamic_combo_without_nested_inputs():
    got = ui_to_api(workflow(["out/x", "mp4", "auto", 5, "fixed"]), INFO)["2"]["inputs"]
    assert got == {"filename_prefix": "out/x", "format": "mp4", "codec": "auto", "seed": 5, "video": ["1", 0]}


def test_nested_dynamic_combos_take_the_following_values():
    got = ui_to_api(workflow(["out/x", "auto", "h264", "re-encode", 18.0, 5, "randomize"]), INFO)["2"]["inputs"]
    assert got == {"filename_prefix": "out/x", "format": "auto", "codec": "h264", "codec.encoding": "re-encode",
                   "codec.encoding.crf": 18.0, "seed": 5, "video": ["1", 0]}
    got = ui_to_api(workflow(["out/x", "auto", "h264", "auto", 5, "fixed"]), INFO)["2"]["inputs"]
    assert got["codec.encoding"] == "auto" and "codec.encoding.crf" not in got and got["seed"] == 5


def test_widget_inputs_lists_the_dynamic_combo_itself():
    assert [n for n, _ in widget_inputs(SAVE_VIDEO)] == ["filename_prefix", "format", "codec", "seed"]
