"""NVMe Sanitize (crypto, block, overwrite) and Format NVM with secure erase (crypto, user).

Completion is read from the Sanitize Status log: SPROG reaches 65535 and SSTAT[2:0] is 1 or
4 (success; 0x101 adds Global Data Erased) or 3 (failed, then `--sanact=1` exits failure
mode). Format NVM has no status log; its evidence is the read-back comparison alone.
"""

from __future__ import annotations

from typing import ClassVar

from sanitize.erase.method import ExecutionContext, Planning
from sanitize.erase.options import EraseOptions
from sanitize.erase.plan import Command, Plan, Step
from sanitize.errors import Refused
from sanitize.hw.commands import CommandResult
from sanitize.inventory.model import Device
from sanitize.purge.capabilities import Capabilities
from sanitize.purge.capabilities.nvme import SSTAT_IN_PROGRESS, SanitizeLog, parse_sanitize_log
from sanitize.purge.methods.base import (
    FirmwareMethod,
    capabilities,
    controller_of,
    device_verdict,
    refuse_shared_controller,
    wait_limit,
)
from sanitize.purge.polling import ProgressBar

SANACT_EXIT_FAILURE = 1
SANACT = {"block": 2, "overwrite": 3, "crypto": 4}
DEFAULT_TIMEOUT = {"crypto": 900.0, "block": 3 * 3600.0, "overwrite": 24 * 3600.0}


def _controller(device: Device, caps: Capabilities) -> str:
    return controller_of(device, caps) or ""


def _log(res: CommandResult) -> SanitizeLog:
    return parse_sanitize_log(res.stdout) if res.ok else SanitizeLog(sprog=None, sstat=None)


class NvmeSanitize(FirmwareMethod):
    interface = "nvme"
    controller_wide = True
    poll_seconds = 5.0

    def __init__(self, action: str) -> None:
        self.action = action
        self.name = f"nvme-sanitize-{action}"

    def unsupported(self, caps: Capabilities) -> str | None:
        n = caps.nvme
        if n is None:
            return "controller capabilities could not be read"
        if n.sanicap is None:
            return "SANICAP not reported (nvme-cli too old or output truncated), so Sanitize is not attempted"
        if not getattr(n, f"sanitize_{self.action}"):
            return f"the controller does not advertise {self.action} sanitize (SANICAP={n.sanicap:#x})"
        return None

    def argv(self, controller: str) -> list[str]:
        # AUSE lets `--sanact=1` leave failure mode; numeric --sanact works in nvme-cli 1.x and 2.x.
        argv = ["nvme", "sanitize", controller, f"--sanact={SANACT[self.action]}", "--ause"]
        if self.action == "overwrite":
            argv += ["--owpass=1", "--ovrpat=0"]
        return argv

    def timeout(self, caps: Capabilities, options: EraseOptions) -> float:
        """How long to wait for the drive: given, else 3x its own estimate, else a default per action."""
        log = caps.nvme.sanitize_log if caps.nvme else None
        est = getattr(log, f"estimate_{self.action}_s", None) if log else None
        return float(options.firmware.timeout or (3 * est if est else DEFAULT_TIMEOUT[self.action]))

    def steps(self, device: Device, caps: Capabilities, options: EraseOptions) -> list[Step]:
        ctrl = _controller(device, caps)
        log = ("nvme", "sanitize-log", "-o", "json", ctrl)
        return [
            Step("sanitize log must not show an operation in progress", Command(log, timeout=30), "status"),
            Step(f"start {self.action} sanitize on the whole controller", Command(tuple(self.argv(ctrl))), "start"),
            Step(
                "poll the sanitize log until SPROG=65535 and SSTAT reports success or failure",
                Command(log, timeout=30, until=self.timeout(caps, options)),
                "poll",
            ),
            Step(
                "only if SSTAT reports failure: leave the failure mode",
                Command(("nvme", "sanitize", ctrl, f"--sanact={SANACT_EXIT_FAILURE}")),
                "exit-failure",
            ),
        ]

    def pre_checks(self, device: Device, options: EraseOptions) -> list[str]:
        return [
            f"SANICAP advertises {self.action} sanitize",
            "no other namespace on the controller is mounted, held or protected",
            "no sanitize is already in progress (SSTAT != 2)",
        ]

    def reason(self, device: Device, options: EraseOptions) -> str:
        return f"NVMe Sanitize {self.action} erase reaches all media including spare blocks (Purge)"

    def expected_seconds(self, planning: Planning, device: Device, options: EraseOptions) -> float | None:
        caps = capabilities(planning, device)
        log = caps.nvme.sanitize_log if caps.nvme else None
        est = getattr(log, f"estimate_{self.action}_s", None) if log else None
        return float(est) if est else None

    def notes(self, planning: Planning, device: Device, options: EraseOptions) -> list[str]:
        return [*super().notes(planning, device, options), "Sanitize erases every namespace on the controller"]

    def run(self, plan: Plan, ctx: ExecutionContext, caps: Capabilities) -> None:
        ctrl = _controller(plan.device, caps)
        status, poll = plan.step("status"), plan.step("poll")
        before = _log(ctx.run(status, record=False))
        if before.status == SSTAT_IN_PROGRESS:
            raise Refused(f"{ctrl}: a sanitize is already in progress (SPROG={before.sprog}); wait for it to finish")
        started = ctx.run(plan.step("start"))
        timeout = wait_limit(poll)
        if not started.ok:
            # A non-zero exit is not trusted either way: only an unchanged, idle log proves a rejection.
            now = _log(ctx.run(status, record=False))
            if not now.in_progress and now == before:
                device_verdict(
                    ctx, False, f"nvme sanitize was rejected (exit {started.returncode}); the log is unchanged"
                )
                return
        ctx.enter("polling")  # waiting for the device to report completion
        bar = ProgressBar(ctx.progress, f"{ctrl} {self.name}", plan.device.size_bytes)
        log = self.wait(ctx, poll, timeout, bar)
        if log is None:
            if ctx.stop.is_set():
                device_verdict(
                    ctx, False, "stopped waiting; the sanitize continues inside the drive (do not power off)"
                )
            elif not bar.done:
                device_verdict(ctx, False, "the sanitize log never showed this operation starting")
            else:
                device_verdict(
                    ctx,
                    False,
                    f"still in progress after {timeout:.0f} s; the drive continues in the background "
                    "(do not power it off; watch `nvme sanitize-log`)",
                )
            return
        if log.failed:
            ctx.run(plan.step("exit-failure"))
            device_verdict(ctx, False, f"sanitize failed (SSTAT={log.sstat:#x}); exit-failure-mode issued")
            return
        if log.cdw10 is not None and log.cdw10 & 0x7 != SANACT[self.action]:
            device_verdict(ctx, False, f"sanitize log describes a different operation (SCDW10={log.cdw10:#x})")
            return
        if not started.ok:
            ctx.result.add_note(f"nvme sanitize exited {started.returncode} although the log reports success")
        erased = " with Global Data Erased" if log.global_data_erased else ""
        device_verdict(ctx, True, f"sanitize log: SSTAT={log.sstat:#x} (success{erased}), SPROG={log.sprog}")
        bar.set_fraction(1.0)

    def wait(self, ctx: ExecutionContext, poll: Step, timeout: float, bar: ProgressBar) -> SanitizeLog | None:
        """Poll until the log shows a finished operation; None on timeout or if it never started."""
        clock = ctx.clock
        deadline = clock.now() + timeout
        seen_progress = False
        while True:
            log = _log(ctx.run(poll, record=False))
            if log.in_progress:
                seen_progress = True
                bar.set_fraction(log.fraction())
            elif log.status is not None and (log.succeeded or log.failed):
                if log.sprog is None or log.sprog >= 65535 or log.failed:
                    return log
            elif not seen_progress and log.status in (None, 0) and clock.now() > deadline - timeout + 30:
                return None  # nothing started within 30 s
            if ctx.stop.is_set() or clock.now() >= deadline:
                return None
            clock.sleep(self.poll_seconds)


