"""luks-crypto-erase: destroy every LUKS keyslot, then the whole header area.

`cryptsetup erase` wipes the keyslots only (the JSON metadata and `isLuks` survive), so the
header area up to the data offset is then overwritten with random data (O_DIRECT, O_EXCL)
and read back. A detached header named with `--header FILE` is destroyed the same way.
The ciphertext stays on the device: this is a Purge only if no other copy of the volume key
exists (header backups, escrow, another detached header), which the result says. Options
`extra["then"]` chains a device-level method (e.g. overwrite or a firmware purge) afterwards.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Sequence

from sanitize.enums import NistLevel, Outcome
from sanitize.erase.context import current_host
from sanitize.erase.method import ExecutionContext, Method, get_method, register
from sanitize.erase.plan import EraseOptions, Plan, Step
from sanitize.erase.result import EraseResult, Verification
from sanitize.errors import BadInput, Unsupported
from sanitize.hw.host import Host, OpenDevice
from sanitize.inventory.model import Device, DeviceTree
from sanitize.purge.capabilities import luks
from sanitize.purge.capabilities.luks import LuksHeader
from sanitize.purge.levels import level_of
from sanitize.purge.methods.base import device_verdict, run_recorded

CHUNK = 1 << 20
CIPHERTEXT_NOTE = (
    "the encrypted data (ciphertext) remains on the device; this is a Purge only if no other copy of the "
    "volume key or LUKS header existed (header backups, escrowed keys, other detached headers)"
)
BACKUP_WARNING = "a header backup (cryptsetup luksHeaderBackup) restores access to the data: destroy every backup too"


def _header_opt(options: EraseOptions) -> str | None:
    header = options.extra.get("header")
    return str(header) if header else None


def _then(options: EraseOptions) -> str | None:
    then = options.extra.get("then")
    return str(then) if then else None


class LuksCryptoErase(Method):
    name = "luks-crypto-erase"

    def nist_level(self, device: Device) -> NistLevel:
        return level_of(self.name, device.media_type)

    def header(self, host: Host, device: Device, options: EraseOptions) -> LuksHeader:
        hdr_file = _header_opt(options)
        if hdr_file and not os.path.isfile(hdr_file):
            raise BadInput(f"{hdr_file}: detached header file not found")
        found = luks.probe(host, device.path, hdr_file)
        if found is None or found.version is None:
            raise Unsupported(f"{device.path}: no LUKS header found" + (f" (header {hdr_file})" if hdr_file else ""))
        return found

    def check(self, tree: DeviceTree, device: Device, options: EraseOptions) -> None:
        self.header(current_host(), device, options)
        then = _then(options)
        if then:
            if then in (self.name, "auto"):
                raise BadInput(f"--then {then}: name a device-level method such as overwrite")
            get_method(then).check(tree, device, options)

    def _extent(self, hdr: LuksHeader, device_size: int | None) -> int:
        size = hdr.header_size
        if not size:
            size = 2 << 20 if hdr.version == 1 else 16 << 20  # cryptsetup's defaults
        return size if device_size is None else min(size, device_size)

    def plan_steps(self, device: Device, options: EraseOptions) -> Sequence[Step]:
        hdr_file = _header_opt(options)
        hdr = self.header(current_host(), device, options)
        target = hdr_file or device.path
        extent = self._extent(hdr, None if hdr_file else device.size_bytes)
        hopt = ["--header", hdr_file] if hdr_file else []
        steps = [
            Step(f"record keyslots (active: {hdr.active_keyslots or 'none'})", ("cryptsetup", "luksDump", target)),
            Step("destroy every keyslot", ("cryptsetup", "erase", "-q", *hopt, device.path)),
            Step(f"overwrite the header area of {target} ({extent} bytes, up to the data offset) with random data"),
            Step("read the header area back: it must equal what was written"),
        ]
        if hdr_file:
            steps.append(Step(f"remove the destroyed detached header file {hdr_file}"))
        then = _then(options)
        if then:
            steps.append(Step(f"then run {then} on {device.path}"))
            steps.extend(get_method(then).plan_steps(device, options))
        return steps

    def pre_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        return ["cryptsetup isLuks succeeds", "the LUKS volume is not open (no holders)"]

    def post_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        return ["luksDump lists no active keyslot", "the header area reads back as the random data written"]

    def expected_seconds(self, device: Device, options: EraseOptions) -> float | None:
        then = _then(options)
        extra = get_method(then).expected_seconds(device, options) if then else 0.0
        return 1.0 + (extra or 0.0)

    def reason(self, device: Device, options: EraseOptions) -> str:
        return "the device holds a LUKS volume: destroying its keyslots and header makes the ciphertext unreadable"

    def notes(self, device: Device, options: EraseOptions) -> Sequence[str]:
        out = [CIPHERTEXT_NOTE, BACKUP_WARNING]
        hdr_file = _header_opt(options)
        if hdr_file:
            out.append(f"detached header {hdr_file} is destroyed as well")
        elif self.header(current_host(), device, options).data_offset == 0:
            out.append("the data offset is 0: this header may be detached; name it with --header to destroy it")
        return out

    def execute(self, plan: Plan, ctx: ExecutionContext) -> EraseResult:
        dev = plan.device
        hdr_file = _header_opt(plan.options)
        hdr = self.header(ctx.host, dev, plan.options)
        ctx.result.add_note(f"LUKS{hdr.version} keyslots active before erase: {hdr.active_keyslots or 'none'}")
        hopt = ["--header", hdr_file] if hdr_file else []
        ctx.enter("luks")
        run_recorded(ctx, ["cryptsetup", "erase", "-q", *hopt, dev.path], timeout=120)
        after = luks.probe(ctx.host, dev.path, hdr_file)
        if after is not None and after.active_keyslots:
            device_verdict(ctx, False, f"keyslots {after.active_keyslots} still active after cryptsetup erase")
            return ctx.result
        target = hdr_file or dev.path
        extent = self._extent(hdr, None if hdr_file else dev.size_bytes)
        written = _overwrite_random(ctx.host, target, extent, hdr_file)
        ctx.result.bytes_written += extent
        # Read back now: a chained device-level method will overwrite this area again.
        ctx.scratch["luks_header"] = (extent, _read_digest(ctx.host, target, extent, hdr_file) == written)
        device_verdict(ctx, True, "keyslots destroyed and header area overwritten")
        ctx.result.mark("luks", "done", f"keyslots destroyed, {extent} header bytes overwritten")
        then = _then(plan.options)
        if then:
            ctx.scratch["then"] = then
            get_method(then).execute(plan, ctx)
        return ctx.result

    def verify(self, plan: Plan, ctx: ExecutionContext) -> Verification:
        verdict = ctx.scratch.get("device_verdict", {"ok": False, "why": "not run"})
        if not verdict["ok"]:
            return Verification(outcome=Outcome.FAILED, details={"luks": verdict["why"]})
        extent, ok = ctx.scratch["luks_header"]
        hdr_file = _header_opt(plan.options)
        details = {"luks": verdict["why"], "header_bytes": extent, "header_readback_matches": ok}
        if hdr_file and ok:
            os.unlink(hdr_file)
            details["detached_header_removed"] = hdr_file
        result = Verification(
            method="full",
            coverage=1.0,
            bytes_checked=extent,
            outcome=Outcome.PASSED if ok else Outcome.FAILED,
            mismatches=0 if ok else 1,
            details=details,
        )
        then = ctx.scratch.get("then")
        if then and ok:
            chained = get_method(then).verify(plan, ctx)
            chained.details["luks"] = details
            return chained
        return result

    def finalize(self, plan: Plan, ctx: ExecutionContext, result: EraseResult) -> None:
        # The chained method cleans up after itself too: overwrite's journal holds its
        # pattern key and must not outlive the run.
        then = ctx.scratch.get("then")
        if then:
            get_method(then).finalize(plan, ctx, result)


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


register(LuksCryptoErase())
