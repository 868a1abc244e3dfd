"""Inside the lab guest: build, once per session, the storage stacks an AI server has.

- md RAID1 over two disks (one SATA, one SCSI) -> LVM PV/VG/LV -> ext4, mounted (the model store)
- LUKS2 on an NVMe namespace, opened with dm-crypt -> ext4, mounted (the secure scratch volume)
- a GPT partition with ext4 on its own SCSI disk, holding a SQLite embedding store and a GGUF
  file, NOT mounted (an auxiliary cache volume left behind)
- an NVMe namespace, a SATA and a SCSI disk with nothing on them but random data (erase targets)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.vm.guest import guestlab
from tests.vm.guest.guestlab import Stacks, sh

if os.environ.get("SANITIZE_VM_GUEST") != "1":
    raise RuntimeError("tests/vm/guest runs only inside the QEMU lab guest (python -m tests.vm.harness)")

VG, LV, CRYPT_NAME = "sanlab", "models", "sanlab_secure"
KEY = b"sanlab-test-passphrase"


def pytest_configure(config: pytest.Config) -> None:
    # The host root is mounted read-only: LVM keeps its archive/backup and sanitize its state in /tmp.
    lvm_dir = Path("/tmp/lvm")
    lvm_dir.mkdir(exist_ok=True)
    (lvm_dir / "lvm.conf").write_bytes(Path("/etc/lvm/lvm.conf").read_bytes())
    os.environ["LVM_SYSTEM_DIR"] = str(lvm_dir)
    os.environ.setdefault("SANITIZE_STATE_DIR", "/tmp/sanitize-state")


def mkfs_quiet(device: str, label: str) -> None:
    """ext4 that initialises everything now: a lazy-init thread writing later would change bytes
    the tests compare before and after a refused erase."""
    sh("mkfs.ext4", "-q", "-E", "lazy_itable_init=0,lazy_journal_init=0", "-L", label, device)


def _dm_path(mapper: str) -> str:
    return "/dev/" + os.path.basename(os.path.realpath(mapper))


@pytest.fixture(scope="session")
def stacks() -> Iterator[Stacks]:
    work = Path(tempfile.mkdtemp(prefix="sanlab-", dir="/tmp"))
    member_a, member_b = guestlab.disk_path("sata1"), guestlab.disk_path("scsi1")
    cache_disk = guestlab.disk_path("scsi2")
    crypt_disk = guestlab.nvme_namespace_path("nvme1", 1)
    mounts: list[str] = []
    try:
        # md RAID1 -> LVM -> ext4. --assume-clean: a resync would only burn emulated CPU.
        sh("mdadm", "--create", "/dev/md0", "--run", "--assume-clean", "--level=1", "--raid-devices=2",
           "--metadata=1.2", member_a, member_b)  # fmt: skip
        sh("pvcreate", "-y", "/dev/md0")
        sh("vgcreate", VG, "/dev/md0")
        sh("lvcreate", "-y", "-n", LV, "-L", "32M", VG)
        guestlab.settle()
        lv = _dm_path(f"/dev/mapper/{VG}-{LV}")
        mkfs_quiet(lv, "models")
        lv_mount = work / "models"
        lv_mount.mkdir()
        sh("mount", "-o", "noatime", lv, str(lv_mount))
        mounts.append(str(lv_mount))
        guestlab.write_gguf(lv_mount / "served-model.gguf")

        # LUKS2 -> dm-crypt -> ext4 (fast PBKDF: the key strength is not under test).
        keyfile = work / "key"
        keyfile.write_bytes(KEY)
        sh("cryptsetup", "luksFormat", "-q", "--type", "luks2", "--pbkdf", "pbkdf2",
           "--pbkdf-force-iterations", "1000", "--key-file", str(keyfile), crypt_disk)  # fmt: skip
        sh("cryptsetup", "open", "--key-file", str(keyfile), crypt_disk, CRYPT_NAME)
        guestlab.settle()
        crypt = _dm_path(f"/dev/mapper/{CRYPT_NAME}")
        mkfs_quiet(crypt, "secure")
        crypt_mount = work / "secure"
        crypt_mount.mkdir()
        sh("mount", "-o", "noatime", crypt, str(crypt_mount))
        mounts.append(str(crypt_mount))
        (crypt_mount / "notes.txt").write_text("scratch\n")
        sh("sync")

        # The cache volume: GPT -> ext4 with artifacts, then unmounted.
        sh("sfdisk", "-q", cache_disk, input=b"label: gpt\n,,L\n")
        guestlab.settle()
        cache_part = cache_disk + "1"
        mkfs_quiet(cache_part, "aicache")
        cache_mount = work / "cache"
        cache_mount.mkdir()
        sh("mount", cache_part, str(cache_mount))
        (cache_mount / "rag").mkdir()
        (cache_mount / "models").mkdir()
        guestlab.write_embedding_store(cache_mount / "rag" / "store.sqlite")
        guestlab.write_gguf(cache_mount / "models" / "tiny-q8.gguf")
        sh("umount", str(cache_mount))
        guestlab.settle()

        erase_ns = guestlab.nvme_namespace_path("nvme0", 1)
        spare_ns = guestlab.nvme_namespace_path("nvme0", 2)
        standalone_sata, standalone_scsi = guestlab.disk_path("sata0"), guestlab.disk_path("scsi0")
        for target in (erase_ns, spare_ns, standalone_sata, standalone_scsi):
            guestlab.fill_random(target, 4)

        yield Stacks(
            raid_members=(member_a, member_b),
            raid="/dev/md0",
            lv=lv,
            lv_mount=str(lv_mount),
            crypt_disk=crypt_disk,
            crypt=crypt,
            crypt_mount=str(crypt_mount),
            cache_disk=cache_disk,
            cache_part=cache_part,
            cache_files=("models/tiny-q8.gguf", "rag/store.sqlite"),
            erase_namespace=erase_ns,
            spare_namespace=spare_ns,
            standalone_sata=standalone_sata,
            standalone_scsi=standalone_scsi,
        )
    finally:
        # The guest is thrown away, but tear down in order anyway so a failure here shows a stack
        # that the tool left busy.
        for mnt in reversed(mounts):
            sh("umount", mnt, check=False)
        sh("cryptsetup", "close", CRYPT_NAME, check=False)
        sh("vgchange", "-an", VG, check=False)
        sh("mdadm", "--stop", "/dev/md0", check=False)
