"""Write the example workflows in workflows/ (UI format, as the Templates browser loads them).

Each workflow is described compactly below; this script lays it out with the live node schemas
of a real ComfyUI (started here with the pack), so widget order and socket types are always right.
Run: $REALCAM_PY scripts/make_workflows.py  (after scripts/setup.sh)
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from comfy_host import ComfyServer  # noqa: E402
from workflow_api import VIRTUAL_NODES, widget_inputs  # noqa: E402

# node: (id, type, (x, y), {widget: value}); link: (from_id, from_output_index, to_id, to_input_name)
Spec = dict


def note(nid: int, pos: tuple[int, int], text: str, size=(420, 220)) -> tuple:
    return (nid, "MarkdownNote", pos, {"text": text}, size)


PREVIEW_NOTE = """### RealCam camera preview
The pack's first minute: a still image becomes a **metric point cloud**, a preset camera moves through it,
and the static scene is rendered along the path (the preview that RealCam's noise shaping uses).

* **Depth model**: put `depth_anything_v2_metric_hypersim_vitl_fp32.safetensors` (indoor) or
  `..._vkitti_vitl_fp32.safetensors` (outdoor) in `models/depthanything/`; a `-hf` folder works too.
  Known names download by themselves when online.
* Try other presets, frame counts and amplitudes (metres / degrees).
* `visibility` / `shaping_mask` show where the preview is trustworthy."""

OFFLINE_NOTE = """### RealCam camera preview (offline)
Needs **no download**: a synthetic room with exact metric depth (16-bit PNG, millimetres) is bundled with the
pack and copied into `input/` by `scripts/run.sh` (`assets/synthetic_room/` otherwise).
`RealCam Load Depth File` reads the depth without losing precision; `RealCam Scene From Depth` accepts depth
from **any** depth node (metres, normalised or disparity)."""

WORKFLOWS: dict[str, Spec] = {
    "camera_preview": {
        "nodes": [
            (1, "LoadImage", (40, 60), {"image": "pexels-steve-858076.jpg", "upload": "image"}),
            (2, "RealCamLoadDepthModel", (40, 420), {"model": "depth_anything_v2_metric_hypersim_vitl_fp32.safetensors"}),
            (3, "RealCamMetricDepth", (420, 200), {}),
            (4, "RealCamCameraPreset", (420, 480), {"preset": "orbit_left", "num_frames": 16}),
            (5, "RealCamPointCloudRender", (800, 240), {"width": 512, "height": 320}),
            (6, "CreateVideo", (1180, 120), {"fps": 8.0}),
            (7, "SaveVideo", (1460, 120), {"filename_prefix": "realcam/preview"}),
            (8, "PreviewImage", (1180, 480), {}),
            note(9, (40, 760), PREVIEW_NOTE),
        ],
        "links": [(1, 0, 3, "image"), (2, 0, 3, "depth_model"), (3, 0, 5, "scene"), (4, 0, 5, "trajectory"),
                  (5, 0, 6, "images"), (6, 0, 7, "video"), (3, 1, 8, "images")],
    },
    "camera_preview_offline": {
        "nodes": [
            (1, "LoadImage", (40, 60), {"image": "room_rgb.png", "upload": "image"}),
            (2, "RealCamLoadDepthFile", (40, 420), {"file": "room_depth.png", "metres_per_unit": 0.001}),
            (3, "RealCamSceneFromDepth", (420, 200), {"depth_encoding": "metres"}),
            (4, "RealCamCameraPreset", (420, 520), {"preset": "zoom_in", "num_frames": 16}),
            (5, "RealCamPointCloudRender", (800, 240), {"width": 512, "height": 320}),
            (6, "CreateVideo", (1180, 120), {"fps": 8.0}),
            (7, "SaveVideo", (1460, 120), {"filename_prefix": "realcam/preview_offline"}),
            (8, "MaskPreview", (1180, 480), {}),
            note(9, (40, 760), OFFLINE_NOTE),
        ],
        "links": [(1, 0, 3, "image"), (2, 0, 3, "depth"), (3, 0, 5, "scene"), (4, 0, 5, "trajectory"),
                  (5, 0, 6, "images"), (6, 0, 7, "video"), (5, 2, 8, "mask")],
    },
}


def layout(spec: Spec, info: dict) -> dict:
    nodes_out, links_out = [], []
    by_id = {}
    for entry in spec["nodes"]:
        nid, ntype, pos, widgets = entry[:4]
        size = list(entry[4]) if len(entry) > 4 else [320, 200]
        node = {"id": nid, "type": ntype, "pos": list(pos), "size": size, "flags": {}, "order": 0, "mode": 0,
                "inputs": [], "outputs": [], "properties": {"Node name for S&R": ntype}}
        if ntype in VIRTUAL_NODES:
            node["widgets_values"] = [widgets["text"]]
            node["properties"] = {}
        else:
            d = info[ntype]
            values = []
            for name, opts in widget_inputs(d):
                if name in widgets:
                    v = widgets[name]
                elif "default" in opts:
                    v = opts["default"]
                else:
                    spec_in = d["input"].get("required", {}).get(name) or d["input"]["optional"][name]
                    v = spec_in[0][0] if isinstance(spec_in[0], list) else (opts.get("options") or [None])[0]
                values.append(v)
                if opts.get("control_after_generate"):
                    values.append("fixed")
            unknown = set(widgets) - {n for n, _ in widget_inputs(d)} - {"upload"}
            if unknown:
                raise KeyError(f"{ntype}: no widget named {sorted(unknown)}")
            if ntype == "LoadImage":
                values = [widgets["image"], "image"]
            node["widgets_values"] = values
            for i, (otype, oname) in enumerate(zip(d["output"], d["output_name"], strict=True)):
                node["outputs"].append({"name": oname, "type": otype, "links": [], "slot_index": i})
        nodes_out.append(node)
        by_id[nid] = node
    for lid, (src, slot, dst, name) in enumerate(spec["links"], start=1):
        s, t = by_id[src], by_id[dst]
        otype = s["outputs"][slot]["type"]
        s["outputs"][slot]["links"].append(lid)
        d = info[t["type"]]
        all_inputs = {**d["input"].get("required", {}), **d["input"].get("optional", {})}
        if name not in all_inputs:
            raise KeyError(f"{t['type']} has no input {name!r}")
        accepted = all_inputs[name][0]
        if isinstance(accepted, str) and accepted != "*" and otype not in accepted.split(","):
            raise TypeError(f"link {src}->{dst}.{name}: {otype} does not fit {accepted}")
        t["inputs"].append({"name": name, "type": otype, "link": lid})
        links_out.append([lid, src, slot, dst, len(t["inputs"]) - 1, otype])
    # execution order: topological by links (the frontend recomputes it; keep it plausible)
    for i, n in enumerate(nodes_out):
        n["order"] = i
    return {
        "last_node_id": max(by_id), "last_link_id": len(links_out), "nodes": nodes_out, "links": links_out,
        "groups": [], "config": {}, "extra": {"ds": {"scale": 0.8, "offset": [0, 0]}}, "version": 0.4,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        srv = ComfyServer(Path(tmp))
        try:
            info = srv.object_info()
        finally:
            srv.stop()
    out = REPO / "workflows"
    out.mkdir(exist_ok=True)
    for name, spec in WORKFLOWS.items():
        (out / f"{name}.json").write_text(json.dumps(layout(spec, info), indent=1) + "\n")
        print(f"wrote workflows/{name}.json")


if __name__ == "__main__":
    main()
