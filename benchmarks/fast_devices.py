#!/usr/bin/env python3
"""Overwrite, verification and carve on fast devices, one and several at once, against dd and nwipe.

Run as root from the repository (about 5 minutes with the defaults, idle):
    .venv/bin/python benchmarks/fast_devices.py [--size 6G] [--each 2G] [--devices 4] [--rounds 3]
        [--nwipe PATH | --nwipe-repo URL] [--skip-disk]

nwipe: the binary built by benchmarks/build_nwipe.sh (tag v0.42 of its source repository, into
/var/cache/sanitize-bench; built first, unattended, when missing), or --nwipe PATH ('' skips it).

Devices are loop devices attached with `losetup --direct-io=on`: over files in tmpfs
(/dev/shm, RAM-backed: there dd is bound by memory copies, so a ratio shows the engine's own
cost per byte; one of --size, then --devices of --each) and over files on the root filesystem
(the virtual disk). Every command runs as a whole process (interpreter, CLI, inventory probe
included), timed from start to exit, its peak RSS (of its largest process) and CPU (of all) from
/usr/bin/time, and the peak PSS of all its processes together (sampled every 50 ms: with
several devices, `sanitize` runs a worker process per device).

One RAM device, every round, in turn:
  dd if=/dev/zero of=DEV bs=4M oflag=direct
  sanitize erase DEV --method overwrite --pattern random --verify none --carve-check none
  dd if=DEV of=/dev/null bs=4M iflag=direct
  verification alone: `sanitize erase DEV ... --verify full` stopped (SIGTERM) as soon as every
      journal says verification began, then timed: `sanitize erase DEV --resume` (which only
      verifies), rate = bytes it compared / its whole-process time
  nwipe --method=random --prng=chacha20|splitmix64|auto --verify=off --noblank (first round)
then the device is filled with mixed content (benchmarks/carve.py) and every round runs
  dd read, and sanitize carve --json --no-allocation DEV.
Several devices (RAM, then disk), every round: the dd's started together (aggregate = all
bytes / time until the last ends) against one `sanitize erase A B C D` (write), the
verification alone of all of them (one `--resume`), and one `sanitize decommission --only A
... --method overwrite --verify full` (write + verification + certificates) against dd
write + dd read. Prints markdown for docs/benchmarks.md; all samples go to stderr.

The whole machine's CPU is measured for every run (/proc/stat: busy ticks of all CPUs, the
loop devices' kernel workers included, which neither process is charged for), and the engine's
least extra CPU per GiB beside the device's own copies is measured in this process with the
engine's own code (the keystream for writing, the unmask-and-check for verification, the scan
for carving, each on a 4 MiB buffer). With P CPUs, no design that adds that CPU to what the dd
runs cost the machine can finish faster than (dd's machine CPU + extra) / P, so each table
gives that ceiling: P x dd's time / (dd's machine CPU + extra), as a ratio to dd.
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
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from carve import SLOT, fill, parse_size, require_programs  # noqa: E402  (benchmarks/carve.py)

SANITIZE = [PYTHON, "-m", "sanitize"]


@dataclass
class Run:
    seconds: float
    rss_mib: float = 0.0
    cpu: float = 0.0
    out: str = ""
    outs: list[str] = field(default_factory=list)  # every command's stdout, in order
    extra: dict[str, float] = field(default_factory=dict)


def start(argv: Sequence[str], env: dict[str, str], err: object, cwd: str = ROOT) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["/usr/bin/time", "-f", "@@ %M %U %S", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=err,  # type: ignore[arg-type]
        env=env,
        cwd=cwd,  # python -m sanitize imports the package of its working directory
    )


def machine_jiffies() -> tuple[int, int]:
    """(busy, all) clock ticks of every CPU since boot (/proc/stat): processes, kernel workers
    (the loop devices' copies), interrupts; steal and guest time excluded."""
    with open("/proc/stat") as fh:
        ticks = [int(x) for x in fh.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, _steal = ticks
    busy = user + nice + system + irq + softirq
    return busy, busy + idle + iowait


HZ = os.sysconf("SC_CLK_TCK")


def tree_pss_kib(pid: int) -> int:
    """Proportional set size of `pid` and all its descendants, KiB: memory shared between
    forked workers is counted once, which the largest process's RSS (/usr/bin/time) is not."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{p}/smaps_rollup") as fh:
                total += next(int(ln.split()[1]) for ln in fh if ln.startswith("Pss:"))
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
    return total


class PeakMemory:
    """The peak, sampled every 50 ms, of the PSS of some processes and their descendants."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids, self.peak_kib = pids, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        while not self.done.wait(0.05):
            self.peak_kib = max(self.peak_kib, sum(tree_pss_kib(p) for p in self.pids))

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return self.peak_kib / 1024


def together(commands: Sequence[Sequence[str]], env: dict[str, str], ok: Sequence[int] = (0,), cwd: str = ROOT) -> Run:
    """Start every command at once; seconds until the last one ends; RSS the largest, CPU summed;
    extra["machine"]: CPU-seconds the whole machine was busy meanwhile, extra["busy"]: that as a
    fraction of all its CPUs."""
    errs = [tempfile.TemporaryFile() for _ in commands]  # noqa: SIM115 (read below)
    busy0, all0 = machine_jiffies()
    began = time.monotonic()
    procs = [start(argv, env, err, cwd) for argv, err in zip(commands, errs, strict=True)]
    memory = PeakMemory([p.pid for p in procs])
    outs = [p.communicate()[0].decode(errors="replace") for p in procs]
    seconds = time.monotonic() - began
    busy1, all1 = machine_jiffies()
    run = Run(seconds, out=outs[0] if len(outs) == 1 else "", outs=outs)
    run.extra["pss"] = memory.stop()
    run.extra["machine"] = (busy1 - busy0) / HZ
    run.extra["busy"] = (busy1 - busy0) / max(all1 - all0, 1)
    for argv, proc, err in zip(commands, procs, errs, strict=True):
        err.seek(0)
        text = err.read().decode(errors="replace")
        err.close()
        marks = [ln.split() for ln in text.splitlines() if ln.startswith("@@ ")]
        if proc.returncode not in ok or not marks:
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {text[-2000:]}")
        run.rss_mib = max(run.rss_mib, int(marks[-1][1]) / 1024)
        run.cpu += float(marks[-1][2]) + float(marks[-1][3])
    return run


def extra_cpu_per_gib() -> dict[str, float]:
    """CPU-seconds per GiB the engine adds to a device's own copies, at the least: measured here
    with its own code on 4 MiB buffers refilled from 64 MiB of random data (cache-cold, as a read
    buffer is), one thread, best of three. write: the keystream; verify: the read bytes XOR the
    keystream and the check for zeros; carve: the sector, page and float32 tests."""
    import numpy as np

    from sanitize.carve.floats import float_blocks
    from sanitize.carve.signatures import SECTOR, sector_candidates, sector_heads
    from sanitize.carve.sqlite_pages import page_candidates
    from sanitize.erase.buffers import CIPHER, AlignedBuffer, PatternSource

    chunk, piece, rounds = 4 << 20, 256 << 10, 64
    source = PatternSource("random", PatternSource.new_key(CIPHER), chunk)
    got, want, zeros = AlignedBuffer(chunk), AlignedBuffer(piece), AlignedBuffer(piece)
    pool = np.random.default_rng(1).integers(0, 256, 64 << 20, dtype=np.uint8)
    arr = np.frombuffer(got.view[:chunk], dtype=np.uint8)

    def write(offset: int) -> None:
        source.fill(got, offset, chunk)

    def verify(offset: int) -> None:
        stream = source.stream(offset)
        assert stream is not None
        for at in range(0, chunk, piece):
            stream.unmask(got, at, want, piece)
            want.equals(zeros, piece, 0, 0)

    def carve(offset: int) -> None:
        heads = sector_heads(arr.reshape(-1, SECTOR))
        sector_candidates(arr.reshape(-1, SECTOR), heads)
        page_candidates(heads.view(np.uint8))
        float_blocks(arr, heads)

    costs = {}
    for name, work in (("write", write), ("verify", verify), ("carve", carve)):
        best = float("inf")
        for _ in range(3):
            spent = 0.0
            for i in range(rounds):
                at = (i * chunk) % pool.size
                arr[:] = pool[at : at + chunk]  # new bytes, as the device's copy leaves them
                before = time.thread_time()
                work(i * chunk)
                spent += time.thread_time() - before
            best = min(best, spent / (rounds * chunk / (1 << 30)))
        costs[name] = best
    for buf in (got, want, zeros):
        buf.close()
    return costs


def dd_write(dev: str) -> list[str]:
    size = int(subprocess.run(["blockdev", "--getsize64", dev], check=True, capture_output=True, text=True).stdout)
    return ["dd", "if=/dev/zero", f"of={dev}", "bs=4M", "oflag=direct", f"count={size >> 22}"]


def dd_read(dev: str) -> list[str]:
    return ["dd", f"if={dev}", "of=/dev/null", "bs=4M", "iflag=direct"]


def erase(devs: Sequence[str], verify: str) -> list[str]:
    names = ",".join(os.path.basename(d) for d in devs)
    return [
        *SANITIZE,
        "erase",
        *devs,
        "--method",
        "overwrite",
        "--pattern",
        "random",
        "--verify",
        verify,
        "--carve-check",
        "none",
        "--confirm",
        names,
        "--json",
    ]


def journals(state: str) -> list[dict[str, object]]:
    directory = os.path.join(state, "journal")
    found = []
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        if name.endswith(".json"):
            with contextlib.suppress(OSError, ValueError), open(os.path.join(directory, name)) as fh:
                found.append(json.load(fh))
    return found


class Missed(Exception):
    """A device finished verifying before the last one began: no verification-alone sample."""


def verify_alone_retried(
    groups: Sequence[Sequence[str]], env: dict[str, str], tries: int = 3, cwd: str = ROOT
) -> list[Run]:
    """verify_alone, tried again when a device of several finished before the others began
    verifying (their progress differs under load); [] when every try missed."""
    for _ in range(tries):
        try:
            return [verify_alone(groups, env, cwd)]
        except Missed as exc:
            print(f"verification alone: {exc}; again", file=sys.stderr)
    return []


def verify_alone(groups: Sequence[Sequence[str]], env: dict[str, str], cwd: str = ROOT) -> Run:
    """Verification alone, whole process: stop --verify full erases (one `sanitize erase` per
    group of devices, started together) as soon as every device's journal says verification
    began, then time the --resumes that have only verification left. Its seconds are scaled to
    the whole devices at the rate it compared (start-up included once)."""
    state = env["SANITIZE_STATE_DIR"]
    devices = sum(len(g) for g in groups)
    procs = [
        subprocess.Popen(
            erase(g, "full"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
        )
        for g in groups
    ]
    try:
        while all(p.poll() is None for p in procs):
            now = journals(state)
            if len(now) == devices and all(j.get("phase") == "verify" for j in now):
                break
            time.sleep(0.005)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    found = journals(state)
    if any(c != 8 for c in codes) or len(found) != devices or any(j.get("phase") != "verify" for j in found):
        # Start the next sample afresh: the benchmark's own state directory, no run to continue.
        directory = os.path.join(state, "journal")
        for name in os.listdir(directory) if os.path.isdir(directory) else []:
            os.unlink(os.path.join(directory, name))
        raise Missed(f"the erase was not interrupted during every device's verification (exit {codes})")
    before = sum(int((j.get("verify_state") or {}).get("checked", 0)) for j in found)  # type: ignore[union-attr]
    resumes = [[*SANITIZE, "erase", *g, "--resume", "--confirm", ",".join(os.path.basename(d) for d in g), "--json"]
               for g in groups]  # fmt: skip
    run = together(resumes, env, cwd=cwd)
    results = [r for out in run.outs for r in results_of(out)]
    if any(r.get("status") != "verified" for r in results):
        raise SystemExit(f"resumed verification: {[r.get('status') for r in results]}")
    compared = sum(int(r["verification"]["bytes_checked"]) for r in results) - before
    total = sum(int(r["device"]["size_bytes"]) for r in results)
    run.extra["engine"] = max(float(r["timing"]["verify"]) for r in results) * total / max(compared, 1)
    run.seconds = run.seconds * total / max(compared, 1)
    run.extra["machine"] = run.extra["machine"] * total / max(compared, 1)
    return run


def results_of(out: str) -> list[dict[str, Any]]:
    """The result documents of one `sanitize erase --json` (one device's, or several's)."""
    doc = json.loads(out)
    return list(doc.get("results", [doc]))


def check_erase(run: Run, want: str) -> Run:
    results = [r for out in run.outs for r in results_of(out)]
    if any(r.get("status") != want for r in results):
        raise SystemExit(f"erase: {[r.get('status') for r in results]}")
    run.extra["engine"] = max(float(r["timing"]["write"]) for r in results)
    return run


def attach(image: str, size: int) -> str:
    """A loop device over a new preallocated image, written once untimed: the first write into
    fresh tmpfs pages or unwritten extents is several times slower than every later one."""
    subprocess.run(["fallocate", "-l", str(size), image], check=True)
    out = subprocess.run(
        ["losetup", "-f", "--show", "--direct-io=on", image], check=True, capture_output=True, text=True
    )
    dev = out.stdout.strip()
    subprocess.run(dd_write(dev), check=True, capture_output=True)
    return dev


def detach(devs: list[str], directory: str) -> None:
    """Detach the loop devices and delete their images (the RAM they held)."""
    for d in devs:
        subprocess.run(["losetup", "-d", d], check=False)
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        os.unlink(os.path.join(directory, name))
    devs.clear()


Samples = dict[str, list[Run]]


def rate(nbytes: int, runs: list[Run], pick: str = "median", key: str | None = None) -> float:
    times = [r.extra[key] if key else r.seconds for r in runs]
    return nbytes / 1e6 / (min(times) if pick == "best" else statistics.median(times))


def table(nbytes: int, samples: Samples, rows: Sequence[tuple[str, str, str | None, str | None]]) -> list[str]:
    """rows: (label, sample name, baseline sample name, engine key or None)."""
    lines = [
        "| run | best MB/s | median MB/s | best vs dd | median vs dd | peak RSS MiB | peak PSS MiB "
        "| CPU s (median) | machine busy | machine CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, name, base, key in rows:
        runs = samples.get(name, [])
        if not runs:
            continue
        best, med = rate(nbytes, runs, "best", key), rate(nbytes, runs, "median", key)
        ratio = ["", ""]
        if base and samples.get(base):
            ratio = [f"{best / rate(nbytes, samples[base], 'best'):.2f}x", f"{med / rate(nbytes, samples[base]):.2f}x"]
        rss = "" if key else f"{max(r.rss_mib for r in runs):.0f}"
        pss = "" if key or not all("pss" in r.extra for r in runs) else f"{max(r.extra['pss'] for r in runs):.0f}"
        cpu = "" if key else f"{statistics.median(r.cpu for r in runs):.2f}"
        busy = machine = ""
        if not key and all("machine" in r.extra for r in runs):
            busy = f"{statistics.median(r.extra['busy'] for r in runs):.0%}"
            machine = f"{statistics.median(r.extra['machine'] for r in runs):.2f}"
        cells = [label, f"{best:.0f}", f"{med:.0f}", *ratio, rss, pss, cpu, busy, machine]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def ceiling(nbytes: int, samples: Samples, base: str, extra_per_gib: float, what: str) -> str:
    """The ratio to dd no design can pass here when it adds `extra_per_gib` CPU-s per GiB to what
    the dd runs cost the whole machine (see the module docstring)."""
    runs = samples.get(base) or []
    if not runs:
        return ""
    cpus = os.cpu_count() or 1
    dd_seconds = statistics.median(r.seconds for r in runs)
    dd_machine = statistics.median(r.extra["machine"] for r in runs)
    extra = extra_per_gib * nbytes / (1 << 30)
    limit = cpus * dd_seconds / (dd_machine + extra)
    return (
        f"- {what}: the dd runs kept the machine {statistics.median(r.extra['busy'] for r in runs):.0%} busy "
        f"({dd_machine:.2f} CPU-s in {dd_seconds:.2f} s); the engine adds at least {extra:.2f} CPU-s "
        f"({extra_per_gib:.3f} per GiB); on {cpus} CPUs no such design passes "
        f"{cpus} x {dd_seconds:.2f} / ({dd_machine:.2f} + {extra:.2f}) = **{limit:.2f}x** dd"
    )


def single(
    dev: str, size: int, rounds: int, env: dict[str, str], nwipe: str | None, work: str, extra: dict[str, float]
) -> list[str]:
    s: Samples = {}
    loads = []
    for round_no in range(rounds):
        s.setdefault("dd write", []).append(together([dd_write(dev)], env))
        s.setdefault("write", []).append(check_erase(together([erase([dev], "none")], env), "unverified"))
        s.setdefault("dd read", []).append(together([dd_read(dev)], env))
        s.setdefault("verify", []).extend(verify_alone_retried([[dev]], env))
        if nwipe and round_no == 0:
            for prng in ("chacha20", "splitmix64", "auto"):
                argv = [
                    nwipe,
                    "--autonuke",
                    "--nogui",
                    "--nowait",
                    "--method=random",
                    f"--prng={prng}",
                    "--verify=off",
                    "--noblank",
                    "--PDFreportpath=noPDF",
                    f"--logfile={work}/nwipe.log",
                    dev,
                ]
                s.setdefault(f"nwipe {prng}", []).append(together([argv], env))
        loads.append(os.getloadavg()[0])
    fill(dev, size)
    carve = [*SANITIZE, "carve", "--json", "--no-allocation", dev]
    for _ in range(rounds):
        s.setdefault("dd read (mixed content)", []).append(together([dd_read(dev)], env))
        s.setdefault("carve", []).append(together([carve], env))
        loads.append(os.getloadavg()[0])
    rows: list[tuple[str, str, str | None, str | None]] = [
        ("`dd if=/dev/zero bs=4M oflag=direct`", "dd write", None, None),
        ("sanitize erase --pattern random --verify none (write), whole process", "write", "dd write", None),
        ("the same, engine only (`timing.write`)", "write", "dd write", "engine"),
    ]
    rows += [
        (f"nwipe 0.42 --prng={p} --verify=off, whole process", f"nwipe {p}", "dd write", None)
        for p in ("chacha20", "splitmix64", "auto")
    ]
    rows += [
        ("`dd of=/dev/null bs=4M iflag=direct`", "dd read", None, None),
        ("sanitize verification alone (`--resume` of --verify full), whole process", "verify", "dd read", None),
        ("the same, engine only (`timing.verify`)", "verify", "dd read", "engine"),
        ("`dd` read of the mixed content", "dd read (mixed content)", None, None),
        ("sanitize carve --json --no-allocation, whole process", "carve", "dd read (mixed content)", None),
    ]
    head = f"One RAM-backed device ({size} bytes), load average {min(loads):.1f}-{max(loads):.1f}:"
    print(json.dumps({k: [round(r.seconds, 3) for r in v] for k, v in s.items()}), file=sys.stderr)
    limits = [
        ceiling(size, s, "dd write", extra["write"], "write (keystream)"),
        ceiling(size, s, "dd read", extra["verify"], "verification (unmask and check)"),
        ceiling(size, s, "dd read (mixed content)", extra["carve"], "carve (sector, page and float32 tests)"),
    ]
    return [head, "", *table(size, s, rows), "", "CPU ceilings:", "", *filter(None, limits)]


def several(
    devs: list[str], size: int, rounds: int, env: dict[str, str], what: str, extra: dict[str, float]
) -> list[str]:
    s: Samples = {}
    loads = []
    total = size * len(devs)
    confirm = ",".join(os.path.basename(d) for d in devs)
    only = [a for d in devs for a in ("--only", d)]
    decommission = [
        *SANITIZE,
        "decommission",
        *only,
        "--method",
        "overwrite",
        "--verify",
        "full",
        "--confirm",
        confirm,
        "--json",
    ]
    for _ in range(rounds):
        s.setdefault("dd write", []).append(together([dd_write(d) for d in devs], env))
        s.setdefault("write", []).append(check_erase(together([erase(devs, "none")], env), "unverified"))
        s.setdefault("dd read", []).append(together([dd_read(d) for d in devs], env))
        s.setdefault("verify", []).extend(verify_alone_retried([devs], env))
        s.setdefault("decommission", []).append(together([decommission], env))
        s["dd write+read"] = [
            Run(w.seconds + r.seconds, extra={"machine": w.extra["machine"] + r.extra["machine"]})
            for w, r in zip(s["dd write"], s["dd read"], strict=True)
        ]
        for run in s["dd write+read"]:
            run.extra["busy"] = run.extra["machine"] / (run.seconds * (os.cpu_count() or 1))
        loads.append(os.getloadavg()[0])
    rows: list[tuple[str, str, str | None, str | None]] = [
        (f"{len(devs)} x `dd ... oflag=direct` started together", "dd write", None, None),
        (f"`sanitize erase` of the {len(devs)}, --verify none (write), whole process", "write", "dd write", None),
        ("the same, engine only (slowest device's `timing.write`)", "write", "dd write", "engine"),
        (f"{len(devs)} x `dd ... iflag=direct` started together", "dd read", None, None),
        (f"verification alone of the {len(devs)} (one `--resume`), whole process", "verify", "dd read", None),
        ("the same, engine only (slowest device's `timing.verify`)", "verify", "dd read", "engine"),
        ("dd write + dd read (the two rows above)", "dd write+read", None, None),
        (f"`sanitize decommission` of the {len(devs)}, --verify full", "decommission", "dd write+read", None),
    ]
    head = (
        f"{len(devs)} devices at once, {what}, {size} bytes each (aggregate MB/s over {total} bytes), "
        f"load average {min(loads):.1f}-{max(loads):.1f}:"
    )
    print(json.dumps({k: [round(r.seconds, 3) for r in v] for k, v in s.items()}), file=sys.stderr)
    limits = [
        ceiling(total, s, "dd write", extra["write"], "write (keystream)"),
        ceiling(total, s, "dd read", extra["verify"], "verification (unmask and check)"),
    ]
    return [head, "", *table(total, s, rows), "", "CPU ceilings:", "", *filter(None, limits)]


def find_nwipe(path: str | None, repo: str | None) -> str | None:
    """The nwipe binary to compare with: `path`, or the one benchmarks/build_nwipe.sh built (it
    builds it first when missing); None, with a message, when there is none."""
    if path is not None:
        return path if path and os.access(path, os.X_OK) else None
    argv = [os.path.join(ROOT, "benchmarks", "build_nwipe.sh"), *(["--repo", repo] if repo else [])]
    built = subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=False)
    found = built.stdout.strip().splitlines()[-1:] if built.returncode == 0 else []
    if not found or not os.access(found[0], os.X_OK):
        print(f"nwipe: build_nwipe.sh failed (exit {built.returncode}): no nwipe rows", file=sys.stderr)
        return None
    return found[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="6G", help="the one RAM-backed device")
    parser.add_argument("--each", default="2G", help="each of the devices used at once")
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nwipe", default=None, help="nwipe 0.42+ binary ('' to skip; default: build_nwipe.sh's)")
    parser.add_argument("--nwipe-repo", default=None, help="nwipe's git repository for build_nwipe.sh")
    parser.add_argument("--skip-disk", action="store_true", help="no loop devices over the virtual disk")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    require_programs()
    size, each = parse_size(args.size), parse_size(args.each)
    if size % (4 << 20) or each % (4 << 20):
        raise SystemExit("--size and --each must be multiples of 4 MiB (dd's bs=4M)")
    if size < 16 * SLOT:  # carve.fill plants its artifacts in the first 11 slots of 64 MiB
        raise SystemExit(f"--size must be at least {16 * SLOT >> 20} MiB (the carve benchmark's content)")
    nwipe = find_nwipe(args.nwipe, args.nwipe_repo)
    work = tempfile.mkdtemp(prefix="sanitize-fast-", dir="/var/tmp")
    ram = tempfile.mkdtemp(prefix="sanitize-fast-", dir="/dev/shm")
    env = dict(os.environ, SANITIZE_STATE_DIR=os.path.join(work, "state"), LC_ALL="C")
    # As installed by pip: compiled bytecode, not the sources compiled again by every command.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([PYTHON, "-m", "compileall", "-q", os.path.join(ROOT, "sanitize")], env=env, capture_output=True)
    subprocess.run([*SANITIZE, "keys", "init", "--org", "benchmark"], env=env, check=True, capture_output=True)
    extra = extra_cpu_per_gib()
    print(f"extra CPU-s per GiB: {extra}", file=sys.stderr)
    devs: list[str] = []
    out = [
        f"Command: `sudo .venv/bin/python benchmarks/fast_devices.py --size {args.size} --each {args.each} "
        f"--devices {args.devices} --rounds {args.rounds}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} vCPUs, load average {os.getloadavg()[0]:.1f} at the start)",
        "",
    ]
    try:
        devs = [attach(os.path.join(ram, "one.img"), size)]
        out += [*single(devs[0], size, args.rounds, env, nwipe, work, extra), ""]
        detach(devs, ram)
        devs = [attach(os.path.join(ram, f"d{i}.img"), each) for i in range(args.devices)]
        out += [*several(devs, each, args.rounds, env, "RAM-backed loops", extra), ""]
        detach(devs, ram)
        if not args.skip_disk:
            devs = [attach(os.path.join(work, f"d{i}.img"), each) for i in range(args.devices)]
            out += [*several(devs, each, args.rounds, env, "loops over files on the virtual disk", extra), ""]
    finally:
        detach(devs, ram)
        shutil.rmtree(ram, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(out))


if __name__ == "__main__":
    main()
