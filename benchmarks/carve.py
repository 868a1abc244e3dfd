#!/usr/bin/env python3
"""Benchmark `sanitize carve` against `dd iflag=direct` on one multi-GiB loop device (root).

    .venv/bin/python benchmarks/carve.py [--size 4G] [--rounds 3]

Creates a fallocate'd image under /var/tmp, attaches it with `losetup --direct-io=on`, and
fills it with mixed content: mostly random data, zeroed stretches, stretches of float32
vectors (the scanner's most expensive path), text, and a few artifacts (GGUF, safetensors,
a SQLite embedding store). Then, alternating the order per round, times
`dd if=DEV of=/dev/null bs=4M iflag=direct`, `sanitize carve --json --no-allocation DEV`, and
the library call `carve(DEV)` timed inside its process (what inventory and erase verification use);
each command's peak RSS and CPU time come from /usr/bin/time. The loop device and the image
are removed at the end, even on error. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.carve_artifacts import write_gguf, write_safetensors, write_sqlite_store  # noqa: E402

MiB = 1 << 20
SLOT = 64 * MiB
LIBRARY_SNIPPET = """
import json, sys
from sanitize.carve import CarveOptions, carve
from sanitize.hw.linux import LinuxHost
r = carve(LinuxHost(), sys.argv[1], CarveOptions())
print(json.dumps({"seconds": r.seconds, "hits": [h.to_dict() for h in r.hits]}))
"""


def sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


# The Debian package of each program these benchmarks time with that a fresh machine may lack.
# /usr/bin/time and not wait4() on our own child: a child forked from this (large) process
# reports this process's peak RSS as its own.
PROGRAMS = {"/usr/bin/time": "time"}


def require_programs() -> None:
    """Install (apt-get, unattended) the packages of PROGRAMS that are missing."""
    missing = [pkg for path, pkg in PROGRAMS.items() if not os.access(path, os.X_OK)]
    if not missing:
        return
    print(f"installing {' '.join(missing)} with apt-get", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    if subprocess.run(install, env=env, stdout=sys.stderr, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=sys.stderr, check=True)
        subprocess.run(install, env=env, stdout=sys.stderr, check=True)


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else int(text)


def fill(dev: str, size: int, seed: int = 5) -> dict[str, int]:
    """Mixed content written straight to the device; returns bytes per content type."""
    rng = np.random.default_rng(seed)
    contents = {
        "random": rng.bytes(SLOT),
        "zero": bytes(SLOT),
        "floats": rng.normal(0, 0.05, SLOT // 4).astype("<f4").tobytes(),
        "text": (Path("/usr/share/common-licenses/GPL-3").read_bytes() * 2000)[:SLOT],
    }
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        prng = random.Random(seed)
        write_gguf(f"{tmp}/m.gguf", prng)
        write_safetensors(f"{tmp}/e.safetensors", prng)
        write_sqlite_store(f"{tmp}/s.db", prng, rows=300)
        artifacts = [Path(tmp, n).read_bytes() for n in ("m.gguf", "e.safetensors", "s.db")]
    counts: dict[str, int] = {}
    fd = os.open(dev, os.O_WRONLY)
    try:
        for i in range(size // SLOT):  # per 20 slots: 17 random, 1 each of zeros, floats, text
            kind = {7: "zero", 13: "floats", 17: "text"}.get(i % 20, "random")
            os.pwrite(fd, contents[kind], i * SLOT)
            counts[kind] = counts.get(kind, 0) + SLOT
        for j, blob in enumerate(artifacts):  # inside random slots, at 4 KiB boundaries
            os.pwrite(fd, blob, (j * 5 + 1) * SLOT + 12288)
        os.fsync(fd)
    finally:
        os.close(fd)
    return counts


def timed(argv: list[str]) -> tuple[float, int, float, str]:
    """(seconds, peak RSS KiB, CPU seconds, stdout) of one command, measured by /usr/bin/time
    (see PROGRAMS: not wait4() on our own child)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.run(["/usr/bin/time", "-f", "@@ %M %U %S", *argv], stdout=out, stderr=err, check=False)
        seconds = time.monotonic() - started
        err.seek(0)
        last = [ln for ln in err.read().decode().splitlines() if ln.startswith("@@ ")][-1].split()
        if proc.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed with {proc.returncode}")
        out.seek(0)
        return seconds, int(last[1]), float(last[2]) + float(last[3]), out.read().decode()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--size", default="4G")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    require_programs()
    size = parse_size(args.size)
    fd, image = tempfile.mkstemp(prefix="carve-bench-", suffix=".img", dir="/var/tmp")
    os.close(fd)
    dev = None
    try:
        sh("fallocate", "-l", str(size), image)
        dev = sh("losetup", "-f", "--show", "--direct-io=on", image).strip()
        counts = fill(dev, size)
        dd = ["dd", f"if={dev}", "of=/dev/null", "bs=4M", "iflag=direct"]
        carve = [sys.executable, "-m", "sanitize", "carve", "--json", "--no-allocation", dev]
        # The library call the inventory and erase verification make: no CLI start-up (~1 CPU-s
        # of imports for every command module), timed inside the process.
        library = [sys.executable, "-c", LIBRARY_SNIPPET, dev]
        rows = []
        for r in range(args.rounds):
            order = [("dd", dd), ("carve", carve), ("carve()", library)]
            for name, argv in order if r % 2 == 0 else order[::-1]:
                secs, rss, cpu, out = timed(argv)
                hits = None
                if name != "dd":
                    doc = json.loads(out)
                    hits = len(doc["hits"])
                    secs = doc["seconds"] if name == "carve()" else secs
                rows.append((r, name, secs, size / secs / MiB, rss, cpu, hits))
        print(f"device: {dev} ({size / (1 << 30):.1f} GiB, --direct-io=on), content bytes: {counts}")
        print(f"load average at end: {os.getloadavg()}  CPUs: {os.cpu_count()}")
        print()
        print("| round | command | seconds | MiB/s | peak RSS MiB | CPU s | hits |")
        print("|---|---|---|---|---|---|---|")
        for r, name, secs, rate, rss, cpu, hits in rows:
            shown = "" if hits is None else hits
            print(f"| {r} | {name} | {secs:.2f} | {rate:.0f} | {rss / 1024:.0f} | {cpu:.2f} | {shown} |")
        print()
        for label, pick in (("best", max), ("median", statistics.median)):
            dd_rate = pick([row[3] for row in rows if row[1] == "dd"])
            for name in ("carve", "carve()"):
                rate = pick([row[3] for row in rows if row[1] == name])
                print(f"{label} rate: {name} {rate:.0f} MiB/s vs dd {dd_rate:.0f} MiB/s = {rate / dd_rate:.2f}x")
    finally:
        if dev:
            subprocess.run(["losetup", "-d", dev], check=False)
        os.unlink(image)


if __name__ == "__main__":
    main()
