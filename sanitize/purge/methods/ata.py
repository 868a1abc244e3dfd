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

from sanitize.erase.method import ExecutionContext, Planning
from sanitize.erase.options import EraseOptions
from sanitize.erase.plan import Command, Plan, Step
from sanitize.errors import Refused
from sanitize.hw.commands import REDACTED, CommandResult
from sanitize.inventory.model import Device
from sanitize.purge.capabilities import Capabilities, ata
from sanitize.purge.capabilities.ata import AtaCapabilities, SanitizeStatus
from sanitize.purge.methods.base import FirmwareMethod, capabilities, device_verdict, wait_limit
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
                Command(("hdparm", YES, "-N", f"p{hpa.native}", device.path), timeout=60),
                "hpa",
            )
        )
        out.append(
            Step("the HPA must now hide no sector", Command(("hdparm", "-N", device.path), timeout=30), "hpa-check")
        )
    native = hpa.native if hpa and hpa.native else (caps.ata.sectors if caps.ata else None)
    if dco is not None and dco.real_max_sectors and native and dco.real_max_sectors > native:
        out.append(
            Step(
                f"restore the DCO: real max {dco.real_max_sectors} sectors > {native} visible",
                Command(("hdparm", YES, "--dco-restore", device.path), timeout=60),
                "dco",
            )
        )
    return out


def restore_hpa_dco(plan: Plan, ctx: ExecutionContext, caps: Capabilities) -> None:
    """Run the plan's HPA and DCO steps; refuse when the drive hides sectors the plan did not know of."""
    device = plan.device
    if caps.hpa is not None and caps.hpa.hidden_sectors and not plan.steps_with("hpa"):
        raise Refused(
            f"{device.path}: changed since it was planned: an HPA now hides {caps.hpa.hidden_sectors} sectors; "
            "plan the erase again"
        )
    for step in [*plan.steps_with("hpa"), *plan.steps_with("dco")]:
        ctx.run(step)
        ctx.result.add_note(step.description)
    for check in plan.steps_with("hpa-check"):
        after = ata.parse_hpa(ctx.run(check, record=False).stdout)
        if after.hidden_sectors:
            raise Refused(
                f"{device.path}: the HPA could not be removed ({after.hidden_sectors} sectors still hidden); "
                "power-cycle the drive (SET MAX may be frozen) and retry"
            )


