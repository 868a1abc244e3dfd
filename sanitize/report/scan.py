"""`sanitize scan`: artifacts found in directory trees (`sanitize.scan/1`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sanitize import tool_identity
from sanitize.report.base import columns, human_size
from sanitize.scan import Artifact, ScanResult
from sanitize.textsafe import printable

SCHEMA = "sanitize.scan/1"


def _sorted(artifacts: list[Artifact]) -> list[Artifact]:
    return sorted(artifacts, key=lambda a: (a.root, a.path))


@dataclass(frozen=True)
class ScanReport:
    result: ScanResult

    def document(self) -> dict[str, Any]:
        result = self.result
        return {
            "schema": SCHEMA,
            "tool": tool_identity(),
            "roots": result.roots,
            "artifacts": [a.to_dict() for a in _sorted(result.artifacts)],
            "stats": result.stats.to_dict(),
            "errors": [e.to_dict() for e in result.errors],
            "detector_load_errors": result.detector_load_errors,
        }

    def text(self) -> str:
        result = self.result
        rows = [("PATH", "CATEGORY", "FORMAT", "SIZE", "EVIDENCE")]
        for a in _sorted(result.artifacts):
            shown = printable(a.path if len(result.roots) == 1 else f"{a.root}:{a.path}")
            if a.unit == "directory":
                shown += "/"
            damage = a.details.get("damage")
            evidence = a.evidence + (f" (DAMAGED: {damage}, not fully examined)" if damage else "")
            rows.append((shown, a.category, a.format, human_size(a.size_bytes), evidence))
        lines: list[str] = []
        if len(rows) > 1:
            lines += columns(rows, 4)
            lines.append("")
        per_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for a in result.artifacts:
            per_category[a.category][0] += 1
            per_category[a.category][1] += a.size_bytes
        if per_category:
            lines.append("Summary:")
            for category, (count, size) in sorted(per_category.items()):
                lines.append(f"  {category:<20} {count:>6} artifact(s)  {human_size(size):>10}")
        else:
            lines.append("No AI artifacts found.")
        s = result.stats
        lines.append(
            f"Scanned {s.files_seen} files in {s.dirs_seen} directories in {s.seconds:.1f} s;"
            f" {s.errors} error(s), {sum(s.skipped.values())} skipped."
        )
        return "\n".join(lines)
