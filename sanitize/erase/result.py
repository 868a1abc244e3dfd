"""The `sanitize.erase/1` result document (see docs/schemas.md, kept in step with this module).

One `EraseResult` per device and operation. Methods fill it while they run; `status` is
decided from what was observed (errors, verification outcome, interruption), never from
an external tool's exit code. `EraseResult.from_dict` reads a document back (for `cert
issue`), refusing with one line anything that is not a well-formed result: certification
reads this typed model, never the raw JSON.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sanitize import tool_identity
from sanitize.enums import NistLevel, Outcome, PhaseStatus, Status
from sanitize.errors import BadInput
from sanitize.inventory.model import Device

_E = TypeVar("_E", NistLevel, Status, Outcome, PhaseStatus)

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
    "links",
)


def utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def device_identity(device: Device) -> dict[str, Any]:
    """The device fields a result (and a certificate) records, as they were at the start."""
    doc = {name: getattr(device, name) for name in DEVICE_FIELDS}
    doc["links"] = list(device.links)
    return doc


@dataclass
class ErrorRange:
    """A byte range that could not be written (or read back), with the OS error text."""

    offset: int
    length: int
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"offset": self.offset, "length": self.length, "error": self.error}

    @classmethod
    def from_dict(cls, doc: Any, where: str) -> ErrorRange:
        fields = _Fields(doc, where)
        return cls(fields.need("offset", int), fields.need("length", int), str(fields.get("error", object, "")))


@dataclass
class Verification:
    method: str = "none"  # full | sample | none
    coverage: float = 0.0  # fraction of the device actually read back, 0..1
    bytes_checked: int = 0
    outcome: Outcome = Outcome.SKIPPED
    mismatches: int = 0  # number of compared blocks that differed
    details: dict[str, Any] = field(default_factory=dict)
    # A result read back whose `details` is a sentence rather than an object (written by hand
    # or by another tool); the engine itself always fills `details`.
    text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "coverage": round(self.coverage, 6),
            "bytes_checked": self.bytes_checked,
            "outcome": self.outcome,
            "mismatches": self.mismatches,
            "details": self.text if self.text is not None else self.details,
        }

    @property
    def carve_hits(self) -> int | dict[str, Any] | None:
        """The post-erase carve's hits (a count, or counts per kind), if one ran."""
        hits = self.details.get("carve_hits")
        return hits if isinstance(hits, int | dict) and not isinstance(hits, bool) else None

    @classmethod
    def from_dict(cls, doc: Any, where: str) -> Verification:
        fields = _Fields(doc, where)
        raw = fields.get("details", dict | str, {})
        details = dict(raw) if isinstance(raw, dict) else {}
        if "carve_hits" not in details and "carve_hits" in fields.doc:
            details["carve_hits"] = fields.doc["carve_hits"]  # where early results kept it
        return cls(
            method=fields.get("method", str, "none"),
            coverage=float(fields.get("coverage", int | float, 0.0)),
            bytes_checked=fields.get("bytes_checked", int, 0),
            outcome=fields.choice("outcome", Outcome, Outcome.SKIPPED),
            mismatches=fields.get("mismatches", int, 0),
            details=details,
            text=raw if isinstance(raw, str) else None,
        )


@dataclass
class CommandRecord:
    argv: list[str]
    returncode: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"argv": list(self.argv), "returncode": self.returncode, "seconds": round(self.seconds, 3)}

    @classmethod
    def from_dict(cls, doc: Any, where: str) -> CommandRecord:
        fields = _Fields(doc, where)
        return cls(
            [str(a) for a in fields.need("argv", list)],
            fields.get("returncode", int, -1),
            float(fields.get("seconds", int | float, 0.0)),
        )


@dataclass
class Phase:
    """How far one phase got, with a detail from the journal and the counters."""

    status: PhaseStatus
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail}

    @classmethod
    def from_dict(cls, doc: Any, where: str) -> Phase:
        fields = _Fields(doc, where)
        detail = fields.get("detail", object, None)
        return cls(fields.choice("status", PhaseStatus), None if detail is None else str(detail))


@dataclass(frozen=True)
class Failure:
    """The exception that ended a run: in which phase, its class and message, and whether it
    was internal (a bug: not a SanitizeError)."""

    phase: str
    error: str
    message: str
    internal: bool

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "error": self.error, "message": self.message, "internal": self.internal}

    def one_line(self, path: str) -> str:
        return f"{path}: {self.phase} failed: {self.error}: {self.message}"

    @classmethod
    def from_dict(cls, doc: Any, where: str) -> Failure:
        fields = _Fields(doc, where)
        return cls(
            str(fields.get("phase", object, "")),
            str(fields.get("error", object, "")),
            str(fields.get("message", object, "")),
            fields.get("internal", bool, False),
        )


