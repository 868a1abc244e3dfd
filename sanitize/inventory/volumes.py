"""Per-volume artifact summaries for the inventory: what AI data each filesystem holds.

Mounted filesystems are scanned in place. Unmounted ones are mounted read-only without
journal replay on a private mountpoint (see `sanitize.hw.mount`), scanned and unmounted.
Encrypted, swap and RAID/LVM member volumes are described, not opened. The summary holds
counts, sizes, kinds and paths only, never content.
"""

from __future__ import annotations

import heapq
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sanitize.errors import SanitizeError
from sanitize.hw.host import Host
from sanitize.hw.mount import NO_REPLAY_OPTIONS, ext_backup_superblock, mounted_readonly
from sanitize.inventory.model import Device, DeviceTree
from sanitize.inventory.own_files import own_tree_of, own_trees
from sanitize.scan import Artifact, Scanner
from sanitize.textsafe import human_size

ENCRYPTED = {"crypto_LUKS": "LUKS", "BitLocker": "BitLocker", "VeraCrypt": "VeraCrypt"}
MEMBERS = {"LVM2_member": "LVM physical volume", "linux_raid_member": "md RAID member", "zfs_member": "ZFS vdev"}
# Keys detectors use for "how many records" (embeddings, rows, messages), in order of
# preference, for the risk line; tensor counts of a model are not records.
PROMPT_LOG = "prompt-log"
COUNT_KEYS = ("embeddings", "vectors", "ntotal", "rows", "count", "messages")
ARTIFACTS_LISTED = 200  # per volume in JSON; the summary counts are always complete
TOP_PATHS = 5  # largest findings kept per (category, format) group, for the risk lines and the report
WORLD_READABLE = "readable by every local user (permission o+r)"


@dataclass(frozen=True)
class TopFinding:
    """One of the largest findings of a group: where it is and how big, never what it holds."""

    path: str  # as the volume shows it: absolute when mounted, from the volume's root otherwise
    size_bytes: int
    records: int
    world_readable: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size_bytes": self.size_bytes,
            "records": self.records,
            "world_readable": self.world_readable,
        }


@dataclass
class FindingGroup:
    """Every finding of one kind (category and format) on a volume."""

    category: str
    format: str
    count: int = 0
    bytes: int = 0
    records: int = 0
    world_readable: int = 0
    # min-heap of (size, sequence, finding): the TOP_PATHS largest
    _top: list[tuple[int, int, TopFinding]] = field(default_factory=list, repr=False)

    def add(self, finding: TopFinding) -> None:
        self.count += 1
        self.bytes += finding.size_bytes
        self.records += finding.records
        self.world_readable += finding.world_readable
        entry = (finding.size_bytes, self.count, finding)
        if len(self._top) < TOP_PATHS:
            heapq.heappush(self._top, entry)
        elif entry[:1] > self._top[0][:1]:
            heapq.heapreplace(self._top, entry)

    @property
    def top(self) -> list[TopFinding]:
        return [f for _size, _n, f in sorted(self._top, key=lambda e: (-e[0], e[1]))]

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "format": self.format,
            "count": self.count,
            "bytes": self.bytes,
            "records": self.records,
            "world_readable": self.world_readable,
            "top": [f.to_dict() for f in self.top],
        }


