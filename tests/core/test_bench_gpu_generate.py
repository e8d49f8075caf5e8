"""bench/gpu_generate.py runs end to end (tiny model, CPU): every shaping x attention row, finite output."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gpu_generate.py"


def test_gpu_generate_tiny_runs_all_combinations(one_thread, capsys):
    spec = importlib.util.spec_from_file_location("gpu_generate", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = mod.main(["--tiny", "--steps", "2", "--dtype", "fp32", "--device", "cpu"])
    assert [(r["shaping"], r["attention"]) for r in rows] == [
        ("off", "dense"), ("off", "sparse"), ("on", "dense"), ("on", "sparse")]
    assert all(r["finite"] and r["seconds"] > 0 for r in rows)
    assert all(r["diff"] < 1e-3 for r in rows)  # sparse and dense sample the same latent
    assert capsys.readouterr().out.count("| cpu | 512 tiny |") == 4
