"""What every firmware purge method shares: capability lookup, command records, the
controller-wide refusal, pre/post snapshots and the device-decided outcome.

Subclasses implement `unsupported(caps)` (why this device cannot do it, or None),
`steps(device, caps, options)` and `run(plan, ctx, caps)`; `run` records the device's own
verdict with `device_verdict(ctx, ok, why)`. `verify` then fails on a bad verdict and
otherwise compares sampled blocks against the snapshot taken just before the erase.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sanitize.enums import DeviceType, NistLevel, Outcome
from sanitize.erase.context import current_host
from sanitize.erase.method import ExecutionContext, Method
from sanitize.erase.plan import EraseOptions, Plan, Step
from sanitize.erase.result import CommandRecord, EraseResult, Verification
from sanitize.errors import Refused, Unsupported
from sanitize.hw.commands import CommandResult
from sanitize.hw.host import Host
from sanitize.inventory.model import Device, DeviceTree
from sanitize.purge import snapshot
from sanitize.purge.capabilities import Capabilities, probe_device
from sanitize.purge.levels import is_flash, level_of

_CACHE: dict[tuple[int, str], Capabilities] = {}


def capabilities(host: Host, device: Device, *, fresh: bool = False) -> Capabilities:
    """Probe once per host and device while planning; `fresh=True` right before executing."""
    key = (id(host), device.path)
    if fresh or key not in _CACHE:
        _CACHE[key] = probe_device(host, device)
    return _CACHE[key]


def forget_capabilities() -> None:
    _CACHE.clear()


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

    def check(self, tree: DeviceTree, device: Device, options: EraseOptions) -> None:
        if device.type != DeviceType.DISK or device.parent is not None:
            raise Refused(f"{device.path}: {self.name} erases a whole drive; name the disk, not a {device.type}")
        caps = capabilities(current_host(), device)
        accepted = self.interfaces or (self.interface,)
        if caps.interface not in accepted:
            wanted = " or ".join(i.upper() for i in accepted)
            raise Unsupported(f"{device.path}: {self.name} needs an {wanted} drive, not {caps.interface}")
        why = self.unsupported(caps)
        if why:
            raise Unsupported(f"{device.path}: {self.name}: {why}")
        if self.controller_wide:
            refuse_shared_controller(tree, device, caps)

    def plan_steps(self, device: Device, options: EraseOptions) -> Sequence[Step]:
        caps = capabilities(current_host(), device)
        out = []
        if options.verify != "none":
            out.append(Step(f"hash {options.verify} blocks before the erase (read-only) for the CE comparison"))
        out.extend(self.steps(device, caps, options))
        if options.verify != "none":
            out.append(Step("read the same blocks back: each must differ from before"))
        return out

    def post_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        checks = ["the device's own status reports success (exit codes are not trusted)"]
        if options.verify != "none":
            checks.append("sampled blocks that held data before the erase no longer hold it")
        return checks

    def notes(self, device: Device, options: EraseOptions) -> Sequence[str]:
        out = []
        if self.nist_level(device) == NistLevel.CLEAR and is_flash(device.media_type):
            out.append(f"{self.name} is only Clear on flash media (NIST SP 800-88 Rev. 1)")
        return out

    # --- execution -------------------------------------------------------------------
    def run(self, plan: Plan, ctx: ExecutionContext, caps: Capabilities) -> None:
        raise NotImplementedError

    def execute(self, plan: Plan, ctx: ExecutionContext) -> EraseResult:
        caps = capabilities(ctx.host, plan.device, fresh=True)
        why = self.unsupported(caps)
        if why:
            raise Unsupported(f"{plan.device.path}: {self.name}: {why}")
        if plan.options.verify != "none":
            ctx.enter("snapshot")
            ctx.scratch["snapshot"] = snapshot.take(ctx.host, plan.device.path, mode=plan.options.verify)
            ctx.result.mark("snapshot", "done")
        ctx.enter("firmware")
        self.run(plan, ctx, caps)
        for phase in ("firmware", "polling"):
            if phase in ctx.result.phases:
                ctx.result.mark(phase, "done")
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


def device_verdict(ctx: ExecutionContext, ok: bool, why: str) -> None:
    ctx.scratch["device_verdict"] = {"ok": ok, "why": why}
    if not ok:
        ctx.result.add_note(f"device reported failure: {why}")


def run_recorded(
    ctx: ExecutionContext, argv: list[str], *, timeout: float | None = 120, secret: str | None = None, **kw: Any
) -> CommandResult:
    """Run through the Host and record argv (a secret replaced, see hw.commands.run) in the result."""
    res = ctx.host.run(argv, timeout=timeout, secret=secret, **kw)
    ctx.result.commands.append(CommandRecord(list(res.argv), res.returncode, res.seconds))
    return res


def refuse_shared_controller(
    tree: DeviceTree,
    device: Device,
    caps: Capabilities,
    what: str = "sanitize erases every namespace on the controller",
) -> None:
    """Sanitize (and an all-namespace Format) acts on the whole controller: every other namespace must be idle."""
    names = set(caps.nvme.namespaces if caps.nvme else ()) | {
        d.path for d in tree if d.controller and d.controller == device.controller and d.parent is None
    }
    for path in sorted(names - {device.path}):
        other = tree.get(path)
        if other is None:
            continue
        busy = _busy_reasons(tree, other)
        if busy:
            raise Refused(f"{device.path}: the controller also holds {other.path}, which is in use ({busy}); {what}")


def _busy_reasons(tree: DeviceTree, dev: Device) -> str:
    for d in (dev, *tree.descendants(dev)):
        if d.protected:
            return f"{d.path} protected: {'; '.join(d.protected_reasons) or 'protected'}"
        if d.mountpoints:
            return f"{d.path} mounted on {', '.join(d.mountpoints)}"
        if d.holders:
            return f"{d.path} held by {', '.join(d.holders)}"
    return ""
