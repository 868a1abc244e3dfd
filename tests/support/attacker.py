"""An unprivileged local user for the trust-boundary tests, and a watch on what gets opened.

`as_nobody` runs a command as `nobody` (setpriv drops every privilege: uid, gid, groups);
`attacker_dir` makes a directory that user can write, in a place a root process could be
pointed at. `OpenWatch` records every open(2) of a file or directory outside the scanned tree
(inotify IN_OPEN), which is how the tests prove "nothing was opened outside the tree".
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

NOBODY = 65534
# The attacker's scripts use the system interpreter and the standard library only.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def nobody_argv(argv: Sequence[str]) -> list[str]:
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *argv]


def as_nobody(argv: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(nobody_argv(argv), capture_output=True, text=True, check=True, timeout=60, **kwargs)  # type: ignore[call-overload]


def nobody_python(code: str) -> subprocess.CompletedProcess[str]:
    return as_nobody([PYTHON, "-c", code])


@contextmanager
def public_tmp() -> Iterator[str]:
    """A root-owned directory under /tmp that others may traverse (0711), removed afterwards."""
    path = tempfile.mkdtemp(prefix="sanitize-attack-", dir="/tmp")
    os.chmod(path, 0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def attacker_dir(parent: str, name: str = "attacker") -> str:
    """A directory the unprivileged user owns, as one it made in /tmp would be."""
    path = os.path.join(parent, name)
    os.mkdir(path)
    os.chown(path, NOBODY, NOBODY)
    os.chmod(path, 0o755)
    return path


IN_OPEN = 0x20
IN_NONBLOCK = 0o4000


class OpenWatch:
    """Counts IN_OPEN events on the watched paths (files, and directories being listed)."""

    def __init__(self, paths: Sequence[str]) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.names: dict[int, str] = {}
        for path in paths:
            wd = libc.inotify_add_watch(self.fd, os.fsencode(path), IN_OPEN)
            if wd < 0:
                raise OSError(ctypes.get_errno(), "inotify_add_watch", path)
            self.names[wd] = path

    def opened(self) -> list[str]:
        out = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            pos = 0
            while pos < len(data):
                wd, _mask, _cookie, length = struct.unpack_from("iIII", data, pos)
                name = data[pos + 16 : pos + 16 + length].rstrip(b"\0").decode()
                out.append(os.path.join(self.names.get(wd, "?"), name))
                pos += 16 + length

    def close(self) -> None:
        os.close(self.fd)
