"""`sanitize report` on the guest's real storage stacks: md RAID1 -> LVM, LUKS -> dm-crypt and a
GPT partition, each drawn where sysfs says it is, with udev's names for the disks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.vm.guest.guestlab import Stacks

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def report(stacks: Stacks) -> dict[str, Any]:
    """The report's model of the guest's real device tree. Built in-process and without plans or
    files: under TCG every capability probe and the PDF would cost seconds of the guest's budget;
    the host tests cover the CLI, the files and the browser."""
    from sanitize.decommission import Decommission
    from sanitize.hw.linux import LinuxHost
    from sanitize.inventory.host_identity import host_identity
    from sanitize.inventory.model import DeviceTree
    from sanitize.inventory.probe import probe
    from sanitize.inventory.volumes import scan_volumes
    from sanitize.server_report import build

    host = LinuxHost()
    full = probe(host)
    keep: set[str] = set()
    for path in (*stacks.raid_members, stacks.crypt_disk, stacks.cache_disk):
        dev = full.get(path)
        assert dev is not None, path
        keep |= {dev.path, *(d.path for d in full.descendants(dev))}
    tree = DeviceTree(tuple(d for d in full if d.path in keep))
    volumes = scan_volumes(host, tree, mount_unmounted=False, scan=False)
    dc = Decommission(host_identity(host), tree, volumes, plans=[], blocked=[], excluded=[])
    return build(dc, dry_run=True).to_dict()


def disks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["path"]: d for d in report["disks"]}


def test_raid_and_lvm_are_stacked_on_each_member(report: dict[str, Any], stacks: Stacks) -> None:
    for member in stacks.raid_members:
        (block,) = disks(report)[member]["blocks"]
        assert block["path"] == member and block["state"] == "container" and block["protected"]
        (raid,) = block["children"]
        assert raid["path"] == stacks.raid and 0.9 < raid["width"] <= 1.0  # the array, less md metadata
        (lv,) = raid["children"]
        assert lv["path"] == stacks.lv and 0 < lv["width"] < 1  # a 32 MiB LV in a larger PV


def test_luks_is_drawn_encrypted_with_its_mapping_on_it(report: dict[str, Any], stacks: Stacks) -> None:
    (block,) = disks(report)[stacks.crypt_disk]["blocks"]
    assert block["state"] == "encrypted"
    (crypt,) = block["children"]
    assert crypt["path"] == stacks.crypt and crypt["protected"]


def test_partition_is_placed_at_its_offset(report: dict[str, Any], stacks: Stacks) -> None:
    disk = disks(report)[stacks.cache_disk]
    part = next(b for b in disk["blocks"] if b["path"] == stacks.cache_part)
    name = os.path.basename(stacks.cache_part)
    start = int(Path(f"/sys/class/block/{name}/start").read_text()) * 512
    assert part["offset"] == pytest.approx(start / disk["size_bytes"], abs=1e-6)
    assert any(link.startswith("/dev/disk/by-id/") for link in disk["links"])  # udev's names
