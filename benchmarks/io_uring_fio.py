#!/usr/bin/env python3
"""Do more requests in flight raise a RAM-backed loop device's throughput? fio's io_uring against psync.

Run as root from the repository (about 2 minutes with the defaults, idle; needs fio):
    .venv/bin/python benchmarks/io_uring_fio.py [--each 2G] [--devices 4] [--rounds 3]

Reads, then writes, all the RAM-backed loop devices at once (made as benchmarks/fast_devices.py
makes them), 4 MiB O_DIRECT requests: dd; fio psync (one request in flight per device, as dd);
fio psync with two jobs per device (as the engine's two I/O threads); fio io_uring at depth 2 and 8.
fio's own runtime is the time (its start-up excluded); machine CPU-seconds from /proc/stat cover the
whole command. The order reverses every round. Used for issue 18 (docs/benchmarks.md, "The fourth round").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fast_devices as fd  # benchmarks/fast_devices.py


def fio(devs: list[str], each: int, rw: str, engine: str, depth: int, jobs: int = 1) -> list[str]:
    argv = ["fio", "--output-format=json", f"--rw={rw}", "--bs=4M", "--direct=1", f"--ioengine={engine}"]
    argv.append(f"--iodepth={depth}")
    for d in devs:
        argv += [f"--name={os.path.basename(d)}", f"--filename={d}", f"--numjobs={jobs}", f"--size={each // jobs}"]
        if jobs > 1:
            argv.append(f"--offset_increment={each // jobs}")
    return argv


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--each", default="2G")
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0 or not shutil.which("fio"):
        raise SystemExit("run as root, with fio installed (apt-get install fio)")
    each = fd.parse_size(args.each)
    total = each * args.devices
    ram = tempfile.mkdtemp(prefix="sanitize-uring-", dir="/dev/shm")
    env = dict(os.environ, LC_ALL="C")
    devs: list[str] = []
    configs: list[tuple[str, Callable[[], list[list[str]]]]] = [
        ("dd read", lambda: [fd.dd_read(d) for d in devs]),
        ("fio read psync depth 1", lambda: [fio(devs, each, "read", "psync", 1)]),
        ("fio read psync, 2 jobs per device", lambda: [fio(devs, each, "read", "psync", 1, 2)]),
        ("fio read io_uring depth 2", lambda: [fio(devs, each, "read", "io_uring", 2)]),
        ("fio read io_uring depth 8", lambda: [fio(devs, each, "read", "io_uring", 8)]),
        ("dd write", lambda: [fd.dd_write(d) for d in devs]),
        ("fio write psync depth 1", lambda: [fio(devs, each, "write", "psync", 1)]),
        ("fio write io_uring depth 2", lambda: [fio(devs, each, "write", "io_uring", 2)]),
        ("fio write io_uring depth 8", lambda: [fio(devs, each, "write", "io_uring", 8)]),
    ]
    s: dict[str, list[fd.Run]] = {}
    try:
        devs += [fd.attach(os.path.join(ram, f"d{i}.img"), each) for i in range(args.devices)]
        for r in range(args.rounds):
            for name, make in configs if r % 2 == 0 else configs[::-1]:
                run = fd.together(make(), env)
                if name.startswith("fio"):
                    key = "read" if " read " in name else "write"
                    jobs = json.loads(run.out)["jobs"]
                    if sum(j[key]["io_bytes"] for j in jobs) != total:
                        raise SystemExit(f"{name}: fio did not move every byte")
                    run.seconds = max(j[key]["runtime"] for j in jobs) / 1000
                s.setdefault(name, []).append(run)
            print(r, {k: [round(x.seconds, 2) for x in v] for k, v in s.items()}, file=sys.stderr)
    finally:
        fd.detach(devs, ram)
        shutil.rmtree(ram, ignore_errors=True)
    print("| run | rounds (s) | median MB/s | vs dd (median) | machine CPU-s (median) | machine busy |")
    print("|---|---|---:|---:|---:|---:|")
    for name, _ in configs:
        runs = s[name]
        med = statistics.median(x.seconds for x in runs)
        ratio = statistics.median(x.seconds for x in s["dd read" if " read" in name else "dd write"]) / med
        machine = statistics.median(x.extra["machine"] for x in runs)
        busy = statistics.median(x.extra["busy"] for x in runs)
        rounds = " ".join(f"{x.seconds:.2f}" for x in runs)
        print(f"| {name} | {rounds} | {total / 1e6 / med:.0f} | {ratio:.2f}x | {machine:.2f} | {busy:.0%} |")


if __name__ == "__main__":
    main()
