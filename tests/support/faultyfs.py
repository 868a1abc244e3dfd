"""A one-file FUSE filesystem whose file fails reads and writes in one byte range.

Used to inject real I/O errors under a loop device (the kernel turns the EIO from the
FUSE daemon into a block-layer error), so the overwrite engine's bad-sector handling is
tested end to end without device-mapper. Test-only dependency: `mfusepy` (pip) on top of
libfuse3 (apt `fuse3`).

Run: python -m tests.support.faultyfs BACKING_FILE MOUNTPOINT BAD_OFFSET BAD_LENGTH
It serves MOUNTPOINT/disk.img in the foreground until unmounted.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from typing import Any

import mfusepy as fuse

NAME = "disk.img"


class FaultyFile(fuse.Operations):
    use_ns = True

    def __init__(self, backing: str, bad_offset: int, bad_length: int) -> None:
        self.fd = os.open(backing, os.O_RDWR)
        self.size = os.fstat(self.fd).st_size
        self.bad = (bad_offset, bad_offset + bad_length)

    def _check(self, offset: int, size: int) -> None:
        if offset < self.bad[1] and offset + size > self.bad[0]:
            raise fuse.FuseOSError(errno.EIO)

    def getattr(self, path: str, fh: Any = None) -> dict[str, Any]:
        if path == "/":
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        if path == "/" + NAME:
            return {"st_mode": stat.S_IFREG | 0o600, "st_nlink": 1, "st_size": self.size}
        raise fuse.FuseOSError(errno.ENOENT)

    def readdir(self, path: str, fh: Any) -> list[str]:
        return [".", "..", NAME]

    def open(self, path: str, fi: Any) -> int:
        # Bypass the page cache so every loop request reaches us with its exact range.
        fi.direct_io = 1
        fi.fh = 0
        return 0

    def read(self, path: str, size: int, offset: int, fh: Any) -> bytes:
        self._check(offset, size)
        return os.pread(self.fd, size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: Any) -> int:
        self._check(offset, len(data))
        return os.pwrite(self.fd, data, offset)

    def truncate(self, path: str, length: int, fh: Any = None) -> int:
        return 0

    def fsync(self, path: str, datasync: int, fh: Any) -> int:
        os.fsync(self.fd)
        return 0

    def flush(self, path: str, fh: Any) -> int:
        return 0


def main() -> None:
    backing, mountpoint, bad_offset, bad_length = sys.argv[1:5]
    ops = FaultyFile(backing, int(bad_offset), int(bad_length))
    fuse.FUSE(ops, mountpoint, foreground=True, nothreads=True, raw_fi=True)


if __name__ == "__main__":
    main()
