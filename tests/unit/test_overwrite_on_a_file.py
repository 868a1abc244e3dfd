"""The overwrite engine, root-free: a plain file stands in for the device through a FakeHost."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sanitize.erase import EraseOptions, ExecutionContext, Planning, build_plan, new_result, run_plan
from sanitize.inventory.model import DeviceTree
from sanitize.methods import all_methods
from sanitize.state import StateDir
from tests.support.devices import make_device
from tests.support.fake_host import FakeHost

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
