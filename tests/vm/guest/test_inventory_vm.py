"""`sanitize inventory --json` on real kernel drivers: NVMe (two namespaces on one controller), SATA
through AHCI, SCSI through virtio-scsi, md RAID1 -> LVM -> mounted ext4, an opened dm-crypt volume,
and an unmounted cache volume. Identity must come from udev/sysfs exactly as the harness set it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.vm.guest import guestlab
from tests.vm.guest.guestlab import Stacks

pytestmark = pytest.mark.vm


@dataclass(frozen=True)
class InventoryRun:
    doc: dict[str, Any]
    cache_sha256_before: str
    cache_sha256_after: str


@pytest.fixture(scope="module")
def inventory_run(stacks: Stacks) -> InventoryRun:
    """One full `sanitize inventory --json`, artifact scan included; the scan mounts the unmounted
    cache volume read-only itself, so the cache disk is hashed around it."""
    before = guestlab.device_sha256(stacks.cache_disk)
    doc = guestlab.sanitize_json("inventory")
    return InventoryRun(doc, before, guestlab.device_sha256(stacks.cache_disk))


@pytest.fixture(scope="module")
def inventory(inventory_run: InventoryRun) -> dict[str, Any]:
    return inventory_run.doc


@pytest.fixture(scope="module")
def devices(inventory: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["path"]: d for d in inventory["devices"]}


@pytest.fixture(scope="module")
def volumes(inventory: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["device"]: v for v in inventory.get("volumes", [])}


def _dev(devices: dict[str, dict[str, Any]], path: str) -> dict[str, Any]:
    assert path in devices, f"{path} missing from the inventory; it lists {sorted(devices)}"
    return devices[path]


def _words(text: str | None) -> str:
    """udev encodes spaces in ID_MODEL as '_'; either spelling is the same model."""
    return (text or "").replace("_", " ").strip()


def test_document_schema(inventory: dict[str, Any]) -> None:
    assert inventory["schema"] == "sanitize.inventory/1"
    assert isinstance(inventory["devices"], list)


@pytest.mark.parametrize("disk_id", ["sata0", "sata1"])
def test_sata_identity(devices: dict[str, dict[str, Any]], disk_id: str) -> None:
    spec = guestlab.disk(disk_id)
    dev = _dev(devices, guestlab.disk_path(disk_id))
    assert dev["type"] == "disk"
    assert dev["serial"] == spec["serial"]
    assert _words(dev["model"]) == spec["model"]
    assert (dev["wwn"] or "").lower().removeprefix("0x") == spec["wwn"]
    assert dev["transport"] == "sata"
    assert dev["media_type"] == "ssd"  # rotation_rate=1: non-rotating
    assert dev["rotational"] is False
    assert dev["size_bytes"] == spec["size_mib"] << 20


@pytest.mark.parametrize("disk_id", ["scsi0", "scsi1", "scsi2"])
def test_scsi_identity(devices: dict[str, dict[str, Any]], disk_id: str) -> None:
    spec = guestlab.disk(disk_id)
    dev = _dev(devices, guestlab.disk_path(disk_id))
    assert dev["type"] == "disk"
    # The SCSI unit serial itself is asserted in test_scsi_serial_vm.py.
    vendor, _, model = spec["model"].partition(" ")
    assert _words(dev["model"]) == model
    assert _words(dev["vendor"]) == vendor
    assert (dev["wwn"] or "").lower().removeprefix("0x") == spec["wwn"]
    assert dev["transport"] in ("scsi", "virtio", "sas")
    assert dev["media_type"] == "hdd"  # rotation_rate=7200
    assert dev["rotational"] is True
    assert dev["size_bytes"] == spec["size_mib"] << 20


def test_nvme_controller_with_two_namespaces(devices: dict[str, dict[str, Any]]) -> None:
    ctrl = guestlab.nvme_controller("nvme0")
    for ns in ctrl["namespaces"]:
        path = guestlab.nvme_namespace_path("nvme0", ns["nsid"])
        dev = _dev(devices, path)
        assert dev["type"] == "disk"
        assert dev["transport"] == "nvme"
        assert dev["media_type"] == "nvme"
        assert dev["serial"] == ctrl["serial"]
        assert _words(dev["model"]) == "QEMU NVMe Ctrl"
        assert dev["controller"] == guestlab.nvme_controller_path("nvme0")
        assert dev["size_bytes"] == ns["size_mib"] << 20
        # The kernel ignores QEMU's namespace IDs (NVME_QUIRK_BOGUS_NID), so the WWN is the
        # kernel's synthesised `nvme.<vid>-<serial>-<model>-<nsid>`; it must still be per-namespace.
        wwid = Path(f"/sys/block/{dev['name']}/wwid").read_text().strip()
        assert dev["wwn"] == wwid
        assert wwid.endswith(f"{ns['nsid']:08x}")


def test_namespaces_of_one_controller_are_told_apart(devices: dict[str, dict[str, Any]]) -> None:
    first = _dev(devices, guestlab.nvme_namespace_path("nvme0", 1))
    second = _dev(devices, guestlab.nvme_namespace_path("nvme0", 2))
    assert first["wwn"] != second["wwn"]
    assert first["serial"] == second["serial"]


def test_raid_lvm_tree(devices: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    raid = _dev(devices, stacks.raid)
    assert raid["type"] == "raid1"
    assert sorted(raid["slaves"]) == sorted(stacks.raid_members)
    assert raid["fstype"] == "LVM2_member"
    for member in stacks.raid_members:
        dev = _dev(devices, member)
        assert stacks.raid in dev["holders"]
        assert dev["fstype"] == "linux_raid_member"
    lv = _dev(devices, stacks.lv)
    assert lv["type"] == "lvm"
    assert lv["slaves"] == [stacks.raid]
    assert stacks.lv in raid["holders"]
    assert lv["fstype"] == "ext4"
    assert lv["mountpoints"] == [stacks.lv_mount]


def test_mounted_raid_stack_is_protected_top_to_bottom(devices: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    for path in (stacks.lv, stacks.raid, *stacks.raid_members):
        dev = _dev(devices, path)
        assert dev["protected"] is True, f"{path} is not protected: {dev}"
        assert dev["protected_reasons"], path
    lv_reasons = " ".join(_dev(devices, stacks.lv)["protected_reasons"])
    assert stacks.lv_mount in lv_reasons
    for member in stacks.raid_members:
        # A member's reasons must lead an operator to the mount, not only to "held open by md0".
        reasons = " ".join(_dev(devices, member)["protected_reasons"])
        assert "md0" in reasons
        assert stacks.lv_mount in reasons or "mounted" in reasons, reasons


def test_opened_crypt_volume(devices: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    disk = _dev(devices, stacks.crypt_disk)
    assert disk["fstype"] == "crypto_LUKS"
    assert stacks.crypt in disk["holders"]
    assert disk["protected"] is True
    crypt = _dev(devices, stacks.crypt)
    assert crypt["type"] == "crypt"
    assert crypt["slaves"] == [stacks.crypt_disk]
    assert crypt["fstype"] == "ext4"
    assert crypt["mountpoints"] == [stacks.crypt_mount]
    assert crypt["protected"] is True


def test_unmounted_cache_volume_is_not_protected(devices: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    disk = _dev(devices, stacks.cache_disk)
    part = _dev(devices, stacks.cache_part)
    assert disk["pttype"] == "gpt"
    assert stacks.cache_part in disk["children"]
    assert part["type"] == "part"
    assert part["parent"] == stacks.cache_disk
    assert part["fstype"] == "ext4"
    assert part["label"] == "aicache"
    assert part["mountpoints"] == []
    for dev in (disk, part):
        assert dev["protected"] is False, dev["protected_reasons"]


def test_idle_disks_are_not_protected(devices: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    for path in (stacks.erase_namespace, stacks.spare_namespace, stacks.standalone_sata, stacks.standalone_scsi):
        dev = _dev(devices, path)
        assert dev["protected"] is False, (path, dev["protected_reasons"])
        assert dev["mountpoints"] == []
        assert dev["holders"] == []


def test_unmounted_cache_volume_is_scanned(volumes: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    vol = volumes.get(stacks.cache_part)
    assert vol is not None, f"no volume report for {stacks.cache_part}: {sorted(volumes)}"
    assert vol["scanned"] is True, vol
    assert vol["mounted_by_sanitize"] is True
    assert vol["mounted_at"] is None
    found = {a["path"]: a for a in vol["artifacts"]}
    assert set(stacks.cache_files) <= set(found), sorted(found)
    assert "gguf" in found["models/tiny-q8.gguf"]["format"].lower()
    assert "384" in found["rag/store.sqlite"]["evidence"], found["rag/store.sqlite"]


def test_inventory_scan_leaves_the_cache_disk_unchanged(inventory_run: InventoryRun) -> None:
    assert inventory_run.cache_sha256_after == inventory_run.cache_sha256_before


def test_inventory_scan_leaves_nothing_mounted(stacks: Stacks, inventory_run: InventoryRun) -> None:
    mounts = Path("/proc/self/mountinfo").read_text()
    assert stacks.cache_part not in mounts
    assert "/run/sanitize" not in mounts


def test_mounted_lv_is_scanned_in_place(volumes: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    vol = volumes[stacks.lv]
    assert vol["mounted_at"] == stacks.lv_mount
    assert vol["mounted_by_sanitize"] is False
    assert "served-model.gguf" in {a["path"] for a in vol["artifacts"]}


def test_raid_and_luks_members_are_described_not_opened(volumes: dict[str, dict[str, Any]], stacks: Stacks) -> None:
    assert volumes[stacks.crypt_disk]["encrypted"] == "LUKS"
    for member in (*stacks.raid_members, stacks.raid):
        assert volumes[member]["scanned"] is False
        assert volumes[member]["note"]


def test_lookup_by_wwn(stacks: Stacks) -> None:
    doc = guestlab.sanitize_json("inventory", "--no-scan", "0x" + guestlab.disk("scsi2")["wwn"])
    paths = [d["path"] for d in doc["devices"]]
    assert paths[0] == stacks.cache_disk, paths
    assert stacks.cache_part in paths


def test_lookup_by_serial(stacks: Stacks) -> None:
    doc = guestlab.sanitize_json("inventory", "--no-scan", guestlab.disk("sata0")["serial"])
    assert [d["path"] for d in doc["devices"]] == [stacks.standalone_sata]


def test_cli_entry_point(devices: dict[str, dict[str, Any]]) -> None:
    """The real `python -m sanitize` process, once: same devices as the in-process runs."""
    result = guestlab.sanitize_process("inventory", "--no-scan", "--json")
    assert result.returncode == 0, result.stderr
    doc = result.json()
    assert doc["schema"] == "sanitize.inventory/1"
    assert {d["path"] for d in doc["devices"]} == set(devices)