class AtaMethod(FirmwareMethod):
    interface = "ata"

    def notes(self, planning: Planning, device: Device, options: EraseOptions) -> list[str]:
        out = list(super().notes(planning, device, options))
        steps = hpa_dco_steps(device, capabilities(planning, device))
        out += [s.description for s in steps if s.role in ("hpa", "dco")]
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
        until = float(options.firmware.timeout or DEFAULT_TIMEOUT[self.action])
        return [
            Step("sanitize status must not be SD1 (frozen) or SD2 (in progress)", Command(status, 30), "status"),
            *hpa_dco_steps(device, caps),
            Step(f"start SANITIZE {self.action}", Command(tuple(self.argv(device))), "start"),
            Step(
                "poll until not SD2; success only with 'Last Sanitize Operation Completed Without Error'",
                Command(status, 30, until=until),
                "poll",
            ),
        ]

    def pre_checks(self, device: Device, options: EraseOptions) -> list[str]:
        return [
            "SANITIZE feature set and the command are listed in IDENTIFY",
            "sanitize state is not frozen (SD1)",
            "HPA/DCO restored so every sector is user-addressable",
        ]

    def reason(self, device: Device, options: EraseOptions) -> str:
        return f"ATA SANITIZE {self.action} acts on all user data including spare areas (Purge)"

    def expected_seconds(self, planning: Planning, device: Device, options: EraseOptions) -> float | None:
        # ATA gives no estimate; openSeaChest's experience: crypto < 1 s, block < 1 s to > 30 s.
        if self.action == "overwrite":
            return device.size_bytes / (150e6 if device.media_type == "hdd" else 450e6)
        return 2.0 if self.action == "crypto" else 60.0

    def run(self, plan: Plan, ctx: ExecutionContext, caps: Capabilities) -> None:
        dev = plan.device
        poll = plan.step("poll")
        status = _status(ctx.run(plan.step("status"), record=False))
        if status.frozen:
            raise Refused(f"{dev.path}: sanitize is frozen (SD1); {FROZEN_HELP}")
        if status.in_progress:
            raise Refused(f"{dev.path}: a sanitize is already in progress; wait for it to finish")
        restore_hpa_dco(plan, ctx, caps)
        started = ctx.run(plan.step("start"))
        start_text = started.stdout + started.stderr
        timeout = wait_limit(poll)
        ctx.enter("polling")  # waiting for the device to report completion
        bar = ProgressBar(ctx.progress, f"{dev.path} {self.name}", plan.device.size_bytes)
        deadline = ctx.clock.now() + timeout
        while True:
            # Polls are not each recorded (a long overwrite would add thousands); the final one is.
            status = _status(ctx.run(poll, record=False))
            if status.in_progress:
                bar.set_fraction((status.progress or 0) / 0xFFFF)
            else:
                break
            if ctx.stop.is_set() or ctx.clock.now() >= deadline:
                device_verdict(ctx, False, f"sanitize still in progress after {timeout:.0f} s (do not power off)")
                return
            ctx.clock.sleep(self.poll_seconds)
        status = _status(ctx.run(poll))
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

    def erase_timeout(self, caps: Capabilities, options: EraseOptions) -> float:
        """Twice the drive's own estimate plus 10 minutes (2 hours when it gives none), unless given."""
        sec = caps.ata.security if caps.ata else None
        estimate = None if sec is None else (sec.enhanced_erase_minutes if self.enhanced else sec.erase_minutes)
        return float(options.firmware.timeout or (estimate or 120) * 60 * 2 + 600)

    def steps(self, device: Device, caps: Capabilities, options: EraseOptions) -> list[Step]:
        ident = Command(("hdparm", "-I", device.path), timeout=30)
        user = ("hdparm", "--user-master", "u")

        def with_password(flag: str, timeout: float) -> Command:
            return Command((*user, flag, REDACTED, device.path), timeout=timeout, placeholder=REDACTED)

        return [
            Step("security: supported, not frozen, not enabled, not locked, count not expired", ident, "check"),
            *hpa_dco_steps(device, caps),
            Step(
                "set a random temporary user password (kept 0600 in the state directory until cleared)",
                with_password("--security-set-pass", 60),
                "set-password",
            ),
            Step("IDENTIFY must now show security enabled", ident, "identify-enabled"),
            Step(
                "SECURITY ERASE UNIT" + (" (enhanced)" if self.enhanced else ""),
                with_password(self.flag(), self.erase_timeout(caps, options)),
                "erase",
            ),
            Step(
                "IDENTIFY must show security not enabled and not locked; otherwise disable the password",
                ident,
                "identify-after",
            ),
            Step(
                "only if the password may still be set and the drive is locked: unlock it",
                with_password("--security-unlock", 60),
                "unlock",
            ),
            Step(
                "only if the password may still be set: disable it", with_password("--security-disable", 60), "disable"
            ),
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

    def expected_seconds(self, planning: Planning, device: Device, options: EraseOptions) -> float | None:
        a = capabilities(planning, device).ata
        if a is None:
            return None
        minutes = a.security.enhanced_erase_minutes if self.enhanced else a.security.erase_minutes
        return None if minutes is None else minutes * 60.0

    def run(self, plan: Plan, ctx: ExecutionContext, caps: Capabilities) -> None:
        dev = plan.device
        sec = _identify(ctx, plan.step("check"), record=False).security
        if sec.frozen:
            raise Refused(f"{dev.path}: security is frozen; {FROZEN_HELP}")
        if sec.locked:
            raise Refused(f"{dev.path}: the drive is locked with a password this tool did not set")
        if sec.enabled:
            raise Refused(f"{dev.path}: a user password is already set; disable it first (hdparm --security-disable)")
        if sec.count_expired:
            raise Refused(f"{dev.path}: the password attempt counter expired; power-cycle the drive")
        restore_hpa_dco(plan, ctx, caps)
        password = secrets.token_hex(8)
        pw_file = ctx.state.file("purge", f"ata-password-{(dev.serial or dev.name).replace('/', '_')}")
        write_private(pw_file, f"{dev.path} {password}\n".encode())
        try:
            self._erase(plan, ctx, password)
        finally:
            after = _identify(ctx, plan.step("identify-after"))
            if _password_may_be_set(after):
                _clear_password(plan, ctx, password, after)
                after = _identify(ctx, plan.step("identify-after"))
                if _password_may_be_set(after):
                    ctx.result.add_note(
                        f"WARNING: could not clear the temporary password; it is in {pw_file} (mode 0600)"
                    )
                else:
                    ctx.result.add_note("temporary password cleared after the failure")
                    os.unlink(pw_file)
            else:
                os.unlink(pw_file)

    def _erase(self, plan: Plan, ctx: ExecutionContext, password: str) -> None:
        dev = plan.device
        ctx.run(plan.step("set-password"), secret=password)
        if not _identify(ctx, plan.step("identify-enabled")).security.enabled:
            device_verdict(ctx, False, "the drive did not accept the temporary password (security still not enabled)")
            return
        ctx.enter("polling")  # waiting for the device to report completion
        bar = ProgressBar(ctx.progress, f"{dev.path} {self.name}", plan.device.size_bytes)
        res = ctx.run(plan.step("erase"), secret=password)
        after = _identify(ctx, plan.step("identify-after"))
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


def _identify(ctx: ExecutionContext, step: Step, *, record: bool = True) -> AtaCapabilities:
    res = ctx.run(step, record=record)
    return ata.parse_identify(res.stdout, step.argv[-1] if step.argv else "")


def _status(res: CommandResult) -> SanitizeStatus:
    return ata.parse_sanitize_status(res.stdout + "\n" + res.stderr)


def _clear_password(plan: Plan, ctx: ExecutionContext, password: str, state: AtaCapabilities) -> None:
    if state.security.locked:
        ctx.run(plan.step("unlock"), secret=password)
    ctx.run(plan.step("disable"), secret=password)


def methods() -> list[FirmwareMethod]:
    return [*(AtaSanitize(a) for a in ("crypto", "block", "overwrite")), AtaSecureErase(True), AtaSecureErase(False)]
