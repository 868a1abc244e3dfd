#!/usr/bin/env python3
"""Overwrite (Clear) throughput: sanitize against dd and nwipe on the same device.

Run as root from the repository:  .venv/bin/python benchmarks/overwrite.py [--size 2G] [--rounds 3]

One preallocated file (fallocate) on the root filesystem is attached as a loop device
with --direct-io=on, and every round runs, on that device:
  dd if=/dev/zero of=DEV bs=4M oflag=direct            (baseline write)
  sanitize erase DEV --method overwrite --pattern random --verify none --confirm NAME
  nwipe --autonuke --nogui --method=random --verify=off --noblank DEV
  dd if=DEV of=/dev/null bs=4M iflag=direct            (baseline read)
  sanitize erase DEV --method overwrite --pattern random --verify full --confirm NAME
Each tool's best round counts (the machine is shared, so slow rounds are noise). For
sanitize both the whole command (process start to exit) and the engine's own phase
time (the result document's `timing`) are reported; peak RSS comes from wait4().
Prints a markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")


@dataclass
class Sample:
    seconds: float
    rss_kib: int
    doc: dict = field(default_factory=dict)


def _write_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/io") as fh:
        for line in fh:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def timed(
    argv: list[str], env: dict[str, str] | None = None, limit: float | None = None, total: int = 0
) -> tuple[Sample, str]:
    """Run argv; with `limit`, stop it after that many seconds and extrapolate from the bytes
    it had written (/proc/PID/io), so a slow tool cannot stall the benchmark."""
    start = time.monotonic()
    out_file = tempfile.TemporaryFile()  # noqa: SIM115 (read back below)
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=out_file, stderr=subprocess.DEVNULL, env=env, cwd=ROOT
    )
    written, stopped = 0, False
    # wait4 (not Popen.poll, which would reap the child) so its rusage is ours to read.
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG if limit is not None else 0)
    while pid == 0:
        if time.monotonic() - start >= (limit or 0):
            with contextlib.suppress(OSError):
                written = _write_bytes(proc.pid)
            proc.kill()
            stopped = True
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        with contextlib.suppress(OSError):
            written = _write_bytes(proc.pid)
        time.sleep(0.1)
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    if stopped:
        seconds = seconds * total / max(written, 1)  # time it would have taken at its rate
    elif proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    out_file.seek(0)
    return Sample(seconds, usage.ru_maxrss, {"stopped": stopped}), out_file.read().decode(errors="replace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="2G")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nwipe-limit", type=float, default=900.0, help="stop nwipe after this many seconds")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    for tool in ("dd", "nwipe", "losetup", "fallocate"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")

    work = tempfile.mkdtemp(prefix="sanitize-bench-", dir="/var/tmp")
    image = os.path.join(work, "disk.img")
    subprocess.run(["fallocate", "-l", args.size, image], check=True)
    dev = subprocess.run(
        ["losetup", "-f", "--show", "--direct-io=on", image], check=True, capture_output=True, text=True
    ).stdout.strip()
    name = os.path.basename(dev)
    size = int(subprocess.run(["blockdev", "--getsize64", dev], check=True, capture_output=True, text=True).stdout)
    env = dict(os.environ, SANITIZE_STATE_DIR=os.path.join(work, "state"))
    sanitize = [PYTHON, "-m", "sanitize", "erase", dev, "--method", "overwrite", "--pattern", "random"]
    commands = {
        "dd write": ["dd", "if=/dev/zero", f"of={dev}", "bs=4M", "oflag=direct", f"count={size // (4 << 20)}"],
        "sanitize write": [*sanitize, "--verify", "none", "--confirm", name, "--json"],
        "nwipe": [
            "nwipe",
            "--autonuke",
            "--nogui",
            "--method=random",
            "--verify=off",
            "--noblank",
            f"--logfile={os.path.join(work, 'nwipe.log')}",
            dev,
        ],
        "dd read": ["dd", f"if={dev}", "of=/dev/null", "bs=4M", "iflag=direct"],
        "sanitize write+verify": [*sanitize, "--verify", "full", "--confirm", name, "--json"],
    }
    samples: dict[str, list[Sample]] = {k: [] for k in commands}
    try:
        for round_no in range(args.rounds):
            for label, argv in commands.items():
                if label == "nwipe" and round_no > 0:
                    continue  # one round: it is the slowest by far
                limit = args.nwipe_limit if label == "nwipe" else None
                sample, out = timed(argv, env, limit=limit, total=size)
                if label.startswith("sanitize"):
                    sample.doc = json.loads(out)
                samples[label].append(sample)
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)
        shutil.rmtree(work, ignore_errors=True)

    def best(label: str, key: str | None = None) -> float:
        if key is None:
            return min(s.seconds for s in samples[label])
        return min(s.doc["timing"][key] for s in samples[label])

    mb = size / 1e6
    dd_w, dd_r = mb / best("dd write"), mb / best("dd read")
    nw = mb / best("nwipe")
    san_w_cmd, san_w_eng = mb / best("sanitize write"), mb / best("sanitize write", "write")
    san_v_eng = mb / best("sanitize write+verify", "verify")
    cli_rss = timed([PYTHON, "-m", "sanitize", "erase", "--help"], env)[0].rss_kib / 1024
    rss_write = max(s.rss_kib for s in samples["sanitize write"]) / 1024
    rss_verify = max(s.rss_kib for s in samples["sanitize write+verify"]) / 1024
    nw_rss = max(s.rss_kib for s in samples["nwipe"]) / 1024
    nwipe_note = (
        f"stopped after {args.nwipe_limit:.0f} s, rate from its written bytes; "
        if samples["nwipe"][0].doc.get("stopped")
        else ""
    )
    nwipe_version = subprocess.run(["nwipe", "--version"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()

    def row(what: str, rate: float, base: float | None, note: str = "") -> str:
        ratio = f"{rate / base:.2f}x" if base else ""
        return f"| {what} | {rate:.0f} MB/s | {ratio} | {note} |"

    lines = [
        "## Overwrite (Clear)",
        "",
        f"Command: `sudo .venv/bin/python benchmarks/overwrite.py --size {args.size} --rounds {args.rounds}` "
        f"({time.strftime('%Y-%m-%d', time.gmtime())}; {os.cpu_count()} vCPU VM, load average "
        f"{load[0]:.1f} while running, shared with other jobs). Device: {size} bytes, a preallocated file on the "
        "root filesystem attached with `losetup --direct-io=on`. Best of the rounds for each tool.",
        "",
        "| run | rate | vs baseline | note |",
        "|---|---|---|---|",
        row("`dd if=/dev/zero bs=4M oflag=direct`", dd_w, None, "write baseline"),
        row("sanitize random, engine (`timing.write`)", san_w_eng, dd_w, "target >= 0.95x dd write"),
        row("sanitize random, whole command", san_w_cmd, dd_w, "includes interpreter start, CLI import, inventory"),
        row(
            f"nwipe random ({nwipe_version})", nw, dd_w, f"{nwipe_note}sanitize engine / nwipe = {san_w_eng / nw:.2f}x"
        ),
        row("`dd of=/dev/null bs=4M iflag=direct`", dd_r, None, "read baseline"),
        row("sanitize full verify, engine (`timing.verify`)", san_v_eng, dd_r, "target >= 0.95x dd read"),
        "",
        f"Peak RSS (target < 100 MiB): sanitize erase --verify none {rss_write:.0f} MiB; with --verify full "
        f"{rss_verify:.0f} MiB (this run also does the default 1 % carve check after the verification, which "
        f"loads numpy); `sanitize erase --help` alone {cli_rss:.0f} MiB; nwipe {nw_rss:.0f} MiB.",
    ]
    print("\n".join(lines))
    print(json.dumps({k: [round(s.seconds, 3) for s in v] for k, v in samples.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
