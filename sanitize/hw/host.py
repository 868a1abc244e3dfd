"""`Host`: the one way from `sanitize` to the machine.

Everything that reads or changes the machine goes through a `Host` that the caller was given:
sysfs, /proc and udev reads, device nodes and opens (and with them every ioctl), external
commands (and so every mount, loop device and filesystem query), helper processes, and the
question whether we run as root. Nothing in the tool builds one for itself: the command line
builds the real one (`sanitize.hw.linux.LinuxHost`) once, and tests pass a fake
(tests/support/fake_host.py) or the real one pointed at a recorded sysfs tree. Code under
test therefore cannot reach the real machine by accident.

Operations built from these primitives (mounting read-only, loop devices, filesystem
allocation maps, blkid) are functions in this package that take the host.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from sanitize.hw.commands import REDACTED, CommandLog, CommandResult


@dataclass(frozen=True)
class Mount:
    devno: str  # "major:minor" as in mountinfo
    source: str
    mountpoint: str
    fstype: str
    options: tuple[str, ...]


class OpenDevice(Protocol):
    """An open block device (or a file standing in for one); use it as a context manager.

    `read_into` and `write_at` move the whole view at `offset` (a short transfer is
    continued, none at all is EIO); the ioctls are the only other ways to talk to the device.
    """

    path: str

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def close(self) -> None: ...

    def size_bytes(self) -> int: ...

    def logical_sector_size(self) -> int: ...

    def read_only(self) -> bool: ...

    def set_read_only(self, read_only: bool) -> bool:
        """Set the kernel's read-only flag for the device; returns the previous value."""
        ...

    def discard(self, offset: int, length: int) -> None: ...

    def read_into(self, view: memoryview, offset: int) -> None: ...

    def write_at(self, view: memoryview, offset: int) -> None: ...

    def sync(self) -> None:
        """Flush the device's write cache: after it, what was written is on the medium."""
        ...


class Host(Protocol):
    command_log: CommandLog  # every command run through this host, for results and logs

    # --- what the kernel says about the machine -----------------------------------------
    def read_sys(self, *parts: str) -> str | None:
        """A sysfs attribute, stripped; None when it does not exist or cannot be read."""
        ...

    def read_sys_bytes(self, *parts: str, limit: int = 4096) -> bytes | None: ...

    def list_sys(self, *parts: str) -> list[str]: ...

    def sys_realpath(self, *parts: str) -> str: ...

    def sys_is_dir(self, *parts: str) -> bool: ...

    def read_proc(self, *parts: str) -> str: ...

    def udev(self, name: str) -> Mapping[str, str]:
        """udev properties of block device `name` (only uevent keys when udevd is not running)."""
        ...

    def mounts(self) -> list[Mount]: ...

    def swaps(self) -> list[str]: ...

    def running_from(self) -> set[str]:
        """major:minor of the filesystems this tool runs from (interpreter, package, prefix)."""
        ...

    def hostname(self) -> str: ...

    def machine_id(self) -> str | None: ...

    def kernel_release(self) -> str: ...

    def is_root(self) -> bool: ...

    # --- commands and processes -------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = 120,
        input: str | bytes | None = None,
        check: bool = False,
        secret: str | None = None,
        redacted_as: str = REDACTED,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        process_group: bool = False,
    ) -> CommandResult:
        """Run argv with LC_ALL=C, log it to `command_log` (see `sanitize.hw.commands.run`: `env`
        adds to the environment, `process_group` kills a tool and all it started on a timeout)."""
        ...

    def have(self, program: str) -> bool: ...

    def spawn(self, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """Start a helper process fed on its stdin (stdout and stderr discarded)."""
        ...

    # --- device nodes -----------------------------------------------------------------------
    def devnode(self, name: str) -> str: ...

    def block_device_number(self, path: str) -> str:
        """ "major:minor" of the block device at `path`; BadInput (or PermissionDenied) otherwise."""
        ...

    def open_device(
        self, path: str, *, write: bool = False, direct: bool = False, exclusive: bool = False
    ) -> OpenDevice:
        """Open a block device; writing always implies O_EXCL (refused while mounted or held)."""
        ...

    def open_file(self, path: str, *, write: bool = False) -> OpenDevice:
        """A regular file the user named (a detached LUKS header), opened like a device."""
        ...

    def busy_for_exclusive_open(self, path: str) -> bool:
        """True when the kernel refuses an exclusive open: something else holds the device."""
        ...


def unescape_mount(path: str) -> str:
    """mountinfo and /proc/swaps escape space, tab, newline and backslash as octal."""
    out, i = [], 0
    while i < len(path):
        if path[i] == "\\" and len(path[i + 1 : i + 4]) == 3 and path[i + 1 : i + 4].isdigit():
            out.append(chr(int(path[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    result = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 6 or len(rest) < 2:
            continue
        result.append(
            Mount(
                devno=fields[2],
                source=unescape_mount(rest[1]),
                mountpoint=unescape_mount(fields[4]),
                fstype=rest[0],
                options=tuple(fields[5].split(",")),
            )
        )
    return result


def parse_swaps(text: str) -> list[str]:
    return [unescape_mount(line.split()[0]) for line in text.splitlines()[1:] if line.strip()]
