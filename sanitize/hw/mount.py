"""Mounting and unmounting filesystems (argv lists through `hw.commands`).

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
import fcntl
import os
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from sanitize.errors import Unsupported
from sanitize.hw import commands
from sanitize.hw.host import Host

BLKROSET = 0x125D
BLKROGET = 0x125E
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


def read_only_options(fstype: str) -> str:
    return NO_REPLAY_OPTIONS.get(fstype, "ro")


def mount(dev: str, target: str, *, fstype: str | None = None, options: str | None = None) -> None:
    argv = ["mount"]
    if fstype:
        argv += ["-t", fstype]
    if options:
        argv += ["-o", options]
    commands.run([*argv, dev, target], timeout=60, check=True)


def umount(target: str, *, lazy_fallback: bool = True) -> bool:
    """Unmount; returns False when only a lazy unmount succeeded (something still held it)."""
    if commands.run(["umount", target], timeout=60).ok:
        return True
    if lazy_fallback:
        commands.run(["umount", "-l", target], timeout=60, check=True)
        return False
    commands.run(["umount", target], timeout=60, check=True)
    return True


def mounted_targets() -> set[str]:
    """Every mountpoint currently mounted in our namespace."""
    return {m.mountpoint for m in Host().mounts()}


def is_mounted(target: str) -> bool:
    return os.path.realpath(target) in mounted_targets()


def _set_ro(path: str, read_only: bool) -> bool:
    """Set the device's kernel read-only flag; return the previous value."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        buf = bytearray(4)
        fcntl.ioctl(fd, BLKROGET, buf)
        previous = bool(struct.unpack("=i", buf)[0])
        fcntl.ioctl(fd, BLKROSET, struct.pack("=i", 1 if read_only else 0))
        return previous
    finally:
        os.close(fd)


@contextmanager
def mounted_readonly(device: str, fstype: str) -> Iterator[str]:
    """Mount `device` read-only without journal replay on a private mountpoint; yield it."""
    if fstype not in NO_REPLAY_OPTIONS:
        raise Unsupported(f"{device}: no read-only mount without journal replay is known for {fstype}")
    os.makedirs(RUN_DIR, mode=0o700, exist_ok=True)
    os.chmod(RUN_DIR, 0o700)
    mountpoint = tempfile.mkdtemp(prefix="scan-", dir=RUN_DIR)
    was_ro = _set_ro(device, True)
    try:
        mount(device, mountpoint, fstype=fstype, options=f"{NO_REPLAY_OPTIONS[fstype]},{HARDENING}")
        try:
            yield mountpoint
        finally:
            umount(mountpoint)
    finally:
        if not was_ro:
            _set_ro(device, False)
        with contextlib.suppress(OSError):
            os.rmdir(mountpoint)  # never rmtree: if the umount failed this is still the mounted volume
