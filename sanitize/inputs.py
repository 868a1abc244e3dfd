"""Read the files a user hands to sanitize: erase results, certificates, keys, configs, archives.

A path given where a file is expected may name anything: a FIFO (reading it would wait for a
writer forever), /dev/zero (it never ends), a directory. `read_regular` opens without blocking,
accepts only regular files and caps the size, raising OSError subclasses so that callers keep
their one-line messages built from `exc.strerror`; `read_input` turns them into BadInput.
"""

from __future__ import annotations

import errno
import os
import stat

from sanitize.errors import BadInput

MAX_INPUT_BYTES = 256 << 20  # far above any certificate, key or result; a bound, not a format limit


class NotRegularFile(OSError):
    def __init__(self, path: str) -> None:
        super().__init__(errno.EINVAL, "not a regular file but a FIFO, socket or device", path)


class InputTooLarge(OSError):
    def __init__(self, path: str, limit: int) -> None:
        super().__init__(errno.EFBIG, f"larger than {limit >> 20} MiB", path)


def read_regular(path: str, *, limit: int | None = MAX_INPUT_BYTES) -> bytes:
    """The whole content of the regular file at `path` (symlinks followed), at most `limit` bytes.

    Raises FileNotFoundError, IsADirectoryError, NotRegularFile, InputTooLarge or another OSError.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", path)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path)
        if limit is not None and st.st_size > limit:
            raise InputTooLarge(path, limit)
        chunks = []
        total = 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if limit is not None and total > limit:  # grew while we read
                raise InputTooLarge(path, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_input(path: str, what: str = "file", *, limit: int | None = MAX_INPUT_BYTES) -> bytes:
    """`read_regular`, with every failure as one BadInput line naming `what` was expected."""
    try:
        return read_regular(path, limit=limit)
    except FileNotFoundError:
        raise BadInput(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory" + ("" if what == "file" else f", not a {what}")) from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read {what} ({exc.strerror})") from None


def read_text_input(path: str, what: str = "file") -> str:
    try:
        return read_input(path, what).decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: {what} is not UTF-8 text") from None
