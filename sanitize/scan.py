"""Walk directory trees and report AI artifacts recognised by content.

How the walk stays safe and bounded:
- Symlinks are never followed (only a root given on the command line is resolved, like
  `find -H`). The file type comes from the directory entry (d_type, else lstat), so FIFOs,
  sockets and device nodes are counted as skipped and never opened. Regular files are opened
  O_NOFOLLOW|O_NONBLOCK and re-checked with fstat, so a FIFO or device swapped in after the
  type check cannot block the scan or be read. Each directory is opened O_NOFOLLOW once and
  its files are opened by name under that fd: a directory swapped for a symlink is refused.
- Each file costs one open, one fstat, one read of at most HEADER_BYTES and one close (no read
  for an empty file, which no detector is asked about); detectors may
  read more through FileContext, capped at READ_BUDGET. Python threads cannot be timed out,
  so detectors are bounded by construction (capped reads, capped loops); a detector that
  raises or exceeds its budget becomes a counted error.
- A damaged file is input, not a bug: a detector that recognises its format in a file it then
  cannot parse (a truncated SQLite database) raises `DamagedFile`, and the file is listed as
  an artifact (category `damaged`, or what the detector still recognised, with
  `details.damage`) plus an error `damaged:<detector>`. Any other exception from a detector
  is a bug (`detector:<detector>`, see `ScanResult.faults`).
- Speed: which detectors are asked about a file is a table lookup on its first byte and on
  whether its header looks like text (computed once per file), see FileDetector.
- Cold cache: once a header comes from the disk rather than the page cache, the walk lists
  directories up to LOOKAHEAD_FILES files ahead of detection and a readahead helper process
  queues their header reads (sanitize/readahead.py), so the disk serves many at once.
- Memory: directories waiting to be walked sit on a LIFO stack (depth-first keeps it small),
  one directory's entries at a time per worker; results are streamed to `on_artifact` and the
  error list is capped. Nothing holds every path of the tree.
- By default the walk stays on the filesystem of each root (`one_filesystem`), which keeps
  /proc, /sys and other mounts out of a scan of `/`.

Directory units: when a directory detector claims a directory (a Chroma persist dir, an HF
`models--*` repo, a TF SavedModel, ...), it is reported once with `unit: "directory"` and the
total size of the regular files below it. The files inside are counted in `stats` (files seen,
`files_in_units`) but are not opened and not reported as separate artifacts: the unit is what
an operator must deal with, and listing its blobs would bury other findings.

AI applications' data directories: every directory is also shown to the application recognisers
(detect/app_data.py). A recognised one passes its layout down the walk; below it, a documented
directory (`uploads/`) is a unit and a documented file (`history`, a manifest-named blob) that no
content detector recognised is reported by the layout (see detect/app_layout.py).
"""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
import signal
import stat
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sanitize.detect.app_layout import AppScope, recognise
from sanitize.detect.base import (
    BINARY,
    HEADER_BYTES,
    TEXT,
    BudgetExceeded,
    DamagedFile,
    Detail,
    DirContext,
    FileContext,
    FileDetector,
    Finding,
    open_directory,
    open_regular,
)
from sanitize.detect.locations import location_hint
from sanitize.detect.registry import Registry
from sanitize.detect.registry import default as default_registry
from sanitize.errors import BadInput
from sanitize.hw.host import Host
from sanitize.readahead import Readahead

MAX_ERRORS_LISTED = 1000  # the count is exact; the list keeps the first ones only
HASH_CHUNK = 1 << 20
INFLIGHT_PER_PROCESS = 8  # file batches queued per worker process: bounds memory, keeps them busy
BATCH_TIMEOUT = 600  # seconds for one directory's files; only a killed worker gets near it
MIN_CPUS_FOR_PROCESSES = 4
_NOWAIT = getattr(os, "RWF_NOWAIT", 0)  # Linux: a read that fails instead of waiting for the disk
# On a cold cache the walk lists directories this many files ahead of detection, so that the
# readahead helper has reads in flight (sanitize/readahead.py); it also bounds the memory used.
LOOKAHEAD_FILES = 2000
LOOKAHEAD_DIRS = 64  # directory fds held open per worker, at most
PROBE_FILES = 4  # files per directory whose header read also tells whether the cache is cold
POOL_AFTER_FILES = 2000  # small trees are scanned inline: forking workers would cost more than it saves


