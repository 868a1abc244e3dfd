"""What every firmware purge method shares: capability lookup, the controller-wide refusal,
pre/post snapshots and the device-decided outcome.

Subclasses implement `unsupported(caps)` (why this device cannot do it, or None),
`steps(device, caps, options)` (their commands, each with a role) and `run(plan, ctx, caps)`,
which runs those steps with `ctx.run(plan.step(role))` and records the device's own verdict
with `device_verdict(ctx, ok, why)`. `verify` then fails on a bad verdict and otherwise
compares sampled blocks against the snapshot taken just before the erase.
"""

from __future__ import annotations

from collections.abc import Sequence

from sanitize.enums import DeviceType, NistLevel, Outcome, PhaseStatus
from sanitize.erase.method import ExecutionContext, Method, Planning
from sanitize.erase.options import EraseOptions
from sanitize.erase.plan import Command, DeviceIo, Plan, Step
from sanitize.erase.planset import refuse_busy_siblings
from sanitize.erase.result import EraseResult, Verification
from sanitize.errors import Refused, Unsupported
from sanitize.inventory.model import Device
from sanitize.purge import snapshot
from sanitize.purge.capabilities import Capabilities, probe_device
from sanitize.purge.levels import is_flash, level_of


def capabilities(planning: Planning, device: Device) -> Capabilities:
    """The device's capabilities, probed once per planning session (read-only commands)."""
    key = ("capabilities", device.path)
    if key not in planning.memo:
        planning.memo[key] = probe_device(planning.host, device)
    caps: Capabilities = planning.memo[key]
    return caps


def controller_of(device: Device, caps: Capabilities) -> str | None:
    return caps.nvme.controller if caps.nvme and caps.nvme.controller else device.controller


def refuse_shared_controller(
    planning: Planning,
    device: Device,
    caps: Capabilities,
    what: str = "sanitize erases every namespace on the controller",
) -> None:
    """Sanitize (and an all-namespace Format) acts on the whole controller: every other namespace must be idle."""
    refuse_busy_siblings(planning.tree, device, caps.nvme.namespaces if caps.nvme else (), what)


class FirmwareMethod(Method):
    interface = ""  # nvme | ata | scsi
    interfaces: tuple[str, ...] = ()  # instead of `interface`, for a method that works on several
    controller_wide = False  # erases every namespace on the controller

    def nist_level(self, device: Device) -> NistLevel:
        return level_of(self.name, device.media_type)

    # --- planning --------------------------------------------------------------------
    def unsupported(self, caps: Capabilities) -> str | None:
        raise NotImplementedError

    def steps(self, device: Device, caps: Capabilities, options: EraseOptions) -> list[Step]:
        raise NotImplementedError

    def check(self, planning: Planning, device: Device, options: EraseOptions) -> None:
        if device.type != DeviceType.DISK or device.parent is not None:
            raise Refused(f"{device.path}: {self.name} erases a whole drive; name the disk, not a {device.type}")
        caps = capabilities(planning, device)
        accepted = self.interfaces or (self.interface,)
        if caps.interface not in accepted:
            wanted = " or ".join(i.upper() for i in accepted)
            raise Unsupported(f"{device.path}: {self.name} needs an {wanted} drive, not {caps.interface}")
        why = self.unsupported(caps)
        if why:
            raise Unsupported(f"{device.path}: {self.name}: {why}")
        if self.controller_wide:
            refuse_shared_controller(planning, device, caps)

    def controller_reach(self, planning: Planning, device: Device, options: EraseOptions) -> str | None:
        return controller_of(device, capabilities(planning, device)) if self.controller_wide else None

    def plan_steps(self, planning: Planning, device: Device, options: EraseOptions) -> Sequence[Step]:
        caps = capabilities(planning, device)
        path = device.path
        out = [
            Step(
                "read the drive's capabilities again right before the erase (identify commands, read-only)",
                DeviceIo("probe", path),
                "probe",
            )
        ]
        if options.verify != "none":
            out.append(
                Step(
                    f"hash {options.verify} blocks before the erase (read-only) for the CE comparison",
                    DeviceIo("snapshot", path, 0, device.size_bytes),
                    "snapshot",
                )
            )
        out.extend(self.steps(device, caps, options))
        if options.verify != "none":
            out.append(
                Step(
                    "read the same blocks back: each must differ from before",
                    DeviceIo("compare", path, 0, device.size_bytes),
                    "compare",
                )
            )
        return out

    def post_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        checks = ["the device's own status reports success (exit codes are not trusted)"]
        if options.verify != "none":
            checks.append("sampled blocks that held data before the erase no longer hold it")
        return checks

    def notes(self, planning: Planning, device: Device, options: EraseOptions) -> Sequence[str]:
        out = []
        if self.nist_level(device) == NistLevel.CLEAR and is_flash(device.media_type):
            out.append(f"{self.name} is only Clear on flash media (it cannot reach spare or remapped blocks)")
        return out

    # --- execution -------------------------------------------------------------------
    def run(self, plan: Plan, ctx: ExecutionContext, caps: Capabilities) -> None:
        raise NotImplementedError

    def execute(self, plan: Plan, ctx: ExecutionContext) -> EraseResult:
        caps = probe_device(ctx.host, plan.device)  # the plan's "probe" step: what the drive says now
        why = self.unsupported(caps)
        if why:
            raise Unsupported(f"{plan.device.path}: {self.name}: {why}")
        if plan.steps_with("snapshot"):
            ctx.enter("snapshot")
            ctx.scratch["snapshot"] = snapshot.take(ctx.host, plan.device.path, mode=plan.options.verify)
            ctx.result.mark("snapshot", PhaseStatus.DONE)
        ctx.enter("firmware")
        self.run(plan, ctx, caps)
        for phase in ("firmware", "polling"):
            if phase in ctx.result.phases:
                ctx.result.mark(phase, PhaseStatus.DONE)
        return ctx.result

    def verify(self, plan: Plan, ctx: ExecutionContext) -> Verification:
        verdict = ctx.scratch.get("device_verdict", {"ok": False, "why": "the erase did not report"})
        if not verdict["ok"]:
            return Verification(method="none", outcome=Outcome.FAILED, details={"device_status": verdict["why"]})
        before = ctx.scratch.get("snapshot")
        if before is None:
            return Verification(method="none", outcome=Outcome.SKIPPED, details={"device_status": verdict["why"]})
        result = snapshot.compare(ctx.host, before)
        result.details["device_status"] = verdict["why"]
        return result


def wait_limit(poll: Step) -> float:
    """How long the plan said to keep polling a drive, in seconds."""
    if not isinstance(poll.op, Command) or poll.op.until is None:
        raise ValueError(f"{poll.description!r} is not a poll")
    return poll.op.until


def device_verdict(ctx: ExecutionContext, ok: bool, why: str) -> None:
    ctx.scratch["device_verdict"] = {"ok": ok, "why": why}
    if not ok:
        ctx.result.add_note(f"device reported failure: {why}")
