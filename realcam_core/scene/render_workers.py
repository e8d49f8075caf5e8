"""Frame-parallel CPU rendering: workers that each render whole chunks of frames, start to finish.

Why not torch's own threads: each op of a frame is short (~0.1 ms at 512x320), so torch's OpenMP
threads meet at a barrier after every op; when another process holds a core, the descheduled thread
stalls the rest (10-30x slower beside two CPU-bound processes on 2 cores, bench/render.py --under-load).
Here each worker runs one intra-op thread and takes the next chunk of frames when it is done with its
own, so no worker ever waits for another: a descheduled worker delays only its own chunk, and the
others take the remaining chunks. torch ops release the GIL while they run, so Python threads are
enough; they hold it only for the Python between ops.

The caller's thread is one of the workers and the only one that runs the callback, in frame order
(after each chunk, as the serial loop does), so ComfyUI's progress and cancel see the same calls.
"""

from __future__ import annotations

import queue
import threading
import traceback
from collections.abc import Callable, Iterator

import torch

__all__ = ["FrameQueue", "run_frame_workers"]

# one worker: renders the chunks the iterator yields (their first frames), calls done(c0, n) after each
Work = Callable[[Iterator[int], Callable[[int, int], None]], None]


class FrameQueue:
    """Chunks of `chunk` frames (the last may be shorter), handed out in order to whichever worker asks;
    tracks which are finished so that the callback runs in frame order."""

    def __init__(self, n_frames: int, chunk: int):
        self.n_frames, self.chunk = n_frames, chunk
        self.starts = list(range(0, n_frames, chunk))
        self.cond = threading.Condition()
        self.next = 0  # first chunk nobody has taken
        self.finished = [False] * len(self.starts)
        self.reported = 0  # chunks the callback has seen (a prefix)
        self.stopped = False
        self.error: BaseException | None = None

    def claims(self) -> Iterator[int]:
        """For one worker: the first frame of each chunk it is to render, until none is left or `stop`."""
        while True:
            with self.cond:
                if self.stopped or self.next >= len(self.starts):
                    return
                i = self.next
                self.next += 1
            yield self.starts[i]

    def finish(self, c0: int, n: int) -> None:
        with self.cond:
            self.finished[c0 // self.chunk] = True
            self.cond.notify_all()

    def fail(self, exc: BaseException) -> None:
        """A helper failed: stop handing out chunks; the caller's thread re-raises `exc`."""
        with self.cond:
            if self.error is None:
                self.error = exc
            self.stopped = True
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()

    def report(self, callback: Callable[[int], None] | None) -> None:
        """Caller's thread: callback(frames done) for each newly finished chunk of the finished prefix."""
        while True:
            with self.cond:
                if self.reported >= len(self.starts) or not self.finished[self.reported]:
                    return
                self.reported += 1
                end = min(self.starts[self.reported - 1] + self.chunk, self.n_frames)
            if callback is not None:
                callback(end)

    def wait_all(self, callback: Callable[[int], None] | None) -> None:
        """Caller's thread, after its own chunks: wait for the helpers' chunks, reporting as they finish."""
        while True:
            self.report(callback)
            with self.cond:
                if self.error is not None:
                    raise self.error
                if self.reported >= len(self.starts):
                    return
                self.cond.wait(0.05)


class _Pool:
    """Long-lived helper threads: a render's scratch (`_Workspace`) is kept per thread, so keeping the
    threads keeps it (fresh memory costs a page fault per 4 KiB, a good part of a short render)."""

    def __init__(self) -> None:
        self.tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def submit(self, n: int, task: Callable[[], None]) -> list[threading.Event]:
        """Run `task` on n helper threads (started as needed); -> an event per task, set when it has ended."""
        with self.lock:
            while len(self.threads) < n:
                t = threading.Thread(target=self._loop, name=f"realcam-render-{len(self.threads)}", daemon=True)
                t.start()
                self.threads.append(t)
        events = []
        for _ in range(n):
            ev = threading.Event()
            self.tasks.put(lambda ev=ev: _run_then_set(task, ev))
            events.append(ev)
        return events

    def _loop(self) -> None:
        while True:
            self.tasks.get()()


def _run_then_set(task: Callable[[], None], ev: threading.Event) -> None:
    try:
        task()
    finally:
        ev.set()


_POOL = _Pool()


def run_frame_workers(work: Work, n_frames: int, chunk: int, workers: int,
                      callback: Callable[[int], None] | None) -> None:
    """Render n_frames in chunks with `workers` workers (the caller's thread and workers - 1 helpers), one
    intra-op thread each. callback(frames done) runs on the caller's thread after every chunk, in order; if
    it raises (ComfyUI's cancel), the helpers finish the chunk they are on and the exception leaves."""
    q = FrameQueue(n_frames, chunk)
    inference, grad = torch.is_inference_mode_enabled(), torch.is_grad_enabled()

    def helper() -> None:
        try:
            torch.set_num_threads(1)
            # the caller's autograd modes are thread-local (ComfyUI renders under inference_mode)
            with torch.inference_mode(inference), torch.set_grad_enabled(grad):
                work(q.claims(), q.finish)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            traceback.clear_frames(exc.__traceback__)
            q.fail(exc)

    def mine(c0: int, n: int) -> None:
        q.finish(c0, n)
        q.report(callback)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    ended = _POOL.submit(workers - 1, helper)
    try:
        work(q.claims(), mine)
        q.wait_all(callback)
    except BaseException:
        q.stop()
        raise
    finally:
        for ev in ended:  # no helper may still write into the outputs or hold them when we return
            ev.wait()
        torch.set_num_threads(threads)
