"""Plans: what an erase will do to one device, decided and checked before anything is written.

`build_plan(tree, device_path, method, options, host=...)` is the single gate every erase passes:
it refuses (one line, exit 4) protected, read-only, held or mounted devices, and anything
that is not a whole disk, a partition or a loop device; a path that is missing or not a
block device is bad input (exit 3). A `Plan` is immutable and is what `--dry-run` prints
(`Plan.to_dict()`, schema `sanitize.plan/1`) and what the runner executes.

Methods (overwrite here, firmware purges in `sanitize/purge/`) plug in through
`sanitize.erase.method` (see its docstring for how to add one); while a plan is built they
query the devices of the `host` given here (`sanitize.erase.context`).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sanitize.enums import DeviceType, NistLevel
from sanitize.erase.context import using_host
from sanitize.erase.method import choose_auto, get_method
from sanitize.erase.result import device_identity
from sanitize.errors import BadInput, Refused
from sanitize.hw.host import Host
from sanitize.inventory.model import Device, DeviceTree
from sanitize.state import DEFAULT_STATE_DIR

ERASABLE_TYPES = (DeviceType.DISK, DeviceType.PART, DeviceType.LOOP)
PATTERNS_HELP = "random, zeros, ones or 0xNN"
VERIFY_MODES = ("full", "sample", "none")
CARVE_CHECKS = {"sample": 0.01, "full": 1.0, "none": 0.0}  # fraction of the device carved after erase


@dataclass(frozen=True)
class Step:
    """One step: an external command (exact argv) or an in-process action (argv None)."""

    description: str
    argv: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "argv": list(self.argv) if self.argv else None}


SECRET_EXTRA = frozenset({"psid"})  # method options never written to results, journals or certificates
SECRET = "<redacted>"


@dataclass(frozen=True)
class EraseOptions:
    pattern: str = "random"
    passes: int = 1
    verify: str = "sample"
    verify_coverage: float = 0.10
    discard: bool = False
    carve_check: str = "sample"  # after a passed verification, look for anything recognisable left
    # Method-specific options (e.g. purge's `then`), passed through untouched.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parse_pattern(self.pattern)
        if self.passes < 1:
            raise BadInput(f"--passes must be at least 1, not {self.passes}")
        if self.verify not in VERIFY_MODES:
            raise BadInput(f"--verify must be one of {', '.join(VERIFY_MODES)}, not {self.verify!r}")
        if self.carve_check not in CARVE_CHECKS:
            raise BadInput(f"--carve-check must be one of {', '.join(CARVE_CHECKS)}, not {self.carve_check!r}")
        if not 0 < self.verify_coverage <= 1:
            raise BadInput(f"--verify-coverage must be in (0, 1], not {self.verify_coverage}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "passes": self.passes,
            "verify": self.verify,
            "verify_coverage": self.verify_coverage,
            "discard": self.discard,
            "carve_check": self.carve_check,
            **({"extra": {k: SECRET if k in SECRET_EXTRA else v for k, v in self.extra.items()}} if self.extra else {}),
        }


def parse_pattern(pattern: str) -> int | None:
    """The fill byte of a fixed pattern, or None for `random`."""
    named = {"zeros": 0x00, "ones": 0xFF}
    if pattern == "random":
        return None
    if pattern in named:
        return named[pattern]
    if pattern.lower().startswith("0x") and len(pattern) == 4:
        try:
            return int(pattern, 16)
        except ValueError:
            pass
    raise BadInput(f"unknown pattern {pattern!r} (use {PATTERNS_HELP})")


@dataclass(frozen=True)
class Plan:
    device: Device
    method: str
    nist_level: NistLevel
    steps: tuple[Step, ...]
    pre_checks: tuple[str, ...]
    post_checks: tuple[str, ...]
    expected_seconds: float | None
    reason: str
    options: EraseOptions
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": device_identity(self.device),
            "identity": self.device.identity,
            "method": self.method,
            "nist_level": self.nist_level,
            "options": self.options.to_dict(),
            "steps": [s.to_dict() for s in self.steps],
            "pre_checks": list(self.pre_checks),
            "post_checks": list(self.post_checks),
            "expected_seconds": None if self.expected_seconds is None else round(self.expected_seconds, 1),
            "reason": self.reason,
            "notes": list(self.notes),
        }


def resume_command(plan: Plan, state_dir: str) -> str:
    """The exact command that continues this plan's interrupted or failed run (it runs as
    printed: the journal is found in `state_dir`, named unless it is the default)."""
    where = "" if os.path.abspath(state_dir) == DEFAULT_STATE_DIR else f"--state-dir {shlex.quote(state_dir)} "
    return f"sanitize {where}erase {plan.device.path} --resume --confirm {plan.device.identity}"


def find_device(host: Host, tree: DeviceTree, device_path: str) -> Device:
    """The inventory's device for a path (symlinks such as /dev/disk/by-id/... resolved)."""
    devno = host.block_device_number(device_path)
    for candidate in (device_path, os.path.realpath(device_path)):
        dev = tree.get(candidate)
        if dev is not None:
            return dev
    for dev in tree:
        if dev.devno == devno:
            return dev
    raise BadInput(f"{device_path}: block device not found in the inventory")


