"""Waiting for a device-side operation: progress from the device's own counters."""

from __future__ import annotations

from sanitize.erase.method import Progress

PROGRESS_TOTAL = 65535  # NVMe SPROG and ATA/SCSI progress are all out of 65535/65536


class ProgressBar:
    """Feeds a device-reported fraction (0..1) into the framework's Progress.

    The bar counts bytes of the device (the CLI's bar is in bytes), scaled from SPROG or
    the sense/status progress fields, which are all out of 65535/65536.
    """

    def __init__(self, progress: Progress, description: str, total: int = PROGRESS_TOTAL) -> None:
        self.progress = progress
        self.total = max(1, total)
        self.done = 0
        progress.start(description, self.total, 0)

    def set_fraction(self, fraction: float | None) -> None:
        if fraction is None:
            return
        target = max(0, min(self.total, int(fraction * self.total)))
        if target > self.done:
            self.progress.update(target - self.done)
            self.done = target
