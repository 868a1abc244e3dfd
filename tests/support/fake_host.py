"""A Host whose devices may be regular files, for tests without loop devices or root."""

from __future__ import annotations

import os
import stat

from sanitize.hw import blockio
from sanitize.hw.host import Host


class FileDevice(blockio.OpenDevice):
    """A regular file opened like a block device, for tests without loop devices."""

    def size_bytes(self) -> int:
        return os.fstat(self.fd).st_size

    def logical_sector_size(self) -> int:
        return 512


class FileHost(Host):
    """A Host whose devices may be regular files (everything else unchanged)."""

    def open_device(
        self, path: str, *, write: bool = False, direct: bool = False, exclusive: bool = False
    ) -> blockio.OpenDevice:
        if os.path.exists(path) and stat.S_ISREG(os.stat(path).st_mode):
            fd = os.open(path, (os.O_RDWR if write else os.O_RDONLY) | os.O_CLOEXEC)
            return FileDevice(path, fd, write)
        return super().open_device(path, write=write, direct=direct, exclusive=exclusive)
