"""`sanitize erase --method overwrite` on real loop devices (root)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sanitize.erase import EraseOptions, ExecutionContext, Planning, build_plan, new_result, run_plan
from sanitize.erase.overwrite import OverwriteMethod, sample_ranges
from sanitize.hw.linux import LinuxHost
from sanitize.inventory.probe import probe
from sanitize.methods import all_methods
from sanitize.state import StateDir
from tests.support.journal import interrupt_during_write
from tests.support.journal import journal_in as _journal
from tests.support.lab import LoopLab, device_sha256, sh
from tests.support.methods import checkpointing_every

pytestmark = pytest.mark.root

MiB = 1 << 20


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def doc(self) -> dict:
        return json.loads(self.stdout)


def sanitize(*args: str, timeout: float = 300) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "sanitize", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def name(dev: str) -> str:
    return os.path.basename(dev)


def fill(dev: str, byte: int | None) -> None:
    """Give the device a known pre-image (random when byte is None)."""
    size = int(sh("blockdev", "--getsize64", dev))
    fd = os.open(dev, os.O_WRONLY)
    try:
        for off in range(0, size, 4 * MiB):
            n = min(4 * MiB, size - off)
            os.pwrite(fd, os.urandom(n) if byte is None else bytes([byte]) * n, off)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_all(dev: str) -> bytes:
    fd = os.open(dev, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        size = os.lseek(fd, 0, os.SEEK_END)
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


def one_error_line(run: Run) -> str:
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("sanitize: error: "), lines[0]
    return lines[0]


# --- what gets written --------------------------------------------------------------


@pytest.mark.parametrize("pattern,byte", [("zeros", 0x00), ("ones", 0xFF), ("0x5a", 0x5A)])
def test_fixed_patterns_change_every_byte(lab: LoopLab, state_dir: str, pattern: str, byte: int) -> None:
    dev = lab.loop("16M")
    fill(dev, byte ^ 0xFF)
    run = sanitize("erase", dev, "--pattern", pattern, "--verify", "full", "--confirm", name(dev), "--json")
    assert run.code == 0, run.stderr
    doc = run.doc()
    assert doc["schema"] == "sanitize.erase/1"
    assert doc["status"] == "verified" and doc["pattern"] == pattern and doc["nist_level"] == "clear"
    assert doc["verification"]["outcome"] == "passed" and doc["verification"]["coverage"] == 1.0
    assert read_all(dev) == bytes([byte]) * (16 * MiB)


def test_random_pattern_changes_every_sector(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("16M")
    fill(dev, None)
    before = read_all(dev)
    run = sanitize("erase", dev, "--verify", "full", "--confirm", name(dev), "--json")
    assert run.code == 0, run.stderr
    after = read_all(dev)
    changed = [before[i : i + 512] != after[i : i + 512] for i in range(0, len(after), 512)]
    assert all(changed)
    # A keystream, not a fill: no sector is constant and no two sectors are equal.
    sectors = {after[i : i + 512] for i in range(0, len(after), 512)}
    assert len(sectors) == len(after) // 512
    assert "key" not in json.dumps(run.doc()).lower().replace("keystream", "")


@pytest.mark.parametrize("sector_size", [512, 4096])
def test_sector_sizes_and_size_not_multiple_of_buffer(lab: LoopLab, state_dir: str, sector_size: int) -> None:
    size = 9 * MiB + 3 * 4096  # not a multiple of the 4 MiB buffer
    dev = lab.loop(str(size), sector_size=sector_size)
    fill(dev, 0x11)
    run = sanitize("erase", dev, "--pattern", "ones", "--verify", "full", "--confirm", name(dev), "--json")
    assert run.code == 0, run.stderr
    doc = run.doc()
    assert doc["device"]["logical_sector_size"] == sector_size
    assert doc["bytes_written"] == size
    assert read_all(dev) == b"\xff" * size


def test_multi_pass_random_verifies_last_pass(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("8M")
    run = sanitize("erase", dev, "--passes", "3", "--verify", "full", "--confirm", name(dev), "--json")
    assert run.code == 0, run.stderr
    doc = run.doc()
    assert doc["passes"] == 3 and doc["bytes_written"] == 3 * 8 * MiB and doc["status"] == "verified"
    saved = os.path.join(state_dir, "results", f"{doc['id']}.json")
    assert os.stat(saved).st_mode & 0o777 == 0o600
    assert not os.listdir(os.path.join(state_dir, "journal")), "the journal (and its key) must be gone"


def test_sample_verification_default(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("64M", sector_size=4096)
    run = sanitize("erase", dev, "--pattern", "zeros", "--confirm", name(dev), "--json")
    assert run.code == 0, run.stderr
    v = run.doc()["verification"]
    assert v["method"] == "sample" and v["outcome"] == "passed"
    assert v["coverage"] >= 0.10 and v["details"]["locations"] >= 1000


def test_several_devices_in_parallel(lab: LoopLab, state_dir: str) -> None:
    a, b = lab.loop("8M"), lab.loop("12M")
    output = os.path.join(lab.workdir, "results.json")
    run = sanitize(
        "erase", a, b, "--pattern", "zeros", "--confirm", f"{name(a)},{name(b)}", "--json", "--output", output
    )
    assert run.code == 0, run.stderr
    doc = run.doc()
    with open(output) as fh:
        assert json.load(fh) == doc
    assert doc["schema"] == "sanitize.erase-run/1"
    assert [r["device"]["path"] for r in doc["results"]] == [a, b]
    assert all(r["status"] == "verified" for r in doc["results"])
    # One --confirm per device works too, in order.
    run = sanitize("erase", a, b, "--pattern", "ones", "--confirm", name(a), "--confirm", name(b), "--verify", "none")
    assert run.code == 0, run.stderr


# --- refusals ------------------------------------------------------------------------


def test_mounted_partition_and_its_disk_are_refused(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("64M")
    part, _ = lab.gpt(dev, "32M", "")
    lab.mkfs(part, "ext4")
    lab.mount(part)
    before = device_sha256(dev)
    for target in (part, dev):
        run = sanitize("erase", target, "--confirm", name(target))
        assert run.code == 4, run.stderr
        assert target in one_error_line(run)
    assert device_sha256(dev) == before


def test_read_only_loop_refused(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("8M", read_only=True)
    run = sanitize("erase", dev, "--confirm", name(dev))
    assert run.code == 4
    assert "read-only" in one_error_line(run)


def test_regular_file_and_missing_path_are_bad_input(lab: LoopLab, state_dir: str) -> None:
    image = lab.image("1M")
    run = sanitize("erase", image, "--confirm", "x")
    assert run.code == 3 and "regular file" in one_error_line(run)
    run = sanitize("erase", "/dev/no-such-disk", "--confirm", "x")
    assert run.code == 3 and "no such device" in one_error_line(run)
    assert not os.path.exists(state_dir)


def test_confirmation_rules(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("8M")
    before = device_sha256(dev)
    run = sanitize("erase", dev, "--confirm", "not-" + name(dev))
    assert run.code == 4 and "does not match" in one_error_line(run)
    run = sanitize("erase", dev, "--yes")
    assert run.code == 4 and "--yes alone" in one_error_line(run)
    run = sanitize("erase", dev)  # no TTY here, so no prompt
    assert run.code == 4 and "confirmation needed" in one_error_line(run)
    assert device_sha256(dev) == before


def test_dry_run_writes_nothing(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("16M")
    fill(dev, None)
    before = device_sha256(dev)
    run = sanitize("erase", dev, "--dry-run", "--json", "--passes", "2", "--verify", "full")
    assert run.code == 0, run.stderr
    plan = run.doc()
    assert plan["schema"] == "sanitize.plan/1"
    assert plan["plans"][0]["method"] == "overwrite" and plan["plans"][0]["identity"] == name(dev)
    run = sanitize("erase", dev, "--dry-run")
    assert run.code == 0 and "nothing was written" in run.stdout
    assert device_sha256(dev) == before
    assert not os.path.exists(state_dir)


# --- interruption and resume ---------------------------------------------------------


def test_kill_9_then_resume(lab: LoopLab, state_dir: str) -> None:
    size = 512 * MiB
    dev = lab.loop("512M", preallocate=True)
    argv = ["erase", dev, "--passes", "2", "--verify", "full", "--confirm", name(dev), "--json"]
    interrupt_during_write(argv, state_dir, signal.SIGKILL, checkpoint_mib=32)  # caught mid-pass
    journal = _journal(state_dir)
    assert journal is not None and journal["phase"] == "write"
    done_pass, done_offset, done_bytes = journal["pass"], journal["offset"], journal["bytes_written"]

    run = sanitize("erase", dev, "--resume", "--confirm", name(dev), "--json")
    assert run.code == 0, run.stderr
    doc = run.doc()
    assert doc["status"] == "verified" and doc["id"] == journal["id"] and doc["passes"] == 2
    assert doc["verification"]["method"] == "full" and doc["verification"]["outcome"] == "passed"
    assert any(n.startswith("resumed:") and "kill -9" in n for n in doc["notes"]), doc["notes"]
    # A verified result carries no stale "interrupted ... continue with" note from the first run.
    assert not any("interrupted" in n or "continue with" in n for n in doc["notes"]), doc["notes"]
    assert doc["phases"]["write"]["status"] == "done" and doc["failure"] is None
    # Only what was left was written again: the rest of the interrupted pass and later passes.
    resumed_bytes = (2 - done_pass + 1) * size - done_offset
    assert doc["bytes_written"] == done_bytes + resumed_bytes
    assert _journal(state_dir) is None


def test_signal_interrupts_with_exit_8_then_resume(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("256M", preallocate=True)
    argv = ["erase", dev, "--passes", "3", "--pattern", "zeros", "--confirm", name(dev), "--json"]
    code, out = interrupt_during_write(argv, state_dir, checkpoint_mib=32)
    assert code == 8
    doc = json.loads(out)
    assert doc["status"] == "interrupted" and doc["phases"]["write"]["status"] == "interrupted"
    # The hint runs as printed (it names --confirm: without it the resume would be refused).
    hint = next(n for n in doc["notes"] if "continue with: " in n).split("continue with: ")[1]
    assert hint == f"sanitize --state-dir {state_dir} erase {dev} --resume --confirm {name(dev)}"
    run = sanitize(*hint.split()[1:], "--json")
    assert run.code == 0, run.stderr
    assert run.doc()["status"] == "verified"
    assert any("was stopped (signal)" in n for n in run.doc()["notes"])


def test_resume_refuses_a_different_device(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("8M")
    run = sanitize("erase", dev, "--resume", "--confirm", name(dev))
    assert run.code == 3 and "no interrupted erase" in one_error_line(run)


# --- bad sectors and verification ------------------------------------------------------


@pytest.fixture
def faulty_loop(lab: LoopLab, tmp_path: os.PathLike[str]) -> Iterator[tuple[str, int, int]]:
    """A loop device over a FUSE file that fails I/O in [5 MiB, 5 MiB + 64 KiB)."""
    bad_offset, bad_length = 5 * MiB, 64 * 1024
    backing = lab.image("16M")
    mnt = os.path.join(str(tmp_path), "faulty")
    os.mkdir(mnt)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "tests.support.faultyfs", backing, mnt, str(bad_offset), str(bad_length)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    dev = None
    try:
        image = os.path.join(mnt, "disk.img")
        deadline = time.monotonic() + 10
        while not os.path.exists(image):
            assert daemon.poll() is None and time.monotonic() < deadline, "FUSE daemon did not start"
            time.sleep(0.05)
        dev = lab.loop("16M", image=image, direct_io=False)
        # The loop driver reports a SHORT write (part of one request failed) as success,
        # so keep each loop request within one FUSE write (128 KiB): then a bad range
        # fails its whole request and the error reaches the writer.
        with open(f"/sys/block/{name(dev)}/queue/max_sectors_kb", "w") as fh:
            fh.write("64")
        yield dev, bad_offset, bad_length
    finally:
        if dev is not None:
            lab.detach(dev)
        subprocess.run(["umount", mnt], capture_output=True, check=False)
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def test_injected_io_error_fails_with_the_range(faulty_loop: tuple[str, int, int], state_dir: str) -> None:
    dev, bad_offset, bad_length = faulty_loop
    run = sanitize("erase", dev, "--pattern", "zeros", "--verify", "full", "--confirm", name(dev), "--json")
    assert run.code == 7, run.stderr
    doc = run.doc()
    assert doc["status"] == "failed"
    writes = [e for e in doc["errors"] if e["error"].startswith("write")]
    assert writes == [{"offset": bad_offset, "length": bad_length, "error": "write: EIO (Input/output error)"}]
    assert doc["bytes_written"] == 16 * MiB - bad_length
    assert doc["verification"]["outcome"] == "failed"


def _ctx(plan_dev: str, state_dir: str, **opts: object) -> tuple[object, ExecutionContext]:
    host = LinuxHost()
    plan = build_plan(Planning(host, probe(host), all_methods()), plan_dev, "overwrite", EraseOptions(**opts))  # type: ignore[arg-type]
    return plan, ExecutionContext(host=host, state=StateDir(state_dir), result=new_result(plan, host))


def test_sample_verification_catches_a_planted_mismatch(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("64M")
    plan, ctx = _ctx(dev, state_dir, pattern="zeros", verify="none")
    assert run_plan(plan, ctx, all_methods()).status == "unverified"  # type: ignore[arg-type]
    seed = 12345
    ranges = sample_ranges(64 * MiB, 512, 0.10, seed)
    offset, _ = ranges[len(ranges) // 2]
    fd = os.open(dev, os.O_WRONLY)
    try:
        os.pwrite(fd, b"\x01" * 512, offset)
        os.fsync(fd)
    finally:
        os.close(fd)
    plan, ctx = _ctx(dev, state_dir, pattern="zeros", verify="sample", sample_seed=seed)
    verification = OverwriteMethod().verify(plan, ctx)  # type: ignore[arg-type]
    assert verification.outcome == "failed"
    assert verification.mismatches == 1
    assert verification.details["first_mismatch_offsets"] == [offset]


def test_discard_after_verification(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("8M")
    run = sanitize("erase", dev, "--pattern", "ones", "--verify", "full", "--discard", "--confirm", name(dev), "--json")
    assert run.code == 0, run.stderr
    doc = run.doc()
    assert doc["status"] == "verified"
    assert any(n.startswith("discarded (BLKDISCARD)") for n in doc["notes"]), doc["notes"]
    assert read_all(dev) == bytes(8 * MiB)  # a loop device discards by punching holes: zeros


def test_device_held_exclusively_is_refused_and_leaves_no_journal(lab: LoopLab, state_dir: str) -> None:
    dev = lab.loop("8M")
    holder = os.open(dev, os.O_RDONLY | os.O_EXCL)  # as a mount or device-mapper would hold it
    try:
        run = sanitize("erase", dev, "--confirm", name(dev))
    finally:
        os.close(holder)
    assert run.code == 4 and "in use" in one_error_line(run)
    journal_dir = os.path.join(state_dir, "journal")
    assert not os.path.isdir(journal_dir) or not os.listdir(journal_dir)


class _StopDuringVerify:
    """Progress that stops the run once verification has compared `fraction` of its bytes,
    after planting a mismatch just before verification starts (when `plant` is given)."""

    def __init__(self, ctx: ExecutionContext, dev: str, fraction: float, plant: int | None = None) -> None:
        self.ctx, self.dev, self.fraction, self.plant = ctx, dev, fraction, plant
        self.verifying = False
        self.total = self.done = 0
        self.initial: int | None = None

    def start(self, description: str, total: int, initial: int = 0) -> None:
        self.verifying = "verify" in description
        self.total, self.done = total, initial
        if self.verifying:
            self.initial = initial
            if self.plant is not None:
                fd = os.open(self.dev, os.O_WRONLY)
                try:
                    os.pwrite(fd, b"\x5a" * 512, self.plant)
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def update(self, n: int) -> None:
        self.done += n
        if self.verifying and self.done >= self.fraction * self.total:
            self.ctx.stop.set()

    def close(self) -> None:
        pass


@pytest.mark.parametrize("verify", ["full", "sample"])
def test_interrupted_verification_resumes_where_it_stopped_and_keeps_what_it_found(
    lab: LoopLab, state_dir: str, verify: str
) -> None:
    methods = checkpointing_every(8)  # the verification journals its progress every 8 MiB
    size = 256 * MiB
    dev = lab.loop("256M", preallocate=True)
    plan, ctx = _ctx(dev, state_dir, pattern="random", verify=verify, verify_coverage=0.5)
    planted = 4096  # in the first chunk, compared before the interruption (sampling always reads block 0..)
    ctx.progress = first = _StopDuringVerify(ctx, dev, 0.4, plant=planted)
    interrupted = run_plan(plan, ctx, methods)  # type: ignore[arg-type]
    assert interrupted.status == "interrupted"
    state = _journal(state_dir)["verify_state"]  # type: ignore[index]
    assert state["chunks_done"] > 0 and state["mismatches"] >= 1 and planted in state["first_mismatch_offsets"]

    plan, ctx = _ctx(dev, state_dir, pattern="random", verify=verify, verify_coverage=0.5)
    ctx.resume = True
    ctx.progress = second = _StopDuringVerify(ctx, dev, 2.0)  # never stops
    result = run_plan(plan, ctx, methods)  # type: ignore[arg-type]

    assert result.id == interrupted.id
    assert second.initial == state["checked"] > 0  # it went on from there, not from 0
    assert any("verification resumed after" in n for n in result.notes), result.notes
    assert result.status == "failed"  # the mismatch found before the interruption still counts
    assert result.verification.mismatches == 1
    assert result.verification.details["first_mismatch_offsets"] == [planted]
    expected = size if verify == "full" else first.total
    assert result.verification.bytes_checked == expected
    assert _journal(state_dir) is None
