"""The walk: a shared stack of directories, worker threads that list them and scan their files.

- Symlinks are never followed. The file type comes from the directory entry (d_type, else
  lstat), so FIFOs, sockets and device nodes are counted as skipped and never opened. Each
  directory is opened O_NOFOLLOW once and its files are opened by name under that fd: a
  directory swapped for a symlink is refused.
- Memory: directories waiting to be walked sit on a LIFO stack (depth-first keeps it small),
  one directory's entries at a time per worker. Nothing holds every path of the tree.
- Threads: the first worker always takes work; helpers take directories only while header
  reads wait for the disk (files.HeaderReader), since with a warm cache they only contend
  for the GIL.
- Processes (pool.py): once a warm tree proves large, the directories still to walk go to
  forked worker processes, each of which walks and scans whole subtrees (`walk_alone`).
- Cold cache: once a header comes from the disk rather than the page cache, the walk lists
  directories up to LOOKAHEAD_FILES files ahead of detection and a readahead helper process
  queues their header reads (sanitize/readahead.py), so the disk serves many at once.
- Directory units: a directory a directory detector claims (a Chroma persist dir, an HF
  `models--*` repo, ...) is one artifact with the total size of the files below it; its
  files are counted but not opened.
- AI applications' data directories: every directory is also shown to the application
  recognisers (detect/app_data.py). A recognised one passes its layout down the walk; below
  it, a documented directory is a unit and a documented file that no content detector
  recognised is reported by the layout (detect/app_layout.py).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from dataclasses import dataclass

from sanitize.detect.app_layout import AppRecogniser, AppScope, recognise
from sanitize.detect.base import (
    BudgetExceeded,
    DamagedFile,
    DirContext,
    DirectoryDetector,
    Finding,
    open_directory,
)
from sanitize.readahead import Readahead
from sanitize.scan.collect import Collector, error_kind
from sanitize.scan.files import PROBE_FILES, FileScanner, make_artifact, mode_fields
from sanitize.scan.model import ScanStats
from sanitize.scan.pool import COLD_TASK, Answer, SubtreeWorkers

# On a cold cache the walk lists directories this many files ahead of detection, so that the
# readahead helper has reads in flight (sanitize/readahead.py); it also bounds the memory used.
LOOKAHEAD_FILES = 2000
LOOKAHEAD_DIRS = 64  # listed directories (their fds held open) waiting for detection, at most
WARM_RATIO = 256  # a tree goes to worker processes while at most 1 in this many headers came from the disk


@dataclass(frozen=True)
class Dir:
    root: str  # as reported
    top: str  # absolute path the walk started from
    path: str  # absolute path of this directory
    dev: int
    app: AppScope | None = None  # the innermost recognised AI application directory above it


@dataclass(frozen=True)
class Listed:
    """A directory whose entries were read, kept open until its files are scanned."""

    d: Dir
    dir_fd: int
    files: list[str]
    names: frozenset[str]
    app: AppScope | None  # the application layout that applies to these files


class Walker:
    def __init__(
        self,
        files: FileScanner,
        dirs: tuple[DirectoryDetector, ...],
        apps: tuple[AppRecogniser, ...],
        collector: Collector,
        *,
        one_filesystem: bool,
        readahead: Readahead | None,
        processes: SubtreeWorkers | None = None,
    ) -> None:
        self.files = files
        self.dirs = dirs
        self.apps = apps
        self.collector = collector
        self.one_filesystem = one_filesystem
        self.readahead = readahead
        self.processes = processes
        self._stack: list[Dir] = []  # directories to list
        self._listed: deque[Listed] = deque()  # directories listed, whose files any worker may scan
        self._listed_files = 0
        self._active = 0  # workers listing a directory (which may push more work)
        self._main_waiting = False  # the first worker waits for a directory another one is listing
        self._cv = threading.Condition()
        # Helper threads take directories only while reads wait for the disk; on platforms
        # that cannot tell, they always do.
        self._parallel = not files.headers.tells_cached
        self._files_inline = 0
        self._uncached_inline = 0  # of those, headers that came from the disk
        self._cold = False
        # The rest of the walk goes to the worker processes (the threads finish what they listed).
        self._handoff = False

    # -- work distribution -----------------------------------------------------------------

    def push(self, dirs: list[Dir]) -> None:
        if not dirs:
            return
        with self._cv:
            self._stack.extend(dirs)
            self._wake()

    def _set_parallel(self, parallel: bool) -> None:
        if parallel != self._parallel:
            with self._cv:
                self._parallel = parallel
                self._cv.notify_all()

    def run(self, workers: int) -> None:
        """Walk with `workers` threads until the stack is empty; in worker processes once the tree
        proves large and warm, back in threads if the workers meet a cold cache."""
        self._run_threads(workers)
        if not self._handoff:
            return
        processes, self.processes, self._handoff = self.processes, None, False  # hand off once per scan
        # This walk's threads have ended: the fork copies no lock of ours held (whether the
        # caller's threads allow forking is decided with the default number of processes).
        if processes is not None:
            stack, self._stack = self._stack, []
            rest, cold = processes.walk(self, stack, self._lost)
            self._cold = self._cold or cold
            self._parallel = self._parallel or cold
            self._stack = rest
        self._run_threads(workers)

    def _run_threads(self, workers: int) -> None:
        threads = [threading.Thread(target=self.worker, args=(i > 0,), daemon=True) for i in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)  # a timed join keeps Ctrl-C deliverable to the main thread

    def worker(self, helper: bool = False) -> None:
        stats = ScanStats()
        while True:
            with self._cv:
                # The first worker always takes work; helpers only while reads are uncached.
                while not self._may_take(helper) and self._pending():
                    self._main_waiting = self._main_waiting or not helper
                    self._cv.wait()
                if not helper:
                    self._main_waiting = False
                if not self._may_take(helper):
                    self._cv.notify_all()
                    break
                # On a cold cache the walk lists up to LOOKAHEAD_FILES ahead of detection, so that
                # readahead has reads in flight; the listed directories are shared by every worker.
                ahead = LOOKAHEAD_FILES if self._cold else 0
                if (
                    self._stack
                    and not self._handoff
                    and (not self._listed or (self._listed_files < ahead and len(self._listed) < LOOKAHEAD_DIRS))
                ):
                    item: Dir | None = self._stack.pop()
                    self._active += 1
                    listed = None
                else:
                    item = None
                    listed = self._listed.popleft()
                    self._listed_files -= len(listed.files)
            if item is not None:
                self._list_and_share(item, stats)
                continue
            assert listed is not None
            try:
                self._scan_listed(listed, stats)
            except Exception:
                self.collector.error(stats, listed.d.root, listed.d.top, listed.d.path, "internal")
        self.collector.merge(stats)

    def _list_and_share(self, item: Dir, stats: ScanStats) -> None:
        """List a directory taken from the stack; its subdirectories and files become shared work."""
        subdirs: list[Dir] = []
        try:
            listed = self._list_dir(item, stats, subdirs)
        except Exception:  # never let one directory kill a worker and stall the others
            listed = None
            self.collector.error(stats, item.root, item.top, item.path, "internal")
        with self._cv:
            self._stack.extend(subdirs)
            self._active -= 1
            if listed is not None:
                self._listed.append(listed)
                self._listed_files += len(listed.files)
            self._wake()  # new files to scan, or the end of the walk

    def _wake(self) -> None:
        """Under the lock: wake the waiting workers that may now take work, or see the walk end.
        Not notify(n): it could wake only helpers that may not take work. Not on every directory
        of a warm tree either: helpers that wake only to wait again cost GIL hand-offs."""
        if self._main_waiting or self._parallel or not self._pending():
            self._cv.notify_all()

    def _may_take(self, helper: bool) -> bool:
        work = self._listed or (self._stack and not self._handoff)
        return bool(work) and (self._parallel or not helper)

    def _pending(self) -> bool:
        """Under the lock: whether this walk's threads may still get work."""
        return bool(self._listed or self._active or (self._stack and not self._handoff))

    def _maybe_hand_off(self) -> None:
        """After a directory was scanned: a large tree read from the page cache goes on in worker
        processes (pool.py); a cold one stays here, where readahead runs. A header or two from the
        disk in a warm tree does not make it cold (RWF_NOWAIT also fails on a page that is
        cached but marked for readahead)."""
        if (
            self.processes is not None
            and not self._handoff
            and self._files_inline >= self.processes.after_files
            and self._uncached_inline * WARM_RATIO <= self._files_inline
        ):
            with self._cv:
                self._handoff = True
                self._cv.notify_all()

    # -- directories -----------------------------------------------------------------------

    def _list_dir(self, d: Dir, stats: ScanStats, subdirs: list[Dir]) -> Listed | None:
        """List a directory, add its subdirectories to `subdirs` and return its files for _scan_files."""
        stats.dirs_seen += 1
        try:
            dir_fd = open_directory(d.path)
        except OSError as exc:
            self.collector.error(stats, d.root, d.top, d.path, error_kind(exc))
            return None
        try:
            files, names, app = self._list_open_dir(d, dir_fd, stats, subdirs)
        except BaseException:
            os.close(dir_fd)
            raise
        if not files:
            os.close(dir_fd)
            return None
        if self.readahead is not None and self._cold:
            self.readahead.submit(d.path, files)
        return Listed(d, dir_fd, files, names, app)

    def _list_open_dir(
        self, d: Dir, dir_fd: int, stats: ScanStats, subdirs: list[Dir]
    ) -> tuple[list[str], frozenset[str], AppScope | None]:
        try:
            with os.scandir(dir_fd) as it:  # entries carry bare names; types come from d_type
                entries = list(it)
        except OSError as exc:
            self.collector.error(stats, d.root, d.top, d.path, error_kind(exc))
            return [], frozenset(), d.app
        names = frozenset([e.name for e in entries])
        ctx = DirContext(d.path, names)
        if (self.dirs or d.app is not None) and self._claim_dir(d, dir_fd, ctx, stats):
            return [], names, d.app
        app = self._recognise_app(d, ctx, stats) if self.apps else d.app
        return self._sort_entries(d, entries, app, stats, subdirs), names, app

    def _sort_entries(
        self, d: Dir, entries: list[os.DirEntry[str]], app: AppScope | None, stats: ScanStats, subdirs: list[Dir]
    ) -> list[str]:
        """The names of the regular files; subdirectories to walk go to `subdirs`, the rest is counted."""
        prefix = d.path if d.path.endswith("/") else d.path + "/"
        try:
            # Most entries are regular files (d_type): one pass for them, the loop below for the rest.
            files = [e.name for e in entries if e.is_file(follow_symlinks=False)]
            if len(files) == len(entries):
                return files
            others = [e for e in entries if not e.is_file(follow_symlinks=False)]
        except OSError:  # an entry without d_type whose lstat failed: each entry on its own below
            files, others = [], entries
        for entry in others:
            try:
                if entry.is_dir(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    if self.one_filesystem and st.st_dev != d.dev:
                        stats.skipped["mountpoint"] += 1
                        continue
                    subdirs.append(Dir(d.root, d.top, prefix + entry.name, st.st_dev, app))
                elif entry.is_file(follow_symlinks=False):
                    files.append(entry.name)
                elif entry.is_symlink():
                    stats.skipped["symlink"] += 1
                else:
                    stats.skipped["special"] += 1  # FIFO, socket, device node: never opened
            except OSError as exc:
                self.collector.error(stats, d.root, d.top, prefix + entry.name, error_kind(exc))
        return files

    def _recognise_app(self, d: Dir, ctx: DirContext, stats: ScanStats) -> AppScope | None:
        """The application layout for what is below `d`: its own if recognised, else its parent's."""
        try:
            layout = recognise(self.apps, ctx)
        except BudgetExceeded:
            self.collector.error(stats, d.root, d.top, d.path, "budget:app-data")
            return d.app
        except Exception:
            self.collector.error(stats, d.root, d.top, d.path, "detector:app-data")
            return d.app
        return AppScope(layout, d.path) if layout is not None else d.app

    def _scan_listed(self, listed: Listed, stats: ScanStats) -> None:
        self._files_inline += len(listed.files)
        uncached = self._scan_files(listed, stats, threads=True)
        self._uncached_inline += uncached
        self._set_parallel(uncached > 0)
        self._maybe_hand_off()

    def _scan_files(self, listed: Listed, stats: ScanStats, threads: bool = False) -> int:
        """Scan a listed directory's files and close it; returns how many headers came from the disk."""
        d, names, app = listed.d, listed.names, listed.app
        prefix = d.path if d.path.endswith("/") else d.path + "/"
        uncached = 0
        try:
            for i, name in enumerate(listed.files):
                # On a warm tree, whether headers come from the disk is asked of a directory's first
                # files only (the probe costs a copy); once anything came from the disk, of every file.
                probe = i < PROBE_FILES or uncached > 0 or self._cold
                path = prefix + name
                if not self.files.scan_file(d.root, d.top, path, names, stats, name, listed.dir_fd, app, probe):
                    if not uncached:  # the first read from the disk: helpers join now, not after the directory
                        self._cold = True
                        if threads:
                            self._set_parallel(True)
                    uncached += 1
        finally:
            os.close(listed.dir_fd)
        return uncached

    # -- in a worker process (pool.py) ------------------------------------------------------

    def walk_alone(self, dirs: list[Dir], budget: int) -> Answer:
        """A worker process's task: walk `dirs` and below them depth-first, as a thread of the walk
        would, with a collector of its own, until `budget` files were scanned (at least one
        directory's), or one header came from the disk. Returns the directories not walked and
        what it found."""
        collector = Collector(None, True)
        self.collector = self.files.collector = collector
        stats = ScanStats()
        stack = list(dirs)
        files = uncached = 0
        self._cold = False  # every header read probes once one came from the disk, in this task
        while stack:
            d = stack.pop()
            try:
                listed = self._list_dir(d, stats, stack)
                if listed is not None:
                    files += len(listed.files)
                    uncached += self._scan_files(listed, stats)
            except Exception:
                collector.error(stats, d.root, d.top, d.path, "internal")
            if files >= budget or uncached * COLD_TASK > files:
                break
        return stack, collector.artifacts, stats, collector.errors, uncached

    def _lost(self, d: Dir) -> list[Dir]:
        """A directory whose worker process died or hung: counted as `worker-lost` with its files,
        listed here (no file opened) so that its subdirectories are still walked."""
        stats = ScanStats()
        stats.dirs_seen += 1
        subdirs: list[Dir] = []
        try:
            dir_fd = open_directory(d.path)
            try:
                with os.scandir(dir_fd) as it:
                    entries = list(it)
            finally:
                os.close(dir_fd)
            stats.files_seen += len(self._sort_entries(d, entries, d.app, stats, subdirs))
        except OSError:
            pass  # the loss is what is reported
        self.collector.error(stats, d.root, d.top, d.path, "worker-lost")
        self.collector.merge(stats)
        return subdirs

    def _claim_dir(self, d: Dir, dir_fd: int, ctx: DirContext, stats: ScanStats) -> bool:
        """A directory reported as one unit: by a content detector, else by its application's layout."""
        for detector in self.dirs:
            try:
                finding = detector.detect_dir(ctx)
            except BudgetExceeded:
                self.collector.error(stats, d.root, d.top, d.path, f"budget:{detector.name}")
                continue
            except DamagedFile:  # its files are scanned one by one instead, the damaged one included
                self.collector.error(stats, d.root, d.top, d.path, f"damaged:{detector.name}")
                continue
            except Exception:
                self.collector.error(stats, d.root, d.top, d.path, f"detector:{detector.name}")
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

    def _emit_unit(self, d: Dir, dir_fd: int, finding: Finding, stats: ScanStats) -> None:
        files, size = self._measure_unit(d, stats)
        try:
            mode, world = mode_fields(os.fstat(dir_fd).st_mode)  # the directory listed, not its path again
        except OSError:
            mode, world = "0000", False
        artifact = make_artifact(d.root, d.top, d.path, "directory", finding, size, mode, world, files)
        self.collector.emit(stats, artifact)

    def _measure_unit(self, d: Dir, stats: ScanStats) -> tuple[int, int]:
        """Count and size the regular files below a claimed directory without opening them."""
        files = size = 0
        stack = [d.path]
        while stack:
            path = stack.pop()
            try:
                dir_fd = open_directory(path)  # no symlink followed anywhere in the path
            except OSError as exc:
                self.collector.error(stats, d.root, d.top, path, error_kind(exc))
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
                self.collector.error(stats, d.root, d.top, path, error_kind(exc))
            finally:
                os.close(dir_fd)
        stats.files_seen += files
        stats.files_in_units += files
        return files, size
