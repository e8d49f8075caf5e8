"""Template thumbnails (workflows/<name>.jpg, what the Templates browser asks for) and README screenshots
(docs/*.jpg), taken in the real frontend by tests/browser/thumbnails.mjs against a throw-away ComfyUI.

Run: $REALCAM_PY scripts/make_thumbnails.py   (after scripts/setup.sh --browser and make_workflows.py)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(REPO / "scripts"))
import install_examples  # noqa: E402
from comfy_host import ComfyServer  # noqa: E402
from driver import run_node  # noqa: E402


def main() -> None:
    (REPO / "docs").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        srv = ComfyServer(Path(tmp))
        try:
            install_examples.install(srv.base / "input")
            run_node("thumbnails.mjs", srv, timeout=600, dest=REPO / "workflows", docs=REPO / "docs")
        finally:
            srv.stop()
    for p in sorted([*(REPO / "workflows").glob("*.jpg"), *(REPO / "docs").glob("*.jpg")]):
        print(f"wrote {p.relative_to(REPO)} ({p.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
