"""Opening block devices and the ioctls we use on them.

All device opens in the tool go through `open_device`, so the read-only and exclusive
rules live in one place: inventory, scan and carve open read-only; only erase opens for
writing, and then always with O_EXCL so nothing can mount the device meanwhile.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import struct
from dataclasses import dataclass

from sanitize.errors import BadInput, PermissionDenied, Refused

BLKROGET = 0x125E
BLKSSZGET = 0x1268
BLKDISCARD = 0x1277
BLKGETSIZE64 = 0x80081272


def require_block_device(path: str) -> os.stat_result:
    """Raise a one-line BadInput unless `path` names an existing block device."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise BadInput(f"{path}: no such device") from None
    except PermissionError:
        raise PermissionDenied(f"{path}: permission denied", hint="run as root") from None
    if stat.S_ISREG(st.st_mode):
        raise BadInput(f"{path}: is a regular file, not a block device")
    if not stat.S_ISBLK(st.st_mode):
        raise BadInput(f"{path}: not a block device")
    return st


@dataclass
class OpenDevice:
    """An open block device; close it with `close()` or use it as a context manager."""

    path: str
    fd: int
    writable: bool

    def __enter__(self) -> OpenDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    # Data transfer: the erase engine's only way to the medium, so a test can put a faulty
    # device behind the Host. Short transfers are continued; 0 bytes is an EIO.
    def write_at(self, view: memoryview, offset: int) -> None:
        while view:
            written = os.pwrite(self.fd, view, offset)
            if written <= 0:
                raise OSError(errno.EIO, "short write")
            view, offset = view[written:], offset + written

    def read_into(self, view: memoryview, offset: int) -> None:
        while view:
            got = os.preadv(self.fd, [view], offset)
            if got <= 0:
                raise OSError(errno.EIO, "short read")
            view, offset = view[got:], offset + got

    def sync(self) -> None:
        """Flush the device's write cache: after it, what was written is on the medium."""
        os.fsync(self.fd)

    def size_bytes(self) -> int:
        buf = bytearray(8)
        fcntl.ioctl(self.fd, BLKGETSIZE64, buf)
        return int(struct.unpack("=Q", buf)[0])

    def logical_sector_size(self) -> int:
        buf = bytearray(4)
        fcntl.ioctl(self.fd, BLKSSZGET, buf)
        return int(struct.unpack("=i", buf)[0])

    def read_only(self) -> bool:
        buf = bytearray(4)
        fcntl.ioctl(self.fd, BLKROGET, buf)
        return bool(struct.unpack("=i", buf)[0])

    def discard(self, offset: int, length: int) -> None:
        fcntl.ioctl(self.fd, BLKDISCARD, struct.pack("=QQ", offset, length))


def open_device(path: str, *, write: bool = False, direct: bool = False, exclusive: bool = False) -> OpenDevice:
    """Open a block device. Writing always implies O_EXCL (refused while mounted or held)."""
    require_block_device(path)
    flags = os.O_CLOEXEC | (os.O_RDWR if write else os.O_RDONLY)
    if direct:
        flags |= os.O_DIRECT
    if write or exclusive:
        flags |= os.O_EXCL
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            raise Refused(f"{path}: in use (mounted, mapped or open exclusively by another program)") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise PermissionDenied(f"{path}: permission denied", hint="run as root") from None
        if exc.errno == errno.EROFS:
            raise Refused(f"{path}: device is read-only") from None
        if exc.errno in (errno.ENXIO, errno.ENODEV, errno.ENOENT):
            raise BadInput(f"{path}: no such device") from None
        raise
    return OpenDevice(path, fd, write)


def busy_for_exclusive_open(path: str) -> bool:
    """True when the kernel refuses an O_EXCL open: something else holds the device.

    A read-only exclusive open writes nothing; it catches users we cannot see otherwise,
    such as mounts in another mount namespace or another erase in progress.
    """
    try:
        if not stat.S_ISBLK(os.stat(path).st_mode):
            return False
        fd = os.open(path, os.O_RDONLY | os.O_EXCL | os.O_CLOEXEC)
    except OSError as exc:
        return exc.errno == errno.EBUSY
    os.close(fd)
    return False
