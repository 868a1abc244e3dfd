"""Clear by overwrite: every user-addressable sector written, then read back.

The method plans the steps (open, one write per pass, the read-back, a discard), and runs
them: the passes with their checkpoints (passes.py), bad-sector retries (io.py), the
journal's cursor for --resume (cursor.py), the verification (readback.py, with NIST
sampling in sampling.py), then the discard.

Honesty: a sector that cannot be written is retried down to one logical sector; what still
fails is an error range and makes the result `failed`. Verification regenerates the
pattern and compares it with what the device returns; any mismatch or unreadable sector
fails it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sanitize.enums import FLASH_MEDIA, NistLevel, Outcome, PhaseStatus, Status
from sanitize.erase.buffers import CIPHER, PatternSource
from sanitize.erase.journal import Journal
from sanitize.erase.method import ExecutionContext, Method, Planning, estimate_write_seconds
from sanitize.erase.options import EraseOptions
from sanitize.erase.overwrite.cursor import (
    Cursor,
    journal_fields,
    journalled_cipher,
    note_stop,
    restore,
    written_detail,
)
from sanitize.erase.overwrite.io import CHUNK, WRITE_CHUNK, error_text
from sanitize.erase.overwrite.passes import Cadence, PassWriter
from sanitize.erase.overwrite.readback import VerifyState, compare
from sanitize.erase.overwrite.sampling import SUBSECTIONS, sample_ranges
from sanitize.erase.plan import DeviceIo, Plan, Step
from sanitize.erase.result import EraseResult, Verification
from sanitize.errors import Refused
from sanitize.hw.host import OpenDevice
from sanitize.inventory.model import Device


def flash_note(device: Device) -> str | None:
    if device.media_type not in FLASH_MEDIA:
        return None
    return (
        f"overwrite on flash media ({device.media_type}) is only NIST SP 800-88 Clear: "
        "spare and remapped blocks are not reached; use a firmware Purge method for Purge"
    )


def keystream(cipher: str) -> str:
    return f"{cipher} keystream"


def with_journalled_cipher(plan: Plan, journal: Mapping[str, Any]) -> Plan:
    """The plan resuming `journal`, saying which keystream the interrupted pass continues.

    A journal written before today's cipher keeps its own: the pass it stopped in goes on
    with that key and cipher, and verification regenerates it (passes started later use
    today's). Without this, the resumed plan's step would name today's cipher for bytes
    written with the old one."""
    cipher = journalled_cipher(journal)
    if plan.method != OverwriteMethod.name or cipher in (None, CIPHER):
        return plan
    if journal.get("phase") == "write":
        number = int(journal.get("pass", 1))
        note = f"pass {number} continues the interrupted run's journalled {keystream(cipher)}"
        steps = tuple(
            replace(
                step,
                description=step.description.replace(
                    f"{keystream(CIPHER)} (new random key per pass)", f"{keystream(cipher)} (the journalled key)"
                ),
            )
            if step.role == "write" and isinstance(step.op, DeviceIo) and step.op.number == number
            else step
            for step in plan.steps
        )
        plan = replace(plan, steps=steps)
    else:
        note = f"verification regenerates the interrupted run's journalled {keystream(cipher)}"
    return replace(plan, notes=(*plan.notes, note))


class OverwriteMethod(Method):
    """Clear by overwrite: plans the passes, runs them (passes.py) and reads back (readback.py).

    `cadence`: how often progress is flushed and journalled (tests shorten it to interrupt
    a small device mid-pass).
    """

    name = "overwrite"

    def __init__(self, cadence: Cadence | None = None) -> None:
        self.cadence = cadence or Cadence()

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
        what = f"{keystream(CIPHER)} (new random key per pass)" if options.pattern == "random" else options.pattern
        for n in range(1, options.passes + 1):
            steps.append(
                Step(
                    f"pass {n}/{options.passes}: write {what} over bytes 0-{size} in {WRITE_CHUNK >> 20} MiB "
                    f"O_DIRECT chunks; fsync and journal every {self.cadence.bytes >> 20} MiB",
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
        """The plan's "open" step: exclusive, direct, and the device still the one planned."""
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
        """Run the plan's write passes (its "write" steps), from the journal's cursor on --resume."""
        dev, opts, result = plan.device, plan.options, ctx.result
        passes = [s.op for s in plan.steps_with("write") if isinstance(s.op, DeviceIo)]
        result.passes, result.pattern = len(passes), opts.pattern
        if ctx.resume:
            journal = Journal.find(ctx.state, dev)
            cursor = restore(journal, result)
        else:
            cursor = Cursor("write", 1, 0, None)
        if cursor.phase == "write":
            # Opened before a new journal exists, so a refused open leaves nothing behind.
            ctx.enter("open")
            od, sector = self._open(plan, ctx, write=True)
            ctx.enter("checkpoint")
            if not ctx.resume:
                journal = Journal.create(ctx.state, result.id, dev, journal_fields(plan, result, cursor))
            ctx.scratch["journal"] = journal
            writer = PassWriter(od, plan, sector, ctx, journal, self.cadence)
            with od:
                for step in passes:
                    if step.number < cursor.pass_no:
                        continue  # written before the run that is being resumed
                    if step.number > cursor.pass_no:
                        cursor = Cursor("write", step.number, 0, None)
                    if cursor.key is None and opts.pattern == "random":
                        cursor.key, cursor.cipher = PatternSource.new_key(CIPHER), CIPHER
                    result.pattern_cipher = cursor.cipher
                    # The key is journalled before the first byte of its pass is written.
                    ctx.phase = "checkpoint"
                    journal.update(**journal_fields(plan, result, cursor))
                    ctx.enter("write", written_detail(plan, cursor))
                    source = PatternSource(opts.pattern, cursor.key, WRITE_CHUNK, cursor.cipher or CIPHER)
                    writer.write_pass(source, cursor)
                    if ctx.stop.is_set():
                        # Journalled before the note: a resumed run must not inherit it.
                        journal.update(**journal_fields(plan, result, cursor), stopped_cleanly=True)
                        note_stop(plan, ctx, cursor)
                        return result
            cursor.phase, cursor.offset = "verify", 0
            ctx.phase = "checkpoint"
            journal.update(**journal_fields(plan, result, cursor))
            result.mark("checkpoint", PhaseStatus.DONE, "journal saved after every checkpoint")
            result.mark("write", PhaseStatus.DONE, f"all {len(passes)} pass(es) written over bytes 0-{dev.size_bytes}")
        ctx.scratch["journal"] = journal
        ctx.scratch["key"] = cursor.key
        ctx.scratch["cipher"] = cursor.cipher
        result.pattern_cipher = cursor.cipher
        note = flash_note(dev)
        if note:
            result.add_note(note)
        return result

    # --- verification ------------------------------------------------------------------
    def verify(self, plan: Plan, ctx: ExecutionContext) -> Verification:
        """The plan's "verify" step: read back all of the device, or the NIST sample."""
        opts, dev = plan.options, plan.device
        if not plan.steps_with("verify"):
            return Verification(method="none", outcome=Outcome.SKIPPED)
        journal = ctx.scratch.get("journal")
        journal = journal if isinstance(journal, Journal) else None
        saved = VerifyState.saved(journal, opts.verify) if ctx.resume else None
        cipher = ctx.scratch.get("cipher")
        cipher = cipher if isinstance(cipher, str) else CIPHER
        source = PatternSource(opts.pattern, ctx.scratch.get("key"), CHUNK, cipher)
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
            state = saved or VerifyState(opts.verify, seed)
            return compare(od, source, ranges, sector, ctx, details, state, journal, self.cadence)

    def finalize(self, plan: Plan, ctx: ExecutionContext, result: EraseResult) -> None:
        journal = ctx.scratch.get("journal")
        if result.status == Status.INTERRUPTED:
            return  # the journal stays for --resume, as it was at the last checkpoint
        for step in plan.steps_with("discard"):
            ctx.enter("discard")
            self._discard(plan, step, ctx, result)
            result.mark("discard", PhaseStatus.DONE)
        # The run is over: the journal, and with it the pattern key, goes.
        if isinstance(journal, Journal):
            journal.delete()

    def _discard(self, plan: Plan, step: Step, ctx: ExecutionContext, result: EraseResult) -> None:
        op = step.op
        assert isinstance(op, DeviceIo)
        try:
            with ctx.host.open_device(plan.device.path, write=True) as od:
                od.discard(op.offset, op.length)
        except OSError as exc:
            result.add_note(f"discard requested but the device refused it: {error_text('BLKDISCARD', exc)}")
            return
        result.add_note(
            "discarded (BLKDISCARD) the whole device after verification; what it now returns is "
            "up to the device, so the verification above describes the state before the discard"
        )
