"""Watch whether a scan started its readahead helper (sanitize/readahead.py) on the real machine."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

from sanitize.hw.linux import LinuxHost


@dataclass
class SpawnRecorder(LinuxHost):
    """The real machine, noting every helper process the tool starts on it."""

    spawned: list[list[str]] = field(default_factory=list)

    def spawn(self, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        self.spawned.append(list(argv))
        return super().spawn(argv)

    @property
    def started_readahead(self) -> bool:
        return any("sanitize.readahead" in argv for argv in self.spawned)
