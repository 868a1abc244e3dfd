"""Inventory replayed from a recorded sysfs tree, udev database and mountinfo.

The recording (fixtures/sysfs/loop-gpt-udev, made by fixtures/sysfs/record.py) is of a
400 MiB loop disk with GPT: p1 ext4 "data" mounted, p2 xfs "cache", p3 LUKS2; a 4Kn loop
holding swap; and the machine's virtio root disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sanitize.hw.linux import LinuxHost
from sanitize.inventory.model import DeviceTree
from sanitize.inventory.probe import probe

REC = Path(__file__).resolve().parents[2] / "fixtures" / "sysfs" / "loop-gpt-udev"


def replay(*, with_udev: bool, tmp_path: Path) -> DeviceTree:
    props = json.loads((REC / "udev.json").read_text())

    def udev(name: str) -> dict[str, str]:
        return props.get(name, {}) if with_udev else {}

    host = LinuxHost(sys_root=str(REC / "sys"), proc_root=str(REC / "proc"), dev_root="/dev", udev_source=udev)
    # No device nodes of the recording exist here, so blkid is never run against this machine.
    host.dev_root = str(tmp_path / "dev")
    return probe(host)


@pytest.fixture(params=[True, False], ids=["udev", "sysfs-only"])
def tree(request: pytest.FixtureRequest, tmp_path: Path) -> DeviceTree:
    return replay(with_udev=request.param, tmp_path=tmp_path)


def test_topology_and_sizes(tree: DeviceTree) -> None:
    disk = tree.get("loop0")
    assert disk is not None and disk.type == "loop" and disk.size_bytes == 400 << 20
    assert [Path(c).name for c in disk.children] == ["loop0p1", "loop0p2", "loop0p3"]
    parts = [tree.get(f"loop0p{i}") for i in (1, 2, 3)]
    assert all(p is not None and p.type == "part" and p.parent == disk.path for p in parts)
    assert sum(p.size_bytes for p in parts if p) < disk.size_bytes
    assert disk.backing_file == "/var/tmp/r1.img"
    swap = tree.get("loop1")
    assert swap is not None and swap.logical_sector_size == 4096 and swap.size_bytes == 64 << 20


def test_mounted_partition_protects_its_disk(tree: DeviceTree) -> None:
    p1, disk = tree.get("loop0p1"), tree.get("loop0")
    assert p1 is not None and disk is not None
    assert p1.mountpoints == ("/var/tmp/recmnt",)
    assert p1.protected_reasons == ("mounted at /var/tmp/recmnt",)
    assert disk.protected_reasons == ("contains loop0p1: mounted at /var/tmp/recmnt",)
    assert not tree.get("loop0p2").protected  # type: ignore[union-attr]
    root = tree.get("vda")
    assert root is not None and root.protected_reasons[0] == "holds the running root filesystem (/)"


def test_filesystems_from_udev(tmp_path: Path) -> None:
    tree = replay(with_udev=True, tmp_path=tmp_path)
    got = {d.name: (d.fstype, d.label) for d in tree if d.name.startswith("loop")}
    assert got == {
        "loop0": (None, None),
        "loop0p1": ("ext4", "data"),
        "loop0p2": ("xfs", "cache"),
        "loop0p3": ("crypto_LUKS", None),
        "loop1": ("swap", "swp"),
    }
    assert tree.get("loop0").pttype == "gpt"  # type: ignore[union-attr]


def test_without_udev_mounted_fs_type_comes_from_mountinfo(tmp_path: Path) -> None:
    tree = replay(with_udev=False, tmp_path=tmp_path)
    assert tree.get("loop0p1").fstype == "ext4"  # type: ignore[union-attr]
    assert tree.get("loop0p2").fstype is None  # type: ignore[union-attr]


def test_swap_is_protected(tmp_path: Path) -> None:
    host = LinuxHost(sys_root=str(REC / "sys"), proc_root=str(REC / "proc"), dev_root=str(tmp_path / "dev"))
    host.udev = lambda name: {}
    swaps = tmp_path / "proc"
    (swaps / "self").mkdir(parents=True)
    (swaps / "self" / "mountinfo").write_text((REC / "proc" / "self" / "mountinfo").read_text())
    (swaps / "swaps").write_text(f"Filename Type Size Used Priority\n{tmp_path}/dev/loop1 partition 65532 0 -2\n")
    host.proc_root = str(swaps)
    dev = probe(host).get("loop1")
    assert dev is not None and dev.protected_reasons == ("active swap",)


def test_lookups(tree: DeviceTree) -> None:
    assert tree.get("nonexistent") is None
    p2 = tree.get("loop0p2")
    assert p2 is not None and tree.get(p2.parent or "") == tree.get("loop0")
    assert [a.name for a in tree.ancestors(p2)] == ["loop0"]
    assert {d.name for d in tree.descendants(tree.get("loop0"))} == {"loop0p1", "loop0p2", "loop0p3"}  # type: ignore[arg-type]
