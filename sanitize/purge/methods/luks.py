"""luks-crypto-erase: destroy every LUKS keyslot, then the whole header area.

`cryptsetup erase` wipes the keyslots only (the JSON metadata and `isLuks` survive), so the
header area up to the data offset is then overwritten with random data (O_DIRECT, O_EXCL)
and read back. A detached header named with `--header FILE` is destroyed the same way.
The ciphertext stays on the device: this is a Purge only if no other copy of the volume key
exists (header backups, escrow, another detached header), which the result says.
`--then METHOD` chains a device-level method (e.g. overwrite or a firmware purge) afterwards:
the plan's `then`, which the runner starts once this method's own step succeeded.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Sequence

from sanitize.enums import NistLevel, Outcome, PhaseStatus
from sanitize.erase.method import ExecutionContext, Method, Planning
from sanitize.erase.options import EraseOptions
from sanitize.erase.plan import Command, DeviceIo, Plan, Step
from sanitize.erase.result import EraseResult, Verification
from sanitize.errors import BadInput, Refused, Unsupported
from sanitize.hw.host import Host, OpenDevice
from sanitize.inventory.model import Device
from sanitize.purge.capabilities import luks
from sanitize.purge.capabilities.luks import LuksHeader
from sanitize.purge.levels import level_of
from sanitize.purge.methods.base import device_verdict

CHUNK = 1 << 20
CIPHERTEXT_NOTE = (
    "the encrypted data (ciphertext) remains on the device; this is a Purge only if no other copy of the "
    "volume key or LUKS header existed (header backups, escrowed keys, other detached headers)"
)
BACKUP_WARNING = "a header backup (cryptsetup luksHeaderBackup) restores access to the data: destroy every backup too"


class LuksCryptoErase(Method):
    name = "luks-crypto-erase"
    chains = True  # --then: a device-level method runs afterwards (Plan.then)

    def nist_level(self, device: Device) -> NistLevel:
        return level_of(self.name, device.media_type)

    def header(self, planning: Planning, device: Device, options: EraseOptions) -> LuksHeader:
        """The LUKS header as `cryptsetup luksDump` reads it, once per planning session."""
        hdr_file = options.luks.header
        key = ("luks", f"{device.path}\0{hdr_file or ''}")
        if key not in planning.memo:
            if hdr_file and not os.path.isfile(hdr_file):
                raise BadInput(f"{hdr_file}: detached header file not found")
            found = luks.probe(planning.host, device.path, hdr_file)
            if found is None or found.version is None:
                where = f" (header {hdr_file})" if hdr_file else ""
                raise Unsupported(f"{device.path}: no LUKS header found{where}")
            planning.memo[key] = found
        header: LuksHeader = planning.memo[key]
        return header

    def check(self, planning: Planning, device: Device, options: EraseOptions) -> None:
        self.header(planning, device, options)

    def _extent(self, hdr: LuksHeader, device_size: int | None) -> int:
        size = hdr.header_size
        if not size:
            size = 2 << 20 if hdr.version == 1 else 16 << 20  # cryptsetup's defaults
        return size if device_size is None else min(size, device_size)

    def plan_steps(self, planning: Planning, device: Device, options: EraseOptions) -> Sequence[Step]:
        hdr_file = options.luks.header
        hdr = self.header(planning, device, options)
        target = hdr_file or device.path
        extent = self._extent(hdr, None if hdr_file else device.size_bytes)
        hopt = ("--header", hdr_file) if hdr_file else ()
        dump = Command(("cryptsetup", "luksDump", target), timeout=30)
        steps = [
            Step(f"record keyslots (active: {hdr.active_keyslots or 'none'})", dump, "dump"),
            Step("destroy every keyslot", Command(("cryptsetup", "erase", "-q", *hopt, device.path)), "erase"),
            Step("luksDump again: no keyslot may be active", dump, "dump-after"),
            Step(
                f"overwrite the header area of {target} ({extent} bytes, up to the data offset) with random data",
                DeviceIo("overwrite", target, 0, extent),
                "overwrite",
            ),
            Step(
                "read the header area back: it must equal what was written",
                DeviceIo("read", target, 0, extent),
                "read-back",
            ),
        ]
        if hdr_file:
            steps.append(
                Step(f"remove the destroyed detached header file {hdr_file}", DeviceIo("remove", hdr_file), "remove")
            )
        return steps

    def pre_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        return ["cryptsetup isLuks succeeds", "the LUKS volume is not open (no holders)"]

    def post_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        return ["luksDump lists no active keyslot", "the header area reads back as the random data written"]

    def expected_seconds(self, planning: Planning, device: Device, options: EraseOptions) -> float | None:
        return 1.0

    def reason(self, device: Device, options: EraseOptions) -> str:
        return "the device holds a LUKS volume: destroying its keyslots and header makes the ciphertext unreadable"

    def notes(self, planning: Planning, device: Device, options: EraseOptions) -> Sequence[str]:
        out = [CIPHERTEXT_NOTE, BACKUP_WARNING]
        hdr_file = options.luks.header
        if hdr_file:
            out.append(f"detached header {hdr_file} is destroyed as well")
        elif self.header(planning, device, options).data_offset == 0:
            out.append("the data offset is 0: this header may be detached; name it with --header to destroy it")
        return out

    def execute(self, plan: Plan, ctx: ExecutionContext) -> EraseResult:
        dev = plan.device
        hdr_file = plan.options.luks.header
        overwrite = plan.step("overwrite").op
        assert isinstance(overwrite, DeviceIo)
        hdr = luks.parse_dump(ctx.run(plan.step("dump"), record=False).stdout)
        if hdr.version is None:
            raise Unsupported(f"{dev.path}: no LUKS header found any more; plan the erase again")
        if self._extent(hdr, None if hdr_file else dev.size_bytes) != overwrite.length:
            raise Refused(f"{dev.path}: its LUKS header changed since it was planned; plan the erase again")
        ctx.result.add_note(f"LUKS{hdr.version} keyslots active before erase: {hdr.active_keyslots or 'none'}")
        ctx.enter("luks")
        ctx.run(plan.step("erase"))
        after = luks.parse_dump(ctx.run(plan.step("dump-after"), record=False).stdout)
        if after.active_keyslots:
            self._verdict(ctx, False, f"keyslots {after.active_keyslots} still active after cryptsetup erase")
            return ctx.result
        extent = overwrite.length
        written = _overwrite_random(ctx.host, overwrite.target, extent, hdr_file)
        ctx.result.bytes_written += extent
        # Read back now: a chained device-level method will overwrite this area again.
        read = plan.step("read-back").op
        assert isinstance(read, DeviceIo)
        ctx.scratch["luks_header"] = (extent, _read_digest(ctx.host, read.target, read.length, hdr_file) == written)
        self._verdict(ctx, True, "keyslots destroyed and header area overwritten")
        ctx.result.mark("luks", PhaseStatus.DONE, f"keyslots destroyed, {extent} header bytes overwritten")
        return ctx.result

    @staticmethod
    def _verdict(ctx: ExecutionContext, ok: bool, why: str) -> None:
        device_verdict(ctx, ok, why)
        ctx.scratch["luks_verdict"] = {"ok": ok, "why": why}  # a chained method records its own verdict

    def may_continue(self, ctx: ExecutionContext) -> bool:
        return bool(ctx.scratch.get("luks_verdict", {}).get("ok"))

    def verify(self, plan: Plan, ctx: ExecutionContext) -> Verification:
        verdict = ctx.scratch.get("luks_verdict", {"ok": False, "why": "not run"})
        if not verdict["ok"]:
            return Verification(outcome=Outcome.FAILED, details={"luks": verdict["why"]})
        extent, ok = ctx.scratch["luks_header"]
        details = {"luks": verdict["why"], "header_bytes": extent, "header_readback_matches": ok}
        for step in plan.steps_with("remove"):
            if ok and isinstance(step.op, DeviceIo):
                os.unlink(step.op.target)
                details["detached_header_removed"] = step.op.target
        return Verification(
            method="full",
            coverage=1.0,
            bytes_checked=extent,
            outcome=Outcome.PASSED if ok else Outcome.FAILED,
            mismatches=0 if ok else 1,
            details=details,
        )

    def chain_verification(self, own: Verification, chained: Verification) -> Verification:
        chained.details["luks"] = own.details
        return chained


def _open(host: Host, target: str, hdr_file: str | None, write: bool) -> OpenDevice:
    if hdr_file:
        return host.open_file(target, write=write)
    return host.open_device(target, write=write, direct=True, exclusive=True)


def _overwrite_random(host: Host, target: str, extent: int, hdr_file: str | None) -> str:
    """Write `extent` random bytes at offset 0; return their SHA-256 (content is never kept)."""
    digest = hashlib.sha256()
    buf = mmap.mmap(-1, CHUNK)
    try:
        with _open(host, target, hdr_file, write=True) as dev:
            off = 0
            while off < extent:
                n = min(CHUNK, extent - off)
                buf[:n] = os.urandom(n)
                digest.update(buf[:n])
                with memoryview(buf) as view:
                    dev.write_at(view[:n], off)
                off += n
            dev.sync()
    finally:
        buf.close()
    return digest.hexdigest()


def _read_digest(host: Host, target: str, extent: int, hdr_file: str | None) -> str:
    digest = hashlib.sha256()
    buf = mmap.mmap(-1, CHUNK)
    try:
        with _open(host, target, hdr_file, write=False) as dev:
            off = 0
            while off < extent:
                n = min(CHUNK, extent - off)
                with memoryview(buf) as view:
                    dev.read_into(view[:n], off)
                    digest.update(view[:n])
                off += n
    finally:
        buf.close()
    return digest.hexdigest()