class NvmeFormat(FirmwareMethod):
    interface = "nvme"
    SES: ClassVar[dict[str, int]] = {"user": 1, "crypto": 2}

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = f"nvme-format-{kind}"

    def unsupported(self, caps: Capabilities) -> str | None:
        n = caps.nvme
        if n is None:
            return "controller capabilities could not be read"
        if n.oacs is None or not n.format_supported:
            return "OACS does not advertise Format NVM"
        if self.kind == "crypto" and not n.format_crypto_erase:
            # QEMU accepts --ses=2 even so; a drive that does not advertise it must not be trusted with it.
            return f"FNA does not advertise cryptographic erase (FNA={n.fna if n.fna is not None else 'unknown'})"
        return None

    def whole_controller(self, caps: Capabilities) -> bool:
        n = caps.nvme
        return n is not None and (n.format_all_namespaces or (self.kind == "crypto" and n.crypto_erase_all_namespaces))

    def check(self, planning: Planning, device: Device, options: EraseOptions) -> None:
        super().check(planning, device, options)
        caps = capabilities(planning, device)
        if self.whole_controller(caps):
            refuse_shared_controller(planning, device, caps, "FNA says Format erases every namespace on the controller")

    def controller_reach(self, planning: Planning, device: Device, options: EraseOptions) -> str | None:
        caps = capabilities(planning, device)
        return controller_of(device, caps) if self.whole_controller(caps) else None

    def argv(self, device: Device) -> list[str]:
        # Never omit --ses: the default 0 is "no secure erase".
        return ["nvme", "format", device.path, f"--ses={self.SES[self.kind]}", "--force"]

    def steps(self, device: Device, caps: Capabilities, options: EraseOptions) -> list[Step]:
        return [
            Step(
                f"Format NVM with secure erase setting {self.SES[self.kind]} ({self.kind})",
                Command(tuple(self.argv(device)), timeout=options.firmware.timeout or 3600),
                "format",
            )
        ]

    def pre_checks(self, device: Device, options: EraseOptions) -> list[str]:
        checks = ["OACS bit 1: Format NVM supported"]
        if self.kind == "crypto":
            checks.append("FNA bit 2: cryptographic erase supported as part of Format")
        checks.append("if FNA says format applies to all namespaces, none of the others is in use")
        return checks

    def reason(self, device: Device, options: EraseOptions) -> str:
        if self.kind == "crypto":
            return "Format NVM with cryptographic erase (FNA bit 2) replaces the media encryption key"
        return "Format NVM user-data erase: IEEE 2883 counts it as Clear only"

    def run(self, plan: Plan, ctx: ExecutionContext, caps: Capabilities) -> None:
        res = ctx.run(plan.step("format"))
        # No status log exists for Format; the exit status only tells us whether to bother
        # verifying. The read-back comparison is the evidence either way.
        if res.ok:
            device_verdict(ctx, True, "Format NVM completed; evidence is the read-back comparison")
        else:
            device_verdict(
                ctx, False, f"nvme format exited {res.returncode}: {(res.stderr or res.stdout).strip()[-200:]}"
            )


def methods() -> list[FirmwareMethod]:
    return [*(NvmeSanitize(a) for a in ("crypto", "block", "overwrite")), *(NvmeFormat(k) for k in ("crypto", "user"))]
