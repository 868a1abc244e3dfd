"""Helpers for tests that run inside the lab guest: the lab's disks, the storage stacks built on
them, commands and the `sanitize` CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.lab import device_sha256

__all__ = ["device_sha256"]

TOPOLOGY: dict[str, Any] = json.loads(Path(os.environ["SANITIZE_VM_TOPOLOGY"]).read_text())
CACHE_DIM = 384
CACHE_VECTORS = 64


def sh(*argv: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(argv, input=input, capture_output=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.decode(errors='replace').strip()}"
        )
    return proc


def settle() -> None:
    sh("udevadm", "settle", "-t", "30", check=False)


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.stdout)
        return doc


def sanitize(*args: str) -> CliResult:
    """The `sanitize` command line, run in this process: under TCG every new Python process costs
    seconds of imports, so the guest tests share one. `test_cli_entry_point` covers the real
    `python -m sanitize` process once."""
    from click.testing import CliRunner

    from sanitize.cli import cli

    result = CliRunner().invoke(cli, list(args), prog_name="sanitize", catch_exceptions=False)
    return CliResult(result.exit_code, result.stdout, result.stderr)


def sanitize_process(*args: str) -> CliResult:
    proc = subprocess.run([sys.executable, "-m", "sanitize", *args], capture_output=True, text=True, timeout=240)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def sanitize_json(*args: str, ok_codes: tuple[int, ...] = (0,)) -> dict[str, Any]:
    result = sanitize(*args, "--json")
    assert result.returncode in ok_codes, f"sanitize {' '.join(args)} exited {result.returncode}: {result.stderr}"
    return result.json()


def identity(device: str) -> str:
    """What the tool asks an operator to type to confirm `device` (its serial, else its name)."""
    doc = sanitize_json("inventory", "--no-scan", device)
    dev = next(d for d in doc["devices"] if d["path"] == device)
    return str(dev["serial"] or dev["name"])


def disk(disk_id: str) -> dict[str, Any]:
    """The topology entry of a SATA/SCSI disk by its harness id (sata0, scsi2 ...)."""
    for entry in TOPOLOGY["disks"]:
        if entry["id"] == disk_id:
            return dict(entry)
    raise KeyError(disk_id)


def disk_path(disk_id: str) -> str:
    """/dev/sdX of a SATA/SCSI disk, found through its WWN link (kernel names vary between boots)."""
    return os.path.realpath(f"/dev/disk/by-id/wwn-0x{disk(disk_id)['wwn']}")


def nvme_controller(ctrl_id: str) -> dict[str, Any]:
    for ctrl in TOPOLOGY["nvme"]:
        if ctrl["id"] == ctrl_id:
            return dict(ctrl)
    raise KeyError(ctrl_id)


def nvme_namespace_path(ctrl_id: str, nsid: int) -> str:
    """/dev/nvmeXnY of a namespace, found by controller serial and nsid in sysfs."""
    serial = nvme_controller(ctrl_id)["serial"]
    for ctrl in sorted(Path("/sys/class/nvme").iterdir()):
        if (ctrl / "serial").read_text().strip() != serial:
            continue
        for ns in sorted(ctrl.glob(f"{ctrl.name}n*")):
            if (ns / "nsid").read_text().strip() == str(nsid):
                return f"/dev/{ns.name}"
    raise AssertionError(f"no namespace {nsid} on the NVMe controller with serial {serial}")


def nvme_controller_path(ctrl_id: str) -> str:
    serial = nvme_controller(ctrl_id)["serial"]
    for ctrl in sorted(Path("/sys/class/nvme").iterdir()):
        if (ctrl / "serial").read_text().strip() == serial:
            return f"/dev/{ctrl.name}"
    raise AssertionError(f"no NVMe controller with serial {serial}")


def fill_random(path: str, mib: int) -> None:
    with open(path, "r+b", buffering=0) as fh:
        for _ in range(mib):
            fh.write(os.urandom(1 << 20))
        os.fsync(fh.fileno())


def read_head(path: str, length: int = 4 << 20) -> bytes:
    """The region `fill_random` wrote; enough to tell erased from untouched without hashing a
    whole disk at emulated-CPU speed."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, length, 0)
    finally:
        os.close(fd)


# --- AI artifacts written onto the cache volume ---------------------------------------------------


def write_embedding_store(path: Path) -> None:
    """A RAG store as small apps keep it: chunks with float32 embeddings (dim 384) as BLOBs."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc TEXT, text TEXT, embedding BLOB)")
        for i in range(CACHE_VECTORS):
            vector = [((i * 31 + j * 7) % 97 - 48) / 97.0 for j in range(CACHE_DIM)]
            conn.execute(
                "INSERT INTO chunks (doc, text, embedding) VALUES (?, ?, ?)",
                (f"handbook-{i // 8}.pdf", f"chunk {i} of the staff handbook", struct.pack(f"<{CACHE_DIM}f", *vector)),
            )
    conn.close()


def _gguf_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def write_gguf(path: Path) -> None:
    """A minimal valid GGUF v3 file: two metadata keys and one 8x8 float32 tensor."""
    kv = _gguf_string("general.architecture") + struct.pack("<I", 8) + _gguf_string("llama")
    kv += _gguf_string("general.name") + struct.pack("<I", 8) + _gguf_string("sanlab-tiny")
    tensor_info = _gguf_string("token_embd.weight") + struct.pack("<I", 2) + struct.pack("<QQ", 8, 8)
    tensor_info += struct.pack("<I", 0) + struct.pack("<Q", 0)  # type F32, offset 0 in the data section
    header = b"GGUF" + struct.pack("<IQQ", 3, 1, 2) + kv + tensor_info
    header += b"\0" * (-len(header) % 32)  # general.alignment defaults to 32
    path.write_bytes(header + struct.pack("<64f", *[i / 64 for i in range(64)]))


@dataclass(frozen=True)
class Stacks:
    """What the session built, by role, as /dev paths the inventory reports."""

    raid_members: tuple[str, str]
    raid: str
    lv: str  # /dev/dm-N of the logical volume
    lv_mount: str
    crypt_disk: str
    crypt: str  # /dev/dm-N of the opened LUKS mapping
    crypt_mount: str
    cache_disk: str
    cache_part: str
    cache_files: tuple[str, ...]
    erase_namespace: str  # NVMe namespace with nothing on it, for the real Format NVM
    spare_namespace: str
    standalone_sata: str
    standalone_scsi: str