def check_erasable(tree: DeviceTree, dev: Device) -> None:
    """Raise Refused with one line unless `dev` may be written to at all (any method)."""
    if dev.type not in ERASABLE_TYPES:
        raise Refused(
            f"{dev.path}: is a {dev.type} device, not a whole disk or partition "
            "(erase the disk or partition it is built on)"
        )
    if dev.protected:
        reasons = "; ".join(dev.protected_reasons) or "marked protected by the inventory"
        raise Refused(f"{dev.path}: protected: {reasons}")
    if dev.read_only:
        raise Refused(f"{dev.path}: device is read-only")
    if dev.mountpoints:
        raise Refused(f"{dev.path}: mounted on {', '.join(dev.mountpoints)}")
    if dev.holders:
        raise Refused(f"{dev.path}: in use by {', '.join(dev.holders)}")
    # Defence in depth: the inventory marks a disk protected when a partition is in use,
    # but a disk is never erased while anything on it is protected, mounted or held.
    for child in tree.descendants(dev):
        if child.protected:
            reasons = "; ".join(child.protected_reasons) or "protected"
            raise Refused(f"{dev.path}: contains {child.path}, which is protected: {reasons}")
        if child.mountpoints:
            raise Refused(f"{dev.path}: contains {child.path}, mounted on {', '.join(child.mountpoints)}")
        if child.holders:
            raise Refused(f"{dev.path}: contains {child.path}, in use by {', '.join(child.holders)}")


def plan_for(
    tree: DeviceTree,
    dev: Device,
    method: str,
    options: EraseOptions,
    *,
    reason: str | None = None,
    notes: tuple[str, ...] = (),
    host: Host,
) -> Plan:
    """Check `dev` for `method` and describe what it would do; writes nothing.

    `host`: the machine whose devices methods query while planning (see erase.context).
    """
    with using_host(host):
        return _describe(tree, dev, method, options, reason, notes)


def _describe(
    tree: DeviceTree, dev: Device, method: str, options: EraseOptions, reason: str | None, notes: tuple[str, ...]
) -> Plan:
    check_erasable(tree, dev)
    impl = get_method(method)
    impl.check(tree, dev, options)
    return Plan(
        device=dev,
        method=impl.name,
        nist_level=impl.nist_level(dev),
        steps=tuple(impl.plan_steps(dev, options)),
        pre_checks=tuple(impl.pre_checks(dev, options)),
        post_checks=tuple(impl.post_checks(dev, options)),
        expected_seconds=impl.expected_seconds(dev, options),
        reason=reason or impl.reason(dev, options),
        options=options,
        notes=(*notes, *impl.notes(dev, options)),
    )


def build_plan(tree: DeviceTree, device_path: str, method: str, options: EraseOptions, *, host: Host) -> Plan:
    """The plan for the device at `device_path` (`auto` resolved to a method); writes nothing."""
    dev = find_device(host, tree, device_path)
    if method != "auto":
        return plan_for(tree, dev, method, options, host=host)
    check_erasable(tree, dev)  # refuse before probing the device's capabilities
    with using_host(host):
        chosen, reason = choose_auto(tree, dev, options)
    return plan_for(tree, dev, chosen, options, reason=reason, notes=(reason,), host=host)


def resume_plan(tree: DeviceTree, device_path: str, journal: Mapping[str, Any], *, host: Host) -> Plan:
    """The plan that continues the interrupted erase recorded in `journal` (its `data`).

    Only a device-level method keeps a journal. When it ran chained after another method
    (`extra["then"]`, e.g. luks-crypto-erase then overwrite), that first method had completed
    and verified its own step before the journal was written, and may have destroyed what it
    would check for (a LUKS header): the resumed plan is the chained method alone, with a note.
    """
    method = str(journal.get("method", "overwrite"))
    options = EraseOptions(**dict(journal.get("options", {})))
    chained = options.extra.get("then")
    if not chained:
        return build_plan(tree, device_path, method, options, host=host)
    rest = {k: v for k, v in options.extra.items() if k != "then"}
    note = (
        f"resumes the {chained} that ran after {method} in run {journal.get('id')}: that run's "
        f"{method} step had completed and been verified before it was interrupted"
    )
    notes = [note]
    header = rest.get("header")
    if header and os.path.exists(str(header)):
        notes.append(f"the detached header {header} was overwritten in that run but not removed: delete it")
    dev = find_device(host, tree, device_path)
    return plan_for(tree, dev, str(chained), replace(options, extra=rest), notes=tuple(notes), host=host)
