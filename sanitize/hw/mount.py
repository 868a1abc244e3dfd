"""Mounting and unmounting filesystems (argv lists run through the `Host`).

`mounted_readonly` is how the tool looks inside an unmounted volume. Forensic rule:
looking must not change the evidence. Before mounting we set the block device itself
read-only (BLKROSET) so the kernel refuses any write, whatever the filesystem driver
wants; the mount options also skip journal replay, which would otherwise write even on a
read-only mount. The mountpoint is a fresh 0700 directory under /run/sanitize (tmpfs, so
not on any of the server's disks). Everything is undone on exit, including the device's
read-only flag, which is restored to what it was.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from sanitize.errors import Unsupported
from sanitize.hw.host import Host

RUN_DIR = "/run/sanitize"

# Options that mount without replaying a journal or log (each replay would write).
NO_REPLAY_OPTIONS: dict[str, str] = {
    "ext2": "ro",
    "ext3": "ro,noload",
    "ext4": "ro,noload",
    "xfs": "ro,norecovery",
    "btrfs": "ro,rescue=nologreplay",
    "f2fs": "ro,norecovery",
    "vfat": "ro",
    "exfat": "ro",
    "ntfs3": "ro",
    "iso9660": "ro",
}
HARDENING = "nosuid,nodev,noexec,noatime"


def mount(host: Host, dev: str, target: str, *, fstype: str | None = None, options: str | None = None) -> None:
    argv = ["mount"]
    if fstype:
        argv += ["-t", fstype]
    if options:
        argv += ["-o", options]
    host.run([*argv, dev, target], timeout=60, check=True)


def umount(host: Host, target: str, *, lazy_fallback: bool = True) -> bool:
    """Unmount; returns False when only a lazy unmount succeeded (something still held it)."""
    if host.run(["umount", target], timeout=60).ok:
        return True
    if lazy_fallback:
        host.run(["umount", "-l", target], timeout=60, check=True)
        return False
    host.run(["umount", target], timeout=60, check=True)
    return True


def is_mounted(host: Host, target: str) -> bool:
    return os.path.realpath(target) in {m.mountpoint for m in host.mounts()}


def _set_read_only(host: Host, device: str, read_only: bool) -> bool:
    """Set the device's kernel read-only flag; return the previous value."""
    with host.open_device(device) as dev:
        return dev.set_read_only(read_only)


EXT_MAGIC = 0xEF53
_EXT4_INCOMPAT = 0x40 | 0x80 | 0x200  # extents, 64bit, flex_bg
_EXT3_COMPAT = 0x4  # has_journal


def ext_backup_superblock(host: Host, device: str) -> tuple[str, int] | None:
    """An ext2/3/4 whose primary superblock is unreadable: (fstype, `sb=` mount option in 1 KiB
    units) of its first backup superblock (block group 1), or None when there is none.

    Reads 1 KiB at three offsets (one per block size mke2fs uses), nothing else; blkid finds
    no filesystem on such a volume (or only its journal, "jbd"), so without this it would be
    reported as empty and never scanned.
    """
    with host.open_device(device) as dev:
        size = dev.size_bytes()
        for block_size in (1024, 2048, 4096):
            per_group = 8 * block_size  # blocks per group: one bitmap block's worth of bits
            offset = (per_group + (1 if block_size == 1024 else 0)) * block_size
            if offset + 1024 > size:
                continue
            buf = bytearray(1024)
            dev.read_into(memoryview(buf), offset)
            sb = bytes(buf)
            magic, group_nr = struct.unpack_from("<H", sb, 56)[0], struct.unpack_from("<H", sb, 90)[0]
            log_block, blocks_per_group = struct.unpack_from("<II", sb, 24)[0], struct.unpack_from("<I", sb, 32)[0]
            if magic != EXT_MAGIC or group_nr != 1 or 1024 << min(log_block, 16) != block_size:
                continue
            if blocks_per_group != per_group:
                continue
            compat, incompat = struct.unpack_from("<II", sb, 92)
            fstype = "ext4" if incompat & _EXT4_INCOMPAT else "ext3" if compat & _EXT3_COMPAT else "ext2"
            return fstype, offset // 1024
        return None


@contextmanager
def mounted_readonly(host: Host, device: str, fstype: str, *, superblock: int | None = None) -> Iterator[str]:
    """Mount `device` read-only without journal replay on a private mountpoint; yield it.

    `superblock`: an ext2/3/4 backup superblock (`sb=`, 1 KiB units) when the primary is damaged.
    """
    if fstype not in NO_REPLAY_OPTIONS:
        raise Unsupported(f"{device}: no read-only mount without journal replay is known for {fstype}")
    os.makedirs(RUN_DIR, mode=0o700, exist_ok=True)
    os.chmod(RUN_DIR, 0o700)
    mountpoint = tempfile.mkdtemp(prefix="scan-", dir=RUN_DIR)
    was_ro = _set_read_only(host, device, True)
    try:
        extra = f",sb={superblock}" if superblock is not None else ""
        mount(host, device, mountpoint, fstype=fstype, options=f"{NO_REPLAY_OPTIONS[fstype]},{HARDENING}{extra}")
        try:
            yield mountpoint
        finally:
            umount(host, mountpoint)
    finally:
        if not was_ro:
            _set_read_only(host, device, False)
        with contextlib.suppress(OSError):
            os.rmdir(mountpoint)  # never rmtree: if the umount failed this is still the mounted volume
