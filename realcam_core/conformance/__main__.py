"""`python -m realcam_core.conformance DIR [--json OUT]`: print the conformance table, exit 1 on failure."""

from __future__ import annotations

import argparse
import sys
import time

import torch

from ..errors import RealCamInputError
from . import run_conformance


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m realcam_core.conformance",
                                 description="Compare realcam_core.model with a reference fixture folder.")
    ap.add_argument("fixture", help="folder with model.safetensors, config.json, io.safetensors")
    ap.add_argument("--json", metavar="OUT", help="also write the checks as JSON to this file")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--epipolar-backend", default="auto", choices=("auto", "sparse", "dense"),
                    help="masked epipolar attention: gathered sparse blocks, dense SDPA (reference), or auto")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    try:
        report = run_conformance(args.fixture, epipolar_backend=args.epipolar_backend)
    except RealCamInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.table())
    print(f"time: {time.perf_counter() - t0:.1f} s")
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(report.to_json())
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
