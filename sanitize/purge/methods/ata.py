"""ATA Sanitize (crypto scramble, block erase, overwrite) and Security Erase (normal, enhanced).

hdparm exits 0 when the drive aborts, so success is read back from the drive: the sanitize
status must say "Last Sanitize Operation Completed Without Error" ("SD0 Sanitize Idle" alone
is what a drive that never ran the command reports), and after a Security Erase IDENTIFY must
show security "not enabled" and "not locked". The temporary password is random, kept in the
0700 state directory while it is set, and cleared on any failure so the drive is not left locked.
"""

from __future__ import annotations

import os
import secrets

from sanitize.erase.context import current_host
from sanitize.erase.method import ExecutionContext, register
from sanitize.erase.plan import EraseOptions, Plan, Step
from sanitize.errors import Refused
from sanitize.hw.commands import REDACTED
from sanitize.inventory.model import Device
from sanitize.purge.capabilities import Capabilities, ata
from sanitize.purge.capabilities.ata import AtaCapabilities, AtaSecurity
from sanitize.purge.methods.base import FirmwareMethod, capabilities, device_verdict, run_recorded
from sanitize.purge.polling import ProgressBar
from sanitize.state import write_private

YES = "--yes-i-know-what-i-am-doing"
FROZEN_HELP = (
    "the drive is frozen by the BIOS/firmware: suspend and resume the machine "
    "(`rtcwake -m mem -s 5`, or `echo -n mem > /sys/power/state`), or hot-unplug and replug the drive's "
    "data/power cable, then run the erase again"
)
SANITIZE_FLAGS = {
    "crypto": ["--sanitize-crypto-scramble"],
    "block": ["--sanitize-block-erase"],
    # hdparm's default of 0 passes means 16: ask for exactly one pass of zeros.
    "overwrite": ["--sanitize-overwrite-passes", "1", "--sanitize-overwrite", "hex:00000000"],
}
DEFAULT_TIMEOUT = {"crypto": 900.0, "block": 3 * 3600.0, "overwrite": 48 * 3600.0}


def hpa_dco_steps(device: Device, caps: Capabilities) -> list[Step]:
    """Restore a hidden HPA/DCO area first, so the erase reaches every sector."""
    out = []
    hpa, dco = caps.hpa, caps.dco
    if hpa is not None and hpa.hidden_sectors:
        out.append(
            Step(
                f"remove the HPA: {hpa.hidden_sectors} sectors hidden (native max {hpa.native})",
                ("hdparm", YES, "-N", f"p{hpa.native}", device.path),
            )
        )
    native = hpa.native if hpa and hpa.native else (caps.ata.sectors if caps.ata else None)
    if dco is not None and dco.real_max_sectors and native and dco.real_max_sectors > native:
        out.append(
            Step(
                f"restore the DCO: real max {dco.real_max_sectors} sectors > {native} visible",
                ("hdparm", YES, "--dco-restore", device.path),
            )
        )
    return out


def restore_hpa_dco(ctx: ExecutionContext, device: Device, caps: Capabilities) -> None:
    for step in hpa_dco_steps(device, caps):
        assert step.argv is not None
        run_recorded(ctx, list(step.argv), timeout=60)
        ctx.result.add_note(step.description)
    if caps.hpa is not None and caps.hpa.hidden_sectors:
        after = ata.probe_hpa(ctx.host, device.path)
        if after.hidden_sectors:
            raise Refused(
                f"{device.path}: the HPA could not be removed ({after.hidden_sectors} sectors still hidden); "
                "power-cycle the drive (SET MAX may be frozen) and retry"
            )


class AtaMethod(FirmwareMethod):
    interface = "ata"

    def notes(self, device: Device, options: EraseOptions) -> list[str]:
        out = list(super().notes(device, options))
        out += [s.description for s in hpa_dco_steps(device, capabilities(current_host(), device))]
        return out


