"""The `sanitize` executable: signal handling first, then the command line.

Installed before anything heavy is imported, so Ctrl-C, SIGTERM or SIGHUP at any moment of
a command (while modules load, in a prompt, in a scan) end it with one line on stderr and a
documented exit code, 128 + the signal number (130, 143, 129), never a traceback; `finally`
blocks (read-only mounts, loop devices, temporary files) run on the way out. An erase in
progress handles these signals itself: its devices stop at the next checkpoint and the
command exits 8 (see sanitize/cli/erase.py). Only the Python interpreter's own start-up,
before this module runs, is out of reach.
"""

from __future__ import annotations

import contextlib
import gc
import signal
import sys
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(BaseException):
    """A stop signal arrived (a BaseException, so `except Exception` handlers let it pass)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: FrameType | None) -> None:
    for sig in STOP_SIGNALS:  # the cleanups on the way out must not be cut short by a second one
        signal.signal(sig, signal.SIG_IGN)
    raise Stopped(signum)


def install() -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, _on_signal)


def main() -> None:
    install()
    try:
        from sanitize.cli import main as cli_main

        cli_main()
    except (Stopped, KeyboardInterrupt) as exc:
        signum = exc.signum if isinstance(exc, Stopped) else int(signal.SIGINT)
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"sanitize: stopped by {signal.Signals(signum).name}\n")
            sys.stderr.flush()
        sys.exit(128 + signum)
    finally:
        # The interpreter's shutdown collects cycles across every object left (some 20 ms,
        # a tenth of a short command's run); the process is ending and its files and
        # devices are closed by `with` blocks already, so nothing is left for that to do.
        gc.freeze()


if __name__ == "__main__":
    main()
