"""Copy the pack's example inputs (photos, the synthetic RGB-D room) into ComfyUI's input folder.

Existing files are left alone, so a user's own edits are never overwritten.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SOURCES = ("examples", "synthetic_room")
SUFFIXES = {".jpg", ".jpeg", ".png", ".txt", ".json"}


def install(input_dir: Path) -> list[Path]:
    input_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for sub in SOURCES:
        for src in sorted((ASSETS / sub).glob("*")):
            if src.suffix.lower() not in SUFFIXES:
                continue
            dst = input_dir / src.name
            if not dst.exists():
                shutil.copyfile(src, dst)
                copied.append(dst)
    return copied


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("input")
    for path in install(target):
        print(f"[realcam] example input -> {path}")
