"""Files and directories the operator asks sanitize to write (`--output`, `--output-dir`).

Checked before anything else is done, so a typo in a path is found before a device is
erased rather than after; written with the state directory's private-file rules (new
temporary file, O_EXCL|O_NOFOLLOW, 0600, fsync, rename), so a symlink planted where the
output goes is refused up front and never written through.
"""

from __future__ import annotations

import os
import stat

from sanitize.errors import BadInput, PermissionDenied
from sanitize.state import write_private


def _writable_dir(directory: str, option: str) -> None:
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        raise BadInput(f"{option}: directory {directory} does not exist", hint="create it first") from None
    except OSError as exc:
        raise BadInput(f"{option}: cannot use directory {directory} ({exc.strerror})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise BadInput(f"{option}: {directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionDenied(f"{option}: cannot write in {directory}", hint="choose another directory or run as root")
    if os.statvfs(directory).f_flag & os.ST_RDONLY:
        raise BadInput(f"{option}: {directory} is on a read-only filesystem")


def _not_a_link(path: str, option: str) -> os.stat_result | None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BadInput(f"{option}: cannot use {path} ({exc.strerror})") from None
    if stat.S_ISLNK(st.st_mode):
        raise BadInput(
            f"{option}: {path} is a symbolic link; sanitize does not write through links",
            hint=f"give the real path ({os.path.realpath(path)}) if that is where it should go",
        )
    return st


def check_output_file(path: str, option: str = "--output") -> str:
    """The absolute path of an output file that can be written; BadInput (one line) otherwise."""
    path = os.path.abspath(path)
    st = _not_a_link(path, option)
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise BadInput(f"{option}: {path} is a directory, not a file")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise BadInput(f"{option}: {path} exists and is not a regular file")
    _writable_dir(os.path.dirname(path), option)
    return path


def check_output_dir(path: str, option: str = "--output-dir") -> str:
    """The absolute path of an output directory that exists and is writable, or can be created."""
    path = os.path.abspath(path)
    st = _not_a_link(path, option)
    if st is None:
        _writable_dir(os.path.dirname(path), option)
    elif not stat.S_ISDIR(st.st_mode):
        raise BadInput(f"{option}: {path} is not a directory")
    else:
        _writable_dir(path, option)
    return path


def make_output_dir(path: str, option: str = "--output-dir") -> str:
    """`check_output_dir`, then create it 0700 when missing."""
    path = check_output_dir(path, option)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise BadInput(f"{option}: cannot create {path} ({exc.strerror})") from None
    return check_output_dir(path, option)


def write_output(path: str, data: bytes, option: str = "--output") -> None:
    """Write a checked output file privately and atomically; one BadInput line on failure."""
    try:
        write_private(path, data)
    except OSError as exc:
        raise BadInput(f"{option}: cannot write {path} ({exc.strerror})") from None
