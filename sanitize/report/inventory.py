"""`sanitize inventory`: the device tree, its protection and the AI data per volume (`sanitize.inventory/1`)."""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sanitize import tool_identity
from sanitize.enums import DeviceType
from sanitize.inventory.model import INVENTORY_SCHEMA, Device, DeviceTree
from sanitize.inventory.volumes import PROMPT_LOG, TOP_PATHS, VolumeReport, record_count
from sanitize.report.base import human_size
from sanitize.textsafe import printable


@dataclass(frozen=True)
class InventoryReport:
    tree: DeviceTree
    host: dict[str, Any]
    volumes: Sequence[VolumeReport] | None = None  # None: the document has no `volumes` field
    verbose: bool = False  # text: every finding with its path, not each volume's largest five
    width: int = 100  # text: the terminal's width, to wrap to

    def document(self) -> dict[str, Any]:
        extra = {"volumes": volumes_document(self.volumes)} if self.volumes is not None else None
        return inventory_document(self.tree, self.host, extra)

    def text(self) -> str:
        notes = volume_notes(self.volumes or (), verbose=self.verbose, width=self.width)
        return render_tree(self.tree, self.host, notes)


def volume_notes(reports: Sequence[VolumeReport], *, verbose: bool = False, width: int = 100) -> dict[str, list[str]]:
    """Per volume: the risk line, then its largest findings with their paths (every one with `verbose`).

    Lines are wrapped to `width`; the caller indents them by 4 columns.
    """
    return {r.device: volume_lines(r, verbose=verbose, width=max(40, width - 4)) for r in reports}


def _wrap(text: str, width: int, indent: str, more: str = "    ") -> list[str]:
    return textwrap.wrap(
        printable(text),
        width=width,
        initial_indent=indent,
        subsequent_indent=indent + more,
        break_on_hyphens=False,
        break_long_words=True,
    ) or [indent]


def _finding_text(path: str, kind: str, size: int, records: int, world: bool) -> str:
    extras = [kind, human_size(size)]
    if records:
        extras.append(f"{records:,} record{'s' if records != 1 else ''}")
    if world:
        extras.append("world-readable")
    return f"{path}  ({', '.join(extras)})"


def volume_lines(report: VolumeReport, *, verbose: bool, width: int) -> list[str]:
    lines = _wrap(("AI DATA: " if report.artifact_count else "") + report.short_risk, width, "")
    if not report.artifact_count:
        return lines
    if verbose:
        for group in report.ranked_groups:
            lines += _wrap(
                f"{group.category} ({group.format}): {group.count:,}, {human_size(group.bytes)}", width, "  "
            )
            for art in (a for a in report.artifacts if (a.category, a.format) == (group.category, group.format)):
                text = _finding_text(
                    os.path.join(art.root, art.path), art.unit, art.size_bytes, record_count(art), art.world_readable
                )
                lines += _wrap(text, width, "    ")
        if report.artifact_count > len(report.artifacts):
            lines.append(f"  ... and {report.artifact_count - len(report.artifacts):,} more (not listed)")
        return lines
    # Prompt logs first however small (as in the risk line), then the largest.
    top = sorted(
        ((g, f) for g in report.groups.values() for f in g.top),
        key=lambda gf: (gf[0].category != PROMPT_LOG, -gf[1].size_bytes, gf[1].path),
    )[:TOP_PATHS]
    for group, finding in top:
        kind = f"{group.category} ({group.format})"
        text = _finding_text(finding.path, kind, finding.size_bytes, finding.records, finding.world_readable)
        lines += _wrap(text, width, "  ")
    if report.artifact_count > len(top):
        lines.append(f"  ... {report.artifact_count - len(top):,} more: `sanitize inventory -v` lists them all")
    return lines


def volumes_document(reports: Sequence[VolumeReport]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in reports]


def inventory_document(tree: DeviceTree, host: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": INVENTORY_SCHEMA,
        "tool": tool_identity(),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "host": host,
        "devices": [d.to_dict() for d in tree],
    }
    if extra:
        doc.update(extra)
    return doc


COLUMNS = ("DEVICE", "TYPE", "SIZE", "TRAN", "MEDIA", "MODEL", "SERIAL", "FSTYPE", "MOUNTPOINTS")


def _row(dev: Device, prefix: str) -> tuple[str, ...]:
    identity = dev.model or (f"loop: {dev.backing_file}" if dev.backing_file and dev.type == DeviceType.LOOP else "")
    cells = (
        dev.name,
        dev.type,
        human_size(dev.size_bytes),
        dev.transport or "",
        dev.media_type,
        identity,
        dev.serial or "",
        dev.fstype or "",
        ",".join(dev.mountpoints),
    )
    # Model, serial and mountpoints come from the device and the filesystems: never raw to a terminal.
    return (prefix + printable(cells[0]), *(printable(c) for c in cells[1:]))


def _walk(tree: DeviceTree, dev: Device, prefix: str, last: bool, rows: list[tuple[tuple[str, ...], Device]]) -> None:
    branch = "" if not prefix and not rows else ("└─" if last else "├─")
    rows.append((_row(dev, prefix + branch), dev))
    kids = sorted(tree.children_of(dev), key=lambda d: d.name)
    child_prefix = prefix + ("  " if last else "│ ") if branch else prefix
    for i, kid in enumerate(kids):
        _walk(tree, kid, child_prefix, i == len(kids) - 1, rows)


def render_tree(tree: DeviceTree, host: dict[str, Any], notes: dict[str, list[str]] | None = None) -> str:
    rows: list[tuple[tuple[str, ...], Device]] = []
    for root in sorted(tree.roots(), key=lambda d: d.name):
        start = len(rows)
        _walk(tree, root, "", True, rows)
        # the first row of each top-level device has no branch glyph
        rows[start] = (_row(root, ""), root)
    widths = [max([len(c)] + [len(r[0][i]) for r in rows]) for i, c in enumerate(COLUMNS)]
    lines = [_host_line(host), "", "  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    for cells, dev in rows:
        line = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        lines.append(line)
        if dev.protected:
            lines.append(" " * 4 + "PROTECTED: " + "; ".join(dev.protected_reasons))
        for note in (notes or {}).get(dev.path, []):
            lines.append(" " * 4 + note)
    protected = sum(1 for d in tree if d.protected)
    lines += ["", f"{len(tree)} devices, {protected} protected (never written by sanitize)."]
    return "\n".join(lines)


def _host_line(host: dict[str, Any]) -> str:
    parts = [f"Host {host.get('hostname')}"]
    maker = " ".join(p for p in (host.get("system_vendor"), host.get("product_name")) if p)
    if maker:
        parts.append(maker)
    if host.get("product_serial"):
        parts.append(f"serial {host['product_serial']}")
    if host.get("product_uuid"):
        parts.append(f"uuid {host['product_uuid']}")
    return ", ".join(parts)
