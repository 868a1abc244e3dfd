"""Firmware erase methods against fake drives: success paths and the ways drives fail."""

from __future__ import annotations

import logging
import os

import pytest

from sanitize.erase.options import EraseOptions, FirmwareOptions
from sanitize.errors import Refused, Unsupported
from sanitize.inventory.model import DeviceTree
from sanitize.methods import all_methods
from sanitize.purge.methods import ata as ata_methods
from sanitize.purge.methods import nvme as nvme_methods
from sanitize.purge.methods import scsi as scsi_methods
from tests.support.fake_drives import FakeAta, FakeDrives, FakeNvme, FakeScsi, fixture
from tests.unit.purge_support import data_file, device, host_for, run_method


def nvme_setup(tmp_path, id_ctrl="nvme-id-ctrl__sn730-sanicap-crypto-block.json", **kw):
    ns = data_file(tmp_path / "nvme0n1")
    ctrl = str(tmp_path / "nvme0")
    drives = FakeDrives()
    drive = drives.add(FakeNvme(ctrl, fixture(id_ctrl), data=[ns], **kw))
    dev = device(ns, media="nvme", transport="nvme", controller=ctrl)
    return drives, drive, dev, DeviceTree((dev,))


class RecordingProgress:
    def __init__(self) -> None:
        self.total = 0
        self.updates: list[int] = []

    def start(self, description: str, total: int, initial: int = 0) -> None:
        self.total = total

    def update(self, n: int) -> None:
        self.updates.append(n)

    def close(self) -> None:
        pass


def test_nvme_sanitize_crypto_success(tmp_path):
    drives, drive, dev, tree = nvme_setup(tmp_path, steps=4)
    progress = RecordingProgress()
    result = run_method(host_for(drives), tree, dev, "nvme-sanitize-crypto", tmp_path, progress=progress)
    # SPROG steps drive the bar, scaled to the device's bytes, and it ends full
    assert len(progress.updates) >= 3 and sum(progress.updates) == progress.total == dev.size_bytes
    assert result.status == "verified", result.to_dict()
    assert result.nist_level == "purge"
    assert ["nvme", "sanitize", drive.controller, "--sanact=4", "--ause"] in [c.argv for c in result.commands]
    assert result.verification.details["unchanged_samples"] == 0
    assert "Global Data Erased" in result.verification.details["device_status"]


def test_nvme_sanitize_failed_runs_exit_failure(tmp_path):
    drives, drive, dev, tree = nvme_setup(tmp_path, outcome="failed")
    result = run_method(host_for(drives), tree, dev, "nvme-sanitize-block", tmp_path)
    assert result.status == "failed"
    assert [drive.controller, "--sanact=1"] == [c.argv for c in result.commands][-1][2:]
    assert any("sanitize failed" in n for n in result.notes)


def test_nvme_sanitize_in_progress_forever_times_out(tmp_path):
    drives, _, dev, tree = nvme_setup(tmp_path, outcome="stuck")
    result = run_method(
        host_for(drives),
        tree,
        dev,
        "nvme-sanitize-crypto",
        tmp_path,
        EraseOptions(firmware=FirmwareOptions(timeout=60)),
    )
    assert result.status == "failed"
    assert any("still in progress" in n for n in result.notes)


def test_nvme_sanitize_unsupported_is_refused_before_anything_runs(tmp_path):
    drives, _, dev, tree = nvme_setup(tmp_path, id_ctrl="nvme-id-ctrl__qemu-emulated.json")
    with pytest.raises(Unsupported, match="does not advertise crypto sanitize"):
        run_method(host_for(drives), tree, dev, "nvme-sanitize-crypto", tmp_path)
    assert not [c for c in drives.calls if c[1] == "sanitize"]


def test_nvme_sanitize_unknown_on_old_cli_is_not_attempted(tmp_path):
    drives, _, dev, tree = nvme_setup(tmp_path, id_ctrl="nvme-id-ctrl-H__micron2200-old-cli-no-sanicap.txt")
    with pytest.raises(Unsupported, match="SANICAP not reported"):
        run_method(host_for(drives), tree, dev, "nvme-sanitize-block", tmp_path)


def test_format_crypto_refused_when_fna_lacks_it_even_though_qemu_would_accept(tmp_path):
    drives, _, dev, tree = nvme_setup(tmp_path, id_ctrl="nvme-id-ctrl__qemu-emulated.json")
    with pytest.raises(Unsupported, match="FNA does not advertise"):
        run_method(host_for(drives), tree, dev, "nvme-format-crypto", tmp_path)
    result = run_method(host_for(drives), tree, dev, "nvme-format-user", tmp_path)
    assert result.status == "verified" and result.nist_level == "clear"
    assert ["nvme", "format", dev.path, "--ses=1", "--force"] in [c.argv for c in result.commands]


