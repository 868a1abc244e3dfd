"""Waiting for a device-side operation: a clock that tests can replace, and a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sanitize.erase.method import Progress

PROGRESS_TOTAL = 65535  # NVMe SPROG and ATA/SCSI progress are all out of 65535/65536


@dataclass
class Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


class FakeClock(Clock):
    """Time that advances only when slept: tests of hour-long sanitizes run instantly."""

    def __init__(self) -> None:
        self.t = 0.0
        super().__init__(now=lambda: self.t, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.t += seconds


class ProgressBar:
    """Feeds a device-reported fraction (0..1) into the framework's Progress."""

    def __init__(self, progress: Progress, description: str) -> None:
        self.progress = progress
        self.done = 0
        progress.start(description, PROGRESS_TOTAL, 0)

    def set_fraction(self, fraction: float | None) -> None:
        if fraction is None:
            return
        target = max(0, min(PROGRESS_TOTAL, int(fraction * PROGRESS_TOTAL)))
        if target > self.done:
            self.progress.update(target - self.done)
            self.done = target
