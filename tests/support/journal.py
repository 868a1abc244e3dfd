"""Read the erase journal of a state directory while an erase runs (tests poll it to interrupt)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def journal_in(state_dir: str) -> dict | None:
    """The one journal in STATE/journal, or None (none yet, or caught mid-rename: poll again)."""
    directory = os.path.join(state_dir, "journal")
    for entry in os.listdir(directory) if os.path.isdir(directory) else []:
        if entry.endswith(".json"):
            try:
                with open(os.path.join(directory, entry)) as fh:
                    return json.load(fh)
            except (OSError, ValueError):
                return None
    return None


def interrupt_during_write(
    argv: list[str], state_dir: str, sig: int = signal.SIGTERM, *, checkpoint_mib: int | None = None
) -> tuple[int, str]:
    """Run `sanitize` with `argv`, send `sig` once its journal shows a pass part written.

    `checkpoint_mib`: journal that often (tests/support/small_checkpoints.py), so a small
    device is caught mid-pass. Returns the exit code and stdout. The process never outlives
    the call, even on failure.
    """
    program = ["tests.support.small_checkpoints", str(checkpoint_mib)] if checkpoint_mib else ["sanitize"]
    proc = subprocess.Popen(
        [sys.executable, "-m", *program, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,  # where `tests` is importable
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            journal = journal_in(state_dir)
            if journal and journal["phase"] == "write" and journal["offset"] > 0:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the erase finished before it could be interrupted"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out
