"""The hardware boundary: everything that touches the machine lives in this package."""

from sanitize.hw.blockio import OpenDevice, open_device, require_block_device
from sanitize.hw.commands import CommandFailed, CommandLog, CommandResult, run, which
from sanitize.hw.host import Host, Mount

__all__ = [
    "CommandFailed",
    "CommandLog",
    "CommandResult",
    "Host",
    "Mount",
    "OpenDevice",
    "open_device",
    "require_block_device",
    "run",
    "which",
]
