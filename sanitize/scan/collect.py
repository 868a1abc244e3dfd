"""Where a scan's findings go: artifacts (kept and/or streamed), errors (capped list), stats."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable, Sequence

from sanitize.scan.model import Artifact, ScanError, ScanStats

MAX_ERRORS_LISTED = 1000  # the count is exact; the list keeps the first ones only


def error_kind(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "vanished"
    if isinstance(exc, PermissionError):
        return "permission"
    # ENOTDIR: a directory replaced by a symlink or a file after it was listed (O_NOFOLLOW|O_DIRECTORY);
    # ESPIPE: a FIFO (or another non-regular file) in a listed file's place, refused by its read or fstat.
    if exc.errno in (errno.ELOOP, errno.ENXIO, errno.ENODEV, errno.ENOTDIR, errno.ESPIPE) or isinstance(
        exc, IsADirectoryError
    ):
        return "changed-type"
    return "io"


def relpath(path: str, top: str) -> str:
    if path == top:
        return "."
    if path.startswith(top.rstrip("/") + "/"):
        return path[len(top.rstrip("/")) + 1 :]
    return os.path.relpath(path, top)


class Collector:
    """Thread-safe sink for findings; each worker counts into its own ScanStats, merged at the end."""

    def __init__(self, on_artifact: Callable[[Artifact], None] | None, keep: bool) -> None:
        self.on_artifact = on_artifact
        self.keep = keep
        self.artifacts: list[Artifact] = []
        self.errors: list[ScanError] = []
        self.stats = ScanStats()
        self._lock = threading.Lock()

    def error(self, stats: ScanStats, root: str, top: str, path: str, kind: str) -> None:
        stats.errors += 1
        with self._lock:
            if len(self.errors) < MAX_ERRORS_LISTED:
                self.errors.append(ScanError(root, relpath(path, top), kind))

    def emit(self, stats: ScanStats, artifact: Artifact) -> None:
        stats.artifacts += 1
        self._deliver([artifact])

    def add_batch(self, artifacts: Sequence[Artifact], errors: Sequence[ScanError]) -> None:
        """What a worker process found in one batch (its stats are merged separately)."""
        with self._lock:
            self.errors.extend(errors[: max(0, MAX_ERRORS_LISTED - len(self.errors))])
        self._deliver(artifacts)

    def merge(self, stats: ScanStats) -> None:
        with self._lock:
            self.stats.merge(stats)

    def _deliver(self, artifacts: Sequence[Artifact]) -> None:
        with self._lock:
            for artifact in artifacts:
                if self.keep:
                    self.artifacts.append(artifact)
                if self.on_artifact is not None:
                    self.on_artifact(artifact)
