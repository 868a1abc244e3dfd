#!/usr/bin/env python3
"""Overwrite (Clear) throughput: sanitize against dd (and nwipe) on the same device, whole process.

Run as root from the repository:
    .venv/bin/python benchmarks/overwrite.py [--size 4G] [--rounds 3] [--no-nwipe]
        [--compare before=/path/to/old/tree/.venv/bin/python]

One preallocated file (fallocate) on the root filesystem is attached as a loop device
with --direct-io=on, and every round runs, on that device, in turn:
  dd if=/dev/zero of=DEV bs=4M oflag=direct            (baseline write)
  sanitize erase DEV --pattern random --verify none --carve-check none --confirm NAME
  dd if=DEV of=/dev/null bs=4M iflag=direct            (baseline read)
  sanitize erase DEV --pattern random --verify full --carve-check none --confirm NAME
  nwipe --autonuke --nogui --method=random --verify=off --noblank DEV   (first round only)
Whole process = process start to exit (interpreter, CLI, inventory probe included). The
random write is the `--verify none` command against dd's write. Verification has no
command of its own; it is measured two ways against dd's read: alone, as the `--resume`
of a `--verify full` erase stopped (SIGTERM) as soon as its verification began (that
process only verifies), and as the `--verify full` command minus the `--verify none`
command of the same round (which also carries the spread of two write passes). The engine's own phase times
(the result's `timing`) are reported beside them. Each `--compare LABEL=PYTHON` runs the two
sanitize commands again with another interpreter, from the tree that holds its venv (e.g.
the code before a change), in the same rounds. Best round per command; all samples to stderr.
Prints a markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
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
    argv: list[str],
    env: dict[str, str] | None = None,
    limit: float | None = None,
    total: int = 0,
    cwd: str = ROOT,
) -> tuple[Sample, str]:
    """Run argv; with `limit`, stop it after that many seconds and extrapolate from the bytes
    it had written (/proc/PID/io), so a slow tool cannot stall the benchmark."""
    start = time.monotonic()
    out_file = tempfile.TemporaryFile()  # noqa: SIM115 (read back below)
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=out_file, stderr=subprocess.DEVNULL, env=env, cwd=cwd
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


def _journal(state: str) -> dict:
    directory = os.path.join(state, "journal")
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        if name.endswith(".json"):
            with contextlib.suppress(OSError, ValueError), open(os.path.join(directory, name)) as fh:
                return json.load(fh)
    return {}


def verify_alone(python: str, dev: str, name: str, env: dict[str, str], cwd: str) -> tuple[float, int]:
    """Whole-process verification alone: write with --verify full, stop it (SIGTERM) as soon as
    its journal says verification began, then time the `--resume` that has only verification
    left. Returns (seconds, bytes that run compared)."""
    state = env["SANITIZE_STATE_DIR"]
    erase = [python, "-m", "sanitize", "erase", dev, "--method", "overwrite", "--pattern", "random"]
    argv = [*erase, "--verify", "full", "--carve-check", "none", "--confirm", name, "--json"]
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd
    )
    try:
        while proc.poll() is None and _journal(state).get("phase") != "verify":
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 8:
        raise SystemExit(f"the erase was not interrupted during verification (exit {proc.returncode})")
    before = int((_journal(state).get("verify_state") or {}).get("checked", 0))
    resume = [python, "-m", "sanitize", "erase", dev, "--resume", "--confirm", name, "--json"]
    sample, out = timed(resume, env, cwd=cwd)
    doc = json.loads(out)
    if doc.get("status") != "verified":
        raise SystemExit(f"resumed verification: status {doc.get('status')}")
    return sample.seconds, int(doc["verification"]["bytes_checked"]) - before


def _tree_of(python: str) -> str:
    """The source tree whose venv holds `python` (TREE/.venv/bin/python)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(python))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="4G")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-nwipe", action="store_true", help="skip nwipe (about 28 MB/s: minutes per GiB)")
    parser.add_argument("--nwipe-limit", type=float, default=900.0, help="stop nwipe after this many seconds")
    parser.add_argument("--compare", action="append", default=[], metavar="LABEL=PYTHON")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    tools = ("dd", "losetup", "fallocate") if args.no_nwipe else ("dd", "nwipe", "losetup", "fallocate")
    for tool in tools:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed" + (" (or pass --no-nwipe)" if tool == "nwipe" else ""))
    variants = {"sanitize": PYTHON, **dict(c.split("=", 1) for c in args.compare)}

    work = tempfile.mkdtemp(prefix="sanitize-bench-", dir="/var/tmp")
    image = os.path.join(work, "disk.img")
    subprocess.run(["fallocate", "-l", args.size, image], check=True)
    dev = subprocess.run(
        ["losetup", "-f", "--show", "--direct-io=on", image], check=True, capture_output=True, text=True
    ).stdout.strip()
    name = os.path.basename(dev)
    size = int(subprocess.run(["blockdev", "--getsize64", dev], check=True, capture_output=True, text=True).stdout)
    env = dict(os.environ, SANITIZE_STATE_DIR=os.path.join(work, "state"))
    # As installed by pip: compiled bytecode, not the sources compiled again by every command.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for python in variants.values():
        tree = os.path.join(_tree_of(python), "sanitize")
        subprocess.run([python, "-m", "compileall", "-q", tree], env=env, capture_output=True)
    commands: dict[str, tuple[list[str], str]] = {
        "dd write": (["dd", "if=/dev/zero", f"of={dev}", "bs=4M", "oflag=direct", f"count={size // (4 << 20)}"], ROOT)
    }
    for label, python in variants.items():
        erase = [python, "-m", "sanitize", "erase", dev, "--method", "overwrite", "--pattern", "random"]
        tail = ["--carve-check", "none", "--confirm", name, "--json"]
        commands[f"{label} write"] = ([*erase, "--verify", "none", *tail], _tree_of(python))
    commands["dd read"] = (["dd", f"if={dev}", "of=/dev/null", "bs=4M", "iflag=direct"], ROOT)
    for label, python in variants.items():
        erase = [python, "-m", "sanitize", "erase", dev, "--method", "overwrite", "--pattern", "random"]
        tail = ["--carve-check", "none", "--confirm", name, "--json"]
        commands[f"{label} write+verify"] = ([*erase, "--verify", "full", *tail], _tree_of(python))
    if not args.no_nwipe:
        log = os.path.join(work, "nwipe.log")
        nwipe = ["nwipe", "--autonuke", "--nogui", "--method=random", "--verify=off", "--noblank", f"--logfile={log}"]
        commands["nwipe"] = ([*nwipe, dev], ROOT)
    samples: dict[str, list[Sample]] = {k: [] for k in commands}
    loads: list[float] = []
    try:
        for round_no in range(args.rounds):
            for label, (argv, cwd) in commands.items():
                if label == "nwipe" and round_no > 0:
                    continue  # one round: it is the slowest by far
                limit = args.nwipe_limit if label == "nwipe" else None
                sample, out = timed(argv, env, limit=limit, total=size, cwd=cwd)
                if " write" in label and not label.startswith("dd"):
                    sample.doc = json.loads(out)
                    if sample.doc.get("status") not in ("verified", "unverified"):
                        raise SystemExit(f"{label}: status {sample.doc.get('status')}: {sample.doc.get('notes')}")
                samples[label].append(sample)
                loads.append(os.getloadavg()[0])
            for label, python in variants.items():
                seconds_alone, compared = verify_alone(python, dev, name, env, _tree_of(python))
                # the time that rate needs for the whole device (start-up included once)
                samples.setdefault(f"{label} verify alone", []).append(Sample(seconds_alone * size / compared, 0))
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)
        shutil.rmtree(work, ignore_errors=True)

    def seconds(label: str, key: str | None = None) -> list[float]:
        if key is None:
            return [s.seconds for s in samples[label]]
        return [s.doc["timing"][key] for s in samples[label]]

    def verify_seconds(label: str) -> list[float]:
        # whole-process verification: the full-verify command minus the no-verify one, same round
        pairs = zip(samples[f"{label} write+verify"], samples[f"{label} write"], strict=True)
        return [full.seconds - none.seconds for full, none in pairs]

    mb = size / 1e6
    dd_w, dd_r = seconds("dd write"), seconds("dd read")

    def row(what: str, times: list[float], base: list[float] | None, note: str = "", paired: bool = False) -> str:
        # A difference of two runs (`paired`) has no meaningful best: one slow run makes it tiny.
        best, median = mb / min(times), mb / statistics.median(times)
        best_text = "-" if paired else f"{best:.0f}"
        if base is None:
            return f"| {what} | {best_text} | {median:.0f} |  |  | {note} |"
        b_best, b_median = mb / min(base), mb / statistics.median(base)
        ratio = "-" if paired else f"{best / b_best:.2f}x"
        return f"| {what} | {best_text} | {median:.0f} | {ratio} | {median / b_median:.2f}x | {note} |"

    rows = [row("`dd if=/dev/zero bs=4M oflag=direct`", dd_w, None, "write baseline")]
    for label in variants:
        rows.append(row(f"{label}: random write, whole process", seconds(f"{label} write"), dd_w, "target >= 0.95x"))
        rows.append(row(f"{label}: random write, engine (`timing.write`)", seconds(f"{label} write", "write"), dd_w))
    rows.append(row("`dd of=/dev/null bs=4M iflag=direct`", dd_r, None, "read baseline"))
    for label in variants:
        rows.append(
            row(
                f"{label}: verification alone, whole process (`--resume` after write)",
                seconds(f"{label} verify alone"),
                dd_r,
                "target >= 0.95x",
            )
        )
        rows.append(
            row(
                f"{label}: full verify, whole process (full - none)",
                verify_seconds(label),
                dd_r,
                "target >= 0.95x",
                paired=True,
            )
        )
        rows.append(
            row(f"{label}: full verify, engine (`timing.verify`)", seconds(f"{label} write+verify", "verify"), dd_r)
        )
    both = [w + r for w, r in zip(dd_w, dd_r, strict=True)]
    for label in variants:
        rows.append(
            row(
                f"{label}: write + full verify, whole process",
                seconds(f"{label} write+verify"),
                both,
                "vs dd write + dd read",
            )
        )
    if not args.no_nwipe:
        nwipe_version = subprocess.run(["nwipe", "--version"], capture_output=True, text=True).stdout.strip()
        rows.append(row(f"nwipe random ({nwipe_version})", seconds("nwipe"), dd_w))
    rss = {label: max(s.rss_kib for s in samples[f"{label} write+verify"]) / 1024 for label in variants}
    lines = [
        "## Overwrite (Clear)",
        "",
        f"Command: `sudo .venv/bin/python benchmarks/overwrite.py --size {args.size} --rounds {args.rounds}"
        + (" --no-nwipe" if args.no_nwipe else "")
        + "".join(f" --compare {c}" for c in args.compare)
        + f"` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} vCPU VM shared with other "
        f"jobs, load average {min(loads):.1f}-{max(loads):.1f} during the run). Device: {size} bytes, a preallocated "
        "file on the root filesystem attached with `losetup --direct-io=on`. Rates from the best and the median "
        "round of each command (ratios against dd's best and median).",
        "",
        "| run | best MB/s | median MB/s | best vs dd | median vs dd | note |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "Peak RSS, `--verify full`: " + ", ".join(f"{label} {v:.0f} MiB" for label, v in rss.items()) + ".",
    ]
    print("\n".join(lines))
    print(json.dumps({k: [round(s.seconds, 3) for s in v] for k, v in samples.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
