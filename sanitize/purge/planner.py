"""Choose the strongest correct method for each device and explain the choice.

Order of preference (docs/methods.md has the table and its sources): every Purge the device
can do, in the order its class prefers, then LUKS crypto-erase if the device holds a LUKS
volume, then the Clear-only firmware methods, then overwrite. A method is a candidate only
if its own `check` accepts the device, so the planner and `sanitize erase` refuse for the
same reasons. Building a plan only reads: IDENTIFY data, logs, sysfs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sanitize.erase.method import MethodRegistry, Planning
from sanitize.erase.options import EraseOptions
from sanitize.erase.plan import Plan
from sanitize.erase.planning import check_erasable, plan_for
from sanitize.errors import BadInput, SanitizeError
from sanitize.inventory.model import Device
from sanitize.purge.capabilities import Capabilities
from sanitize.purge.levels import PURGE, is_flash, standard_of
from sanitize.purge.methods.ata import FROZEN_HELP
from sanitize.purge.methods.base import capabilities

OVERWRITE = "overwrite"
LUKS = "luks-crypto-erase"

PREFERENCE: dict[str, list[str]] = {
    "nvme": [
        "nvme-sanitize-crypto",
        "nvme-sanitize-block",
        "nvme-format-crypto",
        "nvme-sanitize-overwrite",
        "nvme-format-user",
        "tcg-psid-revert",
    ],
    "ata-flash": [
        "ata-sanitize-crypto",
        "ata-sanitize-block",
        "ata-sanitize-overwrite",
        "ata-secure-erase-enhanced",
        "ata-secure-erase",
        "tcg-psid-revert",
    ],
    "ata-hdd": [
        "ata-sanitize-overwrite",
        "ata-sanitize-crypto",
        "ata-secure-erase-enhanced",
        "ata-secure-erase",
        "tcg-psid-revert",
    ],
    "scsi-flash": ["scsi-sanitize-crypto", "scsi-sanitize-block", "scsi-sanitize-overwrite", "tcg-psid-revert"],
    "scsi-hdd": ["scsi-sanitize-overwrite", "scsi-sanitize-crypto", "tcg-psid-revert"],
    "other": [],
}


def device_class(device: Device, caps: Capabilities) -> str:
    if caps.interface == "nvme":
        return "nvme"
    if caps.interface in ("ata", "scsi"):
        flash = is_flash(device.media_type) or bool(caps.ata and caps.ata.solid_state)
        return f"{caps.interface}-{'flash' if flash else 'hdd'}"
    return "other"


@dataclass
class DevicePlan:
    device: Device
    status: str  # ok | blocked | refused
    plan: Plan | None = None
    refused: str | None = None
    blocked_by: list[str] = field(default_factory=list)
    instructions: list[str] = field(default_factory=list)
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    capabilities: Capabilities | None = None

    def to_dict(self) -> dict[str, Any]:
        d = self.device
        doc: dict[str, Any] = {
            "device": d.path,
            "name": d.name,
            "identity": d.identity,
            "media_type": d.media_type,
            "transport": d.transport,
            "size_bytes": d.size_bytes,
            "status": self.status,
        }
        if self.refused:
            doc["refused"] = self.refused
        if self.plan is not None:
            p = self.plan
            doc.update(
                nist_level=p.nist_level,
                method=p.method,
                standard=standard_of(p.method, p.nist_level),
                why=p.reason,
                argv=[list(s.argv) for s in p.all_steps() if s.argv],
                steps=[s.to_dict() for s in p.all_steps()],
                pre_checks=list(p.pre_checks),
                post_checks=list(p.post_checks),
                expected_seconds=None if p.expected_seconds is None else round(p.expected_seconds, 1),
                notes=list(p.notes),
            )
        doc["blocked_by"] = self.blocked_by
        doc["instructions"] = self.instructions
        doc["alternatives"] = self.alternatives
        doc["capabilities"] = self.capabilities.to_dict() if self.capabilities else None
        return doc


def candidates(methods: MethodRegistry, device: Device, caps: Capabilities) -> list[str]:
    firmware = [m for m in PREFERENCE[device_class(device, caps)] if m in methods]
    purge = [m for m in firmware if methods.get(m).nist_level(device) == PURGE]
    clear = [m for m in firmware if m not in purge]
    luks = [LUKS] if caps.luks is not None and LUKS in methods else []
    return [*purge, *luks, *clear, *([OVERWRITE] if OVERWRITE in methods else [])]


def plan_device(planning: Planning, device: Device, options: EraseOptions | None = None) -> DevicePlan:
    """The strongest method `device` supports, its plan, and why the others were not chosen."""
    options = options or EraseOptions()
    try:
        check_erasable(planning.tree, device)
    except SanitizeError as exc:
        return DevicePlan(device, "refused", refused=exc.one_line())
    caps = capabilities(planning, device)
    chosen: Plan | None = None
    alternatives: list[dict[str, Any]] = []
    first_error: str | None = None
    for name in candidates(planning.methods, device, caps):
        try:
            plan = plan_for(planning, device, name, options)
        except SanitizeError as exc:
            alternatives.append({"method": name, "available": False, "why_not": exc.one_line()})
            if first_error is None and exc.exit_code == 4:  # Refused: e.g. a busy shared controller
                first_error = exc.one_line()
            continue
        if chosen is None:
            chosen = plan
        else:
            alternatives.append({"method": name, "nist_level": plan.nist_level, "available": True})
    if chosen is None:
        return DevicePlan(
            device,
            "refused",
            refused=first_error or "no method applies",
            alternatives=alternatives,
            capabilities=caps,
        )
    if first_error and chosen.nist_level != PURGE:
        # A firmware Purge exists but is refused (e.g. another namespace in use): do not
        # silently fall back to a weaker method.
        return DevicePlan(device, "refused", refused=first_error, alternatives=alternatives, capabilities=caps)
    reason = _why(device, caps, chosen)
    skipped = [
        f"preferred {a['method']} refused: {a['why_not']}"
        for a in alternatives
        if not a["available"] and "in use" in a["why_not"]
    ]
    chosen = dataclasses.replace(chosen, reason=reason, notes=(*chosen.notes, *skipped))
    result = DevicePlan(device, "ok", plan=chosen, alternatives=alternatives, capabilities=caps)
    _blockers(result, caps)
    return result


def _why(device: Device, caps: Capabilities, plan: Plan) -> str:
    cls = device_class(device, caps)
    base = plan.reason
    if plan.method == OVERWRITE:
        if is_flash(device.media_type):
            return (
                f"{base}; no firmware purge is available (class: {cls}), and overwrite is only Clear on flash: "
                "spare and remapped blocks are not reached"
            )
        return f"{base}; no firmware purge is available for this device (class: {cls})"
    return f"{base} (best of {cls} methods this device supports)"


def _blockers(result: DevicePlan, caps: Capabilities) -> None:
    plan = result.plan
    assert plan is not None
    if plan.method.startswith("ata-secure-erase") and caps.ata is not None:
        sec = caps.ata.security
        if sec.frozen:
            result.blocked_by.append("ATA security is frozen (SECURITY FREEZE LOCK by BIOS/firmware)")
        if sec.locked:
            result.blocked_by.append("the drive is locked with an unknown password")
        if sec.enabled:
            result.blocked_by.append("a user password is already set")
        if sec.count_expired:
            result.blocked_by.append("password attempt counter expired (power-cycle)")
    if plan.method.startswith("ata-sanitize") and caps.ata_sanitize_status is not None:
        if caps.ata_sanitize_status.frozen:
            result.blocked_by.append("ATA sanitize is frozen (SD1)")
        if caps.ata_sanitize_status.in_progress:
            result.blocked_by.append("an ATA sanitize is already in progress")
    log = caps.nvme.sanitize_log if caps.nvme else None
    if plan.method.startswith("nvme-sanitize") and log is not None and log.in_progress:
        result.blocked_by.append("an NVMe sanitize is already in progress (SSTAT=2)")
    if any("frozen" in b for b in result.blocked_by):
        result.instructions.append(FROZEN_HELP)
    if result.blocked_by:
        result.status = "blocked"


def auto_choose(planning: Planning, device: Device, options: EraseOptions) -> tuple[str, str]:
    """The `--method auto` chooser: the same choice as `sanitize plan`."""
    result = plan_device(planning, device, options)
    if result.plan is None:
        raise BadInput(f"{device.path}: no erase method applies: {result.refused}")
    if result.plan.method != LUKS and (options.luks.then or options.luks.header):
        raise BadInput(f"{device.path}: --then/--header need a LUKS device, but auto chose {result.plan.method}")
    return result.plan.method, f"auto: {result.plan.reason}"
