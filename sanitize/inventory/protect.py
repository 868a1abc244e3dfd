"""Decide which devices must never be written, and say why in words an operator reads.

A device is protected when it, or anything built on it, is in use: mounted, active swap,
held open by a mapping (dm, md), busy for an exclusive open, or the filesystem the tool
runs from. Protection flows down-to-up (a disk whose partition is mounted is protected)
and, for the disk that holds the running system, up-to-down (its unmounted partitions are
protected too: erasing the ESP or a sibling partition breaks the machine we stand on).

The live image runs from RAM, so no disk holds its running system; the medium it booted from
(the ISO on a USB stick, and the FAT config partition that carries its jobs and receives its
results) is recognised by its labels and protected the same way, whole disk included.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from sanitize.hw.host import Host
from sanitize.image.recipe import CONFIG_LABEL, LIVE_LABEL
from sanitize.inventory.model import Device, DeviceTree

SYSTEM_MOUNTS = ("/", "/boot", "/boot/efi", "/efi", "/usr", "/var")
LIVE_MEDIA = {("iso9660", LIVE_LABEL), ("vfat", CONFIG_LABEL)}
LIVE_MEDIUM = "the sanitize live medium"


def direct_reasons(dev: Device, *, swaps: set[str], self_devnos: set[str]) -> list[str]:
    reasons = []
    for mp in dev.mountpoints:
        if mp == "/":
            reasons.append("holds the running root filesystem (/)")
        elif mp in SYSTEM_MOUNTS:
            reasons.append(f"holds the running system's {mp}")
        else:
            reasons.append(f"mounted at {mp}")
    if dev.path in swaps:
        reasons.append("active swap")
    if dev.devno and dev.devno in self_devnos and not any("root" in r for r in reasons):
        reasons.append("the tool itself runs from it")
    if dev.holders:
        names = ", ".join(os.path.basename(h) for h in dev.holders)
        reasons.append(f"held open by {names}")
    if (dev.fstype, dev.label) in LIVE_MEDIA:
        reasons.append(f"{LIVE_MEDIUM} ({dev.fstype} labelled {dev.label}): its jobs and results are on it")
    return reasons


# Reasons that protect a whole disk, every partition included, and how its partitions say so.
_WHOLE_DISK = {
    "the disk the running system is on": ("running", "runs from"),
    LIVE_MEDIUM: (LIVE_MEDIUM,),
}


def protect(tree: DeviceTree, host: Host, *, swaps: set[str], self_devnos: set[str]) -> DeviceTree:
    reasons: dict[str, list[str]] = {d.path: direct_reasons(d, swaps=swaps, self_devnos=self_devnos) for d in tree}
    if host.is_root():
        for dev in tree:
            if not reasons[dev.path] and not tree.children_of(dev) and host.busy_for_exclusive_open(dev.path):
                reasons[dev.path].append("in use by another program (exclusive open refused)")

    direct = {path: list(r) for path, r in reasons.items() if r}
    system_disks: dict[str, str] = {}
    by_path = {d.path: d for d in tree}
    for path, why in direct.items():
        held = by_path[path]
        summary = f"{held.name}: {why[0]}"
        for anc in tree.ancestors(held):
            reasons[anc.path].append(f"contains {summary}")
        kind = next((k for k, words in _WHOLE_DISK.items() if any(w in r for r in why for w in words)), None)
        if kind is not None:
            disks = [a.path for a in tree.ancestors(held) if a.parent is None and not a.slaves]
            if held.parent is None and not held.slaves:
                disks.append(held.path)
            for disk_path in disks:
                system_disks.setdefault(disk_path, kind)

    for disk_path, kind in system_disks.items():
        disk = by_path[disk_path]
        for child in tree.descendants(disk):
            if not reasons[child.path]:
                reasons[child.path].append(f"on {disk.name}, {kind}")

    out = []
    for dev in tree:
        unique = tuple(dict.fromkeys(reasons[dev.path]))
        out.append(replace(dev, protected=bool(unique), protected_reasons=unique))
    return DeviceTree(tuple(out))


@dataclass(frozen=True)
class InUse:
    """Why a device must not be written now: it, or `device` built on it, is protected, mounted or held."""

    device: Device
    kind: str  # protected | mounted | held
    detail: str  # the protection reasons, mountpoints or holders

    def phrase(self) -> str:
        """ "sdb1 mounted on /srv": the device and why, for a sentence about another device."""
        words = {"protected": "protected:", "mounted": "mounted on", "held": "held by"}[self.kind]
        return f"{self.device.path} {words} {self.detail or 'protected'}"


def in_use(tree: DeviceTree, dev: Device) -> InUse | None:
    """The first reason `dev` or anything built on it is in use (the one rule erase, the
    shared-controller check and the planner apply; the inventory decides `protected`)."""
    for d in (dev, *tree.descendants(dev)):
        if d.protected:
            return InUse(d, "protected", "; ".join(d.protected_reasons))
        if d.mountpoints:
            return InUse(d, "mounted", ", ".join(d.mountpoints))
        if d.holders:
            return InUse(d, "held", ", ".join(d.holders))
    return None
