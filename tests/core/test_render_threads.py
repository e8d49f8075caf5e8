"""The renderer's thread choice on a busy machine: the probe (this process's own threads and passing tasks left out,
one read on an idle machine) and one choice per block of the node's path, masks and copies included."""

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


def _fake_loadavg(monkeypatch, runnable):
    """/proc/loadavg whose runnable count is runnable(n) at the n-th read (from 0); -> the reads so far."""
    real_open = open
    reads = [0]

    class FakeLoadavg:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def read(self) -> str:
            reads[0] += 1
            return f"1.00 1.00 1.00 {runnable(reads[0] - 1)}/200 12345\n"

    monkeypatch.setattr("builtins.open", lambda p, *a, **k: FakeLoadavg() if p == "/proc/loadavg"
                        else real_open(p, *a, **k))
    return reads


def test_busy_cpus_leaves_out_this_process(monkeypatch):
    """/proc/loadavg counting 5 runnable tasks, 3 of them this process's: 2 busy elsewhere."""
    monkeypatch.setattr(R, "_own_runnable", lambda: 3)
    _fake_loadavg(monkeypatch, lambda n: 5)
    assert R._busy_cpus() == 2


def test_busy_cpus_ignores_a_task_that_passes(monkeypatch):
    """Another task runnable in the first look only (the reads of the first ~0.1 ms) is gone ~0.5 ms later: the
    machine counts as free, where a CPU-bound process (the test above) is seen in every look."""
    monkeypatch.setattr(R, "_own_runnable", lambda: 3)
    _fake_loadavg(monkeypatch, lambda n: 5 if n < 4 else 3)  # the idle check and the first look's 3 reads
    assert R._busy_cpus() == 0


def test_busy_cpus_on_an_idle_machine_reads_loadavg_once(monkeypatch):
    """Only the caller runnable: no scan of this process's threads (each costs ~40 us per thread)."""
    def scan() -> int:
        raise AssertionError("scanned the threads")

    monkeypatch.setattr(R, "_own_runnable", scan)
    reads = _fake_loadavg(monkeypatch, lambda n: 1)
    assert R._busy_cpus() == 0 and reads[0] == 1


def _tiny_scene():
    from realcam_core.scene.types import Scene

    h, w = 24, 32
    K = torch.tensor([[20.0, 0.0, w / 2], [0.0, 20.0, h / 2], [0.0, 0.0, 1.0]])
    image = torch.rand(h, w, 3, generator=torch.Generator().manual_seed(0))
    depth = torch.full((h, w), 2.0)
    return Scene(image=image, depth=depth, K=K, mask=depth > 0).validate()


def _moving(n: int) -> torch.Tensor:
    c2w = torch.eye(4).repeat(n, 1, 1)
    c2w[:, 0, 3] = torch.linspace(0.0, 0.1, n)
    return c2w


@pytest.mark.parametrize("busy", [0, 2])
def test_render_preview_runs_its_masks_and_copies_on_the_render_threads(monkeypatch, busy):
    """The node's path (render_preview): while the CPUs are busy the masks and copies between the renders take
    one thread too (their short ops stall at torch's barriers like the render's), and the thread count
    comes back afterwards; while they are free everything keeps torch's threads."""
    seen: dict[str, list[int]] = {"shaping": [], "render": []}
    real_shaping = R.shaping_mask

    def shaping(*a, **k):
        seen["shaping"].append(torch.get_num_threads())
        return real_shaping(*a, **k)

    monkeypatch.setattr(R, "_busy_cpus", lambda: busy)
    monkeypatch.setattr(R, "shaping_mask", shaping)
    monkeypatch.setattr(R.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        R.render_preview(_tiny_scene(), _moving(5), 24, 32, block=2,
                         callback=lambda done: seen["render"].append(torch.get_num_threads()))
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(n)
    want = 2 if busy == 0 else 1
    assert seen["shaping"] == [want] * 3  # 3 blocks of at most 2 frames
    assert seen["render"] and set(seen["render"]) == {want}
    assert after == 2


def test_one_probe_per_block_nested_calls_keep_the_choice(monkeypatch):
    """render_point_cloud inside render_preview (and a render from a callback) keeps the block's choice
    instead of probing again: each probe may catch a passing task, and a misfire costs a one-thread call."""
    probes: list[int] = []

    def probe() -> int:
        probes.append(1)
        return 0

    monkeypatch.setattr(R, "_busy_cpus", probe)
    monkeypatch.setattr(R.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    scene = _tiny_scene()
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        def nested(done: int) -> None:  # a render between the outer render's chunks
            R.render_scene(scene, _moving(2), 24, 32)

        R.render_preview(scene, _moving(4), 24, 32, block=2, callback=nested)
        one = len(probes)
        R.render_scene(scene, _moving(2), 24, 32)
    finally:
        torch.set_num_threads(n)
    assert one == 1 + 2  # the grid cloud, then each of the 2 blocks; none in their renders or the 2 nested ones
    assert len(probes) == one + 1  # a call of its own probes again: the choice ended with the outer call
