"""The `sanitize.erase/1` result document (see docs/schemas.md, kept in step with this module).

One `EraseResult` per device and operation. Methods fill it while they run; `status` is
decided from what was observed (errors, verification outcome, interruption), never from
an external tool's exit code.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sanitize import tool_identity
from sanitize.enums import NistLevel, Outcome, Status
from sanitize.inventory.model import Device

ERASE_SCHEMA = "sanitize.erase/1"

DEVICE_FIELDS = (
    "path",
    "name",
    "type",
    "size_bytes",
    "logical_sector_size",
    "physical_sector_size",
    "media_type",
    "transport",
    "vendor",
    "model",
    "serial",
    "wwn",
    "firmware",
    "backing_file",
)


def utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def device_identity(device: Device) -> dict[str, Any]:
    """The device fields a result (and a certificate) records, as they were at the start."""
    return {name: getattr(device, name) for name in DEVICE_FIELDS}


@dataclass
class ErrorRange:
    """A byte range that could not be written (or read back), with the OS error text."""

    offset: int
    length: int
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"offset": self.offset, "length": self.length, "error": self.error}


@dataclass
class Verification:
    method: str = "none"  # full | sample | none
    coverage: float = 0.0  # fraction of the device actually read back, 0..1
    bytes_checked: int = 0
    outcome: Outcome = Outcome.SKIPPED
    mismatches: int = 0  # number of compared blocks that differed
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "coverage": round(self.coverage, 6),
            "bytes_checked": self.bytes_checked,
            "outcome": self.outcome,
            "mismatches": self.mismatches,
            "details": self.details,
        }


@dataclass
class CommandRecord:
    argv: list[str]
    returncode: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"argv": list(self.argv), "returncode": self.returncode, "seconds": round(self.seconds, 3)}


@dataclass
class EraseResult:
    device: dict[str, Any]
    method: str
    nist_level: NistLevel
    host: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    passes: int = 0
    pattern: str | None = None
    bytes_written: int = 0
    commands: list[CommandRecord] = field(default_factory=list)
    verification: Verification = field(default_factory=Verification)
    errors: list[ErrorRange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None
    status: Status = Status.FAILED
    # Seconds spent per phase ("write", "verify", ...), for throughput reports.
    timing: dict[str, float] = field(default_factory=dict)
    # How far each phase got: {phase: {"status": running|done|skipped|failed|interrupted|
    # not reached, "detail": text from the journal and the counters}}, in the order reached.
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Set when an exception ended the run: {"phase", "error" (class), "message", "internal"}.
    failure: dict[str, Any] | None = None

    def mark(self, phase: str, status: str, detail: str | None = None) -> None:
        entry = self.phases.setdefault(phase, {"status": status, "detail": None})
        entry["status"] = status
        if detail is not None:
            entry["detail"] = detail

    def add_time(self, phase: str, seconds: float) -> None:
        self.timing[phase] = round(self.timing.get(phase, 0.0) + seconds, 3)

    def add_note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def finish(self, *, interrupted: bool = False) -> EraseResult:
        """Decide `status` from the evidence and stamp `finished_at`.

        Order matters: an exception (`failure`) makes it `failed`, then an interruption wins
        (the work is incomplete), then any error range or failed verification makes the
        result `failed`; only a passed verification with no error is `verified`.
        `unverified` means the user chose `--verify none`.
        """
        self.finished_at = utc_now()
        for entry in self.phases.values():
            if entry["status"] == "running":
                entry["status"] = "failed" if self.failure else "interrupted" if interrupted else "done"
        if self.failure:
            self.status = Status.FAILED
        elif interrupted:
            self.status = Status.INTERRUPTED
        elif self.errors or self.verification.outcome == Outcome.FAILED:
            self.status = Status.FAILED
        elif self.verification.outcome == Outcome.PASSED:
            self.status = Status.VERIFIED
        else:
            self.status = Status.UNVERIFIED
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": ERASE_SCHEMA,
            "id": self.id,
            "tool": tool_identity(),
            "host": self.host,
            "device": self.device,
            "method": self.method,
            "nist_level": self.nist_level,
            "passes": self.passes,
            "pattern": self.pattern,
            "bytes_written": self.bytes_written,
            "commands": [c.to_dict() for c in self.commands],
            "verification": self.verification.to_dict(),
            "errors": [e.to_dict() for e in self.errors],
            "notes": list(self.notes),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "timing": dict(self.timing),
            "phases": {name: dict(entry) for name, entry in self.phases.items()},
            "failure": dict(self.failure) if self.failure else None,
        }


def merge_ranges(ranges: list[ErrorRange]) -> list[ErrorRange]:
    """Join adjacent or overlapping ranges with the same error, so reports stay short."""
    out: list[ErrorRange] = []
    for r in sorted(ranges, key=lambda r: r.offset):
        last = out[-1] if out else None
        if last is not None and last.error == r.error and r.offset <= last.offset + last.length:
            end = max(last.offset + last.length, r.offset + r.length)
            last.length = end - last.offset
        else:
            out.append(ErrorRange(r.offset, r.length, r.error))
    return out
