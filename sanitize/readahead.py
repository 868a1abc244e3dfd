"""Ask the kernel for the headers of files the scan is about to open, many at once.

On a cold cache (an unmounted volume that inventory has just mounted, a data disk read for
the first time) the scan would otherwise wait for one 4 KiB read per file, one after the
other: a queue depth of one, which leaves an SSD or a RAID idle most of the time. So, once the
scan sees a header come from the disk, it starts this module as a helper process and sends it
each directory it lists, a few thousand files ahead of detection. The helper's threads open
each file and call posix_fadvise(WILLNEED) on its header range, which queues the read and
returns; when the scanner reaches the file, its header is usually in the page cache.

Why a process and not threads of the scanner: threads would need the scanner's GIL between
their system calls, and took it from detection so often that a cold scan got slower (measured
in docs/benchmarks.md, "cold cache").

Nothing is read into Python and nothing is written: the kernel only fills the page cache. Files
are opened exactly as the scanner opens them (no symlinks followed, O_NONBLOCK so a FIFO never
blocks, O_NOATIME where allowed). Every failure is ignored on purpose: the readahead is a hint,
the scanner opens every file again and reports what fails. If the helper cannot keep up, new
work for it is dropped rather than slowing the scan.

Wire format on the helper's stdin: per directory, its path and the names of its files, each
followed by a NUL byte, then one more NUL (no path or name can contain NUL).
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading

from sanitize.detect.base import open_directory, open_regular_fd
from sanitize.hw.host import Host

THREADS = 16  # reads the helper keeps in flight, about: enough for an SSD's queue
CHUNK = 16  # names per task inside the helper: spreads one directory over its threads
TAIL_BYTES = 4096
RECORD_NAMES = 512  # names per record sent to the helper
MAX_BACKLOG = 1 << 20  # bytes of unsent work; beyond it new directories are not prefetched


class Readahead:
    """The scanner's side: a helper process, started on first use through `host`, fed without ever blocking."""

    def __init__(self, host: Host, length: int) -> None:
        self.host = host
        self.length = length
        self.command = [sys.executable, "-m", "sanitize.readahead", str(length)]
        self._proc: subprocess.Popen[bytes] | None = None
        self._backlog = bytearray()
        self._failed = False
        self.started = False  # whether a helper was ever started (it is gone after close())
        self._lock = threading.Lock()

    def submit(self, directory: str, names: list[str]) -> None:
        # In records of RECORD_NAMES: a huge directory is prefetched as far as the backlog allows.
        for i in range(0, len(names), RECORD_NAMES):
            record = b"".join(os.fsencode(x) + b"\0" for x in (directory, *names[i : i + RECORD_NAMES])) + b"\0"
            with self._lock:
                if self._failed or len(self._backlog) + len(record) > MAX_BACKLOG:
                    return
                if self._proc is None and not self._start():
                    return
                self._backlog += record
                self._flush()

    @property
    def failed(self) -> bool:
        """The helper could not start, died, or was stopped: nothing more is sent to it."""
        return self._failed

    @property
    def backlog_bytes(self) -> int:
        """Work queued for the helper that its pipe has not taken yet."""
        return len(self._backlog)

    def close(self) -> None:
        """Stop the helper: whatever it has not prefetched yet is no longer needed."""
        with self._lock:
            self._failed = True
            if self._proc is not None:
                self._proc.kill()
                self._proc.wait()
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()  # type: ignore[union-attr]
                self._proc = None

    def _start(self) -> bool:
        try:
            self._proc = self.host.spawn(self.command)
        except OSError:
            self._failed = True
            return False
        os.set_blocking(self._proc.stdin.fileno(), False)  # type: ignore[union-attr]
        self.started = True
        return True

    def _flush(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            sent = os.write(self._proc.stdin.fileno(), self._backlog)
        except BlockingIOError:
            return
        except OSError:  # the helper died: scan on without it
            self._failed = True
            return
        del self._backlog[:sent]


# -- the helper process -------------------------------------------------------------------


def _prefetch(length: int, directory: bytes, names: list[bytes]) -> None:
    try:
        dir_fd = open_directory(os.fsdecode(directory))
    except OSError:
        return
    try:
        for name in names:
            try:
                fd = open_regular_fd(os.fsdecode(name), dir_fd=dir_fd)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, length, os.POSIX_FADV_WILLNEED)
                size = os.fstat(fd).st_size
                if size > length:  # footers some detectors read: Lance's magic, a zip's directory
                    os.posix_fadvise(fd, max(length, size - TAIL_BYTES), TAIL_BYTES, os.POSIX_FADV_WILLNEED)
            except OSError:
                pass  # a FIFO or device swapped in (ESPIPE), or no readahead on this filesystem
            finally:
                os.close(fd)
    finally:
        os.close(dir_fd)


def _worker(length: int, tasks: queue.SimpleQueue[tuple[bytes, list[bytes]] | None]) -> None:
    while (task := tasks.get()) is not None:
        _prefetch(length, *task)


def _serve(length: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the scanner stops it; Ctrl-C is the scanner's
    tasks: queue.SimpleQueue[tuple[bytes, list[bytes]] | None] = queue.SimpleQueue()
    threads = [threading.Thread(target=_worker, args=(length, tasks), daemon=True) for _ in range(THREADS)]
    for t in threads:
        t.start()
    fields: list[bytes] = []
    tail = b""
    while chunk := os.read(0, 1 << 16):
        *complete, tail = (tail + chunk).split(b"\0")
        for field in complete:
            if field:
                fields.append(field)
                continue
            if not fields:
                continue
            directory, names = fields[0], fields[1:]
            for i in range(0, len(names), CHUNK):
                tasks.put((directory, names[i : i + CHUNK]))
            fields = []
    for _ in threads:
        tasks.put(None)
    for t in threads:
        t.join()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
