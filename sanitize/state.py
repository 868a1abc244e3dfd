"""The state directory: journals, keys, result records, certificates and the archive.

It is created 0700 on first use by a command that must write (erase, keys, archive);
read-only commands (inventory, scan, plan, dry-runs) never create it, so a dry run
leaves no trace on the server's disks.

Everything in it is trusted (the signing key, the records of what the erase engine did),
so nobody but its owner may be able to change it: an existing state directory, or any
directory inside it, that is a symbolic link, belongs to another user or is writable by
group or others is refused, never repaired, because someone else may already have planted
something in it. Its parents must not let others swap it either (writable by others only
with the sticky bit, like /tmp). Files are written by `write_private`: a new temporary
file (O_EXCL|O_NOFOLLOW, 0600, random name), fsync, rename over the target, fsync of the
directory; so a planted link or a file someone else holds open is never written through.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass

from sanitize.errors import BadInput, PermissionDenied, Refused

DEFAULT_STATE_DIR = "/var/lib/sanitize"
ENV_VAR = "SANITIZE_STATE_DIR"
TMP_INFIX = ".tmp."  # temporary files are ".<name>.tmp.<random>"; readers skip them

_FIX = "remove it (sanitize creates it 0700) or, if you trust what is in it, chown it to this user and chmod 0700"


def default_state_dir() -> str:
    return os.environ.get(ENV_VAR) or DEFAULT_STATE_DIR


def _unsafe(path: str, why: str) -> Refused:
    return Refused(f"{path}: unsafe state directory: {why}", hint=_FIX)


def check_private_dir(path: str, *, readers_ok: bool = False) -> os.stat_result:
    """Refuse a directory that someone other than this user could change (or that is a link).

    `readers_ok`: only reading from it; a directory of root's is then acceptable too (an
    auditor running `cert verify` without root must not be refused root's state directory).
    """
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise _unsafe(path, "it is a symbolic link")
    if not stat.S_ISDIR(st.st_mode):  # broken rather than hostile: the same error os.makedirs gave
        raise NotADirectoryError(errno.ENOTDIR, "not a directory (a file is in the way)", path)
    owners = {os.geteuid(), 0} if readers_ok else {os.geteuid()}
    if st.st_uid not in owners:
        raise _unsafe(path, f"it belongs to uid {st.st_uid}, not to uid {os.geteuid()} running sanitize")
    if stat.S_IMODE(st.st_mode) & 0o022:
        raise _unsafe(path, f"it is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})")
    return st


def check_parents(path: str) -> None:
    """Refuse a location whose parent directories let another user rename or replace it."""
    current = os.path.dirname(os.path.abspath(path))
    while True:
        try:
            st = os.stat(current)
        except OSError:
            st = None
        if st is not None:
            mode = stat.S_IMODE(st.st_mode)
            if st.st_uid not in (0, os.geteuid()):
                raise _unsafe(path, f"its parent {current} belongs to uid {st.st_uid}, who could replace it")
            if mode & 0o022 and not mode & stat.S_ISVTX:
                why = f"its parent {current} is writable by others (mode {mode:04o}) without the sticky bit"
                raise _unsafe(path, why)
        parent = os.path.dirname(current)
        if parent == current:
            return
        current = parent


def make_private_dir(path: str) -> str:
    """Create `path` 0700 (its parent must exist and be checked), or check the existing one."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except PermissionError:
        raise PermissionDenied(f"{path}: cannot create directory", hint="run as root") from None
    st = check_private_dir(path)
    if stat.S_IMODE(st.st_mode) & 0o077:  # ours and not writable by others: only tighten reading
        os.chmod(path, 0o700)
    return path


@dataclass(frozen=True)
class StateDir:
    path: str

    def exists(self) -> bool:
        return os.path.isdir(self.path)

    def ensure(self) -> StateDir:
        """Create (0700) or check the directory; refuse one that others could change."""
        check_parents(self.path)
        parent = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(parent, mode=0o755, exist_ok=True)
        except PermissionError:
            raise PermissionDenied(f"{self.path}: cannot create state directory", hint="run as root") from None
        except FileExistsError:
            raise BadInput(f"{self.path}: cannot create state directory (a parent is not a directory)") from None
        make_private_dir(self.path)
        return self

    def check(self) -> StateDir:
        """For readers: refuse an existing state directory that others could have written to."""
        if os.path.lexists(self.path):
            check_parents(self.path)
            check_private_dir(self.path, readers_ok=True)
        return self

    def sub(self, *parts: str, create: bool = True) -> str:
        """A directory inside the state directory, every level created 0700 or checked."""
        if create:
            self.ensure()
        else:
            self.check()
        path = self.path
        for part in parts:
            path = os.path.join(path, part)
            if create:
                make_private_dir(path)
            elif os.path.lexists(path):
                check_private_dir(path, readers_ok=True)
        return path

    def file(self, *parts: str) -> str:
        """Path of a file inside the state directory (its parents created 0700 and checked)."""
        *dirs, name = parts
        return os.path.join(self.sub(*dirs), name)

    def existing(self, *parts: str) -> str:
        """Path of a file to read inside the state directory (its parents checked, none created)."""
        *dirs, name = parts
        return os.path.join(self.sub(*dirs, create=False), name)


def write_private(path: str, data: bytes, *, mode: int = 0o600) -> None:
    """Write a file atomically with mode 0600 (fsync'd): keys, journals, records, certificates.

    The data goes to a new file with an unpredictable name, created O_EXCL|O_NOFOLLOW, which is
    then renamed over `path`: a symlink or hard link planted at `path` or at any temporary name
    is replaced or refused, never written through. On any failure (ENOSPC, EIO) the temporary
    file is removed and `path` keeps its previous content, so a journal is never left
    half-written or beside a stray temporary file.
    """
    directory, name = os.path.split(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(16):
        tmp = os.path.join(directory, f".{name}{TMP_INFIX}{os.urandom(8).hex()}")
        try:
            fd = os.open(tmp, flags, 0o600)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 16 collisions of 64 random bits
        raise OSError(errno.EEXIST, "cannot create a temporary file", directory)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def create_private_once(path: str, data: bytes) -> bool:
    """Create `path` 0600 with `data` unless it exists; False when it already did.

    Two processes racing to create it agree on one content: the file is complete before it
    is linked into place, and link(2) never replaces an existing name.
    """
    if os.path.lexists(path):
        return False
    tmp = f"{path}{TMP_INFIX}{os.urandom(8).hex()}"
    write_private(tmp, data)
    try:
        os.link(tmp, path, follow_symlinks=False)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def read_private(path: str, *, limit: int = 256 << 20) -> bytes:
    """A file of the state directory: a regular file, never through a symlink, never blocking."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"larger than {limit >> 20} MiB", path)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
