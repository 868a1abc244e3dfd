"""Inventory replayed from the QEMU lab guest's sysfs and udev database.

fixtures/sysfs/qemu-nvme-sata-scsi was recorded inside the test-lab guest with
fixtures/sysfs/record.py: two NVMe controllers (nvme0 with two namespaces), two SATA disks
on AHCI and three virtio-SCSI disks that report NAA WWNs, all with chosen serials.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sanitize.hw.linux import LinuxHost
from sanitize.inventory.model import DeviceTree
from sanitize.inventory.probe import probe

REC = Path(__file__).resolve().parents[2] / "fixtures" / "sysfs" / "qemu-nvme-sata-scsi"


@pytest.fixture(params=[True, False], ids=["udev", "sysfs-only"])
def tree(request: pytest.FixtureRequest, tmp_path: Path) -> DeviceTree:
    props = json.loads((REC / "udev.json").read_text())
    with_udev = request.param
    host = LinuxHost(
        sys_root=str(REC / "sys"),
        proc_root=str(REC / "proc"),
        dev_root=str(tmp_path / "dev"),  # no node exists: blkid never runs against this machine
        udev_source=lambda name: props.get(name, {}) if with_udev else {},
    )
    return probe(host)


def by_name(tree: DeviceTree, name: str):  # type: ignore[no-untyped-def]
    dev = tree.get(name)
    assert dev is not None, name
    return dev


def test_nvme_namespaces_share_their_controller(tree: DeviceTree) -> None:
    ns1, ns2, other = (by_name(tree, n) for n in ("nvme0n1", "nvme0n2", "nvme1n1"))
    assert ns1.controller == ns2.controller and ns1.controller.endswith("/nvme0")
    assert other.controller.endswith("/nvme1")
    assert (ns1.transport, ns1.media_type, ns1.serial, ns1.model) == ("nvme", "nvme", "SANTESTNVME0", "QEMU NVMe Ctrl")
    assert ns1.wwn != ns2.wwn and ns1.wwn.startswith("nvme.")
    assert (ns1.size_bytes, ns2.size_bytes) == (32 << 20, 16 << 20)
    assert ns1.firmware == "7.2.22"


def test_sata_identity(tree: DeviceTree) -> None:
    sata = [d for d in tree if d.transport == "sata"]
    assert sorted(d.serial for d in sata) == ["SANTESTSATA0", "SANTESTSATA1"]
    for dev in sata:
        assert dev.model == "SanTest SATA SSD" and dev.vendor == "SanTest"  # not libata's "ATA"
        assert dev.media_type == "ssd" and dev.wwn.startswith("0x5000c5000000")


def test_scsi_serial_is_the_unit_serial_not_the_wwn(tree: DeviceTree) -> None:
    scsi = {d.serial: d for d in tree if d.transport == "scsi"}
    assert sorted(scsi) == ["SANTESTSCSI0", "SANTESTSCSI1", "SANTESTSCSI2"]
    dev = scsi["SANTESTSCSI0"]
    assert (dev.vendor, dev.model, dev.wwn, dev.media_type) == ("SanTest", "SAS HDD", "0x5000c50000000b01", "hdd")
    assert tree.get("SANTESTSCSI2") is scsi["SANTESTSCSI2"]  # confirmation and lookup by serial
    assert tree.get("0x5000c50000000b02") is scsi["SANTESTSCSI1"]  # and by WWN


def test_nothing_is_protected_in_an_idle_guest(tree: DeviceTree) -> None:
    assert not [d.name for d in tree if d.protected]


def test_identity_links_name_the_physical_device(tree: DeviceTree, request: pytest.FixtureRequest) -> None:
    sata = next(d for d in tree if d.serial == "SANTESTSATA0")
    if request.node.callspec.params["tree"] is False:
        assert sata.links == ()  # udev makes the links: without it there are none
        return
    assert "/dev/disk/by-id/ata-SanTest_SATA_SSD_SANTESTSATA0" in sata.links
    assert "/dev/disk/by-id/wwn-0x5000c50000000a01" in sata.links
    assert any(link.startswith("/dev/disk/by-path/pci-0000:00:1f.2-ata-1") for link in sata.links)
    assert not any("by-diskseq" in link for link in sata.links)  # a boot counter, not an identity
