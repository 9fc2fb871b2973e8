"""A command's memory, read from /proc while it runs.

wait4's ru_maxrss cannot tell a benchmark a child's peak: a child made by
vfork and exec starts with its parent's high-water mark, so a small command
run by a big bench reports the bench's peak. `Memory` samples instead: the
command's own VmHWM, and the sum of VmRSS over it and its descendants (the
daemon's parsing process among them) at the moment that sum was highest.
"""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path

SAMPLE_SECONDS = 0.2


class Memory(threading.Thread):
    """Samples process `pid` and its descendants until `halt()`."""

    def __init__(self, pid: int):
        super().__init__(name="memory", daemon=True)
        self.pid = pid
        self.peak_kb = 0  # the process's own VmHWM, last read
        self.peak_tree_kb = 0  # the most the tree held at once
        self._halted = threading.Event()
        self.start()

    def run(self) -> None:
        while True:
            self.sample()
            if self._halted.wait(SAMPLE_SECONDS):
                return

    def sample(self) -> None:
        own = proc_status(self.pid)
        self.peak_kb = max(self.peak_kb, own.get("VmHWM", 0))
        self.peak_tree_kb = max(self.peak_tree_kb, sum(proc_status(pid).get("VmRSS", 0) for pid in tree(self.pid)))

    def halt(self) -> dict:
        self._halted.set()
        self.join(timeout=10)
        return {"peak_rss_mb": round(self.peak_kb / 1024, 1), "peak_rss_tree_mb": round(self.peak_tree_kb / 1024, 1)}


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    found = [pid]
    for child in children(pid):
        found += tree(child)
    return found


def children(pid: int) -> list[int]:
    kids = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                kids += [int(kid) for kid in (task / "children").read_text().split()]
    return kids


def proc_status(pid: int) -> dict[str, int]:
    """The kB figures of /proc/PID/status (VmRSS, VmHWM, ...); empty when it is gone."""
    figures = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if value.strip().endswith(" kB"):
                figures[key] = int(value.split()[0])
    return figures