def test_controller_wide_sanitize_refused_when_other_namespace_mounted(tmp_path):
    drives, _, dev, _ = nvme_setup(tmp_path)
    other = device(
        str(tmp_path / "nvme0n2"), media="nvme", transport="nvme", controller=dev.controller, mountpoints=("/srv",)
    )
    with pytest.raises(Refused, match="every namespace on the controller"):
        run_method(host_for(drives), DeviceTree((dev, other)), dev, "nvme-sanitize-crypto", tmp_path)


def ata_setup(tmp_path, ident, **kw):
    path = data_file(tmp_path / "sda")
    drives = FakeDrives()
    drive = drives.add(FakeAta(path, fixture(ident), data=path, **kw))
    dev = device(path, media=kw.pop("media", "ssd"))
    return drives, drive, dev, DeviceTree((dev,))


def test_ata_sanitize_block_success(tmp_path):
    drives, _, dev, tree = ata_setup(tmp_path, "hdparm-I__x600-ssd-sed-sanitize-crypto-block-frozen.txt", frozen=True)
    result = run_method(host_for(drives), tree, dev, "ata-sanitize-block", tmp_path)
    assert result.status == "verified", result.to_dict()
    assert result.commands[-1].argv == ["hdparm", "--sanitize-status", dev.path]


def test_ata_sanitize_bad_sense_idle_is_failure(tmp_path):
    drives, _, dev, tree = ata_setup(
        tmp_path, "hdparm-I__x600-ssd-sed-sanitize-crypto-block-frozen.txt", sanitize_outcome="bad-sense"
    )
    result = run_method(host_for(drives), tree, dev, "ata-sanitize-block", tmp_path)
    assert result.status == "failed"
    assert any("bad/missing sense data" in n for n in result.notes)


def test_ata_sanitize_frozen_refused_with_instructions(tmp_path):
    drives, _, dev, tree = ata_setup(tmp_path, "hdparm-I__5300-ssd-sanitize-all-frozen.txt", sanitize_frozen=True)
    with pytest.raises(Refused, match="rtcwake -m mem -s 5"):
        run_method(host_for(drives), tree, dev, "ata-sanitize-crypto", tmp_path)


def test_ata_secure_erase_success_clears_password(tmp_path, caplog):
    drives, drive, dev, tree = ata_setup(tmp_path, "hdparm-I__850evo-ssd-sed-security-notfrozen.txt")
    with caplog.at_level(logging.DEBUG, logger="sanitize.hw"):
        host = host_for(drives)
        result = run_method(host, tree, dev, "ata-secure-erase-enhanced", tmp_path)
    password = next(c[c.index("--security-set-pass") + 1] for c in drives.calls if "--security-set-pass" in c)
    assert password not in caplog.text  # nor in -vv logs
    assert all(password not in r.argv for r in host.command_log.records)
    assert result.status == "verified", result.to_dict()
    assert result.nist_level == "clear"  # Security Erase is only Clear on flash
    assert not drive.enabled and not drive.locked
    set_pass = next(c.argv for c in result.commands if "--security-set-pass" in c.argv)
    assert "<temporary-password>" in set_pass  # the random password never reaches the result
    assert not os.listdir(tmp_path / "state" / "purge")


def test_ata_secure_erase_frozen_refused_without_setting_password(tmp_path):
    drives, drive, dev, tree = ata_setup(tmp_path, "hdparm-I__545s-ssd-security-frozen-no-sanitize.txt", frozen=True)
    with pytest.raises(Refused, match="frozen"):
        run_method(host_for(drives), tree, dev, "ata-secure-erase", tmp_path)
    assert not [c for c in drives.calls if "--security-set-pass" in c]
    assert not drive.enabled


@pytest.mark.parametrize("outcome", ["ignored", "fail-locked"])
def test_ata_secure_erase_failure_leaves_drive_unlocked(tmp_path, outcome):
    drives, drive, dev, tree = ata_setup(
        tmp_path, "hdparm-I__850evo-ssd-sed-security-notfrozen.txt", erase_outcome=outcome
    )
    result = run_method(host_for(drives), tree, dev, "ata-secure-erase", tmp_path)
    assert result.status == "failed"
    assert not drive.enabled and not drive.locked
    assert any("temporary password cleared" in n for n in result.notes)
    assert any("--security-disable" in c.argv for c in result.commands)


