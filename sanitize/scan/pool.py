"""Process mode: forked worker processes open and recognise files while one thread walks.

Detection is Python code, so threads share one core through the GIL; processes can use
more. Each directory's files go to a worker as one batch: their names, opened under one
directory fd there; the worker reports how many headers came from the disk, so the walk
knows when the cache is cold. At most INFLIGHT_PER_PROCESS batches per process are queued
(memory stays bounded). Small trees are scanned inline: forking workers costs more than it
saves until `after_files` files have been seen. A worker that dies or a result that cannot
be pickled costs its batch, counted as `worker-lost`.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from typing import Any

from sanitize.detect.app_layout import AppScope
from sanitize.scan.collect import Collector
from sanitize.scan.files import FileScanner
from sanitize.scan.model import Artifact, ScanError, ScanStats

INFLIGHT_PER_PROCESS = 8  # file batches queued per worker process: bounds memory, keeps them busy
BATCH_TIMEOUT = 600.0  # seconds for one directory's files; only a killed worker gets near it
POOL_AFTER_FILES = 2000  # small trees are scanned inline: forking workers would cost more than it saves


class ProcessBatches:
    """The pool of one scan: started once the tree proves large, fed batches, drained at the end."""

    def __init__(
        self,
        processes: int,
        files: FileScanner,
        collector: Collector,
        *,
        after_files: int = POOL_AFTER_FILES,
        batch_timeout: float = BATCH_TIMEOUT,
    ) -> None:
        self.processes = processes
        self.files = files
        self.collector = collector
        self.after_files = after_files
        self.batch_timeout = batch_timeout
        self.stats = ScanStats()
        self.cold = False  # a worker read a header from the disk: the walk lists ahead, readahead starts
        self._pool: Any = None
        self._inflight: deque[tuple[str, str, str, int, Any]] = deque()  # (root, top, dir, files, pending)

    def takes(self, files_seen_inline: int) -> bool:
        """Whether the next directory's files go to the pool (started here when it is time)."""
        if self._pool is None and files_seen_inline >= self.after_files:
            ctx = multiprocessing.get_context("fork")
            self._pool = ctx.Pool(self.processes, initializer=_child_init, initargs=(self.files,))
        return self._pool is not None

    def submit(
        self, root: str, top: str, directory: str, names: list[str], siblings: frozenset[str], app: AppScope | None
    ) -> None:
        """One directory's files, by name; the sibling names are mostly these, so only the others go."""
        others = siblings.difference(names)
        pending = self._pool.apply_async(_child_batch, (root, top, directory, names, others, app))
        self._inflight.append((root, top, directory, len(names), pending))
        while len(self._inflight) > INFLIGHT_PER_PROCESS * self.processes:
            self._collect()

    def drain(self) -> None:
        while self._inflight:
            self._collect()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None

    def _collect(self) -> None:
        root, top, directory, n_files, pending = self._inflight.popleft()
        try:
            artifacts, stats, errors, uncached = pending.get(timeout=self.batch_timeout)
        except Exception:  # a worker was killed (Pool would wait forever) or a result failed to pickle
            self.stats.files_seen += n_files
            self.collector.error(self.stats, root, top, directory, "worker-lost")
            return
        self.stats.merge(stats)
        if uncached:
            self.cold = True
        self.collector.add_batch(artifacts, errors)


# -- in the worker processes ------------------------------------------------------------------

_CHILD: FileScanner | None = None


def _child_init(files: FileScanner) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the scan and terminates the
    # pool (SIGTERM, left at its default here), so a worker neither reacts nor prints a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    global _CHILD
    _CHILD = files


def _child_batch(
    root: str, top: str, directory: str, names: list[str], others: frozenset[str], app: AppScope | None
) -> tuple[list[Artifact], ScanStats, list[ScanError], int]:
    files = _CHILD
    assert files is not None, "worker process not initialised"
    collector = Collector(None, True)
    files.collector = collector  # this process's own copy: each batch reports what it found
    stats, uncached = files.scan_directory(root, top, directory, names, others.union(names), app)
    return collector.artifacts, stats, collector.errors, uncached