@dataclass
class VolumeReport:
    device: str
    name: str
    fstype: str | None
    mounted_at: str | None
    scanned: bool = False
    mounted_by_sanitize: bool = False
    encrypted: str | None = None
    damaged: bool = False  # an ext2/3/4 found through a backup superblock (the primary is damaged)
    note: str | None = None
    summary: dict[str, dict[str, int]] = field(default_factory=dict)  # category -> {count, bytes}
    groups: dict[tuple[str, str], FindingGroup] = field(default_factory=dict)
    world_readable: int = 0
    apps: dict[str, int] = field(default_factory=dict)  # AI application (recognised data directory) -> artifacts
    artifacts: list[Artifact] = field(default_factory=list)
    artifact_count: int = 0
    errors: int = 0
    files_seen: int = 0
    faults: list[str] = field(default_factory=list)  # ScanResult.faults(): not fully scanned, a bug
    carve: dict[str, Any] | None = None  # raw-device findings (`inventory --carve`)
    own_count: int = 0  # sanitize's own files (checkout, fixtures, virtualenv): not the server's data
    own_bytes: int = 0
    own_trees: list[str] = field(default_factory=list)

    @property
    def ranked_groups(self) -> list[FindingGroup]:
        """Largest first: what an operator should look at first."""
        return sorted(self.groups.values(), key=lambda g: (-g.bytes, g.category, g.format))

    def _first_phrases(self) -> list[str]:
        """What an operator must not miss comes first, however small: prompts and outputs written
        down, and what AI applications keep in their data directories."""
        phrases = []
        prompts = [g for g in self.ranked_groups if g.category == PROMPT_LOG]
        if prompts:
            listed = ", ".join(f"{g.count:,} {g.format}" for g in prompts)
            phrases.append(f"prompt logs: {listed}, {human_size(sum(g.bytes for g in prompts))}")
        if self.apps:
            apps = ", ".join(f"{app} ({n:,})" for app, n in sorted(self.apps.items(), key=lambda kv: (-kv[1], kv[0])))
            phrases.append(f"AI app data: {apps}")
        return phrases

    @property
    def head(self) -> str:
        where = f"mounted at {self.mounted_at}" if self.mounted_at else "not mounted"
        damaged = ", DAMAGED primary superblock" if self.damaged else ""
        return f"{self.name} ({self.fstype or 'no filesystem'}{damaged}, {where})"

    @property
    def state(self) -> str | None:
        """What the volume's contents are when they are not a list of findings."""
        if self.encrypted:
            return f"encrypted ({self.encrypted}); contents unreadable without the key, not scanned"
        if self.note and not self.scanned:
            return self.note
        if not self.artifact_count:
            return f"no AI artifacts found in {self.files_seen:,} files"
        return None

    @property
    def risk(self) -> str:
        """Every kind of finding on one line (the JSON `risk` field)."""
        body = self.state
        if body is None:
            others = [group_phrase(g) for g in self.ranked_groups if g.category != PROMPT_LOG]
            body = "; ".join([*self._first_phrases(), *others]) + self._world_readable_tail()
        return f"{self.head}: {body}{self._tails()}"

    @property
    def short_risk(self) -> str:
        """Totals and the kinds, largest first: the line to read first (the top findings follow it)."""
        return f"{self.head}: {self.short_body}"

    @property
    def short_body(self) -> str:
        """`short_risk` without the volume's name."""
        body = self.state
        if body is None:
            total = sum(g.bytes for g in self.groups.values())
            kinds = list(dict.fromkeys(g.category for g in self.ranked_groups if g.category != PROMPT_LOG))
            plural = "s" if self.artifact_count != 1 else ""
            body = f"{self.artifact_count:,} AI artifact{plural}, {human_size(total)}: "
            body += "; ".join([*self._first_phrases(), ", ".join(kinds)] if kinds else self._first_phrases())
            body += self._world_readable_tail()
        return body + self._tails()

    def _world_readable_tail(self) -> str:
        if not self.world_readable:
            return ""
        return f"; {self.world_readable:,} of them {WORLD_READABLE}"

    def _tails(self) -> str:
        line = ""
        if self.own_count:
            line += f"; and {self.own_count:,} of sanitize's own files (its test fixtures and installation), apart"
        if self.carve is not None:
            found = self.carve.get("risk") or self.carve.get("error")
            line += f"; raw device: {found}" if found else "; raw device: nothing recognisable in free space"
        return line

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "fstype": self.fstype,
            "mounted_at": self.mounted_at,
            "mounted_by_sanitize": self.mounted_by_sanitize,
            "scanned": self.scanned,
            "encrypted": self.encrypted,
            "damaged": self.damaged,
            "note": self.note,
            "summary": self.summary,
            "artifact_count": self.artifact_count,
            "world_readable": self.world_readable,
            "apps": dict(sorted(self.apps.items())),
            "files_seen": self.files_seen,
            "errors": self.errors,
            "faults": list(self.faults),
            "risk": self.risk,
            "carve": self.carve,
            "groups": [g.to_dict() for g in self.ranked_groups],
            "own_files": {"count": self.own_count, "bytes": self.own_bytes, "trees": list(self.own_trees)},
            "artifacts": [a.to_dict() for a in self.artifacts],
        }


def group_phrase(group: FindingGroup) -> str:
    records = f" ({group.records:,} record{'s' if group.records != 1 else ''})" if group.records else ""
    return f"{group.count:,} {group.format} {group.category}{records}, {human_size(group.bytes)}"


def record_count(art: Artifact) -> int:
    """How many records (embeddings, vectors, rows, messages) an artifact says it holds, or 0."""
    for key in COUNT_KEYS:
        value = art.details.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


