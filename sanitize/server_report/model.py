"""The server report's content, computed once and drawn by the HTML and the PDF renderers.

A `ServerReport` is built from a decommission run (`sanitize.decommission.Decommission`),
planned or executed: the host, each disk as a bar of its partitions with what is stacked on
them (LUKS, LVM, md) to scale, each volume's AI findings grouped by kind with the largest
paths, the plan, and after a run the results with their certificates. Like every report of
the tool it holds names, sizes, kinds, counts, hashes and paths only, never content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sanitize import tool_identity
from sanitize.certify.document import method_label
from sanitize.inventory.model import Device, DeviceTree
from sanitize.inventory.volumes import VolumeReport
from sanitize.purge.levels import standard_line, standard_of
from sanitize.textsafe import human_size

if TYPE_CHECKING:
    from sanitize.decommission import Decommission

REPORT_SCHEMA = "sanitize.server-report/1"

# The most sensitive kind on a volume gives it its colour: what people wrote or asked comes
# first, then what was derived from their documents, then what the stack needs to run.
SENSITIVITY = (
    "conversation",
    "prompt-log",
    "document-store",
    "vector-store",
    "inference-cache",
    "memory-image",
    "credential",
    "damaged",  # a known format the scanner could not read: it may hold anything
    "training-checkpoint",
    "adapter",
    "model-weights",
    "tokenizer",
)
CATEGORY_COLOURS = {
    "conversation": "#c62828",
    "prompt-log": "#d84315",
    "document-store": "#ad1457",
    "vector-store": "#6a1b9a",
    "inference-cache": "#ef6c00",
    "memory-image": "#5d4037",
    "credential": "#8e0000",
    "damaged": "#827717",
    "training-checkpoint": "#283593",
    "adapter": "#00838f",
    "model-weights": "#1565c0",
    "tokenizer": "#546e7a",
}
# What a block is when it holds no finding: colour and the legend's words.
STATES = {
    "ai-data": ("#c62828", "AI data found (colour: the most sensitive kind)"),
    "encrypted": ("#f9a825", "encrypted: not readable, not scanned"),
    "not-scanned": ("#b0bec5", "not scanned"),
    "clean": ("#2e7d32", "scanned: no AI data found"),
    "container": ("#cfd8dc", "partition table, LVM or RAID member (see what is built on it)"),
    "empty": ("#eceff1", "no filesystem"),
    "free": ("#ffffff", "not partitioned"),
}
MIN_DISK_SCALE = 0.4  # a small disk's bar is at least this fraction of the widest one, to stay readable
MIN_BLOCK_WIDTH = 0.025  # a tiny partition (an EFI one on a big disk) is drawn this wide, not as a hairline


def drawn_widths(widths: list[float], minimum: float = MIN_BLOCK_WIDTH) -> list[float]:
    """Widths side by side, each at least `minimum`; what that adds is taken from the wide ones.

    The sum stays that of `widths` (gaps under half a per cent are not drawn), so the bar keeps
    its length and every block but the tiniest keeps its proportion to the others.
    """
    total = sum(widths)
    if not widths or minimum * len(widths) >= total:
        return [total / len(widths)] * len(widths) if widths else []
    small = [w < minimum for w in widths]
    extra = sum(minimum - w for w, s in zip(widths, small, strict=True) if s)
    room = sum(w for w, s in zip(widths, small, strict=True) if not s)
    return [minimum if s else w - extra * w / room for w, s in zip(widths, small, strict=True)]


def colour_of(state: str, category: str | None) -> str:
    if state == "ai-data" and category in CATEGORY_COLOURS:
        return CATEGORY_COLOURS[category]
    return STATES[state][0]


def dominant_category(categories: list[str]) -> str | None:
    ranked = sorted(categories, key=lambda c: SENSITIVITY.index(c) if c in SENSITIVITY else len(SENSITIVITY))
    return ranked[0] if ranked else None


@dataclass
class Block:
    """One device (or a stretch of free space) in a disk's bar; `children` are stacked on it."""

    label: str
    size_bytes: int
    offset: float  # fraction of the parent's width
    width: float  # fraction of the parent's width
    state: str
    path: str | None = None
    category: str | None = None
    protected: bool = False
    detail: str = ""
    tag: str = ""  # the few words drawn inside the block: mounted or not, AI data or not
    children: list[Block] = field(default_factory=list)

    @property
    def colour(self) -> str:
        return colour_of(self.state, self.category)

    def walk(self, depth: int = 0) -> list[tuple[int, Block]]:
        out = [(depth, self)]
        for child in self.children:
            out += child.walk(depth + 1)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "path": self.path,
            "size_bytes": self.size_bytes,
            "offset": round(self.offset, 6),
            "width": round(self.width, 6),
            "state": self.state,
            "category": self.category,
            "colour": self.colour,
            "protected": self.protected,
            "detail": self.detail,
            "tag": self.tag,
            "children": [c.to_dict() for c in self.children],
        }


