"""Inventory of real loop devices: tree, fields and protection reasons."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from sanitize.cli import cli
from sanitize.hw.linux import LinuxHost
from sanitize.inventory.probe import probe
from tests.support.clirunner import cli_runner
from tests.support.lab import LoopLab, device_sha256, system_devno

pytestmark = pytest.mark.root


def inventory_json(*args: str) -> dict:
    result = cli_runner().invoke(cli, ["inventory", "--json", *args])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def server(lab: LoopLab) -> dict[str, str]:
    """A disk with GPT: p1 ext4 mounted, p2 xfs unmounted, p3 LUKS2; and a 4Kn disk."""
    disk = lab.loop("400M")
    p1, p2, p3 = lab.gpt(disk, "32M", "320M", "")
    lab.mkfs(p1, "ext4", label="data")
    lab.mkfs(p2, "xfs", label="cache")
    lab.luks(p3, 2)
    mnt = lab.mount(p1)
    disk4k = lab.loop("64M", sector_size=4096)
    lab.mkfs(disk4k, "ext4", label="aux")
    return {"disk": disk, "p1": p1, "p2": p2, "p3": p3, "mnt": mnt, "disk4k": disk4k}


def test_tree_fields_and_protection(server: dict[str, str]) -> None:
    doc = inventory_json("--no-scan")
    assert doc["schema"] == "sanitize.inventory/1"
    devs = {d["path"]: d for d in doc["devices"]}
    disk, p1, p2, p3 = (devs[server[k]] for k in ("disk", "p1", "p2", "p3"))

    assert disk["type"] == "loop"
    assert disk["pttype"] == "gpt"
    assert disk["size_bytes"] == 400 << 20
    assert disk["backing_file"] and disk["backing_file"].endswith(".img")
    assert disk["serial"] is None and disk["media_type"] == "virtual"
    assert sorted(disk["children"]) == sorted([server["p1"], server["p2"], server["p3"]])
    for part in (p1, p2, p3):
        assert part["type"] == "part"
        assert part["parent"] == server["disk"]
        assert part["logical_sector_size"] == 512
    # Offsets on the disk, as the partition table says (the report draws them to scale).
    table = json.loads(subprocess.run(["sfdisk", "--json", server["disk"]], capture_output=True, check=True).stdout)
    starts = [p["start"] * 512 for p in table["partitiontable"]["partitions"]]
    assert [p1["start_bytes"], p2["start_bytes"], p3["start_bytes"]] == starts
    assert disk["start_bytes"] is None and disk["links"] == []  # no udev links without udevd

    assert p1["fstype"] == "ext4" and p1["label"] == "data"
    assert p1["mountpoints"] == [server["mnt"]]
    assert p1["protected"] and f"mounted at {server['mnt']}" in p1["protected_reasons"]
    assert p2["fstype"] == "xfs" and p2["label"] == "cache" and p2["uuid"]
    assert p2["mountpoints"] == [] and not p2["protected"]
    assert p3["fstype"] == "crypto_LUKS" and not p3["protected"]
    assert disk["protected"]
    assert any(
        r.startswith(f"contains {os.path.basename(server['p1'])}: mounted at") for r in disk["protected_reasons"]
    )

    d4k = devs[server["disk4k"]]
    assert d4k["logical_sector_size"] == 4096 and d4k["physical_sector_size"] == 4096
    assert d4k["fstype"] == "ext4" and not d4k["protected"]

    # The disk the running system is on is protected wherever it lives (in a chroot too).
    system = [d for d in doc["devices"] if d["devno"] == system_devno()]
    assert system and all(d["protected"] for d in system)


def test_unmount_clears_protection(lab: LoopLab, server: dict[str, str]) -> None:
    lab.umount(server["mnt"])
    tree = probe(LinuxHost())
    for key in ("disk", "p1"):
        dev = tree.get(server[key])
        assert dev is not None and not dev.protected, dev.protected_reasons


def test_exclusive_open_elsewhere_is_in_use(lab: LoopLab) -> None:
    disk = lab.loop("16M")
    fd = os.open(disk, os.O_RDONLY | os.O_EXCL)
    try:
        dev = probe(LinuxHost()).get(disk)
        assert dev is not None and dev.protected
        assert dev.protected_reasons == ("in use by another program (exclusive open refused)",)
    finally:
        os.close(fd)


def test_named_devices_and_lookups(server: dict[str, str]) -> None:
    doc = inventory_json("--no-scan", server["disk"])
    assert {d["path"] for d in doc["devices"]} == {server[k] for k in ("disk", "p1", "p2", "p3")}
    by_name = inventory_json("--no-scan", os.path.basename(server["p2"]))
    assert [d["path"] for d in by_name["devices"]] == [server["p2"]]


def test_inventory_writes_nothing(server: dict[str, str]) -> None:
    before = {k: device_sha256(server[k]) for k in ("p2", "p3", "disk4k")}
    doc = inventory_json(server["disk"], server["disk4k"])  # scans p2 and disk4k unmounted
    assert {v["device"] for v in doc["volumes"] if v["mounted_by_sanitize"]} == {server["p2"], server["disk4k"]}
    cli_runner().invoke(cli, ["inventory", "--no-scan"])
    assert {k: device_sha256(server[k]) for k in before} == before


def test_read_only_loop_is_reported(lab: LoopLab) -> None:
    dev = lab.loop("8M", read_only=True)
    found = probe(LinuxHost()).get(dev)
    assert found is not None and found.read_only


@pytest.fixture
def udevd() -> Iterator[None]:
    """A udevd for this test only, stopped (and its database removed) afterwards."""
    if os.path.exists("/run/udev/control"):
        yield  # a udevd of the machine's own is running: use it, leave it alone
        return
    proc = subprocess.Popen(
        ["/lib/systemd/systemd-udevd", "--resolve-names=never"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            if os.path.exists("/run/udev/control"):
                break
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree("/run/udev", ignore_errors=True)
        shutil.rmtree("/dev/disk", ignore_errors=True)


def test_with_udevd_running(lab: LoopLab, udevd: None) -> None:
    disk = lab.loop("400M")
    p1, p2 = lab.gpt(disk, "32M", "")
    lab.mkfs(p1, "ext4", label="sysvol")
    lab.mkfs(p2, "xfs", label="aux")
    subprocess.run(["udevadm", "trigger", "--action=add", "--subsystem-match=block"], check=True)
    subprocess.run(["udevadm", "settle", "-t", "20"], check=True)
    props = LinuxHost().udev(os.path.basename(p2))
    assert props.get("ID_FS_TYPE") == "xfs"  # the data really came from udev
    tree = probe(LinuxHost())
    got = {d.name: (d.fstype, d.label, d.uuid is not None) for d in tree if d.path in (p1, p2)}
    assert got == {
        os.path.basename(p1): ("ext4", "sysvol", True),
        os.path.basename(p2): ("xfs", "aux", True),
    }
    assert tree.get(disk).pttype == "gpt"  # type: ignore[union-attr]
    assert tree.get(p2).partuuid  # type: ignore[union-attr]