def test_ata_security_unsupported_although_hdparm_exits_zero(tmp_path):
    drives, _, dev, tree = ata_setup(tmp_path, "hdparm-I__qemu-ide-no-security.txt")
    with pytest.raises(Unsupported, match="Security feature set is not supported"):
        run_method(host_for(drives), tree, dev, "ata-secure-erase", tmp_path)
    with pytest.raises(Unsupported, match="SANITIZE feature set"):
        run_method(host_for(drives), tree, dev, "ata-sanitize-block", tmp_path)


def test_hpa_restored_before_erase(tmp_path):
    drives, drive, dev, tree = ata_setup(
        tmp_path,
        "hdparm-I__wd80-hdd-sanitize-overwrite-frozen.txt",
        hpa=(15628000000, 15628053168),
        dco_real_max=15628053168,
    )
    result = run_method(host_for(drives), tree, dev, "ata-sanitize-overwrite", tmp_path)
    assert result.status == "verified", result.to_dict()
    assert drive.hpa == (15628053168, 15628053168)
    argvs = [c.argv for c in result.commands]
    assert ["hdparm", "--yes-i-know-what-i-am-doing", "-N", "p15628053168", dev.path] in argvs
    assert any("--sanitize-overwrite-passes" in a for a in argvs)


def scsi_setup(tmp_path, **kw):
    path = data_file(tmp_path / "sdb")
    drives = FakeDrives()
    drive = drives.add(FakeScsi(path, fixture("sg_opcodes__sas-ssd-sanitize-synthesized.txt"), data=path, **kw))
    dev = device(path, transport="sas")
    return drives, drive, dev, DeviceTree((dev,))


def test_scsi_sanitize_crypto_success_and_failure(tmp_path):
    drives, _, dev, tree = scsi_setup(tmp_path)
    result = run_method(host_for(drives), tree, dev, "scsi-sanitize-crypto", tmp_path)
    assert result.status == "verified", result.to_dict()
    drives, _, dev, tree = scsi_setup(tmp_path, outcome="failed")
    assert run_method(host_for(drives), tree, dev, "scsi-sanitize-block", tmp_path).status == "failed"


def test_scsi_sanitize_not_offered_when_rsoc_rejected(tmp_path):
    drives, drive, dev, tree = scsi_setup(tmp_path)
    drive.opcodes = fixture("sg_opcodes__usb-bridge-rsoc-unsupported.txt")
    with pytest.raises(Unsupported, match="REPORT SUPPORTED OPERATION CODES"):
        run_method(host_for(drives), tree, dev, "scsi-sanitize-crypto", tmp_path)


def test_missing_tool_names_the_package(tmp_path):
    drives, _, dev, _tree = ata_setup(tmp_path, "hdparm-I__850evo-ssd-sed-security-notfrozen.txt")
    drives.missing.add("hdparm")
    from sanitize.purge.capabilities import probe_device

    caps = probe_device(host_for(drives), dev)
    assert any("apt-get install hdparm" in n for n in caps.notes)


def test_methods_are_registered():
    names = set(all_methods().names())
    for m in (nvme_methods, ata_methods, scsi_methods):
        assert m
    assert {
        "nvme-sanitize-crypto",
        "ata-secure-erase-enhanced",
        "scsi-sanitize-overwrite",
        "luks-crypto-erase",
    } <= names


def test_nvme_sanitize_rejected_with_stale_success_in_the_log_is_failure(tmp_path):
    drives, drive, dev, tree = nvme_setup(tmp_path, outcome="reject")
    drive.sstat, drive.sprog, drive.cdw10 = 0x101, 65535, 4  # an earlier crypto erase succeeded
    result = run_method(host_for(drives), tree, dev, "nvme-sanitize-crypto", tmp_path)
    assert result.status == "failed"
    assert any("rejected" in n and "log is unchanged" in n for n in result.notes)


def test_ata_and_scsi_sanitize_in_progress_forever_time_out(tmp_path):
    opts = EraseOptions(firmware=FirmwareOptions(timeout=60))
    drives, _, dev, tree = ata_setup(tmp_path, "hdparm-I__5300-ssd-sanitize-all-frozen.txt", sanitize_outcome="stuck")
    result = run_method(host_for(drives), tree, dev, "ata-sanitize-block", tmp_path, opts)
    assert result.status == "failed" and any("still in progress" in n for n in result.notes)
    drives, _, dev, tree = scsi_setup(tmp_path, outcome="stuck")
    result = run_method(host_for(drives), tree, dev, "scsi-sanitize-overwrite", tmp_path, opts)
    assert result.status == "failed" and any("still in progress" in n for n in result.notes)
