"""SCSI SANITIZE (crypto, block, overwrite) through sg_sanitize, polled with REQUEST SENSE.

`sg_sanitize --early` returns as soon as the device accepts the command (IMMED); progress is
the sense-key-specific progress indication (`sg_requests --progress`). When it disappears the
operation is over; a failed sanitize leaves the device reporting "SANITIZE COMMAND FAILED"
sense, and the read-back comparison is the final evidence either way.
"""

from __future__ import annotations

import re

from sanitize.erase.method import ExecutionContext, Planning
from sanitize.erase.options import EraseOptions
from sanitize.erase.plan import Command, Plan, Step
from sanitize.inventory.model import Device
from sanitize.purge.capabilities import Capabilities, scsi
from sanitize.purge.methods.base import FirmwareMethod, device_verdict, wait_limit
from sanitize.purge.polling import ProgressBar

FLAGS = {"crypto": ["--crypto"], "block": ["--block"], "overwrite": ["--overwrite", "--zero"]}
DEFAULT_TIMEOUT = {"crypto": 900.0, "block": 12 * 3600.0, "overwrite": 48 * 3600.0}
_FAILED = re.compile(r"sanitize command failed|medium error", re.IGNORECASE)


class ScsiSanitize(FirmwareMethod):
    interface = "scsi"
    poll_seconds = 10.0

    def __init__(self, action: str) -> None:
        self.action = action
        self.name = f"scsi-sanitize-{action}"

    def unsupported(self, caps: Capabilities) -> str | None:
        s = caps.scsi
        if s is None:
            return "device capabilities could not be read"
        if s.sanitize_actions is None:
            return "the device does not report its supported commands (REPORT SUPPORTED OPERATION CODES rejected)"
        if not getattr(s, f"sanitize_{self.action}"):
            return f"SANITIZE {self.action} is not among the supported service actions"
        return None

    def argv(self, device: Device) -> list[str]:
        return ["sg_sanitize", *FLAGS[self.action], "--quick", "--early", device.path]

    def steps(self, device: Device, caps: Capabilities, options: EraseOptions) -> list[Step]:
        poll = ("sg_requests", "--progress", device.path)
        until = float(options.firmware.timeout or DEFAULT_TIMEOUT[self.action])
        return [
            Step(f"start SANITIZE {self.action} (IMMED)", Command(tuple(self.argv(device))), "start"),
            Step(
                "poll REQUEST SENSE progress until no progress indication remains",
                Command(poll, timeout=60, until=until),
                "poll",
            ),
            Step(
                "REQUEST SENSE must not report SANITIZE COMMAND FAILED",
                Command(("sg_requests", device.path), timeout=60),
                "sense",
            ),
        ]

    def pre_checks(self, device: Device, options: EraseOptions) -> list[str]:
        return [f"sg_opcodes lists SANITIZE (0x48) service action for {self.action}"]

    def reason(self, device: Device, options: EraseOptions) -> str:
        return f"SCSI SANITIZE {self.action} acts on all user data including spare areas (Purge)"

    def expected_seconds(self, planning: Planning, device: Device, options: EraseOptions) -> float | None:
        if self.action == "crypto":
            return 2.0
        return device.size_bytes / (150e6 if device.media_type == "hdd" else 450e6)

    def run(self, plan: Plan, ctx: ExecutionContext, caps: Capabilities) -> None:
        dev = plan.device
        poll = plan.step("poll")
        started = ctx.run(plan.step("start"))
        timeout = wait_limit(poll)
        ctx.enter("polling")  # waiting for the device to report completion
        bar = ProgressBar(ctx.progress, f"{dev.path} {self.name}", plan.device.size_bytes)
        deadline = ctx.clock.now() + timeout
        while True:
            res = ctx.run(poll, record=False)
            prog = scsi.parse_requests_progress(res.stdout + res.stderr)
            if prog.fraction is None:
                break
            bar.set_fraction(prog.fraction)
            if ctx.stop.is_set() or ctx.clock.now() >= deadline:
                device_verdict(ctx, False, f"sanitize still in progress after {timeout:.0f} s")
                return
            ctx.clock.sleep(self.poll_seconds)
        sense = ctx.run(plan.step("sense"))
        text = sense.stdout + sense.stderr
        if _FAILED.search(text):
            device_verdict(ctx, False, "REQUEST SENSE reports the sanitize failed")
            return
        if not started.ok and not bar.done:
            tail = (started.stderr or started.stdout).strip().splitlines()
            device_verdict(ctx, False, f"sg_sanitize exited {started.returncode}: {tail[-1] if tail else ''}")
            return
        bar.set_fraction(1.0)
        device_verdict(ctx, True, "no progress indication and no failure sense; evidence is the read-back comparison")


def methods() -> list[FirmwareMethod]:
    return [ScsiSanitize(a) for a in ("crypto", "block", "overwrite")]