@dataclass(frozen=True)
class Artifact:
    root: str
    path: str  # relative to root
    unit: str  # "file" or "directory"
    category: str
    format: str
    size_bytes: int
    evidence: str
    details: Mapping[str, Detail]
    mode: str  # permission bits in octal, "0644"
    world_readable: bool
    sha256: str | None = None
    location_hint: str | None = None
    files: int | None = None  # regular files inside a directory unit

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "root": self.root,
            "path": self.path,
            "unit": self.unit,
            "category": self.category,
            "format": self.format,
            "size_bytes": self.size_bytes,
            "evidence": self.evidence,
            "details": dict(self.details),
            "mode": self.mode,
            "world_readable": self.world_readable,
        }
        if self.files is not None:
            out["files"] = self.files
        if self.sha256 is not None:
            out["sha256"] = self.sha256
        if self.location_hint is not None:
            out["location_hint"] = self.location_hint
        return out


@dataclass(frozen=True)
class ScanError:
    root: str
    path: str
    # vanished, permission, io, changed-type, budget:<d>, damaged:<d>, detector:<d>, internal, worker-lost
    kind: str

    def to_dict(self) -> dict[str, str]:
        return {"root": self.root, "path": self.path, "kind": self.kind}


@dataclass
class ScanStats:
    files_seen: int = 0
    dirs_seen: int = 0
    files_in_units: int = 0
    empty_files: int = 0  # opened and found empty: nothing to recognise, no detector is asked
    bytes_read: int = 0
    bytes_hashed: int = 0
    errors: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # symlink, special, mountpoint
    artifacts: int = 0
    seconds: float = 0.0

    def merge(self, other: ScanStats) -> None:
        self.files_seen += other.files_seen
        self.dirs_seen += other.dirs_seen
        self.files_in_units += other.files_in_units
        self.empty_files += other.empty_files
        self.bytes_read += other.bytes_read
        self.bytes_hashed += other.bytes_hashed
        self.errors += other.errors
        self.skipped.update(other.skipped)
        self.artifacts += other.artifacts

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_seen": self.files_seen,
            "dirs_seen": self.dirs_seen,
            "files_in_units": self.files_in_units,
            "empty_files": self.empty_files,
            "bytes_read": self.bytes_read,
            "bytes_hashed": self.bytes_hashed,
            "errors": self.errors,
            "skipped": sum(self.skipped.values()),
            "skipped_by_kind": dict(sorted(self.skipped.items())),
            "artifacts": self.artifacts,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ScanResult:
    roots: list[str]
    artifacts: list[Artifact]
    stats: ScanStats
    errors: list[ScanError]
    detector_load_errors: list[str]

    def faults(self) -> list[str]:
        """Why the scan did not examine everything it was given, through a fault of ours: a
        detector module that did not load, a detector or walker that raised, a lost worker.
        Unreadable or damaged files, budgets and skipped special files are reported but are not
        faults: a command whose scan has faults must not exit 0."""
        problems = [f"detector module failed to load: {message}" for message in self.detector_load_errors]
        kinds = Counter(
            e.kind for e in self.errors if e.kind in ("internal", "worker-lost") or e.kind.startswith("detector:")
        )
        problems.extend(f"{n} file(s) or directories not fully examined ({kind})" for kind, n in sorted(kinds.items()))
        return problems


@dataclass(frozen=True)
class _Dir:
    root: str  # as reported
    top: str  # absolute path the walk started from
    path: str  # absolute path of this directory
    dev: int
    app: AppScope | None = None  # the innermost recognised AI application directory above it


@dataclass(frozen=True)
class _Listed:
    """A directory whose entries were read, kept open until its files are scanned."""

    d: _Dir
    dir_fd: int
    files: list[str]
    names: frozenset[str]
    app: AppScope | None  # the application layout that applies to these files


def _default_processes() -> int:
    """Worker processes for file detection, or 0 for threads only.

    Detection is Python code, so threads share one core through the GIL; processes can use
    more. But the walker and the hand-off of file batches cost a core of their own: on the
    2-CPU machine the benchmark runs on, 2 worker processes were ~35% slower than threads
    (docs/benchmarks.md), so processes are used from 4 CPUs up (not measured there). Fork
    is only used from a single-threaded program: forking a threaded one can copy a held lock.
    """
    cpus = os.cpu_count() or 1
    if cpus < MIN_CPUS_FOR_PROCESSES or threading.active_count() > 1:
        return 0
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return min(cpus - 1, 16)