@dataclass
class EraseResult:
    device: dict[str, Any]
    method: str
    nist_level: NistLevel
    host: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    passes: int = 0
    pattern: str | None = None
    # The random pattern's keystream cipher (buffers.CIPHERS); None for a fixed pattern, and in
    # results written before it was recorded (their random pattern was AES-256-CTR).
    pattern_cipher: str | None = None
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
    # How far each phase got, in the order reached.
    phases: dict[str, Phase] = field(default_factory=dict)
    # Set when an exception ended the run.
    failure: Failure | None = None
    # The tool that wrote a result read back with from_dict (None: this one, now).
    tool: dict[str, Any] | None = None

    @property
    def certifiable(self) -> bool:
        """Verified with a passed verification: the only results that get a certificate."""
        return self.status == Status.VERIFIED and self.verification.outcome == Outcome.PASSED

    def mark(self, phase: str, status: PhaseStatus, detail: str | None = None) -> None:
        entry = self.phases.setdefault(phase, Phase(status))
        entry.status = status
        if detail is not None:
            entry.detail = detail

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
            if entry.status == PhaseStatus.RUNNING:
                entry.status = (
                    PhaseStatus.FAILED if self.failure else PhaseStatus.INTERRUPTED if interrupted else PhaseStatus.DONE
                )
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
        doc: dict[str, Any] = {
            "schema": ERASE_SCHEMA,
            "id": self.id,
            "tool": dict(self.tool) if self.tool is not None else tool_identity(),
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
            "phases": {name: entry.to_dict() for name, entry in self.phases.items()},
            "failure": self.failure.to_dict() if self.failure else None,
        }
        if self.pattern_cipher is not None:  # only where recorded: older documents read back unchanged
            doc["pattern_cipher"] = self.pattern_cipher
        return doc

    @classmethod
    def from_dict(cls, doc: Any, source: str = "result") -> EraseResult:
        """A `sanitize.erase/1` document read back; BadInput (one line) for anything else.

        Required: schema, id, device, method, nist_level, verification, status, started_at,
        finished_at. The other fields may be absent (their defaults) but not of another type.
        """
        if not isinstance(doc, Mapping):
            raise BadInput(f"{source}: expected a JSON object with schema {ERASE_SCHEMA}")
        if doc.get("schema") != ERASE_SCHEMA:
            raise BadInput(f"{source}: schema is {doc.get('schema')!r}, expected {ERASE_SCHEMA!r}")
        fields = _Fields(doc, source)
        phases = fields.get("phases", dict, {})
        failure = fields.get("failure", dict | None, None)
        tool = fields.get("tool", dict | None, None)
        return cls(
            id=fields.need("id", str),
            device=dict(fields.need("device", dict)),
            method=fields.need("method", str),
            nist_level=fields.choice("nist_level", NistLevel),
            host=dict(fields.get("host", dict | None, None) or {}),
            passes=fields.get("passes", int, 0),
            pattern=fields.get("pattern", str | None, None),
            pattern_cipher=fields.get("pattern_cipher", str | None, None),
            bytes_written=fields.get("bytes_written", int, 0),
            commands=[CommandRecord.from_dict(c, f"{source}: commands") for c in fields.get("commands", list, [])],
            verification=Verification.from_dict(fields.need("verification", dict), f"{source}: verification"),
            errors=[ErrorRange.from_dict(e, f"{source}: errors") for e in fields.get("errors", list, [])],
            notes=[str(n) for n in fields.get("notes", list, [])],
            started_at=fields.need("started_at", str),
            finished_at=fields.need("finished_at", str),
            status=fields.choice("status", Status),
            timing=dict(fields.get("timing", dict, {})),
            phases={str(k): Phase.from_dict(v, f"{source}: phases: {k}") for k, v in phases.items()},
            failure=Failure.from_dict(failure, f"{source}: failure") if failure is not None else None,
            tool=dict(tool) if tool is not None else None,
        )


class _Fields:
    """Typed reads of one JSON object's fields, each refusal one line naming the field."""

    def __init__(self, doc: Any, where: str) -> None:
        if not isinstance(doc, Mapping):
            raise BadInput(f"{where}: expected an object, found {type(doc).__name__}")
        self.doc: Mapping[str, Any] = doc
        self.where = where

    def need(self, name: str, kind: Any) -> Any:
        """The field, of type `kind` (a type or a union of types)."""
        value = self.doc.get(name)
        if not _is(value, kind):
            raise BadInput(f"{self.where}: field {name!r} is missing or has the wrong type")
        return value

    def get(self, name: str, kind: Any, default: Any) -> Any:
        """The field if present (then of type `kind`), else `default`."""
        if name not in self.doc:
            return default
        value = self.doc[name]
        if not _is(value, kind):
            raise BadInput(f"{self.where}: field {name!r} has the wrong type")
        return value

    def choice(self, name: str, kind: type[_E], default: _E | None = None) -> _E:
        """One of an enum's words; `default` when the field is absent (if a default is given)."""
        if default is not None and name not in self.doc:
            return default
        value = self.doc.get(name)
        if not isinstance(value, str):
            raise BadInput(f"{self.where}: field {name!r} is missing or has the wrong type")
        try:
            return kind(value)
        except ValueError:
            raise BadInput(f"{self.where}: unknown {name} {value!r}") from None


def _is(value: Any, kind: Any) -> bool:
    # JSON has no separate booleans and integers in Python's eyes: a bool is never a number here.
    if isinstance(value, bool) and not (isinstance(kind, type) and issubclass(kind, bool)):
        return False
    return isinstance(value, kind)


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
