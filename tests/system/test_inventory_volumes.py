"""Inventory scans every filesystem for AI artifacts, mounted or not, and writes nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import subprocess
from pathlib import Path

import pytest

from sanitize.cli import cli
from sanitize.cli.app import App
from sanitize.hw.host import Host
from tests.support.clirunner import cli_runner
from tests.support.damaged_sqlite import SECRET as DAMAGED_SECRET
from tests.support.damaged_sqlite import damaged_tree
from tests.support.lab import LoopLab, device_sha256
from tests.support.readahead import SpawnRecorder

pytestmark = pytest.mark.root

SECRET = "privileged memo: settlement strategy for client 4711"
SIZES = {"ext4": "64M", "xfs": "320M", "btrfs": "128M"}


def plant_ai_data(directory: str) -> None:
    """An embedding cache with document text, and a GGUF model header, as an AI stack leaves them."""
    db = sqlite3.connect(os.path.join(directory, "cache.db"))
    db.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc TEXT, embedding BLOB)")
    vec = struct.pack("<384f", *([0.05] * 384))
    db.executemany("INSERT INTO chunks (doc, embedding) VALUES (?, ?)", [(f"{SECRET} #{i}", vec) for i in range(60)])
    db.commit()
    db.close()
    with open(os.path.join(directory, "model.bin"), "wb") as fh:
        # GGUF v3, 0 tensors, 1 KV: general.architecture = "llama"
        key, value = b"general.architecture", b"llama"
        fh.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 1))
        fh.write(struct.pack("<Q", len(key)) + key + struct.pack("<I", 8) + struct.pack("<Q", len(value)) + value)
        fh.write(b"\0" * 64)


def plant_prompts_and_app_data(directory: str) -> None:
    """A vLLM request log and an Ollama home (REPL history, server key) holding the secret."""
    with open(os.path.join(directory, "vllm.log"), "w") as fh:
        fh.write("INFO 06-01 10:00:00 [api_server.py:1024] vLLM API server version 0.9.1\n")
        fh.write(f"INFO 06-01 10:00:01 [logger.py:39] Received request cmpl-1: prompt: '{SECRET}', params: x\n")
    home = os.path.join(directory, "root", ".ollama")
    os.makedirs(os.path.join(home, "models"))
    with open(os.path.join(home, "id_ed25519"), "w") as fh:
        fh.write("-----BEGIN OPENSSH PRIVATE KEY-----\nfixture\n-----END OPENSSH PRIVATE KEY-----\n")
    with open(os.path.join(home, "history"), "w") as fh:
        fh.write(f"{SECRET}\n")


def plant_ordinary_tree(directory: str) -> None:
    """Enough directories of ordinary files for a cold scan to start its readahead helper."""
    for i in range(6):
        sub = os.path.join(directory, "notes", f"year{i}")
        os.makedirs(sub)
        for j in range(12):
            with open(os.path.join(sub, f"note{j}.txt"), "w") as fh:
                fh.write(f"meeting note {i}.{j}\n" * 400)


def inventory(*args: str, host: Host | None = None) -> dict:
    """`sanitize inventory --json ARGS` in this process (on `host`, the real machine by default)."""
    result = cli_runner().invoke(cli, ["inventory", "--json", *args], obj=App(host=host) if host else None)
    assert result.exit_code == 0, result.stderr
    assert SECRET not in result.stdout and SECRET not in result.stderr
    return json.loads(result.stdout)


def getro(dev: str) -> str:
    return subprocess.run(["blockdev", "--getro", dev], capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("fstype", ["ext4", "xfs", "btrfs"])
def test_unmounted_volume_is_scanned_read_only(lab: LoopLab, fstype: str) -> None:
    dev = lab.loop(SIZES[fstype])
    lab.mkfs(dev, fstype, label="aux")
    mnt = lab.mount(dev)
    plant_ai_data(mnt)
    plant_prompts_and_app_data(mnt)
    plant_ordinary_tree(mnt)
    lab.umount(mnt)
    before = device_sha256(dev)
    host = SpawnRecorder()

    doc = inventory(dev, host=host)

    assert host.started_readahead, "a freshly mounted volume is cold: the readahead helper must be covered here"
    assert device_sha256(dev) == before
    assert getro(dev) == "0", "the device's read-only flag must be restored"
    assert "/run/sanitize" not in Path("/proc/mounts").read_text()
    (vol,) = doc["volumes"]
    assert vol["device"] == dev and vol["mounted_at"] is None
    assert vol["scanned"] and vol["mounted_by_sanitize"]
    formats = {(a["category"], a["format"], a["path"]) for a in vol["artifacts"]}
    assert ("model-weights", "gguf", "model.bin") in formats
    assert any(c == "vector-store" and p == "cache.db" for c, _, p in formats)
    assert vol["summary"]["vector-store"]["count"] >= 1
    assert "not mounted" in vol["risk"] and "gguf" in vol["risk"]
    assert "prompt logs: 1 vllm-log" in vol["risk"] and "AI app data: ollama (2)" in vol["risk"]
    assert vol["apps"] == {"ollama": 2}


def test_mounted_volume_is_scanned_in_place(lab: LoopLab) -> None:
    dev = lab.loop("64M")
    lab.mkfs(dev, "ext4")
    mnt = lab.mount(dev)
    plant_ai_data(mnt)
    (vol,) = inventory(dev)["volumes"]
    assert vol["mounted_at"] == mnt and not vol["mounted_by_sanitize"]
    assert vol["artifact_count"] >= 2
    assert all(a["root"] == mnt for a in vol["artifacts"])


def test_encrypted_and_empty_volumes(lab: LoopLab) -> None:
    luks = lab.loop("32M")
    lab.luks(luks, 2)
    empty = lab.loop("64M")
    lab.mkfs(empty, "ext4")
    vols = {v["device"]: v for v in inventory(luks, empty)["volumes"]}
    assert vols[luks]["encrypted"] == "LUKS" and not vols[luks]["scanned"]
    assert vols[empty]["scanned"] and vols[empty]["artifact_count"] == 0
    assert "no AI artifacts found" in vols[empty]["risk"]


def test_human_report_leads_with_risk_lines(lab: LoopLab) -> None:
    dev = lab.loop("64M")
    lab.mkfs(dev, "ext4")
    mnt = lab.mount(dev)
    plant_ai_data(mnt)
    lab.umount(mnt)
    result = cli_runner().invoke(cli, ["inventory", dev])
    assert result.exit_code == 0, result.stderr
    assert f"AI DATA: {os.path.basename(dev)} (ext4, not mounted)" in result.stdout
    assert SECRET not in result.stdout


def test_damaged_databases_on_a_volume_are_listed_and_the_inventory_exits_0(lab: LoopLab) -> None:
    """A damaged file on the disk is what the inventory reports, not a bug of the scan."""
    dev = lab.loop("64M")
    lab.mkfs(dev, "ext4")
    mnt = lab.mount(dev)
    expected = damaged_tree(mnt)
    lab.umount(mnt)
    result = cli_runner().invoke(cli, ["inventory", "--json", dev])
    assert result.exit_code == 0, result.stderr
    assert DAMAGED_SECRET not in result.stdout + result.stderr and "internal error" not in result.stderr
    (vol,) = json.loads(result.stdout)["volumes"]
    assert vol["scanned"] and vol["faults"] == []
    damaged = {name for name, (_c, _f, damage) in expected.items() if damage}
    assert vol["errors"] == len(damaged)
    listed = {a["path"]: (a["category"], a["details"].get("damage")) for a in vol["artifacts"]}
    assert {p for p, (_c, damage) in listed.items() if damage} == damaged
    assert listed["zeroed-header.db"] == ("damaged", "header")
    assert vol["summary"]["damaged"]["count"] == 3 and "sqlite damaged" in vol["risk"]


def test_no_scan_skips_volumes(lab: LoopLab) -> None:
    dev = lab.loop("64M")
    lab.mkfs(dev, "ext4")
    assert "volumes" not in inventory("--no-scan", dev)


def test_carve_reports_deleted_artifacts_in_free_space(lab: LoopLab) -> None:
    dev = lab.loop("64M")
    lab.mkfs(dev, "ext4")
    mnt = lab.mount(dev)
    plant_ai_data(mnt)
    subprocess.run(["sync"], check=True)
    for name in ("cache.db", "model.bin"):
        os.unlink(os.path.join(mnt, name))
    lab.umount(mnt)
    before = device_sha256(dev)

    (vol,) = inventory("--carve", dev)["volumes"]

    assert device_sha256(dev) == before
    assert vol["artifact_count"] == 0, "the live filesystem no longer holds them"
    assert vol["carve"]["free"], vol["carve"]
    assert "in free space" in vol["risk"] and "deleted" in vol["risk"]


def test_carve_without_scan_still_describes_volumes(lab: LoopLab) -> None:
    dev = lab.loop("32M")
    lab.mkfs(dev, "ext4")
    (vol,) = inventory("--no-scan", "--carve", dev)["volumes"]
    assert not vol["scanned"] and vol["carve"]["hits"] == 0
    assert vol["risk"].endswith("raw device: nothing recognisable in free space")


def _wipe(dev: str, offset: int, length: int) -> None:
    fd = os.open(dev, os.O_WRONLY)
    try:
        os.pwrite(fd, bytes(length), offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    subprocess.run(["blockdev", "--flushbufs", dev], check=False)
    subprocess.run(["udevadm", "settle"], check=False)


def test_ext4_with_a_damaged_primary_superblock_is_scanned_through_its_backup(lab: LoopLab) -> None:
    dev = lab.loop("64M")
    lab.mkfs(dev, "ext4")
    mnt = lab.mount(dev)
    plant_ai_data(mnt)
    lab.umount(mnt)
    _wipe(dev, 1024, 1024)  # the primary superblock; blkid now finds no filesystem at all
    before = device_sha256(dev)

    (vol,) = inventory(dev)["volumes"]

    assert device_sha256(dev) == before, "looking through the backup superblock must not write"
    assert getro(dev) == "0"
    assert vol["fstype"] == "ext4" and vol["damaged"] and vol["scanned"] and vol["mounted_by_sanitize"]
    assert "damaged primary superblock" in vol["note"] and "DAMAGED" in vol["risk"]
    assert ("model-weights", "gguf", "model.bin") in {(a["category"], a["format"], a["path"]) for a in vol["artifacts"]}


def test_ext4_damaged_beyond_mounting_is_reported_not_scanned(lab: LoopLab) -> None:
    dev = lab.loop("64M")
    lab.mkfs(dev, "ext4")
    mnt = lab.mount(dev)
    plant_ai_data(mnt)
    lab.umount(mnt)
    _wipe(dev, 1024, 1024)
    # Group descriptors, bitmaps and inode tables of group 1 go too: the backup superblock
    # is still found, but nothing mounts.
    backup = 8193 * 1024
    _wipe(dev, backup + 1024, 4 << 20)
    _wipe(dev, 2048, 4 << 20)

    (vol,) = inventory(dev)["volumes"]

    assert vol["damaged"] and not vol["scanned"]
    assert "not scanned" in vol["note"] and "sanitize carve" in vol["note"]