class Scanner:
    """Scan roots; see the module docstring for the rules.

    `processes` > 0: one walker thread lists directories and hands each directory's files, as
    a batch, to that many forked worker processes (default: CPUs - 1 from 4 CPUs up, else 0).
    `processes=0`: the walk and detection run in `workers` threads of this process; all but
    the first take directories only while file reads wait for the disk (see _read_header).
    `host`: once a header has to come from the disk, the walk runs ahead of detection and a
    helper process, started through this host, asks the kernel for the coming headers, many at
    once (sanitize/readahead.py). Without a host no helper is started.
    """

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        workers: int | None = None,
        processes: int | None = None,
        hash_files: bool = False,
        one_filesystem: bool = True,
        host: Host | None = None,
    ) -> None:
        self.registry = registry or default_registry()
        self.workers = workers or min(4, (os.cpu_count() or 1) * 2)
        self.processes = _default_processes() if processes is None else processes
        self.hash_files = hash_files
        self.one_filesystem = one_filesystem
        self.host = host

    # -- public ----------------------------------------------------------------------------

    def scan(
        self,
        roots: Iterable[str],
        *,
        on_artifact: Callable[[Artifact], None] | None = None,
        keep_artifacts: bool = True,
    ) -> ScanResult:
        started = time.monotonic()
        root_list = [str(r) for r in roots]
        resolved = [self._check_root(r) for r in root_list]
        run = _Run(self, on_artifact, keep_artifacts)
        for given, real, st in resolved:
            if stat.S_ISDIR(st.st_mode):
                run.push([_Dir(given, real, real, st.st_dev)])
            else:
                run.single_file(given, real)
        try:
            if self.processes > 0:
                run.walk_with_processes(self.processes)
            else:
                run.wait(self.workers)
        finally:
            if run.readahead is not None:
                run.readahead.close()
        run.stats.seconds = time.monotonic() - started
        load_errors = [f"{e.module}: {e.error}" for e in self.registry.errors]
        return ScanResult(root_list, run.artifacts, run.stats, run.errors, load_errors)

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _check_root(given: str) -> tuple[str, str, os.stat_result]:
        real = os.path.realpath(given)
        try:
            st = os.stat(real)
        except FileNotFoundError:
            raise BadInput(f"{given}: no such file or directory") from None
        except OSError as exc:
            raise BadInput(f"{given}: cannot access ({exc.strerror})") from None
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
            raise BadInput(f"{given}: not a directory or regular file")
        return given, real, st