class AtaSanitize(AtaMethod):
    poll_seconds = 5.0

    def __init__(self, action: str) -> None:
        self.action = action
        self.name = f"ata-sanitize-{action}"

    def unsupported(self, caps: Capabilities) -> str | None:
        a = caps.ata
        if a is None:
            return "IDENTIFY data could not be read"
        if not a.has("sanitize"):
            return "the drive does not support the SANITIZE feature set"
        if not getattr(a, f"sanitize_{self.action}"):
            return f"the SANITIZE feature set lacks the {self.action} command"
        return None

    def argv(self, device: Device) -> list[str]:
        return ["hdparm", YES, *SANITIZE_FLAGS[self.action], device.path]

    def steps(self, device: Device, caps: Capabilities, options: EraseOptions) -> list[Step]:
        status = ("hdparm", "--sanitize-status", device.path)
        return [
            Step("sanitize status must not be SD1 (frozen) or SD2 (in progress)", status),
            *hpa_dco_steps(device, caps),
            Step(f"start SANITIZE {self.action}", tuple(self.argv(device))),
            Step("poll until not SD2; success only with 'Last Sanitize Operation Completed Without Error'", status),
        ]

    def pre_checks(self, device: Device, options: EraseOptions) -> list[str]:
        return [
            "SANITIZE feature set and the command are listed in IDENTIFY",
            "sanitize state is not frozen (SD1)",
            "HPA/DCO restored so every sector is user-addressable",
        ]

    def reason(self, device: Device, options: EraseOptions) -> str:
        return f"ATA SANITIZE {self.action} acts on all user data including spare areas (Purge)"

    def expected_seconds(self, device: Device, options: EraseOptions) -> float | None:
        # ATA gives no estimate; openSeaChest's experience: crypto < 1 s, block < 1 s to > 30 s.
        if self.action == "overwrite":
            return device.size_bytes / (150e6 if device.media_type == "hdd" else 450e6)
        return 2.0 if self.action == "crypto" else 60.0

    def run(self, plan: Plan, ctx: ExecutionContext, caps: Capabilities) -> None:
        dev = plan.device
        status = ata.read_sanitize_status(ctx.host, dev.path)
        if status.frozen:
            raise Refused(f"{dev.path}: sanitize is frozen (SD1); {FROZEN_HELP}")
        if status.in_progress:
            raise Refused(f"{dev.path}: a sanitize is already in progress; wait for it to finish")
        restore_hpa_dco(ctx, dev, caps)
        started = run_recorded(ctx, self.argv(dev), timeout=120)
        start_text = started.stdout + started.stderr
        timeout = float(plan.options.extra.get("timeout") or DEFAULT_TIMEOUT[self.action])
        ctx.enter("polling")  # waiting for the device to report completion
        bar = ProgressBar(ctx.progress, f"{dev.path} {self.name}", plan.device.size_bytes)
        deadline = ctx.clock.now() + timeout
        while True:
            # Polls are not each recorded (a long overwrite would add thousands); the final one is.
            status = ata.read_sanitize_status(ctx.host, dev.path)
            if status.in_progress:
                bar.set_fraction((status.progress or 0) / 0xFFFF)
            else:
                break
            if ctx.stop.is_set() or ctx.clock.now() >= deadline:
                device_verdict(ctx, False, f"sanitize still in progress after {timeout:.0f} s (do not power off)")
                return
            ctx.clock.sleep(self.poll_seconds)
        final = run_recorded(ctx, ["hdparm", "--sanitize-status", dev.path], timeout=30)
        status = ata.parse_sanitize_status(final.stdout + "\n" + final.stderr)
        if status.succeeded:
            bar.set_fraction(1.0)
            device_verdict(
                ctx, True, f"sanitize status {status.state}: Last Sanitize Operation Completed Without Error"
            )
            return
        why = f"sanitize status {status.state or 'unreadable'} without 'Completed Without Error'"
        if status.error_reason:
            why += f"; drive error reason: {status.error_reason}"
        if status.bad_sense or "bad/missing sense data" in start_text:
            why += "; hdparm reported 'SG_IO: bad/missing sense data': the command most likely never ran"
        device_verdict(ctx, False, why)


