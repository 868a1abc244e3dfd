"""Which bytes of a device does its filesystem currently use, and for which file?

Used by `sanitize carve` to tell a live file from what a deleted one left behind. Every
query is read-only: debugfs without -w (commands fed on stdin, never through a temp file),
xfs_db -r and `btrfs inspect-internal dump-*`, all run through the `Host`. On a mounted filesystem the on-disk bitmaps
may lag the page cache, so the answer can be stale; callers say so.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sanitize.errors import ToolMissing
from sanitize.hw import commands
from sanitize.hw.host import Host

BATCH = 2000  # debugfs commands per invocation: bounded stdin, bounded output


@dataclass(frozen=True)
class BlockState:
    allocated: bool | None  # None: the filesystem could not say
    path: str | None = None  # the live file using the block, when one does


class Unmappable(Exception):
    """The filesystem's layout is one this module cannot map (the message says which)."""


class FsMap:
    """A filesystem's allocation map, queried by byte offsets."""

    fstype: str = "unknown"
    note: str | None = None

    def lookup(self, offsets: Sequence[int]) -> dict[int, BlockState]:
        return {off: BlockState(None) for off in offsets}


class Ext4Map(FsMap):
    """ext2/3/4 through debugfs: testb for free/used, icheck + ncheck for the owning path."""

    def __init__(self, host: Host, device: str, fstype: str) -> None:
        self.host = host
        self.device = device
        self.fstype = fstype
        res = host.run(["debugfs", "-R", "show_super_stats -h", device], timeout=60)
        m = re.search(r"^Block size:\s+(\d+)", res.stdout, re.M)
        if not res.ok or not m:
            raise commands.CommandFailed(res)
        self.block_size = int(m.group(1))

    def _debugfs(self, lines: Iterable[str]) -> str:
        script = "".join(f"{line}\n" for line in lines)
        res = self.host.run(["debugfs", "-f", "-", self.device], input=script, timeout=600)
        return res.stdout

    def lookup(self, offsets: Sequence[int]) -> dict[int, BlockState]:
        blocks = {off: off // self.block_size for off in offsets}
        unique = sorted(set(blocks.values()))
        used: dict[int, bool] = {}
        for i in range(0, len(unique), BATCH):
            out = self._debugfs(f"testb {b}" for b in unique[i : i + BATCH])
            for m in re.finditer(r"^Block (\d+) (marked in use|not in use)", out, re.M):
                used[int(m.group(1))] = m.group(2) == "marked in use"
        in_use = [b for b in unique if used.get(b)]
        inode_of: dict[int, int] = {}
        for i in range(0, len(in_use), BATCH):
            out = self._debugfs(["icheck " + " ".join(str(b) for b in in_use[i : i + BATCH])])
            for m in re.finditer(r"^(\d+)\s+(\d+)\s*$", out, re.M):
                inode_of[int(m.group(1))] = int(m.group(2))
        inodes = sorted(set(inode_of.values()))
        path_of: dict[int, str] = {}
        for i in range(0, len(inodes), BATCH):
            out = self._debugfs(["ncheck " + " ".join(str(n) for n in inodes[i : i + BATCH])])
            for m in re.finditer(r"^(\d+)\s+(/.*)$", out, re.M):
                path_of.setdefault(int(m.group(1)), "/" + m.group(2).lstrip("/"))
        result: dict[int, BlockState] = {}
        for off, block in blocks.items():
            state = used.get(block)
            inode = inode_of.get(block)
            result[off] = BlockState(state, path_of.get(inode) if inode is not None else None)
        return result


class XfsMap(FsMap):
    """XFS through xfs_db -r: blockget + blockuse for owner paths, the free-extent list as fallback."""

    def __init__(self, host: Host, device: str) -> None:
        self.host = host
        self.device = device
        self.fstype = "xfs"
        argv = ["xfs_db", "-r", "-c", "sb 0", "-c", "print agblocks agblklog blocksize", "-c", "freesp -d", device]
        res = host.run(argv)
        fields = dict(re.findall(r"^(agblocks|agblklog|blocksize) = (\d+)", res.stdout, re.M))
        if not res.ok or len(fields) != 3:
            raise commands.CommandFailed(res)
        self.agblocks, self.agblklog = int(fields["agblocks"]), int(fields["agblklog"])
        self.block_size = int(fields["blocksize"])
        extents = []
        for agno, agbno, length in re.findall(r"^\s+(\d+)\s+(\d+)\s+(\d+)\s*$", res.stdout, re.M):
            start = (int(agno) * self.agblocks + int(agbno)) * self.block_size
            extents.append((start, start + int(length) * self.block_size))
        extents.sort()
        self._starts = [s for s, _ in extents]
        self._extents = extents

    def _fsblock(self, offset: int) -> int:
        # Disk addresses are linear in AGs of agblocks; xfs_db's fsblock packs agno above agblklog bits.
        linear = offset // self.block_size
        return ((linear // self.agblocks) << self.agblklog) | (linear % self.agblocks)

    def _free_by_extents(self, offset: int) -> bool:
        i = bisect.bisect_right(self._starts, offset) - 1
        return i >= 0 and self._extents[i][0] <= offset < self._extents[i][1]

    def _owners(self, fsblocks: Sequence[int]) -> dict[int, tuple[bool, str | None]]:
        """fsblock -> (free, path) from one `blockget -n` pass (commands on stdin)."""
        script = "blockget -n\n" + "".join(f"fsblock {b}\nblockuse -n\n" for b in fsblocks)
        res = self.host.run(["xfs_db", "-r", self.device], input=script, timeout=1800)
        owners: dict[int, tuple[bool, str | None]] = {}
        for m in re.finditer(r"^block (\d+) \(\d+/\d+\) type (\S+)(?: inode \d+(?: (.+))?)?$", res.stdout, re.M):
            path = m.group(3)
            owners[int(m.group(1))] = (m.group(2).startswith("free"), "/" + path.lstrip("/") if path else None)
        return owners

    def lookup(self, offsets: Sequence[int]) -> dict[int, BlockState]:
        fsb = {off: self._fsblock(off) for off in offsets}
        owners = self._owners(sorted(set(fsb.values()))) if offsets else {}
        if len(owners) < len(set(fsb.values())):
            self.note = "xfs: blockget failed (mounted?): free/allocated from the free-space lists, no paths"
        result = {}
        for off in offsets:
            owner = owners.get(fsb[off])
            if owner is None:
                result[off] = BlockState(not self._free_by_extents(off))
            else:
                result[off] = BlockState(not owner[0], owner[1])
        return result


class BtrfsMap(FsMap):
    """btrfs (one device) through `btrfs inspect-internal dump-tree`, read-only.

    The chunk tree maps device offsets to logical addresses; the free-space tree lists each
    block group's free extents. A device offset outside every chunk is free device space; a
    block group kept as bitmaps (not printed by dump-tree) answers "unknown". No paths:
    resolving them needs the filesystem mounted.
    """

    def __init__(self, host: Host, device: str) -> None:
        self.host = host
        self.device = device
        self.fstype = "btrfs"
        self.note = "btrfs: free/allocated from the free-space tree; owning paths are not resolved"
        super_ = self._dump(["dump-super", device])
        devices = re.search(r"^num_devices\s+(\d+)", super_, re.M)
        if not devices or devices.group(1) != "1":
            raise Unmappable("btrfs on several devices: allocation unknown")
        if "FREE_SPACE_TREE_VALID" not in super_:
            raise Unmappable("btrfs without a free-space tree (space_cache v1): allocation unknown")
        # (device offset, device end, logical start) of every stripe: DUP has two per chunk.
        self._stripes: list[tuple[int, int, int]] = []
        for chunk in self._dump(["dump-tree", "-t", "chunk", device]).split("CHUNK_ITEM ")[1:]:
            logical = int(chunk.split(")", 1)[0])
            length = re.search(r"\blength (\d+)", chunk)
            if length is None:
                continue
            for off in re.findall(r"stripe \d+ devid 1 offset (\d+)", chunk):
                self._stripes.append((int(off), int(off) + int(length.group(1)), logical))
        self._stripes.sort()
        tree = self._dump(["dump-tree", "-t", "10", device])  # 10: the free-space tree
        groups = re.findall(
            r"key \((\d+) FREE_SPACE_INFO (\d+)\)[^\n]*\n\s*free space info extent count \d+ flags (\d+)", tree
        )
        self._groups = sorted((int(a), int(a) + int(n), int(flags) & 1 == 1) for a, n, flags in groups)
        free = sorted((int(a), int(a) + int(n)) for a, n in re.findall(r"key \((\d+) FREE_SPACE_EXTENT (\d+)\)", tree))
        self._free_starts = [a for a, _ in free]
        self._free = free

    def _dump(self, args: list[str]) -> str:
        res = self.host.run(["btrfs", "inspect-internal", *args], timeout=600)
        if not res.ok:
            raise commands.CommandFailed(res)
        return res.stdout

    @staticmethod
    def _find(ranges: Sequence[tuple[int, ...]], starts: Sequence[int], value: int) -> tuple[int, ...] | None:
        i = bisect.bisect_right(starts, value) - 1
        return ranges[i] if i >= 0 and ranges[i][0] <= value < ranges[i][1] else None

    def lookup(self, offsets: Sequence[int]) -> dict[int, BlockState]:
        stripe_starts = [s[0] for s in self._stripes]
        group_starts = [g[0] for g in self._groups]
        result: dict[int, BlockState] = {}
        for off in offsets:
            stripe = self._find(self._stripes, stripe_starts, off)
            if stripe is None:
                result[off] = BlockState(False)  # device space no chunk uses
                continue
            logical = stripe[2] + off - stripe[0]
            group = self._find(self._groups, group_starts, logical)
            if group is None or group[2]:
                result[off] = BlockState(None)  # no free-space record, or kept as a bitmap
                continue
            result[off] = BlockState(self._find(self._free, self._free_starts, logical) is None)
        return result


def open_fsmap(host: Host, device: str, fstype: str | None) -> FsMap:
    """The allocation map for `device`'s filesystem, or a map that answers "unknown"."""
    try:
        if fstype in ("ext2", "ext3", "ext4"):
            return Ext4Map(host, device, fstype)
        if fstype == "xfs":
            return XfsMap(host, device)
        if fstype == "btrfs":
            return BtrfsMap(host, device)
    except (commands.CommandFailed, ToolMissing, Unmappable) as exc:
        fallback = FsMap()
        fallback.fstype = fstype or "unknown"
        fallback.note = f"allocation map unreadable: {exc}"
        return fallback
    fallback = FsMap()
    fallback.fstype = fstype or "none"
    fallback.note = (
        f"no allocation map for {fstype}" if fstype else "no filesystem found: allocation unknown for every hit"
    )
    return fallback
