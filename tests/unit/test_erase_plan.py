"""Plan-time refusals and the plan document, on hand-built device trees (no root needed).

The device is a regular file of a FakeHost: planning reads nothing of it but its node.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sanitize.erase import EraseOptions, Plan, Planning
from sanitize.erase import build_plan as build
from sanitize.erase.options import parse_pattern
from sanitize.errors import BadInput, Refused
from sanitize.hw.host import Host
from sanitize.hw.linux import LinuxHost
from sanitize.inventory.model import Device, DeviceTree
from sanitize.methods import all_methods
from sanitize.report.plan import ErasePlanReport
from tests.support.devices import make_device
from tests.support.fake_host import FakeHost

HOST = FakeHost()
DISK = ""


@pytest.fixture(autouse=True)
def disk(tmp_path: Path) -> Iterator[str]:
    global DISK
    DISK = str(tmp_path / "disk")
    Path(DISK).write_bytes(bytes(1 << 20))
    yield DISK


def build_plan(tree: DeviceTree, path: str, method: str, options: EraseOptions, host: Host = HOST) -> Plan:
    return build(Planning(host, tree, all_methods()), path, method, options)


def tree_with(disk: Device, *others: Device) -> DeviceTree:
    return DeviceTree(devices=(disk, *others))


def test_plan_for_plain_disk() -> None:
    plan = build_plan(tree_with(make_device(DISK)), DISK, "overwrite", EraseOptions(pattern="zeros", passes=2))
    assert plan.method == "overwrite"
    assert plan.nist_level == "clear"
    assert plan.options.passes == 2
    doc = ErasePlanReport([plan]).document()
    assert doc["schema"] == "sanitize.plan/1"
    assert doc["plans"][0]["identity"] == "SER123"
    assert doc["plans"][0]["steps"]
    assert any("flash" in n for n in doc["plans"][0]["notes"])


def test_protected_device_refused_with_reasons() -> None:
    dev = make_device(DISK, protected=True, protected_reasons=("holds the root filesystem /",))
    with pytest.raises(Refused, match="holds the root filesystem"):
        build_plan(tree_with(dev), DISK, "overwrite", EraseOptions())


def test_read_only_refused() -> None:
    with pytest.raises(Refused, match="read-only"):
        build_plan(tree_with(make_device(DISK, read_only=True)), DISK, "overwrite", EraseOptions())


def test_not_a_disk_or_partition_refused() -> None:
    with pytest.raises(Refused, match="crypt"):
        build_plan(tree_with(make_device(DISK, type="crypt")), DISK, "overwrite", EraseOptions())


def test_disk_with_mounted_partition_refused() -> None:
    part = make_device("/dev/fakepart1", type="part", parent=DISK, mountpoints=("/srv",))
    disk = make_device(DISK, children=("/dev/fakepart1",))
    with pytest.raises(Refused, match="mounted on /srv"):
        build_plan(tree_with(disk, part), DISK, "overwrite", EraseOptions())


def test_partition_of_protected_disk_allowed_when_itself_unprotected() -> None:
    disk = make_device("/dev/fakedisk", protected=True, protected_reasons=("root disk",), children=(DISK,))
    part = make_device(DISK, type="part", parent="/dev/fakedisk")
    plan = build_plan(tree_with(disk, part), DISK, "overwrite", EraseOptions())
    assert plan.device.path == DISK


def test_missing_path_and_regular_file_are_bad_input(tmp_path: os.PathLike[str]) -> None:
    tree = tree_with(make_device(DISK))
    with pytest.raises(BadInput, match="no such device"):
        build_plan(tree, "/dev/does-not-exist", "overwrite", EraseOptions())
    regular = os.path.join(str(tmp_path), "file.img")
    open(regular, "wb").close()
    with pytest.raises(BadInput, match="regular file"):  # the real machine's rule: only block devices
        build_plan(tree, regular, "overwrite", EraseOptions(), host=LinuxHost())


def test_unknown_method_and_auto_fallback() -> None:
    tree = tree_with(make_device(DISK))
    with pytest.raises(BadInput, match="unknown erase method"):
        build_plan(tree, DISK, "shred-with-fire", EraseOptions())
    plan = build_plan(tree, DISK, "auto", EraseOptions())
    assert plan.method  # overwrite until the purge planner registers a chooser


def test_device_found_by_devno_when_tree_uses_another_name() -> None:
    devno = HOST.block_device_number(DISK)
    dev = make_device("/dev/by-other-name", devno=devno)
    plan = build_plan(tree_with(dev), DISK, "overwrite", EraseOptions())
    assert plan.device == dev


@pytest.mark.parametrize("pattern,byte", [("zeros", 0), ("ones", 255), ("0xA5", 0xA5), ("random", None)])
def test_patterns(pattern: str, byte: int | None) -> None:
    assert parse_pattern(pattern) == byte


@pytest.mark.parametrize("bad", [dict(pattern="0xZZ"), dict(passes=0), dict(verify="maybe"), dict(verify_coverage=0)])
def test_bad_options(bad: dict[str, object]) -> None:
    with pytest.raises(BadInput):
        EraseOptions(**bad)  # type: ignore[arg-type]


def test_replace_keeps_plan_frozen() -> None:
    plan = build_plan(tree_with(make_device(DISK)), DISK, "overwrite", EraseOptions())
    with pytest.raises(AttributeError):
        plan.method = "x"  # type: ignore[misc]
    assert replace(plan, reason="r").reason == "r"
