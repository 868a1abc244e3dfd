"""`FakeHost`: the machine as a test describes it, implementing `sanitize.hw.host.Host`.

Regular files stand in for block devices (opened, read, written and fsync'd for real, so
an erase and its verification run root-free on a plain file); sysfs is a dict; mounts,
swaps and root are whatever the test says; commands go to the runner the test gives
(`FakeDrives` for drive tools), and any other command is refused, so a test can never run
something on the real machine by accident.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sanitize.errors import BadInput
from sanitize.hw.blockio import RegularFile
from sanitize.hw.commands import REDACTED, CommandLog, CommandResult, Runner
from sanitize.hw.host import Mount


def no_commands(argv: Sequence[str], **_kw: Any) -> CommandResult:
    raise AssertionError(f"FakeHost: this test gave no runner for {list(argv)}")


class FileDevice(RegularFile):
    """A regular file opened like a block device (`RegularFile`), with a read-only flag and
    discards that are only remembered instead of refused."""

    def __init__(self, path: str, *, write: bool) -> None:
        super().__init__(path, os.open(path, (os.O_RDWR if write else os.O_RDONLY) | os.O_CLOEXEC))
        self.ro_flag = False
        self.discarded: list[tuple[int, int]] = []

    def read_only(self) -> bool:
        return self.ro_flag

    def set_read_only(self, read_only: bool) -> bool:
        previous, self.ro_flag = self.ro_flag, read_only
        return previous

    def discard(self, offset: int, length: int) -> None:
        self.discarded.append((offset, length))


@dataclass
class FakeHost:
    runner: Runner = no_commands
    command_log: CommandLog = field(default_factory=CommandLog)
    sys: dict[str, str] = field(default_factory=dict)  # "class/block/sda/size" -> "128"
    root: bool = False
    mount_table: list[Mount] = field(default_factory=list)
    swap_list: list[str] = field(default_factory=list)
    tools: set[str] | None = None  # programs `have` reports; None: all
    spawned: list[list[str]] = field(default_factory=list)  # what the tool asked to start
    helper_command: list[str] | None = None  # started instead (a helper that hangs or dies)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    opened: list[tuple[str, bool]] = field(default_factory=list)  # (path, write) of every open
    device_type: type[FileDevice] = FileDevice  # what open_device returns (a slow or faulty device)

    # --- what the kernel says ---------------------------------------------------------------
    def read_sys(self, *parts: str) -> str | None:
        value = self.sys.get("/".join(parts))
        return value.strip() if value is not None else None

    def read_sys_bytes(self, *parts: str, limit: int = 4096) -> bytes | None:
        value = self.sys.get("/".join(parts))
        return value.encode()[:limit] if value is not None else None

    def list_sys(self, *parts: str) -> list[str]:
        prefix = "/".join(parts) + "/"
        return sorted({key[len(prefix) :].split("/", 1)[0] for key in self.sys if key.startswith(prefix)})

    def sys_realpath(self, *parts: str) -> str:
        return "/sys/" + "/".join(parts)

    def sys_is_dir(self, *parts: str) -> bool:
        return bool(self.list_sys(*parts))

    def read_proc(self, *parts: str) -> str:
        return ""

    def udev(self, name: str) -> Mapping[str, str]:
        return {}

    def mounts(self) -> list[Mount]:
        return list(self.mount_table)

    def swaps(self) -> list[str]:
        return list(self.swap_list)

    def running_from(self) -> set[str]:
        return set()

    def hostname(self) -> str:
        return "fake-host"

    def machine_id(self) -> str | None:
        return None

    def kernel_release(self) -> str:
        return "0.0.0-fake"

    def is_root(self) -> bool:
        return self.root

    # --- commands and processes --------------------------------------------------------------
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
        return self.runner(
            argv,
            timeout=timeout,
            input=input,
            check=check,
            log_to=self.command_log,
            secret=secret,
            redacted_as=redacted_as,
        )

    def have(self, program: str) -> bool:
        return self.tools is None or program in self.tools

    def spawn(self, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """Only the tool's own Python helper (the readahead process), or `helper_command`, is started."""
        self.spawned.append(list(argv))
        command = self.helper_command or list(argv)
        if self.helper_command is None and argv[0] != sys.executable:
            raise OSError(errno.ENOENT, "FakeHost starts only the tool's own helper processes", argv[0])
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True
        )
        self.processes.append(process)
        return process

    # --- devices: regular files -------------------------------------------------------------
    def devnode(self, name: str) -> str:
        return f"/dev/{name}"

    def _regular(self, path: str) -> os.stat_result:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise BadInput(f"{path}: no such device") from None
        if not stat.S_ISREG(st.st_mode):
            raise BadInput(f"{path}: FakeHost devices are regular files")
        return st

    def block_device_number(self, path: str) -> str:
        return f"0:{self._regular(path).st_ino}"

    def open_device(
        self, path: str, *, write: bool = False, direct: bool = False, exclusive: bool = False
    ) -> FileDevice:
        self._regular(path)
        self.opened.append((path, write))
        return self.device_type(path, write=write)

    def open_file(self, path: str, *, write: bool = False) -> FileDevice:
        return self.open_device(path, write=write)

    def busy_for_exclusive_open(self, path: str) -> bool:
        return False
