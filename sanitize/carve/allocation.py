"""Place hits in allocated space (a live file) or free space (deleted data).

Offsets are device offsets; the filesystem is the one on the carved device itself. A
whole disk carrying a partition table has no filesystem of its own, so its hits stay
"unknown" (carve the partition to place them).
"""

from __future__ import annotations

import os

from sanitize.carve.model import Allocation, CarveResult, Hit
from sanitize.hw.fsmap import BlockState, open_fsmap
from sanitize.hw.host import Host


def is_mounted(host: Host, device: str) -> bool:
    try:
        rdev = os.stat(device).st_rdev
    except OSError:
        return False
    devno = f"{os.major(rdev)}:{os.minor(rdev)}"
    return any(m.devno == devno for m in host.mounts())


def place_hits(result: CarveResult, host: Host) -> None:
    """Fill in allocation and path of every kept hit, and say how far to trust it."""
    fstype = host.probe_filesystem(result.device).get("TYPE")
    fsmap = open_fsmap(result.device, fstype)
    result.filesystem = fsmap.fstype
    notes = [fsmap.note] if fsmap.note else []
    if is_mounted(host, result.device):
        notes.append("device is mounted: the on-disk allocation map may be stale and unwritten data is not seen")
    result.allocation_note = "; ".join(notes) or None
    states = fsmap.lookup([h.offset for h in result.hits]) if result.hits else {}
    result.hits = [_placed(h, states.get(h.offset, BlockState(None))) for h in result.hits]


def _placed(hit: Hit, state: BlockState) -> Hit:
    if state.allocated is None:
        return hit.placed(Allocation.UNKNOWN)
    return hit.placed(Allocation.ALLOCATED if state.allocated else Allocation.FREE, state.path)