def scan_volumes(
    host: Host,
    tree: DeviceTree,
    *,
    scanner: Scanner | None = None,
    mount_unmounted: bool = True,
    scan: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[VolumeReport]:
    """One report per device that holds a filesystem, an encrypted container or swap.

    With `scan=False` the reports only describe the volumes (for `--no-scan --carve`).
    """
    scanner = scanner or Scanner(host=host)
    reports = []
    for dev in tree:
        backup = _damaged_ext(host, tree, dev) if mount_unmounted else None
        if not dev.fstype and backup is None:
            continue
        report = VolumeReport(dev.path, dev.name, dev.fstype, dev.mountpoints[0] if dev.mountpoints else None)
        reports.append(report)
        if backup is not None:
            _scan_damaged_ext(host, report, scanner, backup, scan=scan)
            continue
        if dev.fstype in ENCRYPTED:
            report.encrypted = ENCRYPTED[dev.fstype]
            continue
        if dev.fstype in MEMBERS:
            report.note = f"{MEMBERS[dev.fstype]}; its contents are reported on the volume built on it"
            continue
        if dev.fstype == "swap":
            report.note = "swap: may hold prompts, documents and model data paged out of RAM"
            report.summary = {"memory-image": {"count": 1, "bytes": dev.size_bytes}}
            report.artifact_count = 1
            continue
        if not scan:
            report.note = "contents not scanned (--no-scan)"
            continue
        if progress:
            where = f"mounted at {report.mounted_at}" if report.mounted_at else "read-only mount"
            progress(f"scanning {dev.name} ({dev.fstype}, {where}): reads 4 KiB of every file")
        try:
            if report.mounted_at:
                _scan_into(report, scanner, report.mounted_at)
            elif not mount_unmounted:
                report.note = "not scanned (unmounted; run as root to mount it read-only and scan it)"
            elif dev.fstype not in NO_REPLAY_OPTIONS:
                report.note = f"not scanned: no safe read-only mount is known for {dev.fstype}"
            else:
                with mounted_readonly(host, dev.path, dev.fstype) as mnt:
                    report.mounted_by_sanitize = True
                    _scan_into(report, scanner, mnt)
        except SanitizeError as exc:
            report.note = f"not scanned: {exc.one_line()}"
        if progress and report.scanned:
            progress(f"  {dev.name}: {report.files_seen:,} files, {report.artifact_count:,} AI artifacts")
    return reports


def _damaged_ext(host: Host, tree: DeviceTree, dev: Device) -> tuple[str, int] | None:
    """An unmounted, unclaimed volume with no filesystem signature (or only an ext journal's)
    that has an ext2/3/4 backup superblock: its primary superblock was damaged."""
    if dev.fstype not in (None, "", "jbd") or dev.mountpoints or tree.children_of(dev):
        return None
    try:
        return ext_backup_superblock(host, dev.path)
    except OSError:
        return None


def _scan_damaged_ext(
    host: Host, report: VolumeReport, scanner: Scanner, backup: tuple[str, int], *, scan: bool
) -> None:
    """Report it truthfully: damaged; scanned read-only through the backup superblock if it mounts."""
    fstype, superblock = backup
    damaged = f"{fstype} with a damaged primary superblock (backup at sb={superblock})"
    report.fstype, report.damaged = fstype, True
    if not scan:
        report.note = f"{damaged}: contents not scanned (--no-scan)"
        return
    try:
        with mounted_readonly(host, report.device, fstype, superblock=superblock) as mnt:
            report.mounted_by_sanitize = True
            _scan_into(report, scanner, mnt)
        report.note = f"{damaged}: scanned read-only through the backup superblock"
    except SanitizeError as exc:
        report.note = (
            f"{damaged}: not scanned, it does not mount even read-only ({exc.one_line()}); "
            "its data may still be on the device: `sanitize carve` it"
        )


def add_carve(
    reports: list[VolumeReport],
    carver: Callable[[str], dict[str, Any]],
    progress: Callable[[str], None] | None = None,
) -> None:
    """Read each volume's raw device for artifacts deleted files left in free space."""
    for report in reports:
        if report.encrypted:
            continue  # ciphertext: nothing recognisable to find
        if progress:
            progress(f"carving {report.name}")
        try:
            report.carve = carver(report.device)
        except (SanitizeError, OSError) as exc:
            why = exc.one_line() if isinstance(exc, SanitizeError) else (exc.strerror or str(exc))
            report.carve = {"error": f"not carved: {why}"}


def _scan_into(report: VolumeReport, scanner: Scanner, mountpoint: str) -> None:
    summary: dict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "bytes": 0})
    listed: list[Artifact] = []
    # Only a filesystem mounted by the system can hold the running tool; a private read-only
    # mount of an unmounted volume cannot.
    trees = own_trees() if report.mounted_at else ()
    own: set[str] = set()

    def collect(art: Artifact) -> None:
        # Paths are reported relative to the volume, not to our private mountpoint.
        art = _rebase(art, mountpoint, report.mounted_at or "/")
        full = os.path.join(art.root, art.path)
        tree = own_tree_of(full, trees) if trees else None
        if tree is not None:
            report.own_count += 1
            report.own_bytes += art.size_bytes
            own.add(tree)
            return
        entry = summary[art.category]
        entry["count"] += 1
        entry["bytes"] += art.size_bytes
        group = report.groups.get((art.category, art.format))
        if group is None:
            group = report.groups[(art.category, art.format)] = FindingGroup(art.category, art.format)
        group.add(TopFinding(full, art.size_bytes, record_count(art), art.world_readable))
        report.world_readable += art.world_readable
        app = art.details.get("app")
        if isinstance(app, str):
            report.apps[app] = report.apps.get(app, 0) + 1
        if len(listed) < ARTIFACTS_LISTED:
            listed.append(art)

    result = scanner.scan([mountpoint], on_artifact=collect, keep_artifacts=False)
    report.scanned = True
    report.summary = dict(summary)
    report.artifacts = listed
    report.own_trees = sorted(own)
    report.artifact_count = result.stats.artifacts - report.own_count
    report.errors = result.stats.errors
    report.files_seen = result.stats.files_seen
    report.faults = result.faults()


def _rebase(art: Artifact, mountpoint: str, shown_root: str) -> Artifact:
    return replace(art, root=shown_root) if art.root == mountpoint else art