@dataclass
class Disk:
    """A top-level device: its identity, its bar, and what this run plans or did for it."""

    device: Device
    scale: float  # bar width as a fraction of the widest disk's
    blocks: list[Block]
    plan: dict[str, Any] | None = None
    not_sanitized: dict[str, str] | None = None
    result: dict[str, Any] | None = None

    def layout(self) -> list[tuple[int, float, float, Block]]:
        """(row, left, width, block) with left and width as fractions of the bar: what both renderers draw."""
        out: list[tuple[int, float, float, Block]] = []

        def place(block: Block, row: int, left: float, width: float) -> None:
            out.append((row, left, width, block))
            for child in block.children:
                place(child, row + 1, left + child.offset * width, child.width * width)

        left = 0.0
        for block, width in zip(self.blocks, drawn_widths([b.width for b in self.blocks]), strict=True):
            place(block, 0, left, width)
            left += width
        return out

    @property
    def rows(self) -> int:
        return 1 + max((row for row, *_ in self.layout()), default=0)

    @property
    def title(self) -> str:
        dev = self.device
        what = " ".join(p for p in (dev.vendor, dev.model) if p)
        if not what and dev.backing_file:
            what = f"loop device backed by {dev.backing_file}"
        return f"{dev.name}: {what or dev.type}, {human_size(dev.size_bytes)}"

    @property
    def identity(self) -> list[str]:
        dev = self.device
        parts = [dev.path, f"{dev.media_type}" + (f" via {dev.transport}" if dev.transport else "")]
        parts.append(f"serial {dev.serial}" if dev.serial else "no serial")
        if dev.wwn:
            parts.append(f"WWN {dev.wwn}")
        parts += list(dev.links)
        return parts

    def to_dict(self) -> dict[str, Any]:
        dev = self.device
        return {
            "path": dev.path,
            "name": dev.name,
            "title": self.title,
            "identity": self.identity,
            "size_bytes": dev.size_bytes,
            "serial": dev.serial,
            "model": dev.model,
            "media_type": dev.media_type,
            "transport": dev.transport,
            "backing_file": dev.backing_file,
            "links": list(dev.links),
            "protected": dev.protected,
            "protected_reasons": list(dev.protected_reasons),
            "scale": round(self.scale, 6),
            "blocks": [b.to_dict() for b in self.blocks],
            "plan": self.plan,
            "not_sanitized": self.not_sanitized,
            "result": self.result,
        }


@dataclass
class Volume:
    """One volume's findings, for the per-volume section."""

    report: VolumeReport
    state: str
    category: str | None

    def to_dict(self) -> dict[str, Any]:
        r = self.report
        return {
            "device": r.device,
            "name": r.name,
            "fstype": r.fstype,
            "mounted_at": r.mounted_at,
            "state": self.state,
            "category": self.category,
            "colour": colour_of(self.state, self.category),
            "risk": r.short_risk,
            "artifact_count": r.artifact_count,
            "bytes": sum(g.bytes for g in r.groups.values()),
            "world_readable": r.world_readable,
            "files_seen": r.files_seen,
            "groups": [g.to_dict() for g in r.ranked_groups],
            "own_files": {"count": r.own_count, "bytes": r.own_bytes, "trees": list(r.own_trees)},
        }


@dataclass
class ServerReport:
    host: dict[str, Any]
    generated_at: str
    dry_run: bool
    disks: list[Disk]
    volumes: list[Volume]
    excluded: list[str]
    summary_pdf: str | None = None
    archive: dict[str, Any] | None = None

    @property
    def executed(self) -> bool:
        return any(d.result for d in self.disks)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "disks": len(self.disks),
            "volumes_with_ai_data": sum(v.state == "ai-data" for v in self.volumes),
            "volumes_not_readable": sum(v.state in ("encrypted", "not-scanned") for v in self.volumes),
            "ai_artifacts": sum(v.report.artifact_count for v in self.volumes),
            "planned": sum(d.plan is not None for d in self.disks),
            "not_sanitized": sum(d.not_sanitized is not None for d in self.disks),
            "verified": sum((d.result or {}).get("status") == "verified" for d in self.disks),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "tool": tool_identity(),
            "generated_at": self.generated_at,
            "dry_run": self.dry_run,
            "host": self.host,
            "counts": self.counts,
            "disks": [d.to_dict() for d in self.disks],
            "volumes": [v.to_dict() for v in self.volumes],
            "excluded": self.excluded,
            "summary_pdf": self.summary_pdf,
            "archive": self.archive,
        }


