"""The readahead helper fills the page cache for the scan, never blocks it, and never lingers.

Page-cache state is observed with mincore(2) on an untouched mapping; files are evicted with
fsync + posix_fadvise(DONTNEED). Both need a disk-backed filesystem, hence trees under /var/tmp
rather than a possibly RAM-backed /tmp.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sanitize import readahead, scan
from sanitize.readahead import Readahead
from sanitize.scan import Scanner
from tests.support.fake_host import FakeHost

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "artifacts" / "weights"


@pytest.fixture
def disk_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sanitize-readahead-", dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _evict(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.mmap.restype = ctypes.c_void_p
_LIBC.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_LIBC.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_LIBC.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]


def _cached(path: Path, offset: int = 0) -> bool:
    """Whether the page at `offset` is in the page cache, by mincore(2) on a mapping that is never
    touched: probing with a read (even RWF_NOWAIT) can itself start a readahead."""
    page = mmap.PAGESIZE
    start = offset - offset % page
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = _LIBC.mmap(None, page, mmap.PROT_READ, mmap.MAP_SHARED, fd, start)
        if addr in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap")
        try:
            vec = (ctypes.c_ubyte * 1)()
            if _LIBC.mincore(addr, page, vec) != 0:
                raise OSError(ctypes.get_errno(), "mincore")
            return bool(vec[0] & 1)
        finally:
            _LIBC.munmap(addr, page)
    finally:
        os.close(fd)


def _arrives(path: Path, offset: int = 0, within: float = 10.0) -> bool:
    """Whether the page at `offset` is in the page cache within `within` seconds: WILLNEED only
    queues the read, which a busy disk may complete after the helper has exited."""
    deadline = time.monotonic() + within
    while not _cached(path, offset):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _cold(path: Path) -> Path:
    _evict(path)
    if _cached(path):
        pytest.skip("this filesystem keeps evicted pages (tmpfs?): cannot observe the page cache")
    return path


def _record(directory: Path, names: list[str]) -> bytes:
    return b"".join(os.fsencode(x) + b"\0" for x in (str(directory), *names)) + b"\0"


def _serve(records: bytes) -> subprocess.CompletedProcess[bytes]:
    """Run the helper as the scanner does, to the end of its input."""
    return subprocess.run(
        [sys.executable, "-m", "sanitize.readahead", "4096"], input=records, capture_output=True, timeout=30
    )


def _by_path(artifacts: list[scan.Artifact]) -> list[dict[str, object]]:
    return sorted((a.to_dict() for a in artifacts), key=lambda a: str(a["path"]))


def _helpers_of_this_process() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat_fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat_fields[1]) == os.getpid() and b"sanitize.readahead" in cmdline:
            found.append(int(entry))
    return found


def test_helper_brings_headers_and_footers_into_the_page_cache(disk_dir: Path) -> None:
    small = disk_dir / "small.bin"
    large = disk_dir / "large.bin"
    small.write_bytes(os.urandom(3000))
    large.write_bytes(os.urandom(1 << 20))
    for path in (small, large):
        _cold(path)
    assert not _cached(large, (1 << 20) - 8)

    done = _serve(_record(disk_dir, ["small.bin", "large.bin"]))

    assert done.returncode == 0 and done.stderr == b""
    assert _arrives(small) and _arrives(large)
    assert _arrives(large, (1 << 20) - 8)  # the footer Lance and zip detectors read
    assert not _cached(large, 1 << 19)  # a header and a footer, not the file


def test_helper_never_opens_fifos_or_follows_symlinks(disk_dir: Path) -> None:
    outside = disk_dir / "outside"
    outside.mkdir()
    target = outside / "secret.bin"
    target.write_bytes(os.urandom(8192))
    tree = disk_dir / "tree"
    tree.mkdir()
    os.mkfifo(tree / "fifo")
    (tree / "link").symlink_to(target)
    (tree / "subdir").mkdir()
    _cold(target)
    names = ["fifo", "link", "subdir", "vanished", "bad\nname"]

    started = time.monotonic()
    done = _serve(_record(tree, names) + _record(disk_dir / "no-such-dir", ["x"]) + b"\0\0")

    assert done.returncode == 0 and done.stderr == b""
    assert time.monotonic() - started < 20  # a FIFO opened for reading would block forever
    assert not _cached(target)


def test_scanner_on_a_cold_tree_finds_the_same_and_leaves_no_helper(disk_dir: Path) -> None:
    tree = disk_dir / "tree"
    shutil.copytree(FIXTURES, tree)
    for i in range(30):
        sub = tree / f"notes{i}"
        sub.mkdir()
        for j in range(20):
            (sub / f"n{j}.txt").write_text(f"note {i}.{j}\n" * 50)
    warm = Scanner(workers=1, processes=0, host=FakeHost()).scan([str(tree)])
    files = [p for p in tree.rglob("*") if p.is_file() and not p.is_symlink()]
    for path in files:
        _evict(path)
    if all(_cached(p) for p in files):
        pytest.skip("this filesystem keeps evicted pages: cannot make the tree cold")

    host = FakeHost()

    cold = Scanner(workers=1, processes=0, host=host).scan([str(tree)])

    assert [argv[1:3] for argv in host.spawned] == [["-m", "sanitize.readahead"]]
    assert _helpers_of_this_process() == []
    assert _by_path(cold.artifacts) == _by_path(warm.artifacts) != []
    assert (cold.stats.files_seen, cold.stats.errors) == (warm.stats.files_seen, warm.stats.errors)


def test_a_warm_tree_starts_no_helper(tmp_path: Path) -> None:
    for i in range(50):
        (tmp_path / f"f{i}.txt").write_text("just written, so in the page cache\n")
    host = FakeHost()
    Scanner(workers=1, processes=0, host=host).scan([str(tmp_path)])
    assert host.spawned == []


def test_a_helper_that_does_not_read_never_blocks_the_scan() -> None:
    ra = Readahead(FakeHost(helper_command=[sys.executable, "-c", "import time; time.sleep(60)"]), 4096)
    names = [f"file-with-a-long-name-{i:06d}" for i in range(2000)]
    started = time.monotonic()
    try:
        for _ in range(100):  # ~6 MiB of records: far beyond the pipe and the backlog
            ra.submit("/nonexistent", names)
        assert time.monotonic() - started < 10
        assert ra.backlog_bytes <= readahead.MAX_BACKLOG
    finally:
        ra.close()
    assert _helpers_of_this_process() == []


def test_a_helper_that_dies_or_cannot_start_is_ignored() -> None:
    host = FakeHost(helper_command=[sys.executable, "-c", "pass"])
    ra = Readahead(host, 4096)
    ra.submit("/d", ["a"])
    host.processes[0].wait()
    for _ in range(3):
        ra.submit("/d", ["b" * 70_000])  # more than a pipe holds: the write meets the closed end
    assert ra.failed
    ra.close()

    missing = Readahead(FakeHost(helper_command=["/nonexistent/python"]), 4096)
    missing.submit("/d", ["a"])
    assert missing.failed and not missing.started
    missing.close()


def test_a_huge_directory_is_prefetched_in_parts_not_dropped() -> None:
    ra = Readahead(FakeHost(helper_command=[sys.executable, "-c", "import time; time.sleep(60)"]), 4096)
    names = [f"chunk-{i:08d}.bin" for i in range(200_000)]  # ~4 MiB of names: more than the backlog
    try:
        ra.submit("/data/blobs", names)
        assert ra.started and 0 < ra.backlog_bytes <= readahead.MAX_BACKLOG
    finally:
        ra.close()
