"""Decommission logic that needs no root: confirmation, advice, the screen, lab contents."""

from __future__ import annotations

import os

import pytest

from sanitize import lab as labmod
from sanitize.decommission import (
    LIVE_MEDIUM,
    Blocked,
    Decommission,
    advice_for,
    check_confirmation,
    parse_identities,
)
from sanitize.erase import EraseOptions, Plan
from sanitize.errors import Refused
from sanitize.inventory.model import Device, DeviceTree
from sanitize.inventory.volumes import VolumeReport
from sanitize.purge.levels import standard_line
from sanitize.report.decommission import DecommissionScreen
from sanitize.scan import scan
from tests.support.devices import make_device


def device(name: str, **kw: object) -> Device:
    fields: dict[str, object] = {
        "size_bytes": 1 << 30,
        "transport": "nvme",
        "media_type": "nvme",
        "model": "Example NVMe",
        "serial": None,
    }
    fields.update(kw)
    return make_device(f"/dev/{name}", **fields)


def plan_for(dev: Device) -> Plan:
    return Plan(dev, "overwrite", "clear", (), (), (), 1.0, "test", EraseOptions())


def decommission(*devs: Device, blocked: tuple[Blocked, ...] = ()) -> Decommission:
    return Decommission(
        host={"hostname": "gpu-07"},
        tree=DeviceTree(devs),
        volumes=[],
        plans=[plan_for(d) for d in devs],
        blocked=list(blocked),
        excluded=[],
    )


def test_confirmation_must_name_exactly_the_planned_devices_in_any_order() -> None:
    dc = decommission(device("nvme1n1", serial="S5GX1"), device("sdb", serial="WD-22"), device("loop3"))
    check_confirmation(dc, ["loop3,S5GX1", "WD-22"])
    check_confirmation(dc, ["WD-22 loop3 S5GX1"])
    for values in ([], ["S5GX1,WD-22"], ["S5GX1,WD-22,loop3,sdz"], ["nvme1n1,WD-22,loop3"]):
        with pytest.raises(Refused):
            check_confirmation(dc, values)


def test_refusal_does_not_echo_the_missing_serials() -> None:
    dc = decommission(device("nvme1n1", serial="S5GX1"), device("sdb", serial="WD-22"))
    with pytest.raises(Refused) as exc:
        check_confirmation(dc, ["S5GX1"])
    assert "WD-22" not in exc.value.one_line()


def test_parse_identities_accepts_commas_and_spaces() -> None:
    assert parse_identities(["a,b", " c  d,"]) == ["a", "b", "c", "d"]


def test_advice_for_the_running_system_is_a_live_medium() -> None:
    root = device(
        "nvme0n1", protected=True, protected_reasons=("contains nvme0n1p2: holds the running root filesystem (/)",)
    )
    assert advice_for(root) == LIVE_MEDIUM
    data = device("sdc", protected=True, protected_reasons=("mounted at /srv/models",))
    assert advice_for(data).startswith("stop what uses it and unmount it")


def test_screen_shows_artifacts_first_then_plan_then_what_is_left() -> None:
    cache = device("sdb", serial="WD-22")
    system = device("nvme0n1", protected=True, protected_reasons=("holds the running root filesystem (/)",))
    dc = decommission(cache, blocked=(Blocked(system, "protected: holds the running root", LIVE_MEDIUM),))
    report = VolumeReport("/dev/sdb1", "sdb1", "ext4", None, scanned=True, artifact_count=2)
    report.summary = {"vector-store": {"count": 1, "bytes": 10}}
    dc.volumes = [report]
    screen = DecommissionScreen(dc, dry_run=True).text()
    assert screen.index("AI DATA FOUND") < screen.index("PLAN") < screen.index("NOT SANITIZED")
    assert "sdb1 (ext4, not mounted)" in screen
    assert "--confirm WD-22" in screen
    assert LIVE_MEDIUM in screen


def test_screen_names_the_standard_of_each_plan_under_it() -> None:
    dc = decommission(device("sdb", serial="WD-22"), device("loop3"))
    lines = DecommissionScreen(dc, dry_run=True).text().splitlines()
    expected = f"      standard: {standard_line('overwrite', 'clear')}"
    assert expected.strip().startswith("standard: NIST SP 800-88 Rev. 2 Clear; IEEE 2883")
    for path in ("/dev/sdb", "/dev/loop3"):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"  {path} "))
        assert lines[at + 1].startswith("      why: ")
        assert lines[at + 2] == expected


def test_lab_contents_are_recognised_by_the_scanner(tmp_path: os.PathLike[str]) -> None:
    root = str(tmp_path)
    planted = labmod.POPULATE["cache"](root) + labmod.POPULATE["data"](root)
    found = {a.path: a for a in scan([root]).artifacts}
    assert found["rag/memos.sqlite"].category == "vector-store"
    assert found["models/lab-tiny-q4.gguf"].category == "model-weights"
    assert found["open-webui/webui.db"].category == "conversation"
    assert set(planted) >= set(found)


def test_tiny_gguf_is_a_gguf_v3_model() -> None:
    data = labmod.tiny_gguf(name="x")
    assert data[:4] == b"GGUF" and int.from_bytes(data[4:8], "little") == 3
    assert len(data) % 32 == 0
