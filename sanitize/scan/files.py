"""Scanning one file: open it safely, read its header, ask the detectors that may apply.

Each file costs one open, one fstat, one read of at most HEADER_BYTES and one close (no read
for an empty file, which no detector is asked about); detectors may read more through
FileContext, capped at READ_BUDGET. Which detectors are asked is a table lookup on the
header's first byte and on whether it looks like text. A detector that raises or exceeds
its budget becomes a counted error.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat

from sanitize.detect.app_layout import AppScope
from sanitize.detect.base import (
    BINARY,
    HEADER_BYTES,
    TEXT,
    BudgetExceeded,
    DamagedFile,
    FileContext,
    FileDetector,
    Finding,
    looks_like_text,
    open_regular,
)
from sanitize.detect.locations import location_hint
from sanitize.detect.registry import Registry
from sanitize.scan.collect import Collector, error_kind, relpath
from sanitize.scan.model import Artifact, ScanStats

HASH_CHUNK = 1 << 20
NOWAIT = getattr(os, "RWF_NOWAIT", 0)  # Linux: a read that fails instead of waiting for the disk
PROBE_FILES = 4  # files per directory whose header read also tells whether the cache is cold


class HeaderReader:
    """Reads a file's first bytes, and says whether they were already in the page cache.

    Threads only pay off while reads wait for a disk: detection holds the GIL, and with the
    data cached, extra threads just pass the GIL back and forth at every syscall (measured:
    the 200k benchmark took 3.3 s with one thread, 3.3 to 7.3 s with four). A non-blocking
    first try (RWF_NOWAIT) tells the scanner which case it is in, at no extra syscall when
    cached. Without it (`nowait=False`, or a platform without the flag) every read counts as
    uncached, so every worker thread takes work. A read without `probe` (a directory whose
    first headers were cached, see PROBE_FILES) is a plain read, reported cached.
    """

    def __init__(self, nowait: bool = True) -> None:
        self.flag = NOWAIT if nowait else 0

    @property
    def tells_cached(self) -> bool:
        return bool(self.flag)

    def read(self, fd: int, length: int, probe: bool = True) -> tuple[bytes, bool]:
        if not probe:
            return os.pread(fd, length, 0), True
        if self.flag:
            buf = bytearray(length)
            try:
                if os.preadv(fd, [buf], 0, self.flag) == length:
                    return bytes(buf), True
            except BlockingIOError:
                pass
            except OSError as exc:  # a filesystem without RWF_NOWAIT: read normally, count it as uncached
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
        return os.pread(fd, length, 0), False


def candidate_table(files: tuple[FileDetector, ...], text: bool) -> tuple[tuple[FileDetector, ...], ...]:
    """For each first byte, the detectors worth calling on a header of that class (see FileDetector)."""
    excluded = BINARY if text else TEXT
    return tuple(
        tuple(
            d
            for d in files
            if (getattr(d, "first_bytes", None) is None or b in d.first_bytes)  # type: ignore[attr-defined]
            and getattr(d, "header_class", None) != excluded
        )
        for b in range(256)
    )


def mode_fields(st_mode: int) -> tuple[str, bool]:
    perms = stat.S_IMODE(st_mode)
    return f"{perms:04o}", bool(perms & stat.S_IROTH)


def make_artifact(
    root: str,
    top: str,
    path: str,
    unit: str,
    finding: Finding,
    size: int,
    mode: str,
    world: bool,
    files: int | None,
    digest: str | None = None,
) -> Artifact:
    return Artifact(
        root=root,
        path=relpath(path, top),
        unit=unit,
        category=finding.category.value,
        format=finding.format,
        size_bytes=size,
        evidence=finding.evidence,
        details=dict(finding.details),
        mode=mode,
        world_readable=world,
        sha256=digest,
        location_hint=location_hint(path),
        files=files,
    )


class FileScanner:
    """Recognises single files; shared by the walk's threads (a worker process has its copy)."""

    def __init__(self, registry: Registry, collector: Collector, headers: HeaderReader, hash_files: bool) -> None:
        self.files = registry.file_detectors
        # Detectors worth calling, by [header looks like text][first byte]: the per-file gates
        # are decided once here, not inside each detector.
        self.candidates = (candidate_table(self.files, False), candidate_table(self.files, True))
        self.collector = collector
        self.headers = headers
        self.hash_files = hash_files

    def scan_file(
        self,
        root: str,
        top: str,
        path: str,
        siblings: frozenset[str],
        stats: ScanStats,
        name: str | None = None,
        dir_fd: int | None = None,
        app: AppScope | None = None,
        probe: bool = True,
    ) -> bool:
        """Scan one file: `path` in full, or `name` inside the open directory `dir_fd`.

        `app`: the layout of the recognised application directory above it, asked about a file
        no content detector recognised. Returns False when its header had to be read from the
        disk (see HeaderReader; asked only with `probe`).
        """
        stats.files_seen += 1
        try:
            fd, st = open_regular(path) if dir_fd is None or name is None else open_regular(name, dir_fd=dir_fd)
        except OSError as exc:
            self.collector.error(stats, root, top, path, error_kind(exc))
            return True
        size = st.st_size
        cached = True
        try:
            if not size:
                stats.empty_files += 1  # no content, nothing any detector could recognise
                return True
            # Ask for no more than the file holds: no shrinking copy, and a full read is a cache hit.
            header, cached = self.headers.read(fd, size if size < HEADER_BYTES else HEADER_BYTES, probe)
            if header:
                text = looks_like_text(header)
                candidates = self.candidates[text][header[0]]
            else:  # a file that shrank to nothing after fstat: every detector, as for any file without a header
                text, candidates = False, self.files
            ctx = FileContext(path, size, header, fd, siblings=siblings, name=name, is_text=text)
            finding = self._detect(ctx, candidates, root, top, stats) if candidates else None
            stats.bytes_read += ctx.bytes_read
            if finding is None and app is not None:
                finding = app.classify(path, False)  # a documented file of a recognised application
            if finding is None:
                return cached
            digest = self._hash(fd, stats) if self.hash_files else None
        except OSError as exc:
            self.collector.error(stats, root, top, path, error_kind(exc))
            return cached
        finally:
            os.close(fd)
        mode, world = mode_fields(st.st_mode)
        self.collector.emit(stats, make_artifact(root, top, path, "file", finding, size, mode, world, None, digest))
        return cached

    def _detect(
        self, ctx: FileContext, candidates: tuple[FileDetector, ...], root: str, top: str, stats: ScanStats
    ) -> Finding | None:
        for detector in candidates:
            try:
                finding = detector.detect(ctx)
            except BudgetExceeded:
                self.collector.error(stats, root, top, ctx.path, f"budget:{detector.name}")
                continue
            except DamagedFile as exc:  # its format, damaged: listed, since it may hold anything
                self.collector.error(stats, root, top, ctx.path, f"damaged:{detector.name}")
                return exc.finding()
            except OSError:
                raise  # the file itself failed (vanished, EIO): reported once by the caller
            except Exception:
                self.collector.error(stats, root, top, ctx.path, f"detector:{detector.name}")
                continue
            if finding is not None:
                return finding
        return None

    @staticmethod
    def _hash(fd: int, stats: ScanStats) -> str:
        h = hashlib.sha256()
        offset = 0
        while chunk := os.pread(fd, HASH_CHUNK, offset):
            h.update(chunk)
            offset += len(chunk)
        stats.bytes_hashed += offset
        return h.hexdigest()
