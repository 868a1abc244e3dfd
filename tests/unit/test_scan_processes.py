"""Process mode (sanitize/scan/pool.py): worker processes that walk and scan parts of the tree
themselves give what the threads give, lose only one directory to a dead or hung worker, and
hand a cold tree back to the threads."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from sanitize.detect import registry
from sanitize.detect.base import FileContext, Finding
from sanitize.scan import HeaderReader, Scanner, ScanResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "artifacts"


def _summary(result: ScanResult) -> tuple[Any, ...]:
    artifacts = sorted(json.dumps(a.to_dict(), sort_keys=True) for a in result.artifacts)
    stats = {k: v for k, v in result.stats.to_dict().items() if k != "seconds"}
    return artifacts, stats, sorted((e.root, e.path, e.kind) for e in result.errors)


def test_worker_processes_find_what_threads_find_in_the_whole_corpus() -> None:
    """Every fixture family, application data directories and directory units included."""
    threaded = Scanner(workers=1, processes=0).scan([str(FIXTURES)])
    forked = Scanner(processes=2, pool_after_files=0).scan([str(FIXTURES)])
    assert threaded.artifacts and _summary(forked) == _summary(threaded)
    assert {a.unit for a in forked.artifacts} == {"file", "directory"}


class _Poison:
    """Kills the worker process that opens `poison.bin` (an OOM kill, a crash in a C library),
    or hangs it on `hang.bin`."""

    name = "poison"

    def detect(self, ctx: FileContext) -> Finding | None:
        if ctx.name == "poison.bin":
            os._exit(3)
        if ctx.name == "hang.bin":
            time.sleep(3600)
        return None


def _wide_tree(root: Path, bad: str) -> Path:
    for i in range(12):
        for j in range(3):
            d = root / f"d{i}" / f"s{j}"
            d.mkdir(parents=True)
            (d / "notes.txt").write_text("nothing here\n")
            (d / "model.gguf").write_bytes(b"GGUF" + (3).to_bytes(4, "little") + bytes(16))
    (root / "d7" / "s1" / bad).write_bytes(b"x")
    (root / "top.txt").write_text("top\n")
    return root


def test_a_dead_worker_costs_one_directory_of_a_task_of_many(tmp_path: Path) -> None:
    """A task spans many directories; when its worker dies, they are walked again one per task,
    so the loss is the poisoned directory alone, its files counted."""
    root = _wide_tree(tmp_path / "t", "poison.bin")
    reg = registry.Registry((_Poison(), *registry.file_detectors()), (), (), ())
    result = Scanner(reg, processes=2, pool_after_files=0).scan([str(root)])
    assert [(e.path, e.kind) for e in result.errors] == [("d7/s1", "worker-lost")]
    assert result.stats.files_seen == 1 + 12 * 3 * 2 + 1 and result.stats.dirs_seen == 1 + 12 + 36
    found = sorted(a.path for a in result.artifacts)
    assert len(found) == 35 and "d7/s1/model.gguf" not in found  # it shared the lost directory


def test_a_hung_worker_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    root = _wide_tree(tmp_path / "t", "hang.bin")
    reg = registry.Registry((_Poison(), *registry.file_detectors()), (), (), ())
    started = time.monotonic()
    result = Scanner(reg, processes=2, pool_after_files=0, batch_timeout=1).scan([str(root)])
    assert time.monotonic() - started < 30
    assert [(e.path, e.kind) for e in result.errors] == [("d7/s1", "worker-lost")]
    assert len(result.artifacts) == 35


class _ColdBelow(HeaderReader):
    """Headers of files whose paths start with `prefix` read as if they came from the disk."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.cold = prefix

    def read(self, fd: int, length: int) -> tuple[bytes, bool]:
        data, cached = super().read(fd, length)
        return data, cached and not os.readlink(f"/proc/self/fd/{fd}").startswith(self.cold)


class _WhoScans:
    """Records which process scanned each file."""

    name = "who"

    def __init__(self, log: Path) -> None:
        self.log = log

    def detect(self, ctx: FileContext) -> Finding | None:
        with open(self.log, "a") as out:
            out.write(f"{os.getpid()} {ctx.path}\n")
        return None


def test_a_cold_tree_goes_back_to_the_threads(tmp_path: Path) -> None:
    """Workers do not prefetch: once their reads come from the disk, the threads (and the
    readahead helper, when there is a host) take the rest of the walk."""
    root = _wide_tree(tmp_path / "t", "other.bin")
    log = tmp_path / "who.log"
    reg = registry.Registry((_WhoScans(log), *registry.file_detectors()), (), (), ())
    headers = _ColdBelow(f"{root}/d")  # every header "from the disk" but top.txt's, scanned before the hand-off
    result = Scanner(reg, processes=2, pool_after_files=0, headers=headers).scan([str(root)])
    threaded = Scanner(workers=1, processes=0).scan([str(root)])
    assert _summary(result) == _summary(threaded)
    by_pid: dict[str, int] = {}
    for line in log.read_text().splitlines():
        pid = line.split()[0]
        by_pid[pid] = by_pid.get(pid, 0) + 1
    assert sum(by_pid.values()) == result.stats.files_seen
    assert by_pid.get(str(os.getpid()), 0) > result.stats.files_seen // 2  # most of it here, in threads
