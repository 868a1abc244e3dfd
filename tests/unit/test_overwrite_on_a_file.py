"""The overwrite engine, root-free: a plain file stands in for the device through a FakeHost."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sanitize.erase import EraseOptions, ExecutionContext, Planning, build_plan, new_result, run_plan
from sanitize.erase.overwrite import readback
from sanitize.erase.pipeline import IO_DEPTH
from sanitize.inventory.model import DeviceTree
from sanitize.methods import all_methods
from sanitize.state import StateDir
from tests.support.devices import make_device
from tests.support.fake_host import FakeHost, FileDevice
from tests.support.methods import checkpointing_every

SIZE = 8 << 20


@pytest.mark.parametrize(("pattern", "verify"), [("zeros", "full"), ("random", "sample"), ("0xA5", "full")])
def test_a_file_is_overwritten_verified_and_the_journal_removed(tmp_path: Path, pattern: str, verify: str) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"PRIVILEGED memo " * (SIZE // 16))
    host = FakeHost()
    tree = DeviceTree((make_device(str(disk), size_bytes=SIZE),))
    plan = build_plan(Planning(host, tree, all_methods()), str(disk), "overwrite", EraseOptions(pattern, 2, verify))
    state = StateDir(str(tmp_path / "state"))
    ctx = ExecutionContext(host=host, state=state, result=new_result(plan, host), stop=threading.Event())

    result = run_plan(plan, ctx, all_methods())

    assert result.status == "verified", result.to_dict()
    assert result.bytes_written == 2 * SIZE and result.passes == 2
    data = disk.read_bytes()
    assert b"PRIVILEGED" not in data
    if pattern != "random":
        assert data == bytes([{"zeros": 0, "0xA5": 0xA5}[pattern]]) * SIZE
    assert result.verification.details["carve_hits"] == 0  # the post-erase carve ran on the file too
    assert [p for p, write in host.opened if write] == [str(disk)]  # opened for writing once, through the host
    assert not list((tmp_path / "state" / "journal").glob("*.json"))


def test_an_interrupted_pass_stops_at_a_checkpoint_and_resumes(tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(SIZE))
    host = FakeHost()
    tree = DeviceTree((make_device(str(disk), size_bytes=SIZE),))
    planning = Planning(host, tree, all_methods())
    plan = build_plan(planning, str(disk), "overwrite", EraseOptions("ones", verify="full"))
    state = StateDir(str(tmp_path / "state"))
    stop = threading.Event()
    stop.set()  # stopped before the first chunk: nothing written, the journal kept for --resume
    first = run_plan(plan, ExecutionContext(host, state, new_result(plan, host), stop=stop), all_methods())
    assert first.status == "interrupted"
    assert list((tmp_path / "state" / "journal").glob("*.json"))

    again = build_plan(planning, str(disk), "overwrite", EraseOptions("ones", verify="full"))
    resumed = run_plan(again, ExecutionContext(host, state, new_result(again, host), resume=True), all_methods())
    assert resumed.status == "verified" and resumed.id == first.id
    assert disk.read_bytes() == b"\xff" * SIZE


class SlowFlushDevice(FileDevice):
    """Its first flush lasts until several more writes have started (at most 10 s), and counts them."""

    def __init__(self, path: str, *, write: bool) -> None:
        super().__init__(path, write=write)
        self.flushing = threading.Event()
        self.started_during_flush = 0
        self.enough = threading.Event()
        self.flushes = 0

    def write_at(self, view: memoryview, offset: int) -> None:
        if self.flushing.is_set():
            self.started_during_flush += 1
            if self.started_during_flush >= IO_DEPTH + 2:
                self.enough.set()
        super().write_at(view, offset)

    def sync(self) -> None:
        self.flushes += 1
        if self.flushes == 1:
            self.flushing.set()
            self.enough.wait(10)
            self.flushing.clear()
        super().sync()


@dataclass
class SlowFlushHost(FakeHost):
    writers: list[SlowFlushDevice] = field(default_factory=list)

    def open_device(
        self, path: str, *, write: bool = False, direct: bool = False, exclusive: bool = False
    ) -> FileDevice:
        self.opened.append((path, write))
        if not write:
            return FileDevice(path, write=write)
        self.writers.append(SlowFlushDevice(path, write=write))
        return self.writers[-1]


def test_a_slow_device_flush_does_not_stall_the_writes(tmp_path: Path) -> None:
    size = 64 << 20
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(size))
    host = SlowFlushHost()
    tree = DeviceTree((make_device(str(disk), size_bytes=size),))
    methods = checkpointing_every(8)
    plan = build_plan(Planning(host, tree, methods), str(disk), "overwrite", EraseOptions("random", 1, "full"))
    state = StateDir(str(tmp_path / "state"))

    result = run_plan(plan, ExecutionContext(host=host, state=state, result=new_result(plan, host)), methods)

    assert result.status == "verified", result.to_dict()
    # New writes were submitted while the first checkpoint's flush was still running: more
    # than the IO_DEPTH that were already in flight when it began.
    assert host.writers[0].started_during_flush >= IO_DEPTH + 2


class CorruptReadsDevice(FileDevice):
    """Returns what the file holds, except one flipped byte at each of `bad` offsets."""

    bad: tuple[int, ...] = ()

    def read_into(self, view: memoryview, offset: int) -> None:
        super().read_into(view, offset)
        for at in self.bad:
            if offset <= at < offset + len(view):
                view[at - offset] ^= 0xFF


@dataclass
class CorruptReadsHost(FakeHost):
    bad: tuple[int, ...] = ()

    def open_device(
        self, path: str, *, write: bool = False, direct: bool = False, exclusive: bool = False
    ) -> FileDevice:
        self.opened.append((path, write))
        device = CorruptReadsDevice(path, write=write)
        device.bad = () if write else self.bad
        return device


@pytest.mark.parametrize("pattern", ["random", "0x5a"])  # unmasked against zeros; compared with the pattern
@pytest.mark.parametrize("checkers", [1, 3])
def test_several_comparing_threads_report_every_mismatch_in_device_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkers: int, pattern: str
) -> None:
    monkeypatch.setattr(readback, "CHECKERS", checkers)
    monkeypatch.setattr(readback, "VERIFY_SLOTS", IO_DEPTH + checkers + 2)
    size = 48 << 20
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(size))
    bad = (40 << 20) + 5, (3 << 20) + 700, (17 << 20) + 1  # in three different chunks
    host = CorruptReadsHost(bad=bad)
    tree = DeviceTree((make_device(str(disk), size_bytes=size),))
    plan = build_plan(Planning(host, tree, all_methods()), str(disk), "overwrite", EraseOptions(pattern, 1, "full"))
    state = StateDir(str(tmp_path / "state"))

    result = run_plan(plan, ExecutionContext(host=host, state=state, result=new_result(plan, host)), all_methods())

    assert result.status == "failed"
    assert result.verification.mismatches == 3 and result.verification.bytes_checked == size
    assert result.verification.details["first_mismatch_offsets"] == sorted(b // 512 * 512 for b in bad)
