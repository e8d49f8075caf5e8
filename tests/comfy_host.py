"""A real ComfyUI server for tests: started on loopback in a throw-away base directory.

The ComfyUI tree and venv come from scripts/setup.sh (or COMFYUI_PATH / REALCAM_PY). The pack is
linked into the base directory's custom_nodes, models go to base/models/<folder>, and prompts are
real API-format graphs sent with POST /prompt and read back from GET /history.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
HOME = Path(os.environ.get("REALCAM_HOME", Path.home() / ".cache" / "comfyui-realcam"))


def comfy_path() -> Path:
    path = Path(os.environ.get("COMFYUI_PATH") or HOME / "ComfyUI")
    if not (path / "main.py").is_file():
        raise RuntimeError(f"no ComfyUI at {path}: run scripts/setup.sh or set COMFYUI_PATH")
    return path


def host_python() -> str:
    return os.environ.get("REALCAM_PY") or sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_port() -> int:
    """REALCAM_TEST_PORT when set (e.g. to reach the test server from a browser or a firewall rule),
    else a free port chosen by the OS."""
    raw = os.environ.get("REALCAM_TEST_PORT", "").strip()
    if not raw:
        return free_port()
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ValueError(f"REALCAM_TEST_PORT={raw!r}: expected a TCP port number 1-65535")
    port = int(raw)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            raise RuntimeError(f"REALCAM_TEST_PORT={port}: the port is in use on 127.0.0.1 ({e})") from None
    return port


class ComfyServer:
    """A running ComfyUI process plus a small client for its HTTP API."""

    def __init__(self, base: Path, extra_args: list[str] | None = None):
        self.base = base
        self.port = server_port()
        self.url = f"http://127.0.0.1:{self.port}"
        for sub in ("custom_nodes", "input", "output", "temp", "user", "models"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        link = base / "custom_nodes" / "comfyui-realcam"
        if not link.exists():
            link.symlink_to(REPO, target_is_directory=True)
        self.log_path = base / "comfyui.log"
        cmd = [
            host_python(), "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(self.port),
            "--disable-auto-launch", "--disable-api-nodes", "--database-url", "sqlite:///:memory:",
            "--base-directory", str(base), *(extra_args or []),
        ]
        self._log = open(self.log_path, "w")
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(cmd, cwd=comfy_path(), stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self._wait_ready(timeout=120)

    # -- lifecycle -------------------------------------------------------------------------
    def _wait_ready(self, timeout: float) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.proc.returncode}:\n{self.log()[-4000:]}")
            try:
                if requests.get(self.url + "/system_stats", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"ComfyUI did not answer within {timeout} s:\n{self.log()[-4000:]}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        try:
            return self.proc.poll() is None and requests.get(self.url + "/system_stats", timeout=5).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()

    # -- API -------------------------------------------------------------------------------
    def get(self, path: str, **kw):
        r = requests.get(self.url + path, timeout=30, **kw)
        r.raise_for_status()
        return r.json()

    def object_info(self) -> dict:
        return self.get("/object_info")

    def queue(self, prompt: dict) -> requests.Response:
        return requests.post(self.url + "/prompt", json={"prompt": prompt, "client_id": uuid.uuid4().hex}, timeout=30)

    def run(self, prompt: dict, timeout: float = 300) -> dict:
        """Queue `prompt` and wait for it; returns the history entry (raises if it was refused)."""
        r = self.queue(prompt)
        body = r.json()
        if r.status_code != 200 or body.get("node_errors"):
            raise PromptRefused(json.dumps(body, indent=1)[:4000])
        pid = body["prompt_id"]
        deadline = time.time() + timeout
        while time.time() < deadline:
            hist = self.get(f"/history/{pid}")
            if pid in hist and hist[pid].get("status", {}).get("completed") is not None:
                entry = hist[pid]
                if entry["status"].get("status_str") in ("success", "error"):
                    return entry
            time.sleep(0.2)
        raise TimeoutError(f"prompt {pid} did not finish in {timeout} s\n{self.log()[-3000:]}")

    def run_ok(self, prompt: dict, timeout: float = 300) -> dict:
        entry = self.run(prompt, timeout)
        if entry["status"]["status_str"] != "success":
            raise AssertionError(f"prompt failed: {execution_error(entry)}\n{self.log()[-3000:]}")
        return entry["outputs"]

    def run_error(self, prompt: dict, timeout: float = 300) -> str:
        """Run a prompt that must fail during execution; returns the error message."""
        entry = self.run(prompt, timeout)
        assert entry["status"]["status_str"] == "error", f"expected an error, got outputs {entry['outputs']}"
        return execution_error(entry)


    def saved_video(self, outputs: dict, node_id: str) -> tuple[int, int, int]:
        """(frames, width, height) of the video a SaveVideo node wrote (decoded with PyAV)."""
        import av

        entry = outputs[node_id]
        f = (entry.get("images") or entry.get("videos") or entry.get("gifs"))[0]
        with av.open(str(self.base / "output" / f["subfolder"] / f["filename"])) as container:
            stream = container.streams.video[0]
            return sum(1 for _ in container.decode(stream)), stream.codec_context.width, stream.codec_context.height


class PromptRefused(RuntimeError):
    """POST /prompt refused the graph (validation)."""


def execution_error(entry: dict) -> str:
    for kind, data in entry.get("status", {}).get("messages", []):
        if kind == "execution_error":
            return f"{data.get('exception_type')}: {data.get('exception_message')}"
    return "no execution_error message"
