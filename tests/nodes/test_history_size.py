"""What runs leave behind on the server: prompt history and temp/ files stay small (issue 13, item 3)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from workflow_api import find_node, ui_to_api  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import install_examples  # noqa: E402

from realcam_core.trajectory import editor as es  # noqa: E402

RUNS = 50
MAX_HISTORY_BYTES_PER_RUN = 20_000


def _prompt(server, name: str) -> dict:
    wf = json.loads((REPO / "workflows" / f"{name}.json").read_text())
    return ui_to_api(wf, server.object_info())


def _upstream(prompt: dict, nid: str) -> dict:
    """`nid` and every node it depends on (an API prompt that runs just that part of the graph)."""
    keep, todo = set(), [nid]
    while todo:
        n = todo.pop()
        if n in keep:
            continue
        keep.add(n)
        todo += [v[0] for v in prompt[n]["inputs"].values() if isinstance(v, list)]
    return {k: prompt[k] for k in keep}


def _history_bytes(server) -> int:
    return len(requests.get(server.url + "/history", timeout=60).content)


def test_editor_runs_keep_history_small(server):
    """50 editor runs with the room's 200k-point cloud: the history grows <= 20 KB a run, temp/ holds one cloud."""
    install_examples.install(server.base / "input")
    full = _prompt(server, "camera_editor_offline")
    editor = find_node(full, "RealCamTrajectoryEditor")
    prompt = _upstream(full, editor)
    base = json.loads(es.default_state().to_json())
    before = _history_bytes(server)
    for i in range(RUNS):
        state = dict(base, fps=1 + i)  # a new input every run, so the editor really executes each time
        prompt[editor]["inputs"]["editor_state"] = json.dumps(state)
        outputs = server.run_ok(prompt)
        ui = outputs[editor]["realcam_editor"][0]
        assert ui["scene_file"]["filename"].endswith(".rcpc"), ui
    per_run = (_history_bytes(server) - before) / RUNS
    print(f"history growth per editor run: {per_run:.0f} bytes over {RUNS} runs")
    assert per_run <= MAX_HISTORY_BYTES_PER_RUN, f"{per_run:.0f} bytes of history per editor run"
    ref = ui["scene_file"]
    files = list((server.base / "temp" / ref["subfolder"]).glob("*.rcpc"))
    assert [f.name for f in files] == [ref["filename"]], "the same scene must reuse one file"
    # the widget reads it through ComfyUI's own /view route
    r = requests.get(server.url + "/view", params={k: ref[k] for k in ("filename", "subfolder", "type")}, timeout=30)
    assert r.status_code == 200 and r.content[:4] == b"RCPC" and len(r.content) > 100_000


def test_render_preview_is_one_animated_file(server):
    """A 16-frame render previews as one animated WebP in temp/, not 16 PNGs."""
    install_examples.install(server.base / "input")
    prompt = _prompt(server, "camera_preview_offline")
    render = find_node(prompt, "RealCamPointCloudRender")
    temp = server.base / "temp"
    seen = set(temp.rglob("realcam_preview*"))
    outputs = server.run_ok(prompt)
    new = sorted(set(temp.rglob("realcam_preview*")) - seen)
    ui = outputs[render]
    assert len(ui["images"]) == 1 and ui["animated"] == [True], ui
    assert [p.name for p in new] == [ui["images"][0]["filename"]] and new[0].suffix == ".webp"
    from PIL import Image

    with Image.open(new[0]) as im:
        assert im.is_animated and im.n_frames == 16
