"""`commands.run(process_group=True)`: a timeout or an interruption leaves none of the tool's
children behind (the image build stops mmdebstrap, which runs apt and dpkg)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sanitize.hw import commands


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (its parent, the killed shell, is gone too).
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(")")[-1].split()[0] != "Z"


def test_a_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    started = time.monotonic()
    result = commands.run(["sh", "-c", script], timeout=1, process_group=True)
    assert result.returncode == 124 and "timed out" in result.stderr
    assert time.monotonic() - started < 30
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the grandchild survived the timeout"


def test_output_and_status_as_before() -> None:
    result = commands.run(["sh", "-c", "echo out; echo err >&2; exit 3"], process_group=True)
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert commands.run(["cat"], input=b"\x00\xff").stdout == "\x00\ufffd"
