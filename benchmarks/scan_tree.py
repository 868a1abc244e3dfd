#!/usr/bin/env python3
"""Benchmark `sanitize scan` against `find -type f` and `file` (libmagic) on one synthetic tree.

    .venv/bin/python benchmarks/scan_tree.py [--files 200000] [--artifact-percent 3] [--cold]

Builds a tree of --files regular files under /var/tmp (ordinary text, JSON, CSV, random binary
and small images, plus a few per cent copies of the weight fixtures), warms the page cache with
one `find` and one scan, then times, in this order (best of 3 except `file`, which runs once):
`find TREE -type f`; `sanitize scan --json TREE`; the same with `--workers 1` (detection is
Python under the GIL: on a warm cache one thread avoids the hand-offs between threads, while on
a cold disk the default threads overlap the reads); `find TREE -type f -print0 | xargs -0 head -q
-c 4096` (the floor for reading every file's header, in C); `find TREE -type f -print0 | xargs
-0 file` (libmagic, one process per xargs batch). Each command's own peak RSS is taken from
wait4(). With --cold (root), the same commands run again after dropping the page cache before
each run, plus the scan without its readahead helper and a parallel `head` (16 at a time): the
state a scan meets on a volume inventory has just mounted. The tree is deleted at the end, even
on error.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures" / "artifacts" / "weights"
SANITIZE = [sys.executable, "-m", "sanitize"]


def fixture_files() -> list[Path]:
    expected = json.loads((FIXTURES / "EXPECTED.json").read_text())
    return [FIXTURES / rel for rel, v in expected.items() if v["unit"] == "file"]


def ordinary_content(rnd: random.Random, i: int) -> bytes:
    kind = i % 5
    if kind == 0:
        return ("\n".join(f"line {j} of note {i}: nothing to see" for j in range(rnd.randrange(1, 60)))).encode()
    if kind == 1:
        return json.dumps({"id": i, "name": f"item{i}", "tags": ["a", "b"], "n": rnd.random()}).encode()
    if kind == 2:
        return ("a,b,c\n" + "".join(f"{j},{j * 2},{j * 3}\n" for j in range(rnd.randrange(1, 100)))).encode()
    if kind == 3:
        return rnd.randbytes(rnd.randrange(16, 16384))
    return b"\x89PNG\r\n\x1a\n" + rnd.randbytes(rnd.randrange(64, 2048))


def build_tree(root: Path, n_files: int, artifact_percent: float, seed: int = 7) -> int:
    rnd = random.Random(seed)
    fixtures = [(p.read_bytes(), p.suffix) for p in fixture_files()]
    per_dir = 100
    n_artifacts = 0
    for i in range(n_files):
        d = root / f"d{i // (per_dir * 50):03d}" / f"s{(i // per_dir) % 50:02d}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        if rnd.random() * 100 < artifact_percent:
            data, suffix = fixtures[rnd.randrange(len(fixtures))]
            (d / f"f{i}{suffix}").write_bytes(data)
            n_artifacts += 1
        else:
            (d / f"f{i}.dat").write_bytes(ordinary_content(rnd, i))
    return n_artifacts


def timed(argv: list[str], *, shell_pipeline: str | None = None) -> tuple[float, int, bytes]:
    """Seconds, peak RSS (KiB) of the command itself (largest process in a pipeline), stdout."""
    start = time.monotonic()
    if shell_pipeline is not None:
        # The pipeline's RSS is the largest of its processes, which RUSAGE_CHILDREN of a fresh
        # wrapper shell reports.
        wrapper = [sys.executable, "-c", "import resource,subprocess,sys;"
                   "subprocess.run(sys.argv[1],shell=True,stdout=subprocess.DEVNULL,check=True);"
                   "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)", shell_pipeline]  # fmt: skip
        out = subprocess.run(wrapper, check=True, capture_output=True).stdout
        return time.monotonic() - start, int(out.split()[-1]), b""
    with tempfile.TemporaryFile() as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.monotonic() - start
        sink.seek(0)
        data = sink.read()
    if os.waitstatus_to_exitcode(status) not in (0, 10):
        raise SystemExit(f"{argv[0]} failed with status {status}")
    return elapsed, usage.ru_maxrss, data


def drop_caches() -> None:
    """Empty the page, dentry and inode caches (root only), as after mounting a volume."""
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def cold(argv: list[str], *, shell_pipeline: str | None = None) -> tuple[float, int, bytes]:
    drop_caches()
    return timed(argv, shell_pipeline=shell_pipeline)


# The scan as it was before the readahead helper (same code, a `Scanner` given no host to start it on).
NO_READAHEAD = (
    "import json, sys\n"
    "from sanitize.scan import Scanner\n"
    "r = Scanner().scan(sys.argv[1:])\n"
    "print(json.dumps({'artifacts': len(r.artifacts), 'errors': r.stats.errors}))\n"
)


def cold_rows(tree: Path, scan_argv: list[str]) -> None:
    """Every command on an empty page cache, as a scan of a freshly mounted volume meets it."""
    find_s, find_rss, _ = min(cold(["find", str(tree), "-type", "f"]) for _ in range(3))
    scan_s, scan_rss, out = min(cold(scan_argv) for _ in range(2))
    found = len(json.loads(out)["artifacts"])
    plain_s, plain_rss, plain_out = cold([sys.executable, "-c", NO_READAHEAD, str(tree)])
    head_cmd = f"find {tree} -type f -print0 | xargs -0 head -q -c 4096"
    head_s, head_rss, _ = cold([], shell_pipeline=head_cmd)
    par_cmd = f"find {tree} -type f -print0 | xargs -0 -n 1000 -P 16 head -q -c 4096"
    par_s, par_rss, _ = min(cold([], shell_pipeline=par_cmd) for _ in range(2))
    file_cmd = f"find {tree} -type f -print0 | xargs -0 file"
    file_s, file_rss, _ = cold([], shell_pipeline=file_cmd)
    print("Cold cache (caches dropped before every run):")
    print()
    print("| command | seconds | ratio to find | peak RSS |")
    print("|---|---:|---:|---:|")
    for label, secs, rss in (
        ("`find TREE -type f`", find_s, find_rss),
        ("`sanitize scan --json TREE`", scan_s, scan_rss),
        ("the same scan without the readahead helper (`Scanner()`, no host to start it on)", plain_s, plain_rss),
        ("`find TREE -type f -print0 \\| xargs -0 head -q -c 4096`", head_s, head_rss),
        ("`find TREE -type f -print0 \\| xargs -0 -n 1000 -P 16 head -q -c 4096`", par_s, par_rss),
        ("`find TREE -type f -print0 \\| xargs -0 file`", file_s, file_rss),
    ):
        print(f"| {label} | {secs:.2f} | {secs / find_s:.1f}x | {rss / 1024:.0f} MiB |")
    print()
    print(
        f"cold: artifacts reported {found} (without readahead: {json.loads(plain_out)['artifacts']}); "
        f"sanitize scan is {file_s / scan_s:.1f}x faster than file, {scan_s / par_s:.2f}x the parallel header-read "
        f"floor (target <= 1.5x), {scan_s / head_s:.2f}x serial head, {plain_s / scan_s:.1f}x faster than without "
        "readahead"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=200_000)
    ap.add_argument("--artifact-percent", type=float, default=3.0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--cold", action="store_true", help="also time every command on a dropped page cache (root)")
    args = ap.parse_args()
    if args.cold and os.geteuid() != 0:
        raise SystemExit("--cold drops the page cache, which needs root")

    # As a user's install runs it: from compiled bytecode (pip writes it, and an editable install on
    # its first run), not from sources every command compiles again (this VM's shell exports
    # PYTHONDONTWRITEBYTECODE=1, which cost each scan about 0.07 s here), as fast_devices.py does.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    package = Path(__file__).resolve().parent.parent / "sanitize"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True, capture_output=True)
    tree = Path(tempfile.mkdtemp(prefix="sanitize-bench-", dir="/var/tmp"))
    try:
        t0 = time.monotonic()
        n_artifacts = build_tree(tree, args.files, args.artifact_percent)
        print(f"built {args.files} files ({n_artifacts} artifacts) in {time.monotonic() - t0:.0f} s", file=sys.stderr)
        timed(["find", str(tree), "-type", "f"])  # warm the dentry and page caches
        scan_argv = [*SANITIZE, "scan", "--json", str(tree)]
        if args.workers:
            scan_argv[4:4] = ["--workers", str(args.workers)]  # an option of `scan`, after it
        one_thread_argv = [*SANITIZE, "scan", "--workers", "1", "--json", str(tree)]
        timed(scan_argv)  # warm the file headers too, so every tool sees the same warm cache
        # Best of 3 for the fast commands: the VM is shared and a single run is noisy.
        find_s, find_rss, _ = min(timed(["find", str(tree), "-type", "f"]) for _ in range(3))
        scan_s, scan_rss, out = min(timed(scan_argv) for _ in range(3))
        doc = json.loads(out)
        found = len(doc["artifacts"])
        one_s, one_rss, one_out = min(timed(one_thread_argv) for _ in range(3))
        one_found = len(json.loads(one_out)["artifacts"])
        # Interpreter + the scan command's imports, no scan. (Top-level `--help` loads every
        # command to list them, 0.6 s here, which the scan never pays.)
        startup_s, _, _ = timed([*SANITIZE, "scan", "--help"])
        # Floor for any tool that reads each file's first 4 KiB: C code, one process per batch.
        head_cmd = f"find {tree} -type f -print0 | xargs -0 head -q -c 4096"
        head_s, head_rss, _ = min(timed([], shell_pipeline=head_cmd) for _ in range(3))
        file_cmd = f"find {tree} -type f -print0 | xargs -0 file"
        file_s, file_rss, _ = timed([], shell_pipeline=file_cmd)
        if args.cold:
            cold_rows(tree, scan_argv)
            print()
    finally:
        shutil.rmtree(tree, ignore_errors=True)

    cpus = os.cpu_count()
    print("| command | seconds | ratio to find | peak RSS |")
    print("|---|---:|---:|---:|")
    print(f"| `find TREE -type f` | {find_s:.2f} | 1.0x | {find_rss / 1024:.0f} MiB |")
    print(f"| `sanitize scan --json TREE` | {scan_s:.2f} | {scan_s / find_s:.1f}x | {scan_rss / 1024:.0f} MiB |")
    print(f"| `sanitize scan --workers 1 --json TREE` | {one_s:.2f} | {one_s / find_s:.1f}x "
          f"| {one_rss / 1024:.0f} MiB |")  # fmt: skip
    print(f"| `find TREE -type f -print0 \\| xargs -0 head -q -c 4096` | {head_s:.2f} | {head_s / find_s:.1f}x "
          f"| {head_rss / 1024:.0f} MiB |")  # fmt: skip
    print(f"| `find TREE -type f -print0 \\| xargs -0 file` | {file_s:.2f} | {file_s / find_s:.1f}x "
          f"| {file_rss / 1024:.0f} MiB |")  # fmt: skip
    print()
    print(
        f"files: {args.files}, artifacts planted: {n_artifacts}, artifacts reported: {found} "
        f"({one_found} with --workers 1), "
        f"scan files_seen: {doc['stats']['files_seen']}, scan errors: {doc['stats']['errors']}, cpus: {cpus}"
    )
    inner = doc["stats"]["seconds"]
    print(
        f"of the scan's {scan_s:.2f} s, {inner:.2f} s is the walk and detection (stats.seconds) and "
        f"{startup_s:.2f} s starting the CLI (`sanitize scan --help`)"
    )
    print(
        f"sanitize scan is {file_s / scan_s:.1f}x faster than file (target >= 10x) and {scan_s / head_s:.2f}x the "
        f"C header-read floor (target <= 2x); {scan_s / find_s:.1f}x the time of find"
    )
    print(f"with --workers 1: {file_s / one_s:.1f}x faster than file and {one_s / head_s:.2f}x the header-read floor")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}, {os.getloadavg()[1]:.2f}, {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
