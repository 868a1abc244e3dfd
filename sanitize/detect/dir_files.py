"""Small, safe reads for directory detectors that must peek at a member file.

Every path is opened without following a symlink in any component (see
`sanitize.detect.nofollow`) and non-blocking, and a member is read only if it is a regular
file: a FIFO or device node planted in a scanned tree is never read (a FIFO would block),
and a directory swapped for a symlink cannot lead a detector out of the tree.
"""

from __future__ import annotations

import os
import stat

from sanitize.detect.nofollow import open_no_symlinks

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_NOATIME = getattr(os, "O_NOATIME", 0)  # a forensic scan leaves access times alone
_PATH_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_CLOEXEC


def open_file(path: str) -> int | None:
    """A read-only descriptor of the regular file at `path`, or None (absent, not regular, a link)."""
    try:
        fd = open_no_symlinks(path, _FLAGS | _NOATIME)
    except PermissionError:  # O_NOATIME needs ownership (or CAP_FOWNER): try again without it
        try:
            fd = open_no_symlinks(path, _FLAGS)
        except OSError:
            return None
    except OSError:
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def read_head(path: str, length: int, offset: int = 0) -> bytes:
    fd = open_file(path)
    if fd is None:
        return b""
    try:
        return os.pread(fd, length, offset)
    except OSError:
        return b""
    finally:
        os.close(fd)


def _lstat(path: str) -> os.stat_result | None:
    try:
        fd = open_no_symlinks(path, _PATH_FLAGS)
    except OSError:
        return None
    try:
        return os.fstat(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def is_file(path: str) -> bool:
    st = _lstat(path)
    return st is not None and stat.S_ISREG(st.st_mode)


def is_dir(path: str) -> bool:
    st = _lstat(path)
    return st is not None and stat.S_ISDIR(st.st_mode)


def file_size(path: str) -> int:
    st = _lstat(path)
    return st.st_size if st is not None and stat.S_ISREG(st.st_mode) else -1


def list_dir(path: str, limit: int = 10_000) -> list[str]:
    """Names in a directory, at most `limit` of them (a huge directory costs no more)."""
    try:
        fd = open_no_symlinks(path, _FLAGS | os.O_DIRECTORY)
    except OSError:
        return []
    out: list[str] = []
    try:
        with os.scandir(fd) as it:
            for entry in it:
                out.append(entry.name)
                if len(out) >= limit:
                    break
    except OSError:
        return []
    finally:
        os.close(fd)
    return out