class AtaSecureErase(AtaMethod):
    def __init__(self, enhanced: bool) -> None:
        self.enhanced = enhanced
        self.name = "ata-secure-erase-enhanced" if enhanced else "ata-secure-erase"

    def unsupported(self, caps: Capabilities) -> str | None:
        a = caps.ata
        if a is None:
            return "IDENTIFY data could not be read"
        if not a.has_security_section or not a.security.supported:
            return "the ATA Security feature set is not supported"
        if self.enhanced and not a.security.enhanced_erase:
            return "enhanced security erase is not supported"
        return None

    def flag(self) -> str:
        return "--security-erase-enhanced" if self.enhanced else "--security-erase"

    def steps(self, device: Device, caps: Capabilities, options: EraseOptions) -> list[Step]:
        ident = ("hdparm", "-I", device.path)
        return [
            Step("security: supported, not frozen, not enabled, not locked, count not expired", ident),
            *hpa_dco_steps(device, caps),
            Step(
                "set a random temporary user password (kept 0600 in the state directory until cleared)",
                ("hdparm", "--user-master", "u", "--security-set-pass", REDACTED, device.path),
            ),
            Step("IDENTIFY must now show security enabled", ident),
            Step(
                "SECURITY ERASE UNIT" + (" (enhanced)" if self.enhanced else ""),
                ("hdparm", "--user-master", "u", self.flag(), REDACTED, device.path),
            ),
            Step("IDENTIFY must show security not enabled and not locked; otherwise disable the password", ident),
        ]

    def pre_checks(self, device: Device, options: EraseOptions) -> list[str]:
        return [
            "security supported" + (" with enhanced erase" if self.enhanced else ""),
            "security not frozen",
            "no user password set (not enabled), not locked, attempt counter not expired",
        ]

    def post_checks(self, device: Device, options: EraseOptions) -> list[str]:
        return ["IDENTIFY: security not enabled and not locked", *super().post_checks(device, options)]

    def reason(self, device: Device, options: EraseOptions) -> str:
        kind = "Enhanced SECURITY ERASE UNIT" if self.enhanced else "SECURITY ERASE UNIT"
        return f"{kind}: the drive's own erase of all user data"

    def expected_seconds(self, device: Device, options: EraseOptions) -> float | None:
        a = capabilities(current_host(), device).ata
        if a is None:
            return None
        minutes = a.security.enhanced_erase_minutes if self.enhanced else a.security.erase_minutes
        return None if minutes is None else minutes * 60.0

    def run(self, plan: Plan, ctx: ExecutionContext, caps: Capabilities) -> None:
        dev = plan.device
        sec = caps.ata.security if caps.ata else None
        assert sec is not None
        if sec.frozen:
            raise Refused(f"{dev.path}: security is frozen; {FROZEN_HELP}")
        if sec.locked:
            raise Refused(f"{dev.path}: the drive is locked with a password this tool did not set")
        if sec.enabled:
            raise Refused(f"{dev.path}: a user password is already set; disable it first (hdparm --security-disable)")
        if sec.count_expired:
            raise Refused(f"{dev.path}: the password attempt counter expired; power-cycle the drive")
        restore_hpa_dco(ctx, dev, caps)
        password = secrets.token_hex(8)
        pw_file = ctx.state.file("purge", f"ata-password-{(dev.serial or dev.name).replace('/', '_')}")
        write_private(pw_file, f"{dev.path} {password}\n".encode())
        try:
            self._erase(plan, ctx, password, caps.ata.security if caps.ata else None)
        finally:
            after = _identify(ctx, dev.path)
            if _password_may_be_set(after):
                _clear_password(ctx, dev.path, password, after)
                after = _identify(ctx, dev.path)
                if _password_may_be_set(after):
                    ctx.result.add_note(
                        f"WARNING: could not clear the temporary password; it is in {pw_file} (mode 0600)"
                    )
                else:
                    ctx.result.add_note("temporary password cleared after the failure")
                    os.unlink(pw_file)
            else:
                os.unlink(pw_file)

    def _erase(self, plan: Plan, ctx: ExecutionContext, password: str, before: AtaSecurity | None) -> None:
        dev = plan.device
        run_recorded(
            ctx,
            ["hdparm", "--user-master", "u", "--security-set-pass", password, dev.path],
            timeout=60,
            secret=password,
        )
        if not _identify(ctx, dev.path).security.enabled:
            device_verdict(ctx, False, "the drive did not accept the temporary password (security still not enabled)")
            return
        estimate = (
            None if before is None else (before.enhanced_erase_minutes if self.enhanced else before.erase_minutes)
        )
        minutes = estimate or 120
        timeout = float(plan.options.extra.get("timeout") or minutes * 60 * 2 + 600)
        ctx.enter("polling")  # waiting for the device to report completion
        bar = ProgressBar(ctx.progress, f"{dev.path} {self.name}", plan.device.size_bytes)
        res = run_recorded(
            ctx, ["hdparm", "--user-master", "u", self.flag(), password, dev.path], timeout=timeout, secret=password
        )
        after = _identify(ctx, dev.path)
        if not after.has_security_section:
            device_verdict(
                ctx, False, f"IDENTIFY unreadable after SECURITY ERASE UNIT (hdparm exited {res.returncode})"
            )
            return
        if after.security.enabled or after.security.locked:
            state = ", ".join(
                w for w, on in (("enabled", after.security.enabled), ("locked", after.security.locked)) if on
            )
            device_verdict(
                ctx,
                False,
                f"after SECURITY ERASE UNIT security is still {state} "
                f"(hdparm exited {res.returncode}): the erase did not run",
            )
            return
        bar.set_fraction(1.0)
        device_verdict(ctx, True, "IDENTIFY after erase: security not enabled, not locked")


def _password_may_be_set(ident: AtaCapabilities) -> bool:
    # Unreadable IDENTIFY proves nothing: try to clear the password anyway (harmless if unset).
    return not ident.has_security_section or ident.security.enabled or ident.security.locked


def _identify(ctx: ExecutionContext, path: str) -> AtaCapabilities:
    res = run_recorded(ctx, ["hdparm", "-I", path], timeout=30)
    return ata.parse_identify(res.stdout, path)


def _clear_password(ctx: ExecutionContext, path: str, password: str, state: AtaCapabilities) -> None:
    if state.security.locked:
        run_recorded(
            ctx, ["hdparm", "--user-master", "u", "--security-unlock", password, path], timeout=60, secret=password
        )
    run_recorded(
        ctx, ["hdparm", "--user-master", "u", "--security-disable", password, path], timeout=60, secret=password
    )


for _action in ("crypto", "block", "overwrite"):
    register(AtaSanitize(_action))
register(AtaSecureErase(enhanced=True))
register(AtaSecureErase(enhanced=False))
