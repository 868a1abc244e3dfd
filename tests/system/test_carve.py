"""`sanitize carve` on real loop devices with ext4: live and deleted artifacts, no false hits,
nothing after an erase, and a device hash unchanged by carving (root)."""

from __future__ import annotations

import glob
import json
import os
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from sanitize.carve import carve_summary, carve_verify
from sanitize.hw.linux import LinuxHost
from tests.support.carve_artifacts import fsync_file, write_gguf, write_safetensors, write_sqlite_store
from tests.support.lab import LoopLab, device_sha256, sh

pytestmark = pytest.mark.root

SQLITE_ROWS = 300


@dataclass
class Extent:
    start: int  # device byte offset of the file's first block
    ranges: list[tuple[int, int]]  # (start, end) byte ranges of every extent


def carve_json(dev: str, *extra: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "sanitize", "carve", dev, "--json", *extra],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    assert doc["schema"] == "sanitize.carve/1"
    return doc


def extents(path: str) -> Extent:
    out = sh("filefrag", "-v", path)
    block = int(re.search(r"blocks? of (\d+) bytes", out).group(1))  # type: ignore[union-attr]
    ranges = [
        (int(m.group(1)) * block, (int(m.group(2)) + 1) * block)
        for m in re.finditer(r"^\s*\d+:\s+\d+\.\.\s*\d+:\s+(\d+)\.\.\s*(\d+):", out, re.M)
    ]
    assert ranges, out
    return Extent(ranges[0][0], ranges)


