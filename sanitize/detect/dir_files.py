"""Small, safe reads for directory detectors that must peek at a member file.

Members are opened without following symlinks and only if they are regular files, so a FIFO
or device node planted in a scanned tree is never opened for reading (a FIFO would block).
"""

from __future__ import annotations

import os
import stat


def read_head(path: str, length: int, offset: int = 0) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return os.pread(fd, length, offset)
    except OSError:
        return b""
    finally:
        os.close(fd)


def is_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def is_dir(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def file_size(path: str) -> int:
    try:
        st = os.lstat(path)
    except OSError:
        return -1
    return st.st_size if stat.S_ISREG(st.st_mode) else -1


def list_dir(path: str, limit: int = 10_000) -> list[str]:
    """Names in a directory, at most `limit` of them (a huge directory costs no more)."""
    out: list[str] = []
    try:
        with os.scandir(path) as it:
            for entry in it:
                out.append(entry.name)
                if len(out) >= limit:
                    break
    except OSError:
        return []
    return out
