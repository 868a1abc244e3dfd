"""Open a path without following a symbolic link in ANY of its components.

O_NOFOLLOW only guards the last component: if someone who can write in a scanned tree
renames a directory and puts a symlink in its place, `/scan/root/a/b.db` silently resolves
to `/elsewhere/b.db`. The scan's roots are resolved once (`realpath`), so every path the walk
builds has no legitimate symlink in it; a symlink met while opening one was swapped in, and
the open fails (ELOOP) instead of leaving the tree.

Linux 5.6+ does this in one call, openat2(2) with RESOLVE_NO_SYMLINKS (Python has no
binding for it yet, hence ctypes); older kernels and seccomp filters that refuse it get the
same guarantee from opening one component at a time with O_NOFOLLOW under the previous
component's descriptor.
"""

from __future__ import annotations

import ctypes
import errno
import os

_SYS_OPENAT2 = 437  # the same number on every Linux architecture (asm-generic)
_AT_FDCWD = -100
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_NO_SYMLINKS = 0x04
_O_PATH = getattr(os, "O_PATH", 0)


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc: ctypes.CDLL | None
try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _libc.syscall.restype = ctypes.c_long
except (OSError, AttributeError):  # pragma: no cover - not Linux/glibc
    _libc = None
_openat2_works = _libc is not None


def _openat2(path: str, flags: int) -> int:
    assert _libc is not None
    how = _OpenHow(flags, 0, _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS)
    fd = _libc.syscall(
        ctypes.c_long(_SYS_OPENAT2),
        ctypes.c_int(_AT_FDCWD),
        ctypes.c_char_p(os.fsencode(path)),
        ctypes.byref(how),
        ctypes.c_size_t(ctypes.sizeof(how)),
    )
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return int(fd)


def _walk(path: str, flags: int) -> int:
    """One component at a time, each O_NOFOLLOW under the previous one's descriptor."""
    parts = [p for p in path.split("/") if p and p != "."]
    if ".." in parts:
        raise OSError(errno.EINVAL, "'..' in a scanned path", path)
    current = os.open("/" if path.startswith("/") else ".", os.O_DIRECTORY | _O_PATH | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, os.O_DIRECTORY | os.O_NOFOLLOW | _O_PATH | os.O_CLOEXEC, dir_fd=current)
            os.close(current)
            current = nxt
        if not parts:
            return os.open(".", flags, dir_fd=current)
        return os.open(parts[-1], flags | os.O_NOFOLLOW, dir_fd=current)
    finally:
        os.close(current)


def open_no_symlinks(path: str, flags: int) -> int:
    """`os.open(path, flags)`, failing with ELOOP if any component of `path` is a symlink."""
    global _openat2_works
    if _openat2_works:
        try:
            return _openat2(path, flags)
        except OSError as exc:
            if exc.errno != errno.ENOSYS:  # an old kernel, or a seccomp filter that hides the call
                raise
            _openat2_works = False
    return _walk(path, flags)
