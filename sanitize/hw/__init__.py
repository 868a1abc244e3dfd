"""The hardware boundary: everything that touches the machine goes through a `Host` (host.py).

`linux.LinuxHost` is the real machine; the other modules here are operations built from a
host's primitives (mounts, loop devices, allocation maps, blkid) and the command runner.
This package imports nothing of the tool but `sanitize.errors`.
"""

from sanitize.hw.commands import CommandFailed, CommandLog, CommandResult
from sanitize.hw.host import Host, Mount, OpenDevice

__all__ = ["CommandFailed", "CommandLog", "CommandResult", "Host", "Mount", "OpenDevice"]
