"""Fault injection behind the hardware boundary: a `Host` whose devices and commands fail on cue.

The erase engine reaches the machine only through `Host` (opening devices, running
commands) and the `OpenDevice` it returns (`write_at`, `read_into`, `sync`), so a test
hands `FaultyHost` to the command (`sanitize.cli.cli` with `obj=App(host=...)`) or to
the runner and the real engine meets a failing device at the chosen moment. Nothing in
the engine is patched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sanitize.hw.commands import CommandResult
from sanitize.hw.host import OpenDevice
from sanitize.hw.linux import LinuxHost


@dataclass
class Fault:
    """Raise `error` (or call `action`, which may do anything, e.g. fill a filesystem) once
    the matching operation happens.

    where: "open" (an open_device call), "write", "read" or "sync" (on an opened device),
    or "run" (a command whose argv starts with `argv`). `device`: only on that path.
    `write`: for "open", only opens for writing (True) or reading (False). `nth`: the nth
    matching open or command (1 = the first). `after_bytes`: for "write"/"read", once that
    many bytes went through that device in that direction.
    """

    where: str
    error: BaseException | None = None
    action: Callable[[], None] | None = None
    device: str | None = None
    write: bool | None = None
    nth: int = 1
    after_bytes: int = 0
    argv: Sequence[str] = ()
    seen: int = 0
    fired: int = 0

    def trigger(self) -> None:
        self.fired += 1
        if self.action is not None:
            action, self.action = self.action, None  # side effects happen once
            action()
        if self.error is not None:
            raise self.error


class FaultyDevice:
    """An opened device that counts the bytes it moves and meets the host's faults."""

    def __init__(self, inner: OpenDevice, host: FaultyHost) -> None:
        self.inner = inner
        self.host = host
        self.path = inner.path
        self.moved: dict[str, int] = {"write": 0, "read": 0}

    def __getattr__(self, name: str) -> Any:  # sizes, flags, discard: the real device's
        return getattr(self.inner, name)

    def __enter__(self) -> FaultyDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.close()

    def close(self) -> None:
        self.inner.close()

    def _check(self, where: str, n: int) -> None:
        with self.host.lock:
            self.moved[where] = self.moved.get(where, 0) + n
            total = self.moved[where]
            due = [
                f
                for f in self.host.faults
                if f.where == where and f.device in (None, self.path) and total > f.after_bytes
            ]
        for fault in due:
            fault.trigger()

    def write_at(self, view: memoryview, offset: int) -> None:
        self._check("write", len(view))
        self.inner.write_at(view, offset)

    def read_into(self, view: memoryview, offset: int) -> None:
        self._check("read", len(view))
        self.inner.read_into(view, offset)

    def sync(self) -> None:
        due = [f for f in self.host.faults if f.where == "sync" and f.device in (None, self.path)]
        for fault in due:
            fault.trigger()
        self.inner.sync()


@dataclass
class FaultyHost(LinuxHost):
    """The real machine, with faults injected at its boundary: opens, device I/O, commands."""

    faults: list[Fault] = field(default_factory=list)
    lock: Any = field(default_factory=threading.Lock)

    def open_device(  # type: ignore[override]
        self, path: str, *, write: bool = False, direct: bool = False, exclusive: bool = False
    ) -> FaultyDevice:
        for fault in self.faults:
            if fault.where == "open" and fault.device in (None, path) and fault.write in (None, write):
                fault.seen += 1
                if fault.seen == fault.nth:
                    fault.trigger()
        return FaultyDevice(super().open_device(path, write=write, direct=direct, exclusive=exclusive), self)

    def run(self, argv: Sequence[str], **kwargs: Any) -> CommandResult:
        for fault in self.faults:
            if fault.where == "run" and list(argv[: len(fault.argv)]) == list(fault.argv):
                fault.seen += 1
                if fault.seen >= fault.nth:
                    fault.trigger()
        return super().run(argv, **kwargs)
