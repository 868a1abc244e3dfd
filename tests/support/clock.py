"""Time for tests of device operations that take hours: it advances only when slept."""

from __future__ import annotations

from sanitize.erase.method import Clock


class FakeClock(Clock):
    def __init__(self) -> None:
        self.t = 0.0
        super().__init__(now=lambda: self.t, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.t += seconds
