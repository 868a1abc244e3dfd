"""`sanitize carve`: signatures found on a raw device, live or deleted (`sanitize.carve/1`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sanitize import tool_identity
from sanitize.carve import Allocation, CarveResult, risk_phrase
from sanitize.report.base import columns
from sanitize.textsafe import printable

SCHEMA = "sanitize.carve/1"


@dataclass(frozen=True)
class CarveReport:
    result: CarveResult

    def document(self) -> dict[str, Any]:
        result = self.result
        return {
            "schema": SCHEMA,
            "tool": tool_identity(),
            "device": result.device,
            "size_bytes": result.size,
            "bytes_read": result.bytes_read,
            "coverage": round(result.coverage, 6),
            "sample_fraction": result.sample_fraction,
            "seconds": round(result.seconds, 3),
            "filesystem": result.filesystem,
            "allocation_note": result.allocation_note,
            "hits_total": result.hits_total,
            "truncated": result.truncated,
            "counts": result.counts(),
            "risk": risk_phrase(result),
            "unreadable": [{"offset": off, "error": why} for off, why in result.unreadable],
            "hits": [h.to_dict() for h in result.hits],
        }

    def text(self) -> str:
        result = self.result
        lines: list[str] = []
        if result.hits:
            rows = [("OFFSET", "LENGTH", "KIND", "SPACE", "WHERE / EVIDENCE")]
            for h in result.hits:
                where = printable(h.path) if h.path else h.evidence
                rows.append((str(h.offset), str(h.length), h.kind, h.allocation.value, where))
            lines += columns(rows, 4)
            lines.append("")
        free = risk_phrase(result)
        live = risk_phrase(result, Allocation.ALLOCATED)
        if not result.hits_total:
            lines.append("No artifact signatures found.")
        for phrase in (free, live):
            if phrase:
                lines.append(phrase)
        if result.truncated:
            lines.append(f"{result.hits_total} hits in all; only the first {len(result.hits)} are listed (--max-hits).")
        mib = result.bytes_read / (1 << 20)
        rate = mib / result.seconds if result.seconds else 0.0
        lines.append(
            f"Read {mib:.0f} MiB ({result.coverage:.1%} of {result.device}) in {result.seconds:.1f} s "
            f"({rate:.0f} MiB/s)."
        )
        return "\n".join(lines)
