"""The interactive confirmation on a real terminal: the operator types the device's identity."""

from __future__ import annotations

import hashlib
import os
import pty
import select
import sys
import time

import pytest

from tests.support.lab import LoopLab, device_sha256

pytestmark = pytest.mark.root


def device_sha256_of_zeros(size: int) -> str:
    return hashlib.sha256(bytes(size)).hexdigest()


def run_in_terminal(argv: list[str], answer: str, timeout: float = 120) -> tuple[int, str]:
    """Run argv on a pseudo-terminal, answer its first prompt, return (exit code, screen text)."""
    pid, fd = pty.fork()
    if pid == 0:  # child: become the command
        os.execv(argv[0], argv)
    screen, answered, deadline = b"", False, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                screen += chunk
            if not answered and b"to confirm" in screen:
                os.write(fd, answer.encode() + b"\r")
                answered = True
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), screen.decode("utf-8", "replace")


def fill_random(dev: str) -> None:
    with open(dev, "r+b") as fh:
        fh.write(os.urandom(16 << 20))


def test_typing_the_kernel_name_erases(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("16M")
    fill_random(dev)
    before = device_sha256(dev)
    argv = [sys.executable, "-m", "sanitize", "erase", dev, "--pattern", "zeros", "--carve-check", "none"]
    code, screen = run_in_terminal(argv, os.path.basename(dev))
    assert "Type its kernel name to confirm" in screen, screen
    assert code == 0, screen
    assert device_sha256(dev) == device_sha256_of_zeros(16 << 20) != before


def test_typing_something_else_writes_nothing(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("16M")
    fill_random(dev)
    before = device_sha256(dev)
    argv = [sys.executable, "-m", "sanitize", "erase", dev, "--pattern", "zeros"]
    code, screen = run_in_terminal(argv, "loop999")
    assert code == 4, screen
    assert device_sha256(dev) == before
