"""Clear by overwrite: every user-addressable sector written, then read back.

Speed: O_DIRECT writes of CHUNK bytes from page-aligned buffers, two requests in flight
while the calling thread generates the next chunk's pattern (AES-256-CTR keystream,
several GB/s). Verification reads with two threads while a third compares what they read
with the regenerated pattern (AES and memcmp release the GIL, so it runs on the other
core), and the calling thread only keeps the accounts. Memory stays at a few buffers whatever
the device size.

Honesty: a sector that cannot be written is retried at ever smaller sizes down to one
logical sector; what still fails is recorded as an error range and makes the result
`failed`. Verification regenerates the pattern and compares it with what the device
returns; any mismatch or unreadable sector fails it.

Resume: see `sanitize.erase.journal`; checkpoints are taken every CHECKPOINT_BYTES or
CHECKPOINT_SECONDS, after an fsync of the device. Verification journals its progress at the
same cadence (chunks compared, mismatches, unreadable ranges, the sample seed), so an
interrupted verification continues where it stopped instead of reading everything again.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sanitize.enums import FLASH_MEDIA, NistLevel, Outcome, Status
from sanitize.erase.buffers import AlignedBuffer, PatternSource
from sanitize.erase.journal import Journal
from sanitize.erase.method import ExecutionContext, Method, Planning, estimate_write_seconds
from sanitize.erase.options import EraseOptions
from sanitize.erase.pipeline import IO_DEPTH, run_pipeline
from sanitize.erase.plan import DeviceIo, Plan, Step, resume_command
from sanitize.erase.result import EraseResult, ErrorRange, Verification, merge_ranges
from sanitize.errors import Refused
from sanitize.hw.host import OpenDevice
from sanitize.inventory.model import Device

CHUNK = 8 << 20  # large sequential requests; memory is VERIFY_SLOTS chunks at most
# Each checkpoint flushes the device's write cache, which costs throughput; a crash
# costs at most this much rewriting.
CHECKPOINT_BYTES = 1 << 30
CHECKPOINT_SECONDS = 10.0
# Verification regenerates and compares the pattern in pieces that stay in the CPU cache.
PIECE = 256 << 10
# Read buffers for verification: IO_DEPTH at the device, one being compared, two spares.
VERIFY_SLOTS = IO_DEPTH + 3
SUBSECTIONS = 1000
MAX_LISTED_MISMATCHES = 20
# errno values that mean "this range of the medium is bad", not "the program is wrong".
MEDIA_ERRORS = {errno.EIO, errno.ENODATA, errno.EREMOTEIO, errno.EILSEQ, errno.EBADMSG, errno.ENOLINK}


def flash_note(device: Device) -> str | None:
    if device.media_type not in FLASH_MEDIA:
        return None
    return (
        f"overwrite on flash media ({device.media_type}) is only NIST SP 800-88 Clear: "
        "spare and remapped blocks are not reached; use a firmware Purge method for Purge"
    )


@dataclass
class _VerifyState:
    """How far a verification got; journalled so an interrupted one resumes where it stopped."""

    method: str  # full | sample
    seed: int | None  # the sample locations' seed
    chunks_done: int = 0
    checked: int = 0
    mismatches: int = 0
    first_mismatch_offsets: list[int] = field(default_factory=list)
    read_errors: list[ErrorRange] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "seed": self.seed,
            "chunks_done": self.chunks_done,
            "checked": self.checked,
            "mismatches": self.mismatches,
            "first_mismatch_offsets": list(self.first_mismatch_offsets),
            "read_errors": [e.to_dict() for e in merge_ranges(self.read_errors)],
        }

    @classmethod
    def saved(cls, journal: Journal | None, method: str) -> _VerifyState | None:
        data = journal.data.get("verify_state") if journal is not None else None
        if not isinstance(data, dict) or data.get("method") != method:
            return None
        return cls(
            method=method,
            seed=data.get("seed"),
            chunks_done=int(data.get("chunks_done", 0)),
            checked=int(data.get("checked", 0)),
            mismatches=int(data.get("mismatches", 0)),
            first_mismatch_offsets=[int(o) for o in data.get("first_mismatch_offsets", [])],
            read_errors=[ErrorRange(e["offset"], e["length"], e["error"]) for e in data.get("read_errors", [])],
        )


def _error_text(op: str, exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "E?")
    return f"{op}: {name} ({os.strerror(exc.errno or 0)})"


def _chunks(start: int, size: int) -> list[tuple[int, int]]:
    return [(off, min(CHUNK, size - off)) for off in range(start, size, CHUNK)]


def _split(length: int, sector: int) -> int:
    # Retry a failed range in about 16 pieces, recursively, down to one sector, so a bad
    # sector in an 8 MiB chunk costs ~6 levels of retries instead of 16384 single writes.
    return max(sector, (length // 16) // sector * sector)


IoAll = Callable[[memoryview, int], None]


def _io_range(
    io: IoAll,
    op: str,
    buf: AlignedBuffer,
    boff: int,
    offset: int,
    length: int,
    sector: int,
    errors: list[ErrorRange],
) -> int:
    """Do `io` on buf[boff:boff+length] at `offset`, splitting around bad sectors.

    Returns the bytes done; what fails even one sector at a time goes to `errors`.
    """
    try:
        io(buf.view[boff : boff + length], offset)
        return length
    except OSError as exc:
        if exc.errno not in MEDIA_ERRORS:
            raise
        if length <= sector:
            errors.append(ErrorRange(offset, length, _error_text(op, exc)))
            return 0
        step, done = _split(length, sector), 0
        for sub in range(0, length, step):
            n = min(step, length - sub)
            done += _io_range(io, op, buf, boff + sub, offset + sub, n, sector, errors)
        return done


def write_range(
    dev: OpenDevice, buf: AlignedBuffer, boff: int, offset: int, length: int, sector: int, errors: list[ErrorRange]
) -> int:
    """Write buf[boff:boff+length] at `offset`; returns bytes written, records bad ranges."""
    return _io_range(dev.write_at, "write", buf, boff, offset, length, sector, errors)


def read_range(
    dev: OpenDevice, buf: AlignedBuffer, boff: int, offset: int, length: int, sector: int, errors: list[ErrorRange]
) -> int:
    """Read into buf[boff:boff+length]; returns bytes read; unreadable ranges are recorded."""
    return _io_range(dev.read_into, "read", buf, boff, offset, length, sector, errors)


def sample_ranges(
    size: int, sector: int, coverage: float, seed: int, subsections: int = SUBSECTIONS
) -> list[tuple[int, int]]:
    """NIST 800-88 §4.7 sampling: first and last blocks, plus 2 pseudorandom blocks in each
    of >= `subsections` equal subsections, sized so at least `coverage` of the device is read.

    Returns sorted, non-overlapping (offset, length) byte ranges. A device too small to
    split that finely is read in full.
    """
    sectors = size // sector
    count = max(subsections, math.ceil(coverage * sectors / (2 * (CHUNK // sector))))
    if coverage >= 1 or sectors < 4 * count:
        return [(0, size)]
    rng = random.Random(seed)
    picks: list[tuple[int, int]] = []
    for i in range(count):
        start, end = i * sectors // count, (i + 1) * sectors // count
        half = (end - start) // 2
        block = min(half, max(1, math.ceil(coverage * (end - start) / 2)))
        for lo, hi in ((start, start + half), (start + half, end)):
            first = rng.randint(lo, hi - block)
            picks.append((first, block))
        if i == 0:
            picks.append((0, block))
        if i == count - 1:
            picks.append((sectors - block, block))
    merged: list[list[int]] = []
    for first, n in sorted(picks):
        if merged and first <= merged[-1][0] + merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], first + n - merged[-1][0])
        else:
            merged.append([first, n])
    return [(first * sector, n * sector) for first, n in merged]


@dataclass
class _Checked:
    """What a worker found in one chunk: unreadable ranges and mismatched sectors' offsets."""

    read_errors: list[ErrorRange] = field(default_factory=list)
    mismatched: list[int] = field(default_factory=list)


