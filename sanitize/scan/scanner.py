"""The scanner: checks the roots, puts the parts of one scan together and runs it."""

from __future__ import annotations

import multiprocessing
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from sanitize.detect.base import HEADER_BYTES
from sanitize.detect.registry import Registry
from sanitize.detect.registry import default as default_registry
from sanitize.errors import BadInput
from sanitize.hw.host import Host
from sanitize.readahead import Readahead
from sanitize.scan.collect import Collector
from sanitize.scan.files import FileScanner, HeaderReader
from sanitize.scan.model import Artifact, ScanResult, ScanStats
from sanitize.scan.pool import BATCH_TIMEOUT, POOL_AFTER_FILES, SubtreeWorkers
from sanitize.scan.walk import Dir, Walker

MIN_CPUS_FOR_PROCESSES = 2
MAX_PROCESSES = 16


def default_processes() -> int:
    """Worker processes for large warm trees, or 0 for threads only.

    Detection is Python code, so threads share one core through the GIL; processes can use
    more. Each worker walks and scans whole directories, and this process only queues the
    subdirectories they send back, so there is one worker per CPU (docs/benchmarks.md: on 2
    CPUs, 2 workers scan a warm tree about 1.8x as fast as one thread). Fork is only used
    from a single-threaded program: forking a threaded one can copy a held lock.
    """
    cpus = os.cpu_count() or 1
    if cpus < MIN_CPUS_FOR_PROCESSES or threading.active_count() > 1:
        return 0
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return min(cpus, MAX_PROCESSES)


class Scanner:
    """Scan roots; see the package docstring for the rules.

    The walk and detection run in `workers` threads of this process; all but the first take
    directories only while file reads wait for the disk (`headers`). `processes` > 0: once
    `pool_after_files` files were scanned and their headers came from the page cache, the
    directories still to walk go to that many forked worker processes (default: one per CPU
    from 2 CPUs up, else 0), each listing and scanning whole directories; a directory not
    back within `batch_timeout` seconds is lost (pool.py).
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
        headers: HeaderReader | None = None,
        pool_after_files: int = POOL_AFTER_FILES,
        batch_timeout: float = BATCH_TIMEOUT,
    ) -> None:
        self.registry = registry or default_registry()
        self.workers = workers or min(4, (os.cpu_count() or 1) * 2)
        self.processes = default_processes() if processes is None else processes
        self.hash_files = hash_files
        self.one_filesystem = one_filesystem
        self.host = host
        self.headers = headers or HeaderReader()
        self.pool_after_files = pool_after_files
        self.batch_timeout = batch_timeout

    def scan(
        self,
        roots: Iterable[str],
        *,
        on_artifact: Callable[[Artifact], None] | None = None,
        keep_artifacts: bool = True,
    ) -> ScanResult:
        started = time.monotonic()
        root_list = [str(r) for r in roots]
        resolved = [check_root(r) for r in root_list]
        collector = Collector(on_artifact, keep_artifacts)
        files = FileScanner(self.registry, collector, self.headers, self.hash_files)
        processes = None
        if self.processes > 0:
            processes = SubtreeWorkers(
                self.processes, after_files=self.pool_after_files, batch_timeout=self.batch_timeout
            )
        readahead = Readahead(self.host, HEADER_BYTES) if self.host is not None else None
        walker = Walker(
            files,
            self.registry.dir_detectors,
            self.registry.apps,
            collector,
            one_filesystem=self.one_filesystem,
            readahead=readahead,
            processes=processes,
        )
        for given, real, st in resolved:
            if stat.S_ISDIR(st.st_mode):
                walker.push([Dir(given, real, real, st.st_dev)])
            else:
                stats = ScanStats()
                files.scan_file(given, os.path.dirname(real), real, frozenset(), stats)
                collector.merge(stats)
        try:
            walker.run(self.workers)
        finally:
            if readahead is not None:
                readahead.close()
        collector.stats.seconds = time.monotonic() - started
        load_errors = [f"{e.module}: {e.error}" for e in self.registry.errors]
        return ScanResult(root_list, collector.artifacts, collector.stats, collector.errors, load_errors)


def check_root(given: str) -> tuple[str, str, os.stat_result]:
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


def scan(roots: Iterable[str], **kwargs: Any) -> ScanResult:
    """Convenience wrapper: `Scanner(**kwargs).scan(roots)`."""
    return Scanner(**kwargs).scan(roots)
