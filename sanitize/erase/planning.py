"""Building plans: the single gate every erase passes, for one device or to resume one.

`build_plan(planning, device_path, method, options)` refuses (one line, exit 4) protected,
read-only, held or mounted devices, and anything that is not a whole disk, a partition or a
loop device; a path that is missing or not a block device is bad input (exit 3). Methods
describe their steps from what `planning.host` says about the device (read-only queries);
nothing is written. A method chained after another (`options.luks.then`) is planned here
too, as the first plan's `then`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sanitize.enums import DeviceType
from sanitize.erase.method import Planning
from sanitize.erase.options import EraseOptions, LuksOptions
from sanitize.erase.overwrite.method import with_journalled_cipher
from sanitize.erase.plan import Plan
from sanitize.errors import BadInput, Refused
from sanitize.inventory.model import Device, DeviceTree
from sanitize.inventory.protect import in_use

ERASABLE_TYPES = (DeviceType.DISK, DeviceType.PART, DeviceType.LOOP)


def find_device(planning: Planning, device_path: str) -> Device:
    """The inventory's device for a path (symlinks such as /dev/disk/by-id/... resolved)."""
    devno = planning.host.block_device_number(device_path)
    for candidate in (device_path, os.path.realpath(device_path)):
        dev = planning.tree.get(candidate)
        if dev is not None:
            return dev
    for dev in planning.tree:
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
    # Defence in depth: the inventory marks a disk protected when a partition is in use,
    # but a disk is never erased while anything on it is protected, mounted or held.
    busy = in_use(tree, dev)
    if busy is not None and busy.device.path == dev.path and busy.kind == "protected":
        raise Refused(f"{dev.path}: protected: {busy.detail or 'marked protected by the inventory'}")
    if dev.read_only:
        raise Refused(f"{dev.path}: device is read-only")
    if busy is None:
        return
    if busy.device.path == dev.path:
        words = "mounted on" if busy.kind == "mounted" else "in use by"
        raise Refused(f"{dev.path}: {words} {busy.detail}")
    words = {"protected": "which is protected:", "mounted": "mounted on", "held": "in use by"}[busy.kind]
    detail = busy.detail or "protected"
    raise Refused(f"{dev.path}: contains {busy.device.path}, {words} {detail}")


def plan_for(
    planning: Planning,
    dev: Device,
    method: str,
    options: EraseOptions,
    *,
    reason: str | None = None,
    notes: tuple[str, ...] = (),
) -> Plan:
    """Check `dev` for `method` and describe exactly what it would do; writes nothing."""
    check_erasable(planning.tree, dev)
    impl = planning.methods.get(method)
    if (options.luks.then or options.luks.header) and not impl.chains:
        raise BadInput(f"--then and --header apply to luks-crypto-erase, not {impl.name}")
    impl.check(planning, dev, options)
    then = _chained(planning, dev, impl.name, options)
    own = impl.expected_seconds(planning, dev, options)
    expected = own if then is None else (own or 0.0) + (then.expected_seconds or 0.0)
    return Plan(
        device=dev,
        method=impl.name,
        nist_level=impl.nist_level(dev),
        steps=tuple(impl.plan_steps(planning, dev, options)),
        pre_checks=tuple(impl.pre_checks(dev, options)),
        post_checks=tuple(impl.post_checks(dev, options)),
        expected_seconds=expected,
        reason=reason or impl.reason(dev, options),
        options=options,
        notes=(*notes, *impl.notes(planning, dev, options)),
        then=then,
        reach=impl.controller_reach(planning, dev, options),
    )


def _chained(planning: Planning, dev: Device, method: str, options: EraseOptions) -> Plan | None:
    name = options.luks.then
    if not name:
        return None
    if name in (method, "auto"):
        raise BadInput(f"--then {name}: name a device-level method such as overwrite")
    chained = plan_for(planning, dev, name, replace(options, luks=LuksOptions()))
    return replace(chained, options=options, after=method)


def build_plan(planning: Planning, device_path: str, method: str, options: EraseOptions) -> Plan:
    """The plan for the device at `device_path` (`auto` resolved to a method); writes nothing."""
    dev = find_device(planning, device_path)
    if method != "auto":
        return plan_for(planning, dev, method, options)
    check_erasable(planning.tree, dev)  # refuse before probing the device's capabilities
    chosen, reason = planning.methods.choose(planning, dev, options)
    return plan_for(planning, dev, chosen, options, reason=reason, notes=(reason,))


def resume_plan(planning: Planning, device_path: str, journal: Mapping[str, Any]) -> Plan:
    """The plan that continues the interrupted erase recorded in `journal` (its `data`).

    Only a device-level method keeps a journal. When it ran chained after another method
    (luks-crypto-erase then overwrite), that first method had completed and verified its own
    step before the journal was written, and may have destroyed what it would check for (a
    LUKS header): the resumed plan is the chained method alone, with a note.
    """
    method = str(journal.get("method", "overwrite"))
    options = EraseOptions.from_dict(journal.get("options", {}))
    chained = options.luks.then
    if not chained:
        return with_journalled_cipher(build_plan(planning, device_path, method, options), journal)
    note = (
        f"resumes the {chained} that ran after {method} in run {journal.get('id')}: that run's "
        f"{method} step had completed and been verified before it was interrupted"
    )
    notes = [note]
    header = options.luks.header
    if header and os.path.exists(header):
        notes.append(f"the detached header {header} was overwritten in that run but not removed: delete it")
    dev = find_device(planning, device_path)
    plan = plan_for(planning, dev, chained, replace(options, luks=LuksOptions()), notes=tuple(notes))
    return with_journalled_cipher(plan, journal)
