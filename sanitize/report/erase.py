"""`sanitize erase`: the result of each device (`sanitize.erase/1`, or `sanitize.erase-run/1` for several)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sanitize.erase.result import EraseResult

ERASE_RUN_SCHEMA = "sanitize.erase-run/1"


def run_document(results: Sequence[EraseResult]) -> dict[str, Any]:
    """The result itself for one device, a wrapper for several."""
    if len(results) == 1:
        return results[0].to_dict()
    return {"schema": ERASE_RUN_SCHEMA, "results": [r.to_dict() for r in results]}


def summary_line(result: EraseResult) -> str:
    v = result.verification
    verify = f"verification {v.method}" + (f" {v.coverage:.1%} {v.outcome}" if v.method != "none" else "")
    errors = f", {len(result.errors)} error range(s)" if result.errors else ""
    return (
        f"{result.device['path']}: {result.status} ({result.method} {result.pattern or ''} x{result.passes}, "
        f"{result.bytes_written} bytes written, {verify}{errors}; id {result.id})"
    )


@dataclass(frozen=True)
class EraseRunReport:
    results: Sequence[EraseResult]

    def document(self) -> dict[str, Any]:
        return run_document(self.results)

    def text(self) -> str:
        lines: list[str] = []
        for result in self.results:
            lines.append(summary_line(result))
            lines += [f"  note: {note}" for note in result.notes]
            lines += [f"  error: bytes {err.offset}+{err.length}: {err.error}" for err in result.errors]
        return "\n".join(lines)
