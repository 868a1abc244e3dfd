"""Writing one pass over the whole device, with checkpoints.

Speed: O_DIRECT writes of WRITE_CHUNK bytes from page-aligned buffers, two requests in flight
while the calling thread generates the next chunk's pattern (AES counter-mode keystream,
buffers.py, several GB/s). Memory stays at a few buffers whatever the device size.

Checkpoints: every `Cadence.bytes` or `Cadence.seconds` the device is flushed, then the
journal records the offset, so after a power loss the journal never claims more than
what reached the medium, and a resumed run rewrites at most one cadence's worth. They run
beside the pipeline (background.py): the writes go on while the device flushes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sanitize.enums import PhaseStatus
from sanitize.erase.buffers import AlignedBuffer, PatternSource
from sanitize.erase.journal import Journal
from sanitize.erase.method import ExecutionContext
from sanitize.erase.overwrite.background import Background
from sanitize.erase.overwrite.cursor import Cursor, written_detail
from sanitize.erase.overwrite.io import WRITE_CHUNK, chunks, write_range
from sanitize.erase.pipeline import IO_DEPTH, run_pipeline
from sanitize.erase.plan import Plan
from sanitize.erase.result import ErrorRange, merge_ranges
from sanitize.hw.host import OpenDevice


@dataclass(frozen=True)
class Cadence:
    """How often a long operation flushes and journals its progress."""

    bytes: int = 1 << 30  # each flush costs throughput; a crash costs at most this much rewriting
    seconds: float = 10.0

    def due(self, done: int, since_bytes: int, since_time: float) -> bool:
        return done - since_bytes >= self.bytes or time.monotonic() - since_time >= self.seconds


@dataclass
class PassWriter:
    """Writes the passes of one plan to one opened device, checkpointing into `journal`."""

    od: OpenDevice
    plan: Plan
    sector: int
    ctx: ExecutionContext
    journal: Journal
    cadence: Cadence

    def write_pass(self, source: PatternSource, cursor: Cursor) -> None:
        dev, ctx, result = self.plan.device, self.ctx, self.ctx.result
        size = dev.size_bytes
        ctx.progress.start(f"{dev.name} pass {cursor.pass_no}/{result.passes}", size, initial=cursor.offset)
        bufs = [AlignedBuffer(WRITE_CHUNK) for _ in range(IO_DEPTH + 1)]
        for buf in bufs:
            source.prepare(buf)
        synced = {"offset": cursor.offset, "time": time.monotonic()}
        pending = Background(f"checkpoint-{dev.name}")

        def write(buf: AlignedBuffer, offset: int, length: int) -> tuple[int, list[ErrorRange]]:
            errors: list[ErrorRange] = []
            return write_range(self.od, buf, 0, offset, length, self.sector, errors), errors

        def written(buf: AlignedBuffer, offset: int, length: int, outcome: tuple[int, list[ErrorRange]]) -> None:
            result.bytes_written += outcome[0]
            result.errors.extend(outcome[1])
            ctx.progress.update(length)
            done = offset + length
            cursor.done = done
            self.collect(pending)
            if not pending.busy() and self.cadence.due(done, int(synced["offset"]), synced["time"]):
                self.checkpoint_beside(pending, cursor, done)
                synced.update(offset=done, time=time.monotonic())

        cursor.done = cursor.offset
        started = time.monotonic()
        try:
            run_pipeline(chunks(cursor.offset, size), bufs, write, written, ctx.stop, prepare=source.fill)
            self.collect(pending, wait=True)
            self.checkpoint(cursor, cursor.done)
        finally:
            pending.abandon()  # an exception is on its way: a checkpoint still running ends first
            result.add_time("write", time.monotonic() - started)
            for buf in bufs:
                buf.close()
        result.errors = merge_ranges(result.errors)

    def collect(self, pending: Background, wait: bool = False) -> None:
        try:
            pending.collect(wait)
        except BaseException:
            self.ctx.phase = "checkpoint"  # the failure is the checkpoint's, wherever it surfaced
            raise

    def checkpoint_beside(self, pending: Background, cursor: Cursor, done: int) -> None:
        """`checkpoint`, in a thread of its own while the next chunks are written.

        What the journal will say is taken now: `done` bytes, all of them completed before
        the flush starts, and the counts of those same writes."""
        ctx = self.ctx
        fields = {
            "offset": max(cursor.offset, done),
            "bytes_written": ctx.result.bytes_written,
            "errors": [e.to_dict() for e in merge_ranges(ctx.result.errors)],
        }

        def flush_then_journal() -> None:
            self.od.sync()
            self.journal.update(**fields)

        def recorded() -> None:
            cursor.offset = max(cursor.offset, done)
            ctx.result.mark("write", PhaseStatus.RUNNING, written_detail(self.plan, cursor))

        pending.start(flush_then_journal, recorded)

    def checkpoint(self, cursor: Cursor, done: int) -> None:
        # The device is flushed before the journal records the offset, so after a power
        # loss the journal never claims more than what reached the medium.
        ctx = self.ctx
        ctx.phase = "checkpoint"
        self.od.sync()
        cursor.offset = max(cursor.offset, done)
        self.journal.update(
            offset=cursor.offset,
            bytes_written=ctx.result.bytes_written,
            errors=[e.to_dict() for e in merge_ranges(ctx.result.errors)],
        )
        ctx.phase = "write"
        ctx.result.mark("write", PhaseStatus.RUNNING, written_detail(self.plan, cursor))