def _error_kind(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "vanished"
    if isinstance(exc, PermissionError):
        return "permission"
    # ENOTDIR: a directory replaced by a symlink or a file after it was listed (O_NOFOLLOW|O_DIRECTORY).
    if exc.errno in (errno.ELOOP, errno.ENXIO, errno.ENODEV, errno.ENOTDIR) or isinstance(exc, IsADirectoryError):
        return "changed-type"
    return "io"


def _read_header(fd: int, length: int, probe: bool = True) -> tuple[bytes, bool]:
    """The first `length` bytes of the file, and whether they were already in the page cache.

    Threads only pay off while reads wait for a disk: detection holds the GIL, and with the
    data cached, extra threads just pass the GIL back and forth at every syscall (measured:
    the 200k benchmark took 3.3 s with one thread, 3.3 to 7.3 s with four). A non-blocking
    first try tells the scanner which case it is in, at no extra syscall when cached. Without
    `probe` (a directory whose first headers were cached) it is a plain read, reported cached.
    """
    if not probe:
        return os.pread(fd, length, 0), True
    if _NOWAIT:
        buf = bytearray(length)
        try:
            if os.preadv(fd, [buf], 0, _NOWAIT) == length:
                return bytes(buf), True
        except BlockingIOError:
            pass
        except OSError as exc:  # a filesystem without RWF_NOWAIT: read normally, count it as uncached
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise
    return os.pread(fd, length, 0), False


def _candidate_table(files: tuple[FileDetector, ...], text: bool) -> tuple[tuple[FileDetector, ...], ...]:
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


def _mode_fields(st_mode: int) -> tuple[str, bool]:
    perms = stat.S_IMODE(st_mode)
    return f"{perms:04o}", bool(perms & stat.S_IROTH)


class _Run:
    """State of one scan: the shared directory stack, results and per-worker stats."""

    def __init__(self, scanner: Scanner, on_artifact: Callable[[Artifact], None] | None, keep: bool) -> None:
        self.scanner = scanner
        self.files = scanner.registry.file_detectors
        # Detectors worth calling, by [header looks like text][first byte]: the per-file gates
        # are decided once here, not inside each detector.
        self.candidates = (_candidate_table(self.files, False), _candidate_table(self.files, True))
        self.dirs = scanner.registry.dir_detectors
        self.apps = scanner.registry.apps
        self.on_artifact = on_artifact
        self.keep = keep
        self.artifacts: list[Artifact] = []
        self.errors: list[ScanError] = []
        self.stats = ScanStats()
        self._stack: list[_Dir] = []
        self._active = 0
        self._cv = threading.Condition()
        # Helper threads take directories only while reads wait for the disk (see _read_header);
        # on platforms that cannot tell, they always do.
        self._parallel = not _NOWAIT
        self._out = threading.Lock()
        self._pool: Any = None  # multiprocessing pool in process mode, started once the tree proves large
        self._pool_wanted = False
        self._files_inline = 0
        self._inflight: deque[tuple[_Dir, int, Any]] = deque()
        self._pool_stats = ScanStats()
        self._cold = False
        self.readahead = Readahead(scanner.host, HEADER_BYTES) if scanner.host is not None else None

    # -- work distribution -----------------------------------------------------------------

    def push(self, dirs: list[_Dir]) -> None:
        if not dirs:
            return
        with self._cv:
            self._stack.extend(dirs)
            self._cv.notify_all()  # not notify(n): it could wake only helpers that may not take work

    def _set_parallel(self, parallel: bool) -> None:
        if parallel != self._parallel:
            with self._cv:
                self._parallel = parallel
                self._cv.notify_all()

    def wait(self, workers: int) -> None:
        threads = [threading.Thread(target=self._worker, args=(i > 0,), daemon=True) for i in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)  # a timed join keeps Ctrl-C deliverable to the main thread

    def _worker(self, helper: bool = False) -> None:
        stats = ScanStats()
        # Directories listed but whose files are not scanned yet: on a cold cache the walk runs
        # up to LOOKAHEAD_FILES ahead of detection so that readahead has reads in flight.
        pending: deque[_Listed] = deque()
        pending_files = 0
        while True:
            with self._cv:
                # The first worker always takes work; helpers only while reads are uncached.
                while not pending and not self._may_take(helper) and (self._stack or self._active):
                    self._cv.wait()
                item = self._stack.pop() if self._may_take(helper) else None
                if item is None and not pending:
                    self._cv.notify_all()
                    break
                if item is not None:
                    self._active += 1
            if item is not None:
                try:
                    listed = self._list_dir(item, stats)
                except Exception:  # never let one directory kill a worker and stall the others
                    listed = None
                    self._error(stats, item.root, item.top, item.path, "internal")
                finally:
                    with self._cv:
                        self._active -= 1
                        if not self._stack and not self._active:
                            self._cv.notify_all()
                if listed is not None:
                    pending.append(listed)
                    pending_files += len(listed.files)
                ahead = LOOKAHEAD_FILES if self._cold else 0
                if pending_files < ahead and len(pending) < LOOKAHEAD_DIRS and self._stack:
                    continue
            if pending:
                listed = pending.popleft()
                pending_files -= len(listed.files)
                try:
                    self._scan_listed(listed, stats)
                except Exception:
                    self._error(stats, listed.d.root, listed.d.top, listed.d.path, "internal")
        with self._out:
            self.stats.merge(stats)

    def _may_take(self, helper: bool) -> bool:
        return bool(self._stack) and (self._parallel or not helper)

    def walk_with_processes(self, processes: int) -> None:
        """This thread walks; after POOL_AFTER_FILES files, forked processes open and detect."""
        self._pool_wanted = True
        try:
            self._worker()
            while self._inflight:
                self._collect_batch()
        finally:
            self._pool_wanted = False
            if self._pool is not None:
                self._pool.terminate()
                self._pool = None
        self.stats.merge(self._pool_stats)

    def _start_pool(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self._pool = ctx.Pool(self.scanner.processes, initializer=_child_init, initargs=(self.scanner,))

    def _submit_batch(self, d: _Dir, names: list[str], siblings: frozenset[str], app: AppScope | None) -> None:
        # The sibling names are mostly the file names themselves: only the others are sent.
        others = siblings.difference(names)
        pending = self._pool.apply_async(_child_batch, (d.root, d.top, d.path, names, others, app))
        self._inflight.append((d, len(names), pending))
        while len(self._inflight) > INFLIGHT_PER_PROCESS * self.scanner.processes:
            self._collect_batch()

    def _collect_batch(self) -> None:
        d, n_files, pending = self._inflight.popleft()
        try:
            artifacts, stats, errors, uncached = pending.get(timeout=BATCH_TIMEOUT)
        except Exception:  # a worker was killed (Pool would wait forever) or a result failed to pickle
            self._pool_stats.files_seen += n_files
            self._error(self._pool_stats, d.root, d.top, d.path, "worker-lost")
            return
        self._pool_stats.merge(stats)
        if uncached:
            self._cold = True  # the walk now lists ahead and the readahead helper starts
        with self._out:
            self.errors.extend(errors[: max(0, MAX_ERRORS_LISTED - len(self.errors))])
            for artifact in artifacts:
                if self.keep:
                    self.artifacts.append(artifact)
                if self.on_artifact is not None:
                    self.on_artifact(artifact)

    # -- results ---------------------------------------------------------------------------

    def _error(self, stats: ScanStats, root: str, top: str, path: str, kind: str) -> None:
        stats.errors += 1
        with self._out:
            if len(self.errors) < MAX_ERRORS_LISTED:
                self.errors.append(ScanError(root, _relpath(path, top), kind))

    def _emit(self, stats: ScanStats, artifact: Artifact) -> None:
        stats.artifacts += 1
        with self._out:
            if self.keep:
                self.artifacts.append(artifact)
            if self.on_artifact is not None:
                self.on_artifact(artifact)

    # -- directories -----------------------------------------------------------------------

    def _list_dir(self, d: _Dir, stats: ScanStats) -> _Listed | None:
        """List a directory, push its subdirectories and return its files for _scan_listed."""
        stats.dirs_seen += 1
        try:
            dir_fd = open_directory(d.path)
        except OSError as exc:
            self._error(stats, d.root, d.top, d.path, _error_kind(exc))
            return None
        try:
            files, names, app = self._list_open_dir(d, dir_fd, stats)
        except BaseException:
            os.close(dir_fd)
            raise
        if not files:
            os.close(dir_fd)
            return None
        if self.readahead is not None and self._cold:
            self.readahead.submit(d.path, files)
        return _Listed(d, dir_fd, files, names, app)

    def _list_open_dir(
        self, d: _Dir, dir_fd: int, stats: ScanStats
    ) -> tuple[list[str], frozenset[str], AppScope | None]:
        try:
            with os.scandir(dir_fd) as it:  # entries carry bare names; types come from d_type
                entries = list(it)
        except OSError as exc:
            self._error(stats, d.root, d.top, d.path, _error_kind(exc))
            return [], frozenset(), d.app
        names = frozenset(e.name for e in entries)
        ctx = DirContext(d.path, names)
        if (self.dirs or d.app is not None) and self._claim_dir(d, dir_fd, ctx, stats):
            return [], names, d.app
        app = self._recognise_app(d, ctx, stats) if self.apps else d.app
        prefix = d.path if d.path.endswith("/") else d.path + "/"
        subdirs: list[_Dir] = []
        files: list[str] = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    if self.scanner.one_filesystem and st.st_dev != d.dev:
                        stats.skipped["mountpoint"] += 1
                        continue
                    subdirs.append(_Dir(d.root, d.top, prefix + entry.name, st.st_dev, app))
                elif entry.is_file(follow_symlinks=False):
                    files.append(entry.name)
                elif entry.is_symlink():
                    stats.skipped["symlink"] += 1
                else:
                    stats.skipped["special"] += 1  # FIFO, socket, device node: never opened
            except OSError as exc:
                self._error(stats, d.root, d.top, prefix + entry.name, _error_kind(exc))
        self.push(subdirs)
        return files, names, app

    def _recognise_app(self, d: _Dir, ctx: DirContext, stats: ScanStats) -> AppScope | None:
        """The application layout for what is below `d`: its own if recognised, else its parent's."""
        try:
            layout = recognise(self.apps, ctx)
        except BudgetExceeded:
            self._error(stats, d.root, d.top, d.path, "budget:app-data")
            return d.app
        except Exception:
            self._error(stats, d.root, d.top, d.path, "detector:app-data")
            return d.app
        return AppScope(layout, d.path) if layout is not None else d.app

    def _scan_listed(self, listed: _Listed, stats: ScanStats) -> None:
        d, files, names, app = listed.d, listed.files, listed.names, listed.app
        prefix = d.path if d.path.endswith("/") else d.path + "/"
        try:
            if self._pool_wanted and self._pool is None and self._files_inline >= POOL_AFTER_FILES:
                self._start_pool()
            if self._pool is not None:
                self._submit_batch(d, files, names, app)
                return
            self._files_inline += len(files)
            uncached = 0
            for i, name in enumerate(files):
                # On a warm tree, whether headers come from the disk is asked of a directory's first
                # files only (the probe costs a copy); once anything came from the disk, of every file.
                probe = i < PROBE_FILES or uncached > 0 or self._cold
                uncached += not self._scan_file(
                    d.root, d.top, prefix + name, names, stats, name, listed.dir_fd, app, probe
                )
            if uncached:
                self._cold = True
            self._set_parallel(uncached > 0)
        finally:
            os.close(listed.dir_fd)

    def _claim_dir(self, d: _Dir, dir_fd: int, ctx: DirContext, stats: ScanStats) -> bool:
        """A directory reported as one unit: by a content detector, else by its application's layout."""
        for detector in self.dirs:
            try:
                finding = detector.detect_dir(ctx)
            except BudgetExceeded:
                self._error(stats, d.root, d.top, d.path, f"budget:{detector.name}")
                continue
            except DamagedFile:  # its files are scanned one by one instead, the damaged one included
                self._error(stats, d.root, d.top, d.path, f"damaged:{detector.name}")
                continue
            except Exception:
                self._error(stats, d.root, d.top, d.path, f"detector:{detector.name}")
                continue
            if finding is None:
                continue
            self._emit_unit(d, dir_fd, finding, stats)
            return True
        finding = d.app.classify(d.path, True) if d.app is not None else None
        if finding is None:
            return False
        self._emit_unit(d, dir_fd, finding, stats)
        return True

    def _emit_unit(self, d: _Dir, dir_fd: int, finding: Finding, stats: ScanStats) -> None:
        files, size = self._measure_unit(d, stats)
        try:
            mode, world = _mode_fields(os.fstat(dir_fd).st_mode)  # the directory listed, not its path again
        except OSError:
            mode, world = "0000", False
        self._emit(stats, self._artifact(d.root, d.top, d.path, "directory", finding, size, mode, world, files))

    def _measure_unit(self, d: _Dir, stats: ScanStats) -> tuple[int, int]:
        """Count and size the regular files below a claimed directory without opening them."""
        files = size = 0
        stack = [d.path]
        while stack:
            path = stack.pop()
            try:
                dir_fd = open_directory(path)  # no symlink followed anywhere in the path
            except OSError as exc:
                self._error(stats, d.root, d.top, path, _error_kind(exc))
                continue
            try:
                with os.scandir(dir_fd) as it:
                    for entry in it:
                        if entry.is_dir(follow_symlinks=False):
                            stats.dirs_seen += 1
                            stack.append(os.path.join(path, entry.name))
                        elif entry.is_file(follow_symlinks=False):
                            files += 1
                            size += entry.stat(follow_symlinks=False).st_size
                        elif entry.is_symlink():
                            stats.skipped["symlink"] += 1
                        else:
                            stats.skipped["special"] += 1
            except OSError as exc:
                self._error(stats, d.root, d.top, path, _error_kind(exc))
            finally:
                os.close(dir_fd)
        stats.files_seen += files
        stats.files_in_units += files
        return files, size

    # -- files -----------------------------------------------------------------------------

    def single_file(self, given: str, real: str) -> None:
        stats = ScanStats()
        self._scan_file(given, os.path.dirname(real), real, frozenset(), stats)
        self.stats.merge(stats)

    def _scan_file(
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

        Returns False when its header had to be read from the disk (see _read_header).
        """
        stats.files_seen += 1
        try:
            fd, st = open_regular(path) if dir_fd is None or name is None else open_regular(name, dir_fd=dir_fd)
        except OSError as exc:
            self._error(stats, root, top, path, _error_kind(exc))
            return True
        size = st.st_size
        cached = True
        try:
            if not size:
                stats.empty_files += 1  # no content, nothing any detector could recognise
                return True
            # Ask for no more than the file holds: no shrinking copy, and a full read is a cache hit.
            header, cached = _read_header(fd, size if size < HEADER_BYTES else HEADER_BYTES, probe)
            ctx = FileContext(path, size, header, fd, siblings=siblings, name=name)
            finding = self._detect(ctx, root, top, stats)
            stats.bytes_read += ctx.bytes_read
            if finding is None and app is not None:
                finding = app.classify(path, False)  # a documented file of a recognised application
            if finding is None:
                return cached
            digest = self._hash(fd, stats) if self.scanner.hash_files else None
        except OSError as exc:
            self._error(stats, root, top, path, _error_kind(exc))
            return cached
        finally:
            os.close(fd)
        mode, world = _mode_fields(st.st_mode)
        self._emit(stats, self._artifact(root, top, path, "file", finding, size, mode, world, None, digest))
        return cached

    def _detect(self, ctx: FileContext, root: str, top: str, stats: ScanStats) -> Finding | None:
        header = ctx.header
        # A file that shrank to nothing after fstat: every detector, as for any file without a header.
        candidates = self.candidates[ctx.is_text][header[0]] if header else self.files
        for detector in candidates:
            try:
                finding = detector.detect(ctx)
            except BudgetExceeded:
                self._error(stats, root, top, ctx.path, f"budget:{detector.name}")
                continue
            except DamagedFile as exc:  # its format, damaged: listed, since it may hold anything
                self._error(stats, root, top, ctx.path, f"damaged:{detector.name}")
                return exc.finding()
            except OSError:
                raise  # the file itself failed (vanished, EIO): reported once by the caller
            except Exception:
                self._error(stats, root, top, ctx.path, f"detector:{detector.name}")
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

    def _artifact(
        self,
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
            path=_relpath(path, top),
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


# -- worker processes ---------------------------------------------------------------------

_CHILD: _Run | None = None


def _child_init(scanner: Scanner) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the scan and terminates the
    # pool (SIGTERM, left at its default here), so a worker neither reacts nor prints a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    global _CHILD
    _CHILD = _Run(scanner, None, True)


def _child_batch(
    root: str, top: str, directory: str, names: list[str], others: frozenset[str], app: AppScope | None
) -> tuple[list[Artifact], ScanStats, list[ScanError], int]:
    """Scan one directory's files in a worker process: one directory fd, files opened by name under
    it (as the threads do), and how many headers came from the disk rather than the page cache."""
    run = _CHILD
    assert run is not None, "worker process not initialised"
    run.artifacts, run.errors = [], []
    stats = ScanStats()
    try:
        dir_fd = open_directory(directory)
    except OSError as exc:
        stats.files_seen += len(names)
        run._error(stats, root, top, directory, _error_kind(exc))
        return run.artifacts, stats, run.errors, 0
    prefix = directory if directory.endswith("/") else directory + "/"
    siblings = others.union(names)
    uncached = 0
    try:
        for i, name in enumerate(names):
            probe = i < PROBE_FILES or uncached > 0 or run._cold
            uncached += not run._scan_file(root, top, prefix + name, siblings, stats, name, dir_fd, app, probe)
    finally:
        os.close(dir_fd)
    run._cold = run._cold or uncached > 0
    return run.artifacts, stats, run.errors, uncached


def _relpath(path: str, top: str) -> str:
    if path == top:
        return "."
    if path.startswith(top.rstrip("/") + "/"):
        return path[len(top.rstrip("/")) + 1 :]
    return os.path.relpath(path, top)


def scan(roots: Iterable[str], **kwargs: Any) -> ScanResult:
    """Convenience wrapper: `Scanner(**kwargs).scan(roots)`."""
    return Scanner(**kwargs).scan(roots)
