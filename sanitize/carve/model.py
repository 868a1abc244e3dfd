"""What a carve reports: hits (offset, length, kind, evidence) and the run's totals.

A hit never carries content: only where it is, what format it looks like, the rule that
matched and structural numbers (dimensions, page counts).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

Detail = str | int | float | bool


class Allocation(enum.StrEnum):
    ALLOCATED = "allocated"  # inside a block the filesystem currently uses (a live file)
    FREE = "free"  # inside free space: what a deleted file left behind
    UNKNOWN = "unknown"  # no filesystem we can read, or the query failed


@dataclass(frozen=True)
class Hit:
    offset: int  # byte offset on the device carved
    length: int  # bytes the evidence covers (a header: the sector; a run: the whole run)
    kind: str  # "gguf", "sqlite-embedding-pages", "float32-run", ...
    evidence: str  # rule that matched
    details: Mapping[str, Detail] = field(default_factory=dict)
    allocation: Allocation = Allocation.UNKNOWN
    path: str | None = None  # the live file holding it, when the filesystem names one
    volume: str | None = None  # the partition holding it, when a whole disk was carved

    @property
    def end(self) -> int:
        return self.offset + self.length

    def placed(self, allocation: Allocation, path: str | None = None, volume: str | None = None) -> Hit:
        return replace(self, allocation=allocation, path=path, volume=volume)

    def to_dict(self) -> dict[str, object]:
        return {
            "offset": self.offset,
            "length": self.length,
            "kind": self.kind,
            "evidence": self.evidence,
            "details": dict(self.details),
            "allocation": self.allocation.value,
            "path": self.path,
            "volume": self.volume,
        }


@dataclass
class CarveResult:
    device: str
    size: int
    bytes_read: int = 0
    seconds: float = 0.0
    sample_fraction: float = 1.0
    hits: list[Hit] = field(default_factory=list)
    hits_total: int = 0  # every hit counted, including those beyond --max-hits
    truncated: bool = False  # more hits than --max-hits were found; only the first are kept
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (offset, why) of failed reads
    filesystem: str | None = None
    allocation_note: str | None = None  # why allocation may be unknown or stale

    @property
    def coverage(self) -> float:
        return self.bytes_read / self.size if self.size else 1.0

    def counts(self) -> dict[str, dict[str, int]]:
        """Hits per kind, split by allocation: {"gguf": {"free": 1, "allocated": 0, "unknown": 0}}."""
        out: dict[str, dict[str, int]] = {}
        for hit in self.hits:
            per = out.setdefault(hit.kind, {a.value: 0 for a in Allocation})
            per[hit.allocation.value] += 1
        return out
