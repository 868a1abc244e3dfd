#!/usr/bin/env python3
"""Where each CPU-second of an erase or a carve goes: keystream, comparisons, I/O calls, Python.

Run as root from the repository, on a device you may overwrite:
    .venv/bin/python benchmarks/profile_engine.py DEV [DEV...] -- erase --pattern random --verify full
    .venv/bin/python benchmarks/profile_engine.py DEV -- carve

Runs the real command line in this process (`sanitize erase DEV... --method overwrite
--carve-check none --confirm ...` or `sanitize carve --json --no-allocation DEV`) with the
engine's seams wrapped: the keystream (`PatternSource.fill`), the comparisons
(`AlignedBuffer.equals`), the device calls (`write_at`, `read_into`, `sync`), the journal
saves and the carve's scan. Each wrapper adds its thread's CPU time (`time.thread_time`)
and wall time. What the process spent outside the wrapped calls is Python holding the GIL
(start-up, accounting, queues) or waiting. The loop device's own copies run in kernel
worker threads, outside the process, for dd as for sanitize: not counted here.
Prints one markdown table.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# (name) -> [calls, thread CPU s, wall s]
STATS: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
LOCK = threading.Lock()
# Calls nested in a wrapped call (a comparison inside the scan) are not counted twice.
INSIDE = threading.local()


def wrap(owner: Any, attr: str, name: str) -> None:
    original: Callable[..., Any] = getattr(owner, attr)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        if getattr(INSIDE, "busy", False):
            return original(*args, **kwargs)
        INSIDE.busy = True
        c0, w0 = time.thread_time(), time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            c1, w1 = time.thread_time(), time.perf_counter()
            INSIDE.busy = False
            with LOCK:
                s = STATS[name]
                s[0] += 1
                s[1] += c1 - c0
                s[2] += w1 - w0

    setattr(owner, attr, timed)


def install() -> None:
    from sanitize.carve import floats, scanner
    from sanitize.carve.reader import DirectReader
    from sanitize.erase import buffers
    from sanitize.erase.buffers import AlignedBuffer, PatternSource
    from sanitize.erase.journal import Journal
    from sanitize.hw.blockio import FdDevice

    wrap(PatternSource, "fill", "keystream (AES-CTR, GIL released)")
    if hasattr(buffers, "Keystream"):  # verification's piece-by-piece stream (not in older trees)
        wrap(buffers.Keystream, "into", "keystream (AES-CTR, GIL released)")
    if hasattr(buffers.Keystream, "unmask"):  # verification: read bytes XOR keystream, in one pass
        wrap(buffers.Keystream, "unmask", "keystream XOR read bytes (AES-CTR, GIL released)")
    wrap(AlignedBuffer, "equals", "comparison (memcmp, GIL released)")
    wrap(FdDevice, "write_at", "device writes (pwrite, GIL released)")
    wrap(FdDevice, "read_into", "device reads (preadv, GIL released)")
    wrap(FdDevice, "sync", "device flush (fsync)")
    wrap(Journal, "save", "journal saves (write, fsync, rename)")
    wrap(scanner.Carver, "scan", "carve: signatures and SQLite pages (numpy)")
    wrap(scanner, "float_blocks", "carve: float32 block test (numpy)")
    wrap(DirectReader, "_read", "device reads (preadv, GIL released)")
    del floats


def main() -> None:
    split = sys.argv.index("--") if "--" in sys.argv else len(sys.argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("devices", nargs="+")
    args = parser.parse_args(sys.argv[1:split])
    rest = sys.argv[split + 1 :] or ["erase"]
    if rest[0] == "erase":
        names = ",".join(os.path.basename(d) for d in args.devices)
        argv = ["erase", *args.devices, "--method", "overwrite", "--carve-check", "none", "--confirm", names]
        argv += ["--json", *rest[1:]]
    else:
        argv = ["carve", "--json", "--no-allocation", *args.devices, *rest[1:]]
    install()
    from sanitize.entry import main as sanitize_main

    sys.argv = ["sanitize", *argv]
    t0, cpu0 = time.perf_counter(), os.times()
    out = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (the command's JSON is not wanted)
    try:
        sanitize_main()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        sys.stdout.close()
        sys.stdout = out
    wall = time.perf_counter() - t0
    cpu1 = os.times()
    user, system = cpu1.user - cpu0.user, cpu1.system - cpu0.system
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    accounted = sum(s[1] for s in STATS.values())
    print(
        f"`sanitize {' '.join(argv)}`: wall {wall:.2f} s, process CPU {user + system:.2f} s "
        f"(user {user:.2f}, system {system:.2f}), peak RSS {rss:.0f} MiB, load {os.getloadavg()[0]:.1f}"
    )
    print()
    print("| where | calls | CPU s | wall s (summed over threads) |")
    print("|---|---:|---:|---:|")
    for name, (calls, cpu, wall_s) in sorted(STATS.items(), key=lambda kv: -kv[1][1]):
        print(f"| {name} | {calls:.0f} | {cpu:.2f} | {wall_s:.2f} |")
    print(
        f"| the rest: Python holding the GIL (start-up, CLI, accounting, queues) | | "
        f"{user + system - accounted:.2f} | |"
    )


if __name__ == "__main__":
    main()
