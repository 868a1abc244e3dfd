"""The machine as the rest of the tool sees it: sysfs, udev, /proc, DMI and commands.

`Host` is the one interface between `sanitize` and the machine. Tests point it at a
recorded sysfs tree (`sys_root=`), recorded udev properties (`udev=`) and a fake
command runner (`runner=`); production uses the defaults.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sanitize.hw import blockio, commands

UdevSource = Callable[[str], Mapping[str, str]]


@dataclass(frozen=True)
class Mount:
    devno: str  # "major:minor" as in mountinfo
    source: str
    mountpoint: str
    fstype: str
    options: tuple[str, ...]


def _unescape_mount(path: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal.
    out, i = [], 0
    while i < len(path):
        if path[i] == "\\" and len(path[i + 1 : i + 4]) == 3 and path[i + 1 : i + 4].isdigit():
            out.append(chr(int(path[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def pyudev_properties(name: str) -> Mapping[str, str]:
    """udev properties of block device `name`; only uevent keys when udevd is not running."""
    try:
        import pyudev

        context = pyudev.Context()
        device = pyudev.Devices.from_name(context, "block", name)
        return {str(k): str(v) for k, v in device.properties.items()}
    except Exception:  # pyudev raises several unrelated types for a vanished device
        return {}


@dataclass
class Host:
    sys_root: str = "/sys"
    proc_root: str = "/proc"
    dev_root: str = "/dev"
    udev: UdevSource = pyudev_properties
    runner: commands.Runner = commands.run
    command_log: commands.CommandLog = field(default_factory=commands.CommandLog)

    # --- sysfs -----------------------------------------------------------------------
    def sys_path(self, *parts: str) -> str:
        return os.path.join(self.sys_root, *parts)

    def read_sys(self, *parts: str) -> str | None:
        try:
            with open(self.sys_path(*parts), encoding="utf-8", errors="replace") as fh:
                return fh.read().strip()
        except OSError:
            return None

    def read_sys_bytes(self, *parts: str, limit: int = 4096) -> bytes | None:
        try:
            with open(self.sys_path(*parts), "rb") as fh:
                return fh.read(limit)
        except OSError:
            return None

    def list_sys(self, *parts: str) -> list[str]:
        try:
            return sorted(os.listdir(self.sys_path(*parts)))
        except OSError:
            return []

    def sys_realpath(self, *parts: str) -> str:
        return os.path.realpath(self.sys_path(*parts))

    def block_names(self) -> list[str]:
        return self.list_sys("class", "block")

    # --- /proc -------------------------------------------------------------------------
    def read_proc(self, *parts: str) -> str:
        try:
            with open(os.path.join(self.proc_root, *parts), encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except OSError:
            return ""

    def mounts(self) -> list[Mount]:
        result = []
        for line in self.read_proc("self", "mountinfo").splitlines():
            left, _, right = line.partition(" - ")
            fields, rest = left.split(), right.split()
            if len(fields) < 6 or len(rest) < 2:
                continue
            result.append(
                Mount(
                    devno=fields[2],
                    source=_unescape_mount(rest[1]),
                    mountpoint=_unescape_mount(fields[4]),
                    fstype=rest[0],
                    options=tuple(fields[5].split(",")),
                )
            )
        return result

    def swaps(self) -> list[str]:
        lines = self.read_proc("swaps").splitlines()[1:]
        return [_unescape_mount(line.split()[0]) for line in lines if line.strip()]

    def running_from(self) -> set[str]:
        """major:minor of the filesystems this tool runs from (interpreter, package, prefix)."""
        out = set()
        for path in (sys.executable, os.path.dirname(os.path.abspath(__file__)), sys.prefix):
            try:
                st = os.stat(path)
            except OSError:
                continue
            out.add(f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}")
        return out

    # --- identity ----------------------------------------------------------------------
    def dmi(self) -> dict[str, str | None]:
        keys = {
            "system_vendor": "sys_vendor",
            "product_name": "product_name",
            "product_serial": "product_serial",
            "product_uuid": "product_uuid",
            "chassis_asset_tag": "chassis_asset_tag",
            "board_serial": "board_serial",
        }
        return {ours: self.read_sys("class", "dmi", "id", theirs) or None for ours, theirs in keys.items()}

    def hostname(self) -> str:
        return socket.gethostname()

    def machine_id(self) -> str | None:
        for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
            try:
                with open(path, encoding="ascii") as fh:
                    return fh.read().strip() or None
            except OSError:
                continue
        return None

    # --- commands and devices ----------------------------------------------------------
    def run(self, argv: list[str], **kwargs: object) -> commands.CommandResult:
        return self.runner(argv, log_to=self.command_log, **kwargs)

    def have(self, program: str) -> bool:
        try:
            commands.which(program)
        except commands.ToolMissing:
            return False
        return True

    def probe_filesystem(self, devpath: str) -> dict[str, str]:
        """Low-level blkid probe (reads superblocks, writes nothing) for when udev has no data.

        Only as root and only on an existing block device node: otherwise nothing is known.
        """
        try:
            if not stat.S_ISBLK(os.stat(devpath).st_mode) or os.geteuid() != 0:
                return {}
        except OSError:
            return {}
        if not self.have("blkid"):
            return {}
        res = self.run(["blkid", "-p", "-o", "export", devpath], timeout=30)
        props: dict[str, str] = {}
        for line in res.stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                props[key.strip()] = value.strip()
        return props

    def devnode(self, name: str) -> str:
        return os.path.join(self.dev_root, name)

    def open_device(
        self, path: str, *, write: bool = False, direct: bool = False, exclusive: bool = False
    ) -> blockio.OpenDevice:
        return blockio.open_device(path, write=write, direct=direct, exclusive=exclusive)
