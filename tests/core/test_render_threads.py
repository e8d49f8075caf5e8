"""The renderer's busy-machine probe does not mistake this process's own threads for other processes."""

from __future__ import annotations

import sys
import threading
import time

import pytest
import torch

from realcam_core.scene import render as R

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")


def test_own_runnable_counts_this_process_busy_threads():
    stop = threading.Event()

    def spin() -> None:  # matrix products release the GIL: the thread stays runnable (state R)
        a = torch.randn(128, 128)
        while not stop.is_set():
            a @ a

    quiet = min(R._own_runnable() for _ in range(5))
    workers = [threading.Thread(target=spin, daemon=True) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        time.sleep(0.05)
        busy = max(R._own_runnable() for _ in range(50))
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert quiet >= 1  # the caller itself
    assert busy >= 2, busy  # the caller and at least one spinning worker


def test_busy_cpus_leaves_out_this_process(monkeypatch):
    """/proc/loadavg counting 5 runnable tasks, 3 of them this process's: 2 busy elsewhere."""
    real_open = open

    class FakeLoadavg:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def read(self) -> str:
            return "1.00 1.00 1.00 5/200 12345\n"

    monkeypatch.setattr(R, "_own_runnable", lambda: 3)
    monkeypatch.setattr("builtins.open", lambda p, *a, **k: FakeLoadavg() if p == "/proc/loadavg"
                        else real_open(p, *a, **k))
    assert R._busy_cpus() == 2
