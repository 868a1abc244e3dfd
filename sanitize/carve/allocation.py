"""Place hits in allocated space (a live file) or free space (deleted data).

Offsets are device offsets. A partition (or any device with a filesystem of its own) is
looked up directly; a whole disk is split into its partitions (sysfs start/size), and each
hit is looked up in the filesystem of the partition holding it. Hits outside any
filesystem (partition gaps, unformatted or unknown filesystems) stay "unknown".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from sanitize.carve.model import Allocation, CarveResult, Hit
from sanitize.errors import SanitizeError
from sanitize.hw.blkid import probe_filesystem
from sanitize.hw.fsmap import BlockState, FsMap, open_fsmap
from sanitize.hw.host import Host

SECTOR = 512  # sysfs start/size are in 512-byte units whatever the logical sector size


@dataclass(frozen=True)
class Volume:
    device: str  # /dev/... of the partition (or the carved device itself)
    start: int  # byte offset on the carved device
    size: int
    fsmap: FsMap


def is_mounted(host: Host, device: str) -> bool:
    try:
        devno = host.block_device_number(device)
    except SanitizeError:
        return False
    return any(m.devno == devno for m in host.mounts())


def _partitions(host: Host, device: str) -> list[tuple[str, int, int]]:
    """(devnode, start byte, size bytes) of each partition of a whole-disk `device`."""
    name = os.path.basename(os.path.realpath(device))
    out = []
    for entry in host.list_sys("class", "block", name):
        start, size = (
            host.read_sys("class", "block", name, entry, "start"),
            host.read_sys("class", "block", name, entry, "size"),
        )
        if entry.startswith(name) and start and size and start.isdigit() and size.isdigit():
            out.append((host.devnode(entry), int(start) * SECTOR, int(size) * SECTOR))
    return sorted(out, key=lambda p: p[1])


def volumes(host: Host, device: str, size: int) -> list[Volume]:
    fstype = probe_filesystem(host, device).get("TYPE")
    if fstype or not (parts := _partitions(host, device)):
        return [Volume(device, 0, size, open_fsmap(host, device, fstype))]
    return [
        Volume(node, start, psize, open_fsmap(host, node, probe_filesystem(host, node).get("TYPE")))
        for node, start, psize in parts
    ]


def place_hits(result: CarveResult, host: Host) -> None:
    """Fill in allocation, volume and path of every kept hit, and say how far to trust it."""
    vols = volumes(host, result.device, result.size)
    result.hits = _placed_all(result.hits, vols, result.device)
    notes: list[str] = []  # after the lookups: a map may only learn during one that it had to fall back
    for vol in vols:
        if vol.fsmap.note:
            notes.append(vol.fsmap.note if len(vols) == 1 else f"{vol.device}: {vol.fsmap.note}")
        if is_mounted(host, vol.device):
            notes.append(
                f"{vol.device} is mounted: the on-disk allocation map may be stale and unwritten data is not seen"
            )
    result.filesystem = vols[0].fsmap.fstype if len(vols) == 1 else ",".join(v.fsmap.fstype for v in vols)
    result.allocation_note = "; ".join(notes) or None


def _placed_all(hits: Sequence[Hit], vols: Sequence[Volume], carved: str) -> list[Hit]:
    out = list(hits)
    for vol in vols:
        mine = [i for i, h in enumerate(out) if vol.start <= h.offset < vol.start + vol.size]
        if not mine:
            continue
        states = vol.fsmap.lookup([out[i].offset - vol.start for i in mine])
        for i in mine:
            state = states.get(out[i].offset - vol.start, BlockState(None))
            out[i] = _placed(out[i], state, vol.device if vol.device != carved else None)
    return out


def _placed(hit: Hit, state: BlockState, volume: str | None) -> Hit:
    if state.allocated is None:
        return hit.placed(Allocation.UNKNOWN, volume=volume)
    return hit.placed(Allocation.ALLOCATED if state.allocated else Allocation.FREE, state.path, volume)
