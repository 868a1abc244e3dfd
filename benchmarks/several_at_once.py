#!/usr/bin/env python3
"""Four RAM-backed devices at once: variants of the engine against four dd's, interleaved.

Run as root from the repository (about 3 minutes with the defaults, idle):
    .venv/bin/python benchmarks/several_at_once.py [--each 2G] [--devices 4] [--rounds 5]
        [--one NAME=TREE ...] [--separate NAME=TREE ...]

Each variant is the `sanitize` package of a source TREE (a checkout; run with this venv):
--one runs one `sanitize erase A B C D` (what the CLI does), --separate one `sanitize erase X` per
device, all started at the same moment. Default: `--one this=<this repository>`. Every round runs,
in turn (the variants' order alternating between rounds): four dd zero-fills started together,
each variant's write (`--pattern random --verify none`), four dd reads, each variant's verification
alone (a `--verify full` erase stopped by SIGTERM once every device's journal says it is verifying,
then the `--resume` that only verifies, timed and scaled to the whole devices). Prints a markdown
table: the rounds' seconds, medians vs dd, the engine's own time (slowest device's `timing`), the
CPU-seconds of the processes (/usr/bin/time) and of the whole machine (/proc/stat).

Used for issue 18's process-per-device experiment (docs/benchmarks.md, "The fourth round").
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fast_devices as fd  # benchmarks/fast_devices.py


def run_in(tree: str, commands: Sequence[Sequence[str]], env: dict[str, str]) -> fd.Run:
    """fd.together from `tree`, with every command's JSON results in extra["results"]."""
    run = fd.together(commands, env, cwd=tree)
    run.extra["results"] = [r for out in run.outs for r in fd.results_of(out)]  # type: ignore[assignment]
    return run


def engine(run: fd.Run, phase: str) -> float:
    return max(float(r["timing"][phase]) for r in run.extra["results"])  # type: ignore[attr-defined]


def groups_of(devs: list[str], separate: bool) -> list[list[str]]:
    return [[d] for d in devs] if separate else [devs]


def written(tree: str, groups: list[list[str]], env: dict[str, str]) -> fd.Run:
    run = run_in(tree, [fd.erase(g, "none") for g in groups], env)
    if any(r["status"] != "unverified" for r in run.extra["results"]):  # type: ignore[attr-defined]
        raise SystemExit("write: not every device was written")
    run.extra["engine"] = engine(run, "write")
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--each", default="2G")
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--one", action="append", default=[], metavar="NAME=TREE")
    parser.add_argument("--separate", action="append", default=[], metavar="NAME=TREE")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    each = fd.parse_size(args.each)
    variants = [(*v.split("=", 1), False) for v in args.one] + [(*v.split("=", 1), True) for v in args.separate]
    variants = variants or [("this", fd.ROOT, False)]
    work = tempfile.mkdtemp(prefix="sanitize-several-", dir="/var/tmp")
    ram = tempfile.mkdtemp(prefix="sanitize-several-", dir="/dev/shm")
    env = dict(os.environ, SANITIZE_STATE_DIR=os.path.join(work, "state"), LC_ALL="C")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for _, tree, _ in variants:
        subprocess.run([fd.PYTHON, "-m", "compileall", "-q", os.path.join(tree, "sanitize")], capture_output=True)
    subprocess.run([*fd.SANITIZE, "keys", "init", "--org", "benchmark"], env=env, check=True, capture_output=True)
    devs: list[str] = []
    s: dict[str, list[fd.Run]] = {}
    total = each * args.devices
    try:
        devs = [fd.attach(os.path.join(ram, f"d{i}.img"), each) for i in range(args.devices)]
        for r in range(args.rounds):
            order = variants if r % 2 == 0 else variants[::-1]
            s.setdefault("dd write", []).append(fd.together([fd.dd_write(d) for d in devs], env))
            for name, tree, separate in order:
                s.setdefault(f"write {name}", []).append(written(tree, groups_of(devs, separate), env))
            s.setdefault("dd read", []).append(fd.together([fd.dd_read(d) for d in devs], env))
            for name, tree, separate in order:
                s.setdefault(f"verify {name}", []).extend(
                    fd.verify_alone_retried(groups_of(devs, separate), env, cwd=tree)
                )
            print(r, {k: [round(x.seconds, 2) for x in v] for k, v in s.items()}, file=sys.stderr)
    finally:
        fd.detach(devs, ram)
        shutil.rmtree(ram, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"{args.devices} RAM-backed devices of {each} bytes, {args.rounds} rounds, load average now {load:.1f}:")
    print()
    print(
        "| run | rounds (s) | median MB/s | median vs dd | engine vs dd (median) | CPU-s of the processes "
        "(median) | machine CPU-s (median) | machine busy |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    rows = ["dd write", *(f"write {v[0]}" for v in variants), "dd read", *(f"verify {v[0]}" for v in variants)]
    for name in rows:
        runs = s.get(name, [])
        if not runs:
            continue
        base = None if name.startswith("dd") else ("dd write" if name.startswith("write") else "dd read")
        med = statistics.median(r.seconds for r in runs)
        ratio = eng = ""
        if base:
            dd = statistics.median(r.seconds for r in s[base])
            ratio, eng = f"{dd / med:.2f}x", f"{dd / statistics.median(r.extra['engine'] for r in runs):.2f}x"
        cpu = statistics.median(r.cpu for r in runs)
        machine = statistics.median(r.extra["machine"] for r in runs)
        busy = statistics.median(r.extra["busy"] for r in runs)
        print(
            f"| {name} | {' '.join(f'{r.seconds:.2f}' for r in runs)} | {total / 1e6 / med:.0f} | {ratio} | {eng} "
            f"| {cpu:.2f} | {machine:.2f} | {busy:.0%} |"
        )


if __name__ == "__main__":
    main()