@dataclass
class _Cursor:
    """Where the operation stands; mirrored in the journal at checkpoints."""

    phase: str  # write | verify
    pass_no: int
    offset: int  # what the journal records: flushed to the device
    key: bytes | None
    done: int = 0  # written in this pass, maybe not flushed yet


class OverwriteMethod(Method):
    name = "overwrite"

    def nist_level(self, device: Device) -> NistLevel:
        return NistLevel.CLEAR

    def plan_steps(self, planning: Planning, device: Device, options: EraseOptions) -> Sequence[Step]:
        size, path = device.size_bytes, device.path
        steps = [
            Step(
                f"open {path} read-write with O_DIRECT|O_EXCL; check size {size} bytes, "
                f"logical sector {device.logical_sector_size} bytes and that it is writable",
                DeviceIo("open", path, 0, size),
                "open",
            )
        ]
        what = "AES-256-CTR keystream (new random key per pass)" if options.pattern == "random" else options.pattern
        for n in range(1, options.passes + 1):
            steps.append(
                Step(
                    f"pass {n}/{options.passes}: write {what} over bytes 0-{size} in {CHUNK >> 20} MiB "
                    f"O_DIRECT chunks; fsync and journal every {CHECKPOINT_BYTES >> 20} MiB",
                    DeviceIo("write-pass", path, 0, size, number=n),
                    "write",
                )
            )
        if options.verify == "full":
            steps.append(
                Step(
                    "verify: read every byte back (O_DIRECT) and compare with the regenerated pattern",
                    DeviceIo("read-back", path, 0, size),
                    "verify",
                )
            )
        elif options.verify == "sample":
            steps.append(
                Step(
                    f"verify: read back first and last blocks and 2 pseudorandom blocks in each of >= "
                    f"{SUBSECTIONS} equal subsections, >= {options.verify_coverage:.0%} of the device",
                    DeviceIo("read-back", path, 0, int(size * options.verify_coverage)),
                    "verify",
                )
            )
        if options.discard:
            steps.append(
                Step(
                    f"discard (BLKDISCARD) bytes 0-{size} after verification",
                    DeviceIo("discard", path, 0, size),
                    "discard",
                )
            )
        return steps

    def pre_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        return (
            "device is not protected, read-only, mounted or held (inventory)",
            "exclusive open succeeds (nothing mounts or maps it meanwhile)",
            "size and logical sector size equal the planned ones",
        )

    def post_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        checks = ["every chunk written without an I/O error, or the unwritable ranges are listed"]
        if options.verify != "none":
            checks.append(f"{options.verify} read-back matches the last pass's pattern")
        return checks

    def expected_seconds(self, planning: Planning, device: Device, options: EraseOptions) -> float | None:
        verify_fraction = {"full": 1.0, "sample": options.verify_coverage, "none": 0.0}[options.verify]
        return estimate_write_seconds(device, int(device.size_bytes * (options.passes + verify_fraction)))

    def reason(self, device: Device, options: EraseOptions) -> str:
        return "NIST SP 800-88 Clear by writing every user-addressable sector"

    def notes(self, planning: Planning, device: Device, options: EraseOptions) -> Sequence[str]:
        note = flash_note(device)
        return (note,) if note else ()

    # --- execution ---------------------------------------------------------------------
    def _open(self, plan: Plan, ctx: ExecutionContext, *, write: bool) -> tuple[OpenDevice, int]:
        dev = plan.device
        od = ctx.host.open_device(dev.path, write=write, direct=True, exclusive=True)
        try:
            size, sector = od.size_bytes(), od.logical_sector_size()
            if size != dev.size_bytes or sector != dev.logical_sector_size:
                raise Refused(
                    f"{dev.path}: changed since it was planned (size {size}, sector {sector}; "
                    f"planned {dev.size_bytes}, {dev.logical_sector_size})"
                )
            if write and od.read_only():
                raise Refused(f"{dev.path}: device is read-only")
        except BaseException:
            od.close()
            raise
        return od, sector

    def execute(self, plan: Plan, ctx: ExecutionContext) -> EraseResult:
        dev, opts, result = plan.device, plan.options, ctx.result
        result.passes, result.pattern = opts.passes, opts.pattern
        if ctx.resume:
            journal = Journal.find(ctx.state, dev)
            cursor = self._restore(journal, result)
        else:
            cursor = _Cursor("write", 1, 0, None)
        if cursor.phase == "write":
            # Opened before a new journal exists, so a refused open leaves nothing behind.
            ctx.enter("open")
            od, sector = self._open(plan, ctx, write=True)
            ctx.enter("checkpoint")
            if not ctx.resume:
                journal = Journal.create(ctx.state, result.id, dev, self._journal_fields(plan, result, cursor))
            ctx.scratch["journal"] = journal
            with od:
                while cursor.pass_no <= opts.passes:
                    if cursor.key is None and opts.pattern == "random":
                        cursor.key = PatternSource.new_key()
                    # The key is journalled before the first byte of its pass is written.
                    ctx.phase = "checkpoint"
                    journal.update(**self._journal_fields(plan, result, cursor))
                    ctx.enter("write", self._written(plan, cursor))
                    source = PatternSource(opts.pattern, cursor.key, CHUNK)
                    self._write_pass(od, source, plan, sector, cursor, ctx, journal)
                    if ctx.stop.is_set():
                        # Journalled before the note: a resumed run must not inherit it.
                        journal.update(**self._journal_fields(plan, result, cursor), stopped_cleanly=True)
                        self._note_stop(plan, ctx, cursor)
                        return result
                    if cursor.pass_no == opts.passes:
                        break
                    cursor = _Cursor("write", cursor.pass_no + 1, 0, None)
            cursor.phase, cursor.offset = "verify", 0
            ctx.phase = "checkpoint"
            journal.update(**self._journal_fields(plan, result, cursor))
            result.mark("checkpoint", "done", "journal saved after every checkpoint")
            result.mark("write", "done", f"all {opts.passes} pass(es) written over bytes 0-{dev.size_bytes}")
        ctx.scratch["journal"] = journal
        ctx.scratch["key"] = cursor.key
        for note in (flash_note(dev),):
            if note:
                result.add_note(note)
        return result

    def _journal_fields(self, plan: Plan, result: EraseResult, cursor: _Cursor) -> dict[str, object]:
        return {
            "started_at": result.started_at,
            "method": plan.after or plan.method,  # a chained run resumes as the chain it was
            "options": plan.options.to_dict(),
            "phase": cursor.phase,
            "pass": cursor.pass_no,
            "offset": cursor.offset,
            "key": cursor.key.hex() if cursor.key else None,
            "bytes_written": result.bytes_written,
            "errors": [e.to_dict() for e in merge_ranges(result.errors)],
            "notes": list(result.notes),
        }

    def _restore(self, journal: Journal, result: EraseResult) -> _Cursor:
        data = journal.data
        result.id = data["id"]
        result.started_at = data.get("started_at", result.started_at)
        result.bytes_written = int(data.get("bytes_written", 0))
        result.errors = [ErrorRange(e["offset"], e["length"], e["error"]) for e in data.get("errors", [])]
        for note in data.get("notes", []):
            result.add_note(note)
        if data.get("ended_with"):
            how = f"failed ({data['ended_with']})"
        elif data.get("stopped_cleanly"):
            how = "was stopped (signal)"
        else:
            how = "ended without finishing (crash, kill -9 or power loss)"
        cursor = _Cursor(
            data["phase"],
            int(data["pass"]),
            int(data["offset"]),
            bytes.fromhex(data["key"]) if data.get("key") else None,
        )
        where = (
            f"pass {cursor.pass_no} at offset {cursor.offset}"
            if cursor.phase == "write"
            else "before verification completed"
        )
        result.add_note(
            f"resumed: the run started {result.started_at} {how} in {where}; this run continued it at "
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} from the journal without rewriting "
            "what had been written"
        )
        if cursor.phase == "write":
            result.mark("write", "running", f"resumed at pass {cursor.pass_no}, offset {cursor.offset} (journal)")
        else:
            result.mark("write", "done", f"all passes written before the resumed run (journal: phase {cursor.phase})")
        journal.update(stopped_cleanly=False, ended_with=None)
        return cursor

    @staticmethod
    def _written(plan: Plan, cursor: _Cursor) -> str:
        return (
            f"pass {cursor.pass_no}/{plan.options.passes}: bytes 0-{cursor.offset} of {plan.device.size_bytes} "
            "written and flushed (journal)"
        )

    def _note_stop(self, plan: Plan, ctx: ExecutionContext, cursor: _Cursor) -> None:
        ctx.result.add_note(
            f"interrupted during pass {cursor.pass_no}/{plan.options.passes} at offset {cursor.offset} of "
            f"{plan.device.size_bytes}; continue with: {resume_command(plan, ctx.state.path)}"
        )

    def _write_pass(
        self,
        od: OpenDevice,
        source: PatternSource,
        plan: Plan,
        sector: int,
        cursor: _Cursor,
        ctx: ExecutionContext,
        journal: Journal,
    ) -> None:
        dev = plan.device
        size, result = dev.size_bytes, ctx.result
        ctx.progress.start(f"{dev.name} pass {cursor.pass_no}/{result.passes}", size, initial=cursor.offset)
        bufs = [AlignedBuffer(CHUNK) for _ in range(IO_DEPTH + 1)]
        for buf in bufs:
            source.prepare(buf)
        synced = {"offset": cursor.offset, "time": time.monotonic()}

        def write(buf: AlignedBuffer, offset: int, length: int) -> tuple[int, list[ErrorRange]]:
            errors: list[ErrorRange] = []
            return write_range(od, buf, 0, offset, length, sector, errors), errors

        def written(buf: AlignedBuffer, offset: int, length: int, outcome: tuple[int, list[ErrorRange]]) -> None:
            result.bytes_written += outcome[0]
            result.errors.extend(outcome[1])
            ctx.progress.update(length)
            done = offset + length
            if done - synced["offset"] >= CHECKPOINT_BYTES or time.monotonic() - synced["time"] >= CHECKPOINT_SECONDS:
                self._checkpoint(od, journal, plan, ctx, cursor, done)
                synced.update(offset=done, time=time.monotonic())
            cursor.done = done

        cursor.done = cursor.offset
        started = time.monotonic()
        try:
            run_pipeline(_chunks(cursor.offset, size), bufs, write, written, ctx.stop, prepare=source.fill)
            self._checkpoint(od, journal, plan, ctx, cursor, cursor.done)
        finally:
            result.add_time("write", time.monotonic() - started)
            for buf in bufs:
                buf.close()
        result.errors = merge_ranges(result.errors)

    def _checkpoint(
        self, od: OpenDevice, journal: Journal, plan: Plan, ctx: ExecutionContext, cursor: _Cursor, done: int
    ) -> None:
        # The device is flushed before the journal records the offset, so after a power
        # loss the journal never claims more than what reached the medium.
        ctx.phase = "checkpoint"
        od.sync()
        cursor.offset = max(cursor.offset, done)
        journal.update(
            offset=cursor.offset,
            bytes_written=ctx.result.bytes_written,
            errors=[e.to_dict() for e in merge_ranges(ctx.result.errors)],
        )
        ctx.phase = "write"
        ctx.result.mark("write", "running", self._written(plan, cursor))

    # --- verification ------------------------------------------------------------------
    def verify(self, plan: Plan, ctx: ExecutionContext) -> Verification:
        opts, dev = plan.options, plan.device
        if opts.verify == "none":
            return Verification(method="none", outcome=Outcome.SKIPPED)
        journal = ctx.scratch.get("journal")
        journal = journal if isinstance(journal, Journal) else None
        saved = _VerifyState.saved(journal, opts.verify) if ctx.resume else None
        source = PatternSource(opts.pattern, ctx.scratch.get("key"), CHUNK)
        od, sector = self._open(plan, ctx, write=False)
        with od:
            details: dict[str, object] = {}
            seed: int | None = None
            if opts.verify == "full":
                ranges = [(0, dev.size_bytes)]
            else:
                # Unpredictable locations by default; tests fix the seed to plant a mismatch.
                # A resumed verification reads the locations the interrupted one chose.
                if saved is not None and saved.seed is not None:
                    seed = saved.seed
                else:
                    seed = opts.sample_seed or int.from_bytes(os.urandom(8), "big")
                ranges = sample_ranges(dev.size_bytes, sector, opts.verify_coverage, seed)
                details = {"subsections": SUBSECTIONS, "locations": len(ranges), "seed": seed}
            state = saved or _VerifyState(opts.verify, seed)
            return self._compare(od, source, ranges, sector, ctx, details, state, journal)

    def _compare(
        self,
        od: OpenDevice,
        source: PatternSource,
        ranges: list[tuple[int, int]],
        sector: int,
        ctx: ExecutionContext,
        details: dict[str, object],
        state: _VerifyState,
        journal: Journal | None,
    ) -> Verification:
        size = ctx.result.device["size_bytes"]
        chunks = [
            (offset, min(CHUNK, start + length - offset))
            for start, length in ranges
            for offset in range(start, start + length, CHUNK)
        ]
        total = sum(n for _, n in chunks)
        ctx.progress.start(f"{ctx.result.device['name']} verify ({state.method})", total, initial=state.checked)
        if state.chunks_done:
            ctx.result.add_note(
                f"verification resumed after {state.checked} of {total} bytes: what the interrupted "
                "run had already compared is not read again"
            )
        # Two readers keep reads at the device; one checking thread, behind them, compares each
        # chunk with the pattern regenerated PIECE bytes at a time into `want` (AES and memcmp
        # release the GIL, and the piece is still in the CPU cache when compared). Spare read
        # buffers let reads go on while the check waits for a core; the calling thread only
        # keeps the accounts (see docs/benchmarks.md). A fixed pattern fills `want` once.
        want = AlignedBuffer(PIECE)
        source.prepare(want)
        slots = [AlignedBuffer(CHUNK) for _ in range(VERIFY_SLOTS)]
        last_save = {"checked": state.checked, "time": time.monotonic()}

        def save() -> None:
            ctx.scratch["verify_progress"] = {
                "method": state.method,
                "checked": state.checked,
                "total": total,
                "mismatches": state.mismatches,
            }
            ctx.result.mark(
                "verify",
                "running",
                f"{state.method}: {state.checked} of {total} bytes compared, {state.mismatches} mismatched sector(s)",
            )
            if journal is not None:
                ctx.phase = "checkpoint"
                journal.update(verify_state=state.to_dict())
                ctx.phase = "verify"
            last_save.update(checked=state.checked, time=time.monotonic())

        def read(got: AlignedBuffer, offset: int, length: int) -> list[ErrorRange]:
            errors: list[ErrorRange] = []
            read_range(od, got, 0, offset, length, sector, errors)
            return errors

        def check(got: AlignedBuffer, offset: int, length: int, read_errors: list[ErrorRange]) -> _Checked:
            checked = _Checked(read_errors=read_errors)
            unreadable = {e.offset - offset for e in read_errors}
            for piece in range(0, length, PIECE):
                n = min(PIECE, length - piece)
                source.fill(want, offset + piece, n)
                if got.equals(want, n, piece, 0):
                    continue
                for boff in range(piece, piece + n, sector):
                    if boff not in unreadable and not got.equals(want, sector, boff, boff - piece):
                        checked.mismatched.append(offset + boff)
            return checked

        def account(got: AlignedBuffer, offset: int, length: int, checked: _Checked) -> None:
            state.read_errors.extend(checked.read_errors)
            state.mismatches += len(checked.mismatched)
            room = MAX_LISTED_MISMATCHES - len(state.first_mismatch_offsets)
            state.first_mismatch_offsets.extend(checked.mismatched[: max(room, 0)])
            state.chunks_done += 1
            state.checked += length
            ctx.progress.update(length)
            since = time.monotonic() - last_save["time"]
            if state.checked - last_save["checked"] >= CHECKPOINT_BYTES or since >= CHECKPOINT_SECONDS:
                save()

        save()  # before the first read: a resumed run must find the same sample locations
        started = time.monotonic()
        try:
            run_pipeline(chunks[state.chunks_done :], slots, read, account, ctx.stop, then=check)
        except BaseException:
            # Keep what was compared for --resume, but never let a failing save (a full state
            # directory) replace the error that stopped the verification.
            with contextlib.suppress(Exception):
                save()
            ctx.phase = "verify"
            raise
        else:
            save()
        finally:
            ctx.result.add_time("verify", time.monotonic() - started)
            for got in slots:
                got.close()
            want.close()
        if ctx.stop.is_set():
            return Verification(method=state.method, outcome=Outcome.SKIPPED, details={"stopped": True})
        read_errors = merge_ranges(state.read_errors)
        ctx.result.errors = merge_ranges([*ctx.result.errors, *read_errors])
        failed = bool(state.mismatches or read_errors)
        details = {
            **details,
            "mismatched_sectors": state.mismatches,
            "first_mismatch_offsets": list(state.first_mismatch_offsets),
            "unreadable_bytes": sum(e.length for e in read_errors),
            "sector_size": sector,
        }
        return Verification(
            method=state.method,
            coverage=state.checked / size if size else 0.0,
            bytes_checked=state.checked,
            outcome=Outcome.FAILED if failed else Outcome.PASSED,
            mismatches=state.mismatches,
            details=details,
        )

    def finalize(self, plan: Plan, ctx: ExecutionContext, result: EraseResult) -> None:
        journal = ctx.scratch.get("journal")
        if result.status == Status.INTERRUPTED:
            return  # the journal stays for --resume, as it was at the last checkpoint
        if plan.steps_with("discard"):
            ctx.enter("discard")
            self._discard(plan, ctx, result)
            result.mark("discard", "done")
        # The run is over: the journal, and with it the pattern key, goes.
        if isinstance(journal, Journal):
            journal.delete()

    def _discard(self, plan: Plan, ctx: ExecutionContext, result: EraseResult) -> None:
        dev = plan.device
        try:
            with ctx.host.open_device(dev.path, write=True) as od:
                od.discard(0, dev.size_bytes)
        except OSError as exc:
            result.add_note(f"discard requested but the device refused it: {_error_text('BLKDISCARD', exc)}")
            return
        result.add_note(
            "discarded (BLKDISCARD) the whole device after verification; what it now returns is "
            "up to the device, so the verification above describes the state before the discard"
        )