def hits_of(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [h for h in doc["hits"] if h["kind"] == kind]


def artifacts(mnt: str) -> dict[str, Extent]:
    rng = random.Random(11)
    write_gguf(os.path.join(mnt, "model.gguf"), rng)
    write_safetensors(os.path.join(mnt, "emb.safetensors"), rng, rows=64)
    write_sqlite_store(os.path.join(mnt, "store.db"), rng, rows=SQLITE_ROWS, dim=384)
    names = ("model.gguf", "emb.safetensors", "store.db")
    for n in names:
        fsync_file(os.path.join(mnt, n))
    sh("sync")
    return {n: extents(os.path.join(mnt, n)) for n in names}


def assert_found(doc: dict[str, Any], where: dict[str, Extent], allocation: str) -> None:
    def at(kind: str, name: str) -> dict[str, Any]:
        found = [h for h in hits_of(doc, kind) if h["offset"] == where[name].start]
        assert len(found) == 1, (kind, where[name].start, doc["hits"])
        return found[0]

    for kind, name in (("gguf", "model.gguf"), ("safetensors", "emb.safetensors"), ("sqlite-database", "store.db")):
        hit = at(kind, name)
        assert hit["allocation"] == allocation, hit
        assert hit["path"] == (f"/{name}" if allocation == "allocated" else None), hit
    in_store = [
        h
        for h in hits_of(doc, "sqlite-embedding-pages")
        if any(s <= h["offset"] < e for s, e in where["store.db"].ranges)
    ]
    assert in_store and all(h["allocation"] == allocation for h in in_store), in_store
    assert sum(h["details"]["vectors"] for h in in_store) == SQLITE_ROWS
    assert {h["details"]["dim"] for h in in_store} == {384}


def test_live_then_deleted_artifacts_are_found_at_their_offsets(lab: LoopLab) -> None:
    dev = lab.loop("96M")
    lab.mkfs(dev, "ext4")
    mnt = lab.mount(dev)
    where = artifacts(mnt)
    lab.umount(mnt)

    before = device_sha256(dev)
    live = carve_json(dev)
    assert device_sha256(dev) == before  # carving is read-only
    assert live["filesystem"] == "ext4" and live["coverage"] == 1.0
    assert_found(live, where, "allocated")

    mnt = lab.mount(dev)
    for name in where:
        os.unlink(os.path.join(mnt, name))
    sh("sync")
    lab.umount(mnt)

    deleted = carve_json(dev)
    assert_found(deleted, where, "free")
    assert "deleted" in deleted["risk"] and "SQLite pages with embedding BLOBs" in deleted["risk"]

    summary = carve_summary(LinuxHost(), dev)
    assert summary["free"]["gguf"] == 1 and summary["free"]["sqlite-embedding-pages"] >= SQLITE_ROWS // 2
    assert summary["risk"] == deleted["risk"]


def test_mounted_device_is_carved_read_only_with_a_staleness_note(lab: LoopLab) -> None:
    dev = lab.loop("64M")
    lab.mkfs(dev, "ext4")
    mnt = lab.mount(dev)
    where = artifacts(mnt)
    # Remount read-only: a read-write ext4 keeps writing on its own (lazy inode-table init,
    # journal commits), which would change the hash whatever carve does.
    lab.umount(mnt)
    lab.mount(dev, "ro")
    before = device_sha256(dev)
    doc = carve_json(dev)
    assert device_sha256(dev) == before
    assert "mounted" in doc["allocation_note"]
    assert [h["path"] for h in hits_of(doc, "gguf") if h["offset"] == where["model.gguf"].start] == ["/model.gguf"]


def _copy_ordinary_files(mnt: str, limit: int) -> int:
    total = 0
    patterns = ["/usr/bin/*", "/usr/share/doc/*/*", "/usr/share/**/*.png", "/usr/share/**/*.jp*g"]
    for i, path in enumerate(p for pat in patterns for p in sorted(glob.glob(pat, recursive=True))):
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        size = os.path.getsize(path)
        if total + size > limit:
            continue
        shutil.copyfile(path, os.path.join(mnt, f"{i}-{os.path.basename(path)}"))
        total += size
    return total


def test_fresh_and_ordinary_filesystems_give_no_hits(lab: LoopLab) -> None:
    dev = lab.loop("160M")
    lab.mkfs(dev, "ext4")
    assert carve_json(dev)["hits"] == []

    mnt = lab.mount(dev)
    copied = _copy_ordinary_files(mnt, 120 << 20)
    assert copied > 60 << 20
    sh("sync")
    lab.umount(mnt)
    doc = carve_json(dev)
    assert doc["hits"] == [], doc["hits"][:5]


def test_after_erase_carve_finds_nothing(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("64M")
    lab.mkfs(dev, "ext4")
    mnt = lab.mount(dev)
    artifacts(mnt)
    lab.umount(mnt)
    assert carve_json(dev)["hits_total"] >= 4

    erase = subprocess.run(
        [sys.executable, "-m", "sanitize", "erase", dev, "--confirm", os.path.basename(dev), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert erase.returncode == 0, erase.stderr
    doc = carve_json(dev)
    assert doc["hits"] == [] and doc["hits_total"] == 0
    assert doc["filesystem"] == "none"

    verify = carve_verify(LinuxHost(), dev, 0.5)
    assert verify["hits"] == 0 and 0.4 < verify["coverage"] <= 1.0


def test_sampled_carve_reads_a_fraction(lab: LoopLab) -> None:
    dev = lab.loop("128M")
    doc = carve_json(dev, "--sample", "0.25", "--no-allocation")
    assert doc["bytes_read"] == 32 << 20 and doc["coverage"] == 0.25 and doc["hits"] == []


def test_whole_disk_hits_are_placed_in_their_partition(lab: LoopLab) -> None:
    disk = lab.loop("96M")
    part = lab.gpt(disk, "80M")[0]
    lab.mkfs(part, "ext4")
    mnt = lab.mount(part)
    where = artifacts(mnt)
    lab.umount(mnt)
    start = int(sh("cat", f"/sys/class/block/{os.path.basename(part)}/start")) * 512

    doc = carve_json(disk)
    gguf = [h for h in hits_of(doc, "gguf") if h["offset"] == start + where["model.gguf"].start]
    assert len(gguf) == 1, doc["hits"]
    assert gguf[0]["allocation"] == "allocated" and gguf[0]["path"] == "/model.gguf" and gguf[0]["volume"] == part


def test_xfs_hits_are_placed_with_paths(lab: LoopLab) -> None:
    dev = lab.loop("320M")
    lab.mkfs(dev, "xfs")
    mnt = lab.mount(dev)
    rng = random.Random(3)
    write_gguf(os.path.join(mnt, "model.gguf"), rng)
    fsync_file(os.path.join(mnt, "model.gguf"))
    where = extents(os.path.join(mnt, "model.gguf"))
    lab.umount(mnt)

    live = [h for h in hits_of(carve_json(dev), "gguf") if h["offset"] == where.start]
    assert [(h["allocation"], h["path"]) for h in live] == [("allocated", "/model.gguf")]

    mnt = lab.mount(dev)
    os.unlink(os.path.join(mnt, "model.gguf"))
    sh("sync")
    lab.umount(mnt)
    doc = carve_json(dev)
    gone = [h for h in hits_of(doc, "gguf") if h["offset"] == where.start]
    assert [h["allocation"] for h in gone] == ["free"] and doc["filesystem"] == "xfs"


def test_btrfs_hits_are_placed_from_its_free_space_tree(lab: LoopLab) -> None:
    dev = lab.loop("256M")
    lab.mkfs(dev, "btrfs")
    mnt = lab.mount(dev)
    rng = random.Random(5)
    for name in ("live.gguf", "gone.gguf"):  # 16 KiB each: data extents, not inlined in metadata
        write_gguf(os.path.join(mnt, name), rng)
        fsync_file(os.path.join(mnt, name))
    sh("sync")
    os.unlink(os.path.join(mnt, "gone.gguf"))
    sh("sync")
    lab.umount(mnt)
    before = device_sha256(dev)

    doc = carve_json(dev)

    assert device_sha256(dev) == before
    assert doc["filesystem"] == "btrfs" and "free-space tree" in doc["allocation_note"]
    assert sorted(h["allocation"] for h in hits_of(doc, "gguf")) == ["allocated", "free"]


def test_4k_sector_device_is_read_with_aligned_direct_io(lab: LoopLab) -> None:
    dev = lab.loop("64M", sector_size=4096)
    lab.mkfs(dev, "ext4")
    mnt = lab.mount(dev)
    where = artifacts(mnt)
    lab.umount(mnt)
    doc = carve_json(dev)
    assert_found(doc, where, "allocated")
