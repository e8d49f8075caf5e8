"""Helpers shared by the benchmark scripts: resident memory, its peak during a block, a test camera path."""

from __future__ import annotations

import os
import threading


def rss_bytes() -> int:
    """Resident set of this process now (Linux /proc/self/statm)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Highest resident set seen while the block runs (a sampling thread): `with PeakRSS() as m: ...; m.peak - m.base`."""

    def __init__(self, interval: float = 0.005):
        self.interval = interval

    def __enter__(self) -> PeakRSS:
        self.base = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss_bytes())


def dolly_camera(frames: int, size: tuple[int, int]):
    """A dolly forward with a pan and a sideways drift, RealCam's default lens: a CameraCondition (torch imported
    here, so scripts that measure a fresh process's memory import it only when they build one)."""
    import torch

    from realcam_core.model.camera import CameraCondition

    t = torch.linspace(0, 1, frames)
    yaw = t * 0.6
    c2w = torch.eye(4).repeat(1, frames, 1, 1)
    c2w[0, :, 0, 0], c2w[0, :, 0, 2] = torch.cos(yaw), torch.sin(yaw)
    c2w[0, :, 2, 0], c2w[0, :, 2, 2] = -torch.sin(yaw), torch.cos(yaw)
    c2w[0, :, 0, 3], c2w[0, :, 2, 3] = 0.3 * t, 0.8 * t
    h, w = size
    f = 0.5 * max(h, w)
    K = torch.tensor([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1.0]]).repeat(1, frames, 1, 1)
    return CameraCondition(c2w, K, size)
