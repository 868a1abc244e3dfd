"""What a scan reports: artifacts, errors, statistics (the `sanitize.scan/1` document's parts)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sanitize.detect.base import Detail


@dataclass(frozen=True)
class Artifact:
    root: str
    path: str  # relative to root
    unit: str  # "file" or "directory"
    category: str
    format: str
    size_bytes: int
    evidence: str
    details: Mapping[str, Detail]
    mode: str  # permission bits in octal, "0644"
    world_readable: bool
    sha256: str | None = None
    location_hint: str | None = None
    files: int | None = None  # regular files inside a directory unit

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "root": self.root,
            "path": self.path,
            "unit": self.unit,
            "category": self.category,
            "format": self.format,
            "size_bytes": self.size_bytes,
            "evidence": self.evidence,
            "details": dict(self.details),
            "mode": self.mode,
            "world_readable": self.world_readable,
        }
        if self.files is not None:
            out["files"] = self.files
        if self.sha256 is not None:
            out["sha256"] = self.sha256
        if self.location_hint is not None:
            out["location_hint"] = self.location_hint
        return out


@dataclass(frozen=True)
class ScanError:
    root: str
    path: str
    # vanished, permission, io, changed-type, budget:<d>, damaged:<d>, detector:<d>, internal, worker-lost
    kind: str

    def to_dict(self) -> dict[str, str]:
        return {"root": self.root, "path": self.path, "kind": self.kind}


@dataclass
class ScanStats:
    files_seen: int = 0
    dirs_seen: int = 0
    files_in_units: int = 0
    empty_files: int = 0  # opened and found empty: nothing to recognise, no detector is asked
    bytes_read: int = 0
    bytes_hashed: int = 0
    errors: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # symlink, special, mountpoint
    artifacts: int = 0
    seconds: float = 0.0

    def merge(self, other: ScanStats) -> None:
        self.files_seen += other.files_seen
        self.dirs_seen += other.dirs_seen
        self.files_in_units += other.files_in_units
        self.empty_files += other.empty_files
        self.bytes_read += other.bytes_read
        self.bytes_hashed += other.bytes_hashed
        self.errors += other.errors
        self.skipped.update(other.skipped)
        self.artifacts += other.artifacts

    def to_dict(self) -> dict[str, Any]:
        return {
            "files_seen": self.files_seen,
            "dirs_seen": self.dirs_seen,
            "files_in_units": self.files_in_units,
            "empty_files": self.empty_files,
            "bytes_read": self.bytes_read,
            "bytes_hashed": self.bytes_hashed,
            "errors": self.errors,
            "skipped": sum(self.skipped.values()),
            "skipped_by_kind": dict(sorted(self.skipped.items())),
            "artifacts": self.artifacts,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ScanResult:
    roots: list[str]
    artifacts: list[Artifact]
    stats: ScanStats
    errors: list[ScanError]
    detector_load_errors: list[str]

    def faults(self) -> list[str]:
        """Why the scan did not examine everything it was given, through a fault of ours: a
        detector module that did not load, a detector or walker that raised, a lost worker.
        Unreadable or damaged files, budgets and skipped special files are reported but are not
        faults: a command whose scan has faults must not exit 0."""
        problems = [f"detector module failed to load: {message}" for message in self.detector_load_errors]
        kinds = Counter(
            e.kind for e in self.errors if e.kind in ("internal", "worker-lost") or e.kind.startswith("detector:")
        )
        problems.extend(f"{n} file(s) or directories not fully examined ({kind})" for kind, n in sorted(kinds.items()))
        return problems