# --- building ---------------------------------------------------------------------------


def volume_state(report: VolumeReport | None, dev: Device, tree: DeviceTree) -> tuple[str, str | None]:
    if report is None:
        return ("container" if tree.children_of(dev) else "empty"), None
    if report.encrypted:
        return "encrypted", None
    if report.artifact_count:
        return "ai-data", dominant_category(list(report.summary))
    if report.scanned:
        return "clean", None
    if tree.children_of(dev):
        return "container", None  # an LVM PV or md member: its contents are on what is built on it
    return "not-scanned", None


def _label(dev: Device) -> str:
    parts = [dev.name]
    if dev.fstype:
        parts.append(dev.fstype)
    elif dev.type not in ("disk", "part", "loop"):
        parts.append(dev.type)
    if dev.label:
        parts.append(f"“{dev.label}”")
    return " ".join(parts)


def _detail(dev: Device, report: VolumeReport | None) -> str:
    bits = [human_size(dev.size_bytes)]
    if dev.mountpoints:
        bits.append("mounted at " + ", ".join(dev.mountpoints))
    elif dev.fstype and dev.fstype not in ("crypto_LUKS", "LVM2_member", "linux_raid_member", "swap"):
        bits.append("not mounted")
    if report is not None:
        bits.append(report.short_body)
    if dev.protected:
        bits.append("PROTECTED: " + "; ".join(dev.protected_reasons))
    return "; ".join(bits)


def _tag(dev: Device, report: VolumeReport | None, state: str) -> str:
    words = [human_size(dev.size_bytes)]
    if dev.mountpoints:
        words.append("mounted")
    elif report is not None and report.scanned:
        words.append("not mounted")
    if state == "ai-data" and report is not None:
        kinds = ", ".join(dict.fromkeys(g.category for g in report.ranked_groups)) or "memory-image"
        words.append(f"AI DATA: {report.artifact_count:,} ({kinds})")
    elif state in ("encrypted", "clean", "not-scanned"):
        words.append({"encrypted": "encrypted", "clean": "no AI data found", "not-scanned": "not scanned"}[state])
    if dev.protected:
        words.append("PROTECTED")
    return " · ".join(words)


def _block(
    tree: DeviceTree, dev: Device, reports: dict[str, VolumeReport], offset: float, width: float, seen: frozenset[str]
) -> Block:
    report = reports.get(dev.path)
    state, category = volume_state(report, dev, tree)
    block = Block(
        label=_label(dev),
        size_bytes=dev.size_bytes,
        offset=offset,
        width=width,
        state=state,
        path=dev.path,
        category=category,
        protected=dev.protected,
        detail=_detail(dev, report),
        tag=_tag(dev, report, state),
    )
    # What is stacked on this device (dm-crypt, LVM volumes, md arrays), side by side in
    # proportion to their size; an array or volume bigger than this member fills its width.
    stacked = [h for h in (tree.get(path) for path in dev.holders) if h is not None and h.path not in seen]
    at = 0.0
    for holder in sorted(stacked, key=lambda h: h.name):
        share = min(1.0 - at, holder.size_bytes / dev.size_bytes if dev.size_bytes else 1.0)
        if share <= 0:
            break
        block.children.append(_block(tree, holder, reports, at, share, seen | {dev.path}))
        at += share
    return block


def disk_blocks(tree: DeviceTree, disk: Device, reports: dict[str, VolumeReport]) -> list[Block]:
    """A disk's bar: its partitions at their offsets with the gaps between them, or the disk itself."""
    parts = sorted(
        (d for d in tree.children_of(disk) if d.type == "part" and d.parent == disk.path),
        key=lambda d: (d.start_bytes is None, d.start_bytes or 0, d.name),
    )
    size = disk.size_bytes or 1
    if not parts:
        return [_block(tree, disk, reports, 0.0, 1.0, frozenset())]
    blocks: list[Block] = []
    at = 0
    for part in parts:
        start = part.start_bytes if part.start_bytes is not None else at
        if start - at >= size / 200:  # gaps under half a per cent are alignment, not space to show
            gap = start - at
            blocks.append(
                Block("free", gap, at / size, gap / size, "free", detail=human_size(gap), tag=human_size(gap))
            )
        blocks.append(_block(tree, part, reports, start / size, part.size_bytes / size, frozenset({disk.path})))
        at = max(at, start + part.size_bytes)
    if size - at >= size / 200:
        gap = size - at
        blocks.append(Block("free", gap, at / size, gap / size, "free", detail=human_size(gap), tag=human_size(gap)))
    return blocks


