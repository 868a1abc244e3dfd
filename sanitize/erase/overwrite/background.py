"""Checkpoints beside the pipeline: a device flush and a journal save never stall the I/O.

A checkpoint (fsync of the device, then the journal rewritten and fsync'd) can take tens
of milliseconds on a busy disk, seconds on a drive flushing a large write cache. Run in
the pipeline's calling thread, it held back the next requests, and with several devices
every device's journal save queued behind the others' on the state directory's disk. Here
it runs in a thread of its own while the next chunks go to the device; the order that
makes the journal crash-safe is kept inside the checkpoint (the flush, then the journal
naming only bytes written before the flush began). One checkpoint at a time: a due one
waits for the next completion after the running one ended.

The caller collects a finished checkpoint in its own thread (`collect`), where its
`then` runs (the cursor and the phase detail) and its exception, if any, is raised, so a
failing flush or journal save fails the erase exactly as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Background:
    """At most one checkpoint running; its outcome is handed back to the calling thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._then: Callable[[], None] | None = None

    def busy(self) -> bool:
        """A checkpoint was started and not yet collected."""
        return self._thread is not None

    def start(self, work: Callable[[], None], then: Callable[[], None] | None = None) -> None:
        if self._thread is not None:
            raise RuntimeError("a checkpoint is still running")

        def run() -> None:
            try:
                work()
            except BaseException as exc:  # handed to the caller's thread by collect()
                self._error = exc

        self._then = then
        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()

    def collect(self, wait: bool = False) -> None:
        """If the checkpoint ended (or, with `wait`, once it ends): run its `then` here, or raise its error."""
        thread = self._thread
        if thread is None or (thread.is_alive() and not wait):
            return
        thread.join()
        self._thread = None
        error, then = self._error, self._then
        self._error = self._then = None
        if error is not None:
            raise error
        if then is not None:
            then()

    def abandon(self) -> None:
        """Wait for a running checkpoint and drop its outcome: the erase is already failing or stopping."""
        thread = self._thread
        if thread is not None:
            thread.join()
        self._thread = self._error = self._then = None
