"""Opening block devices and the ioctls we use on them (the real machine's side of `OpenDevice`).

Every open goes through `open_block_device`, so the read-only and exclusive rules live in one
place: inventory, scan and carve open read-only; only erase opens for writing, and then always
with O_EXCL so nothing can mount the device meanwhile.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import struct
from types import TracebackType
from typing import Self

from sanitize.errors import BadInput, PermissionDenied, Refused

BLKROSET = 0x125D
BLKROGET = 0x125E
BLKSSZGET = 0x1268
BLKDISCARD = 0x1277
BLKGETSIZE64 = 0x80081272


def block_device_number(path: str) -> str:
    """ "major:minor" of the block device at `path`; one-line BadInput for anything else."""
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
    return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"


class FdDevice:
    """An open file descriptor with the positioned I/O every `OpenDevice` offers."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
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


class BlockDevice(FdDevice):
    """An open block device; sizes and flags come from the kernel's block ioctls."""

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

    def set_read_only(self, read_only: bool) -> bool:
        previous = self.read_only()
        fcntl.ioctl(self.fd, BLKROSET, struct.pack("=i", 1 if read_only else 0))
        return previous

    def discard(self, offset: int, length: int) -> None:
        fcntl.ioctl(self.fd, BLKDISCARD, struct.pack("=QQ", offset, length))


class RegularFile(FdDevice):
    """A regular file the user named (a detached LUKS header), read and written like a device."""

    def size_bytes(self) -> int:
        return os.fstat(self.fd).st_size

    def logical_sector_size(self) -> int:
        return 512

    def read_only(self) -> bool:
        return False

    def set_read_only(self, read_only: bool) -> bool:
        raise Refused(f"{self.path}: a regular file has no device read-only flag")

    def discard(self, offset: int, length: int) -> None:
        raise Refused(f"{self.path}: a regular file cannot be discarded")


def _open_error(path: str, exc: OSError) -> Exception:
    if exc.errno == errno.EBUSY:
        return Refused(f"{path}: in use (mounted, mapped or open exclusively by another program)")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return PermissionDenied(f"{path}: permission denied", hint="run as root")
    if exc.errno == errno.EROFS:
        return Refused(f"{path}: device is read-only")
    if exc.errno in (errno.ENXIO, errno.ENODEV, errno.ENOENT):
        return BadInput(f"{path}: no such device")
    return exc


def open_block_device(path: str, *, write: bool = False, direct: bool = False, exclusive: bool = False) -> BlockDevice:
    """Open a block device. Writing always implies O_EXCL (refused while mounted or held)."""
    block_device_number(path)
    flags = os.O_CLOEXEC | (os.O_RDWR if write else os.O_RDONLY)
    if direct:
        flags |= os.O_DIRECT
    if write or exclusive:
        flags |= os.O_EXCL
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _open_error(path, exc) from None
    return BlockDevice(path, fd)


def open_regular_file(path: str, *, write: bool = False) -> RegularFile:
    flags = os.O_CLOEXEC | (os.O_RDWR if write else os.O_RDONLY)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _open_error(path, exc) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BadInput(f"{path}: not a regular file")
    return RegularFile(path, fd)


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
