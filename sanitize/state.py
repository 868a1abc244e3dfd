"""The state directory: journals, keys, certificates and the archive.

It is created 0700 on first use by a command that must write (erase, keys, archive);
read-only commands (inventory, scan, plan, dry-runs) never create it, so a dry run
leaves no trace on the server's disks. It is never under a world-writable /tmp.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass

from sanitize.errors import PermissionDenied, Refused

DEFAULT_STATE_DIR = "/var/lib/sanitize"
ENV_VAR = "SANITIZE_STATE_DIR"


def default_state_dir() -> str:
    return os.environ.get(ENV_VAR) or DEFAULT_STATE_DIR


@dataclass(frozen=True)
class StateDir:
    path: str

    def exists(self) -> bool:
        return os.path.isdir(self.path)

    def ensure(self) -> StateDir:
        """Create (0700) or check the directory; refuse one that others can read or write."""
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
        except PermissionError:
            raise PermissionDenied(f"{self.path}: cannot create state directory", hint="run as root") from None
        st = os.stat(self.path)
        if st.st_uid != os.geteuid():
            raise Refused(f"{self.path}: state directory is owned by another user")
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(self.path, 0o700)
        return self

    def sub(self, *parts: str, create: bool = True) -> str:
        path = os.path.join(self.path, *parts)
        if create:
            self.ensure()
            os.makedirs(path, mode=0o700, exist_ok=True)
        return path

    def file(self, *parts: str) -> str:
        """Path of a file inside the state directory (its parent created 0700)."""
        *dirs, _ = parts
        if dirs:
            self.sub(*dirs)
        else:
            self.ensure()
        return os.path.join(self.path, *parts)


def write_private(path: str, data: bytes) -> None:
    """Write a file atomically with mode 0600 (fsync'd), for keys, journals and archives.

    On any failure (ENOSPC, EIO) the temporary file is removed and `path` keeps its previous
    content, so a journal is never left half-written or beside a stray `*.tmp.*` file.
    """
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dfd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
