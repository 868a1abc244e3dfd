"""Fault injection while a firmware purge polls the drive: the Host's command runner fails
after the sanitize command was sent (the hardware boundary, no engine code patched)."""

from __future__ import annotations

import subprocess
from typing import Any

from sanitize.certify.document import build_document
from sanitize.hw.commands import CommandResult
from sanitize.inventory.model import DeviceTree
from tests.support.fake_drives import FakeAta, FakeDrives, FakeNvme, fixture
from tests.unit.purge_support import data_file, device, host_for, run_method


class FailingPolls:
    """The drives' runner, except that polling (`poll`, an argv prefix) raises after `after` calls
    once the erase command (`erase`) was sent."""

    def __init__(self, drives: FakeDrives, erase: list[str], poll: list[str], error: BaseException) -> None:
        self.drives, self.erase, self.poll, self.error = drives, erase, poll, error
        self.sent = False

    def __call__(self, argv: Any, **kwargs: Any) -> CommandResult:
        argv = [str(a) for a in argv]
        if argv[: len(self.erase)] == self.erase:
            self.sent = True
        elif self.sent and argv[: len(self.poll)] == self.poll:
            raise self.error
        return self.drives(argv, **kwargs)


def _check(result: Any, sent: list[str], error: str) -> None:
    doc = result.to_dict()
    assert doc["status"] == "failed" and doc["failure"]["phase"] == "polling", doc
    assert doc["failure"]["error"] == error and doc["failure"]["internal"]
    assert doc["phases"]["firmware"]["status"] == "failed" and doc["phases"]["polling"]["status"] == "failed"
    assert doc["phases"]["verify"]["status"] == "not reached"
    assert any(c["argv"][: len(sent)] == sent for c in doc["commands"])  # what reached the drive is recorded
    report = build_document(doc)
    assert report["schema"] == "sanitize.failure-report/1" and report["failure"]["phase"] == "polling"


def test_nvme_sanitize_log_failing_while_polling(tmp_path):
    ns = data_file(tmp_path / "nvme0n1")
    ctrl = str(tmp_path / "nvme0")
    drives = FakeDrives()
    drives.add(FakeNvme(ctrl, fixture("nvme-id-ctrl__sn730-sanicap-crypto-block.json"), data=[ns], steps=4))
    dev = device(ns, media="nvme", transport="nvme", controller=ctrl)
    host = host_for(drives)
    host.runner = FailingPolls(
        drives, ["nvme", "sanitize", ctrl], ["nvme", "sanitize-log"], subprocess.TimeoutExpired("nvme", 30)
    )
    result = run_method(host, DeviceTree((dev,)), dev, "nvme-sanitize-crypto", tmp_path)
    _check(result, ["nvme", "sanitize", ctrl], "TimeoutExpired")


def test_ata_sanitize_status_failing_while_polling(tmp_path):
    path = data_file(tmp_path / "sda")
    drives = FakeDrives()
    ident = fixture("hdparm-I__x600-ssd-sed-sanitize-crypto-block-frozen.txt")
    drives.add(FakeAta(path, ident, data=path, frozen=True))
    dev = device(path, media="ssd")
    host = host_for(drives)
    error = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "injected")
    host.runner = FailingPolls(
        drives, ["hdparm", "--yes-i-know-what-i-am-doing"], ["hdparm", "--sanitize-status"], error
    )
    result = run_method(host, DeviceTree((dev,)), dev, "ata-sanitize-block", tmp_path)
    _check(result, ["hdparm", "--yes-i-know-what-i-am-doing"], "UnicodeDecodeError")
