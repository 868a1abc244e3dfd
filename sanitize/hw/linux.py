"""The real machine: `LinuxHost`, the implementation of `Host` the command line runs with.

Tests may point it at a recorded sysfs tree (`sys_root=`), recorded /proc (`proc_root=`),
recorded udev properties (`udev=`) or a fake command runner (`runner=`); everything else
it does is what the machine does.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sanitize.errors import ToolMissing
from sanitize.hw import blockio, commands
from sanitize.hw.host import Mount, parse_mountinfo, parse_swaps

UdevSource = Callable[[str], Mapping[str, str]]
MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")


@functools.cache
def _udev_context() -> Any:
    """One pyudev context per process: each new one looks libudev up again, and ctypes'
    find_library runs `ldconfig -p` for that, once per device of the inventory."""
    import pyudev

    return pyudev.Context()


def pyudev_properties(name: str) -> Mapping[str, str]:
    """udev properties of block device `name`; only uevent keys when udevd is not running."""
    try:
        import pyudev

        device = pyudev.Devices.from_name(_udev_context(), "block", name)
        return {str(k): str(v) for k, v in device.properties.items()}
    except Exception:  # pyudev raises several unrelated types for a vanished device
        return {}


@dataclass
class LinuxHost:
    sys_root: str = "/sys"
    proc_root: str = "/proc"
    dev_root: str = "/dev"
    udev_source: UdevSource = pyudev_properties
    runner: commands.Runner = commands.run
    command_log: commands.CommandLog = field(default_factory=commands.CommandLog)

    # --- sysfs, /proc, udev ------------------------------------------------------------
    def _sys_path(self, *parts: str) -> str:
        return os.path.join(self.sys_root, *parts)

    def read_sys(self, *parts: str) -> str | None:
        try:
            with open(self._sys_path(*parts), encoding="utf-8", errors="replace") as fh:
                return fh.read().strip()
        except OSError:
            return None

    def read_sys_bytes(self, *parts: str, limit: int = 4096) -> bytes | None:
        try:
            with open(self._sys_path(*parts), "rb") as fh:
                return fh.read(limit)
        except OSError:
            return None

    def list_sys(self, *parts: str) -> list[str]:
        try:
            return sorted(os.listdir(self._sys_path(*parts)))
        except OSError:
            return []

    def sys_realpath(self, *parts: str) -> str:
        return os.path.realpath(self._sys_path(*parts))

    def sys_is_dir(self, *parts: str) -> bool:
        return os.path.isdir(self._sys_path(*parts))

    def read_proc(self, *parts: str) -> str:
        try:
            with open(os.path.join(self.proc_root, *parts), encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except OSError:
            return ""

    def udev(self, name: str) -> Mapping[str, str]:
        return self.udev_source(name)

    def mounts(self) -> list[Mount]:
        return parse_mountinfo(self.read_proc("self", "mountinfo"))

    def swaps(self) -> list[str]:
        return parse_swaps(self.read_proc("swaps"))

    def running_from(self) -> set[str]:
        out = set()
        for path in (sys.executable, os.path.dirname(os.path.dirname(os.path.abspath(__file__))), sys.prefix):
            try:
                st = os.stat(path)
            except OSError:
                continue
            out.add(f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}")
        return out

    def hostname(self) -> str:
        return os.uname().nodename  # gethostname(2) on Linux; the socket module costs start-up

    def machine_id(self) -> str | None:
        for path in MACHINE_ID_FILES:
            try:
                with open(path, encoding="ascii") as fh:
                    return fh.read().strip() or None
            except OSError:
                continue
        return None

    def kernel_release(self) -> str:
        return os.uname().release

    def is_root(self) -> bool:
        return os.geteuid() == 0

    # --- commands and processes ---------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = 120,
        input: str | bytes | None = None,
        check: bool = False,
        secret: str | None = None,
        redacted_as: str = commands.REDACTED,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        process_group: bool = False,
    ) -> commands.CommandResult:
        return self.runner(
            argv,
            timeout=timeout,
            input=input,
            check=check,
            log_to=self.command_log,
            secret=secret,
            redacted_as=redacted_as,
            env=env,
            cwd=cwd,
            process_group=process_group,
        )

    def have(self, program: str) -> bool:
        try:
            commands.which(program)
        except ToolMissing:
            return False
        return True

    def spawn(self, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True
        )

    # --- device nodes ---------------------------------------------------------------------
    def devnode(self, name: str) -> str:
        return os.path.join(self.dev_root, name)

    def block_device_number(self, path: str) -> str:
        return blockio.block_device_number(path)

    def open_device(
        self, path: str, *, write: bool = False, direct: bool = False, exclusive: bool = False
    ) -> blockio.BlockDevice:
        return blockio.open_block_device(path, write=write, direct=direct, exclusive=exclusive)

    def open_file(self, path: str, *, write: bool = False) -> blockio.RegularFile:
        return blockio.open_regular_file(path, write=write)

    def busy_for_exclusive_open(self, path: str) -> bool:
        return blockio.busy_for_exclusive_open(path)