def _plan_view(dc: Decommission, dev: Device) -> dict[str, Any] | None:
    plan = next((p for p in dc.plans if p.device.path == dev.path), None)
    if plan is None:
        return None
    return {
        "method": plan.method,
        "method_label": method_label(plan.method),
        "nist_level": str(plan.nist_level),
        "standard": standard_of(plan.method, plan.nist_level),
        "standard_line": standard_line(plan.method, plan.nist_level),
        "confirm_as": dev.identity,
        "expected_seconds": None if plan.expected_seconds is None else round(plan.expected_seconds, 1),
        "why": plan.reason,
        "notes": [n for n in plan.notes if n != plan.reason],
        "artifacts": dc.artifacts_on(dev),
    }


def _result_view(dc: Decommission, dev: Device) -> dict[str, Any] | None:
    result = next((r for r in dc.results if r.device.get("path") == dev.path), None)
    if result is None:
        return None
    doc = next((d for d in dc.issued if d.result_id == result.id), None)
    v = result.verification
    return {
        "status": str(result.status),
        "method": result.method,
        "method_label": method_label(result.method),
        "nist_level": str(result.nist_level),
        "verification": "no read-back"
        if v.method == "none"
        else f"{v.method} read-back of {v.coverage:.1%} of the device: {v.outcome}",
        "finished_at": result.finished_at,
        "errors": [e.error for e in result.errors[:3]],
        "document": None
        if doc is None
        else {"kind": doc.kind, "certificate_id": doc.certificate_id, "pdf": doc.pdf_path, "json": doc.json_path},
    }


def machine_id_sha256(host: dict[str, Any]) -> str | None:
    """The machine-id identifies the host without disclosing it (systemd asks that it stay private)."""
    mid = host.get("machine_id")
    return hashlib.sha256(str(mid).encode()).hexdigest() if mid else None


def build(dc: Decommission, *, dry_run: bool) -> ServerReport:
    tree = dc.tree
    reports = {v.device: v for v in dc.volumes}
    roots = sorted(
        (d for d in tree.roots() if d.type not in ("rom", "zram", "ram") and d.size_bytes > 0),
        key=lambda d: (d.type == "loop", d.name),  # the server's own disks before loop devices
    )
    largest = max((d.size_bytes for d in roots), default=1) or 1
    blocked = {b.device.path: b for b in dc.blocked}
    disks = []
    for dev in roots:
        not_sanitized = None
        if dev.path in blocked:
            not_sanitized = {"why": blocked[dev.path].why, "advice": blocked[dev.path].advice}
        disks.append(
            Disk(
                device=dev,
                scale=max(MIN_DISK_SCALE, dev.size_bytes / largest),
                blocks=disk_blocks(tree, dev, reports),
                plan=_plan_view(dc, dev),
                not_sanitized=not_sanitized,
                result=_result_view(dc, dev),
            )
        )
    volumes = []
    for report in dc.volumes:
        found = tree.get(report.device)
        if found is not None:
            volumes.append(Volume(report, *volume_state(report, found, tree)))
    order = {"ai-data": 0, "encrypted": 1, "not-scanned": 2, "container": 3, "clean": 4, "empty": 5}
    volumes.sort(key=lambda v: (order.get(v.state, 9), v.report.name))
    host = dict(dc.host)
    host["machine_id_sha256"] = machine_id_sha256(host)
    host.pop("machine_id", None)  # the hash identifies it; the report is shared more widely than the JSON
    return ServerReport(
        host=host,
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        dry_run=dry_run,
        disks=disks,
        volumes=volumes,
        excluded=[d.path for d in dc.excluded],
        summary_pdf=dc.summary_pdf,
        archive=dc.archive,
    )


def relocate(report: ServerReport, old: str, new: str) -> None:
    """Point the report's certificate links at copies: every file below directory `old` is now
    at the same place below `new` (a live run copies its certificates to the results it keeps)."""

    def moved(path: str) -> str:
        rel = os.path.relpath(path, old)
        return path if rel == ".." or rel.startswith("../") else os.path.join(new, rel)

    for disk in report.disks:
        doc = (disk.result or {}).get("document")
        if doc:
            doc["pdf"], doc["json"] = moved(doc["pdf"]), moved(doc["json"])
    if report.summary_pdf:
        report.summary_pdf = moved(report.summary_pdf)


def relative_link(target: str, report_path: str) -> str:
    """A link from the report's directory to `target` (certificates move with the report)."""
    try:
        return os.path.relpath(target, os.path.dirname(os.path.abspath(report_path)))
    except ValueError:
        return target
