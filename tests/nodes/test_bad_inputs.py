"""The bad-input table (tests/nodes/bad_inputs_table.py) through ONE real ComfyUI server.

Every row is sent as a real API prompt (or upload) and must be refused before running, or stop with a message,
naming its input and what was expected; valid odd inputs must run. After each row the server still answers
and no file outside output/ and temp/ changed: the ComfyUI base directory, an extra_model_paths.yaml folder
and a folder outside the ComfyUI tree that input/, output/ and the model folders link to are compared
before and after (uploads may only add new files to input/). At the end a good prompt still runs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "scripts"))
import install_examples  # noqa: E402
from bad_inputs_table import CASES, Case, prepare, render  # noqa: E402
from comfy_host import ComfyServer, execution_error  # noqa: E402

SKIP_TOP = {"output", "temp", "comfyui.log"}


def snapshot(roots: list[Path]) -> dict[str, tuple]:
    """path -> ('L', target) / ('F', size, mtime_ns) / ('D',) for every entry, links not followed."""
    snap: dict[str, tuple] = {}
    for root in roots:
        for dirpath, dirs, files in os.walk(root):
            rel_dir = os.path.relpath(dirpath, root)
            if rel_dir == ".":
                dirs[:] = [d for d in dirs if d not in SKIP_TOP]
                files = [f for f in files if f not in SKIP_TOP]
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in dirs + files:
                p = os.path.join(dirpath, name)
                key = f"{root.name}/{os.path.relpath(p, root)}"
                st = os.lstat(p)
                if os.path.islink(p):
                    snap[key] = ("L", os.readlink(p))
                elif os.path.isdir(p):
                    snap[key] = ("D",)
                else:
                    snap[key] = ("F", st.st_size, st.st_mtime_ns)
    return snap


@pytest.fixture(scope="module")
def bad_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_inputs")
    base, outside, extra = root / "comfy", root / "outside_tree", root / "extra_models"
    (base / "custom_nodes").mkdir(parents=True)
    shutil.copyfile(REPO / "tests" / "fixtures" / "custom_nodes" / "realcam_test_any.py",
                    base / "custom_nodes" / "realcam_test_any.py")
    install_examples.install(base / "input")
    prepare(base, outside, extra)
    yaml = root / "extra_model_paths.yaml"
    yaml.write_text(f"realcam_bad_inputs:\n    base_path: {extra}\n    depthanything: depthanything\n")
    srv = ComfyServer(base, ["--extra-model-paths-config", str(yaml)])
    yield srv, [base, outside, extra]
    srv.stop()
    artifacts = REPO / "tests" / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(srv.log_path, artifacts / "comfyui_bad_inputs.log")


def refusal_text(body: dict) -> str:
    parts = [json.dumps(body.get("error", ""))]
    for node in (body.get("node_errors") or {}).values():
        for e in node.get("errors", []):
            parts.append(f"{e.get('message')}: {e.get('details')}")
    return "\n".join(parts)


def outcome(srv: ComfyServer, case: Case) -> tuple[str, str]:
    """(what happened, message): refused / error / runs / upload-ok / upload-refused."""
    if case.expect == "upload":
        name, data, *form = case.upload  # a form (kind, subfolder) goes to the generic camera-file route
        route = "/realcam/upload" if form else "/realcam/upload_pose"
        r = requests.post(srv.url + route, files={"file": (name, data)}, data=form[0] if form else None, timeout=30)
        return ("upload-ok" if r.status_code == 200 else "upload-refused"), r.text
    payload = json.dumps({"prompt": case.graph(), "client_id": "bad-inputs"}, allow_nan=True)  # NaN / Infinity
    r = requests.post(srv.url + "/prompt", data=payload, headers={"Content-Type": "application/json"}, timeout=30)
    body = r.json()
    if r.status_code != 200 or body.get("node_errors"):
        return "refused", refusal_text(body)
    entry = wait(srv, body["prompt_id"])
    if entry["status"]["status_str"] == "success":
        return "runs", ""
    return "error", execution_error(entry)


def wait(srv: ComfyServer, prompt_id: str, timeout: float = 120) -> dict:
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        hist = srv.get(f"/history/{prompt_id}")
        if prompt_id in hist and hist[prompt_id].get("status", {}).get("status_str") in ("success", "error"):
            return hist[prompt_id]
        time.sleep(0.05)
    raise TimeoutError(f"prompt {prompt_id} did not finish in {timeout} s\n{srv.log()[-3000:]}")


def test_table_is_big_enough_and_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert sum(c.expect != "runs" for c in CASES) >= 80


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(bad_server, case: Case):
    srv, roots = bad_server
    before = snapshot(roots)
    got, message = outcome(srv, case)
    after = snapshot(roots)

    if case.expect == "upload":
        if "error" in case.words:
            assert got == "upload-refused", message
        else:
            assert got == "upload-ok", message
            for key, value in case.checks.items():
                assert json.loads(message)[key] == value, message
    else:
        assert got == case.expect, f"expected {case.expect}, got {got}: {message}\n{srv.log()[-2000:]}"
    assert "Traceback" not in message
    for w in case.words:
        assert w.lower() in message.lower(), f"{w!r} not in message: {message}"

    changed = {k for k in before if after.get(k) != before[k]}
    added = set(after) - set(before)
    if case.expect == "upload":  # an upload may add one new file to input/, nothing else
        assert all(k.startswith("comfy/input/") and after[k][0] == "F" for k in added), added
        assert len(added) <= 1, added
    else:
        assert not added, f"new files outside output/ and temp/: {sorted(added)}"
    assert not changed, f"files outside output/ and temp/ changed: {sorted(changed)}"
    assert srv.alive()


def test_server_still_serves_a_good_prompt(bad_server):
    srv, _ = bad_server
    assert srv.alive()
    g = render(preset={"preset": "zoom_in"})  # not cached: a fresh run
    srv.run_ok(g)


def test_docs_table_is_current():
    sys.path.insert(0, str(REPO / "scripts"))
    import make_bad_inputs_doc

    assert (REPO / "docs" / "BAD_INPUTS.md").read_text() == make_bad_inputs_doc.render_doc(), \
        "docs/BAD_INPUTS.md is stale: run python scripts/make_bad_inputs_doc.py"
