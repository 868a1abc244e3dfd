"""Run the `sanitize` CLI with overwrite checkpoints every N MiB instead of every GiB.

Run: python -m tests.support.small_checkpoints MIB [sanitize arguments...]
"""

from __future__ import annotations

import sys

from sanitize.cli import cli
from sanitize.cli.app import App
from sanitize.hw.linux import LinuxHost
from tests.support.methods import checkpointing_every

if __name__ == "__main__":
    mib = int(sys.argv[1])
    cli.main(sys.argv[2:], prog_name="sanitize", obj=App(host=LinuxHost(), erase_methods=checkpointing_every(mib)))
