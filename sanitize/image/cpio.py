"""A `newc` cpio writer: the format the Linux kernel unpacks as its initramfs.

Written here rather than by GNU cpio so the archive is reproducible without post-processing:
entries are sorted, inode numbers sequential, modification times clamped to SOURCE_DATE_EPOCH,
and hard links stored as separate files (the kernel's unpacker needs no link bookkeeping then).
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
_CHUNK = 1 << 20


class NewcWriter:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._ino = 1
        self._pos = 0

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._pos += len(data)

    def _pad(self) -> None:
        self._write(b"\0" * (-self._pos % 4))

    def _header(
        self,
        name: str,
        mode: int,
        size: int,
        *,
        uid: int = 0,
        gid: int = 0,
        mtime: int = 0,
        nlink: int = 1,
        rdev: int = 0,
    ) -> None:
        encoded = name.encode("utf-8", "surrogateescape") + b"\0"
        fields = (
            self._ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            size,
            0,
            0,
            os.major(rdev),
            os.minor(rdev),
            len(encoded),
            0,
        )
        self._ino += 1
        self._write(MAGIC + "".join(f"{v:08x}" for v in fields).encode() + encoded)
        self._pad()

    def directory(self, name: str, perm: int = 0o755, *, mtime: int = 0, uid: int = 0, gid: int = 0) -> None:
        self._header(name, stat.S_IFDIR | perm, 0, uid=uid, gid=gid, mtime=mtime, nlink=2)

    def file(self, name: str, data: bytes, perm: int = 0o644, *, mtime: int = 0, uid: int = 0, gid: int = 0) -> None:
        self._header(name, stat.S_IFREG | perm, len(data), uid=uid, gid=gid, mtime=mtime)
        self._write(data)
        self._pad()

    def file_from(self, name: str, path: str, st: os.stat_result, *, mtime: int) -> None:
        """A regular file copied from `path` in chunks (some are hundreds of MiB)."""
        self._header(name, st.st_mode, st.st_size, uid=st.st_uid, gid=st.st_gid, mtime=mtime)
        left = st.st_size
        with open(path, "rb") as fh:
            while left > 0:
                chunk = fh.read(min(_CHUNK, left))
                if not chunk:
                    raise OSError(f"{path}: shrank while being archived")
                self._write(chunk)
                left -= len(chunk)
        self._pad()

    def symlink(self, name: str, target: str, *, mtime: int = 0, uid: int = 0, gid: int = 0) -> None:
        data = target.encode("utf-8", "surrogateescape")
        self._header(name, stat.S_IFLNK | 0o777, len(data), uid=uid, gid=gid, mtime=mtime)
        self._write(data)
        self._pad()

    def node(self, name: str, st: os.stat_result, *, mtime: int) -> None:
        """A character or block device node (for /dev/console before devtmpfs is mounted)."""
        self._header(name, st.st_mode, 0, uid=st.st_uid, gid=st.st_gid, mtime=mtime, rdev=st.st_rdev)

    def finish(self) -> None:
        self._header(TRAILER, 0, 0, nlink=1)
        # The kernel reads the archive in 512-byte blocks, like cpio(1) writes it.
        self._write(b"\0" * (-self._pos % 512))


def write_tree(root: str, out: BinaryIO, *, clamp_mtime: int) -> int:
    """Archive everything under `root` (sorted, root-relative names); returns the entry count.

    Sockets and FIFOs are left out: nothing in a freshly built root needs them.
    """
    writer = NewcWriter(out)
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted([*dirnames, *filenames]):
            path = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            st = os.lstat(path)
            mtime = min(int(st.st_mtime), clamp_mtime)
            if stat.S_ISDIR(st.st_mode):
                perm = stat.S_IMODE(st.st_mode)
                writer.directory(rel, perm, mtime=mtime, uid=st.st_uid, gid=st.st_gid)
            elif stat.S_ISREG(st.st_mode):
                writer.file_from(rel, path, st, mtime=mtime)
            elif stat.S_ISLNK(st.st_mode):
                writer.symlink(rel, os.readlink(path), mtime=mtime, uid=st.st_uid, gid=st.st_gid)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                writer.node(rel, st, mtime=mtime)
            else:
                continue
            count += 1
    writer.finish()
    return count
