"""A thread that sleeps until something wakes it: the pipeline worker and the outbox sender."""
from __future__ import annotations

import threading


class WakeableThread:
    """Runs `_round()` each time `wake()` is called (wakes that come during a round are kept),
    until `stop()`. A subclass writes `_round`; it must not raise."""

    thread_name = "worker"

    def __init__(self):
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            self._round()

    def _round(self) -> None:
        raise NotImplementedError
