"""Verification of an overwrite: read the device back and compare with the regenerated pattern.

Any mismatched or unreadable sector fails it. `full` reads everything, `sample` the NIST
SP 800-88 §4.7 locations (sampling.py). Progress is journalled, so an interrupted
verification continues where it stopped (chunks compared, mismatches, unreadable ranges,
the sample seed) instead of reading everything again.
"""

from __future__ import annotations

import contextlib
import os
import queue
import time
from dataclasses import dataclass, field

from sanitize.enums import Outcome, PhaseStatus
from sanitize.erase.buffers import AlignedBuffer, PatternSource
from sanitize.erase.journal import Journal
from sanitize.erase.method import ExecutionContext
from sanitize.erase.overwrite.background import Background
from sanitize.erase.overwrite.io import CHUNK, read_range
from sanitize.erase.overwrite.passes import Cadence
from sanitize.erase.pipeline import IO_DEPTH, run_pipeline
from sanitize.erase.result import ErrorRange, Verification, merge_ranges
from sanitize.hw.host import OpenDevice

# Verification unmasks the read bytes with the keystream in pieces that stay in the CPU cache.
PIECE = 256 << 10
# Reads of io.CHUNK (4 MiB: see there); measured for verification: 4 MiB 0.77x dd, 8 MiB 0.67x,
# 2 MiB 0.73x. A resumed verification skips compared bytes, so this may change between releases.
VERIFY_CHUNK = CHUNK
# Comparing threads per device: one unmasks and checks at about 9 GB/s (AES-128-CTR-MIB, one idle
# core), faster than one fast NVMe drive reads; a machine with the cores for it gets more, a
# 2-CPU one keeps one (a second measured slower: it only takes a core from the device's copies).
CHECKERS = max(1, min(4, (os.cpu_count() or 1) // 2))
# Read buffers for verification: IO_DEPTH at the device, one per comparing thread, two spares.
VERIFY_SLOTS = IO_DEPTH + CHECKERS + 2
MAX_LISTED_MISMATCHES = 20


@dataclass
class VerifyState:
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
    def saved(cls, journal: Journal | None, method: str) -> VerifyState | None:
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


def remaining_chunks(ranges: list[tuple[int, int]], checked: int) -> list[tuple[int, int]]:
    """The reads of `ranges`, in order, after the first `checked` bytes (compared before an
    interruption: always a prefix, whatever read size the interrupted run used)."""
    chunks = []
    for start, length in ranges:
        skip = min(checked, length)
        checked -= skip
        for offset in range(start + skip, start + length, VERIFY_CHUNK):
            chunks.append((offset, min(VERIFY_CHUNK, start + length - offset)))
    return chunks


@dataclass
class _Checked:
    """What one chunk held: unreadable ranges and mismatched sectors' offsets."""

    read_errors: list[ErrorRange] = field(default_factory=list)
    mismatched: list[int] = field(default_factory=list)


def compare(
    od: OpenDevice,
    source: PatternSource,
    ranges: list[tuple[int, int]],
    sector: int,
    ctx: ExecutionContext,
    details: dict[str, object],
    state: VerifyState,
    journal: Journal | None,
    cadence: Cadence,
) -> Verification:
    """Read `ranges` back and compare them with the pattern `source` regenerates.

    Two readers keep reads at the device; CHECKERS threads (one on a 2-CPU machine), behind
    them, check each chunk PIECE bytes at a time: the read bytes XOR the regenerated keystream,
    into a `want` buffer of their own, must be all zeros (one pass over the read bytes instead
    of a keystream and then a comparison; AES and memcmp release the GIL, so they run on other
    cores, and the piece is still in the CPU cache when checked). A fixed pattern is compared
    with `want` filled once. Spare read buffers let reads go on while a check waits for a core;
    the calling thread only keeps the accounts, in chunk order (see docs/benchmarks.md).
    Progress is journalled at the `cadence`, so an interrupted verification resumes where it
    stopped.
    """
    size = ctx.result.device["size_bytes"]
    total = sum(length for _, length in ranges)
    chunks = remaining_chunks(ranges, state.checked)
    ctx.progress.start(f"{ctx.result.device['name']} verify ({state.method})", total, initial=state.checked)
    if state.checked:
        ctx.result.add_note(
            f"verification resumed after {state.checked} of {total} bytes: what the interrupted "
            "run had already compared is not read again"
        )
    wants: queue.SimpleQueue[AlignedBuffer] = queue.SimpleQueue()  # one pattern buffer per comparing thread
    for _ in range(CHECKERS):
        want = AlignedBuffer(PIECE)
        source.prepare(want)
        wants.put(want)
    zeros = AlignedBuffer(PIECE)  # what an unmasked piece of the random pattern must equal
    slots = [AlignedBuffer(VERIFY_CHUNK) for _ in range(VERIFY_SLOTS)]
    last_save = {"checked": state.checked, "time": time.monotonic()}

    pending = Background(f"checkpoint-{ctx.result.device['name']}")

    def save(beside: bool = False) -> None:
        ctx.scratch["verify_progress"] = {
            "method": state.method,
            "checked": state.checked,
            "total": total,
            "mismatches": state.mismatches,
        }
        ctx.result.mark(
            "verify",
            PhaseStatus.RUNNING,
            f"{state.method}: {state.checked} of {total} bytes compared, {state.mismatches} mismatched sector(s)",
        )
        last_save.update(checked=state.checked, time=time.monotonic())
        if journal is None:
            return
        saved = state.to_dict()  # taken now: the journal names only chunks already compared
        keep = journal
        if beside:  # while the next chunks are read and compared (background.py)
            pending.start(lambda: keep.update(verify_state=saved))
            return
        ctx.phase = "checkpoint"
        keep.update(verify_state=saved)
        ctx.phase = "verify"

    def read(got: AlignedBuffer, offset: int, length: int) -> list[ErrorRange]:
        errors: list[ErrorRange] = []
        read_range(od, got, 0, offset, length, sector, errors)
        return errors

    def check(got: AlignedBuffer, offset: int, length: int, read_errors: list[ErrorRange]) -> _Checked:
        want = wants.get()
        try:
            return compare_chunk(got, want, offset, length, read_errors)
        finally:
            wants.put(want)

    def compare_chunk(
        got: AlignedBuffer, want: AlignedBuffer, offset: int, length: int, read_errors: list[ErrorRange]
    ) -> _Checked:
        checked = _Checked(read_errors=read_errors)
        unreadable = {e.offset - offset for e in read_errors}
        stream = source.stream(offset)  # one keystream for the chunk, piece by piece
        for piece in range(0, length, PIECE):
            n = min(PIECE, length - piece)
            if stream is None:  # a fixed pattern: `want` holds it
                seen, seen_at, pattern = got, piece, want
            else:
                # The read bytes XOR the keystream, into `want`: zero exactly where they are the pattern.
                stream.unmask(got, piece, want, n)
                seen, seen_at, pattern = want, 0, zeros
            if seen.equals(pattern, n, seen_at, 0):
                continue
            for at in range(0, n, sector):  # the piece differs: which sectors (an unreadable one is counted apart)
                if piece + at not in unreadable and not seen.equals(pattern, sector, seen_at + at, at):
                    checked.mismatched.append(offset + piece + at)
        return checked

    def account(got: AlignedBuffer, offset: int, length: int, checked: _Checked) -> None:
        state.read_errors.extend(checked.read_errors)
        state.mismatches += len(checked.mismatched)
        room = MAX_LISTED_MISMATCHES - len(state.first_mismatch_offsets)
        state.first_mismatch_offsets.extend(checked.mismatched[: max(room, 0)])
        state.chunks_done += 1
        state.checked += length
        ctx.progress.update(length)
        pending.collect()  # a failed save fails the verification here, as it did in this thread
        if not pending.busy() and cadence.due(state.checked, int(last_save["checked"]), last_save["time"]):
            save(beside=True)

    save()  # before the first read: a resumed run must find the same sample locations
    started = time.monotonic()
    try:
        run_pipeline(chunks, slots, read, account, ctx.stop, then=check, checkers=CHECKERS)
        pending.collect(wait=True)
    except BaseException:
        # Keep what was compared for --resume, but never let a failing save (a full state
        # directory) replace the error that stopped the verification.
        pending.abandon()
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
        for _ in range(CHECKERS):
            wants.get().close()
        zeros.close()
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
