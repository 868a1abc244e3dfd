"""SCSI capabilities: SANITIZE (opcode 0x48) service actions from `sg_opcodes`, plus INQUIRY
and READ CAPACITY(16).

When the device rejects REPORT SUPPORTED OPERATION CODES (common behind USB bridges), the
SANITIZE support is unknown (None), not "unsupported": the planner then does not offer it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sanitize.hw.host import Host
from sanitize.purge.capabilities._text import to_int

SANITIZE_OPCODE = 0x48
SA_OVERWRITE = 0x01
SA_BLOCK = 0x02
SA_CRYPTO = 0x03
SA_EXIT_FAILURE = 0x1F
_OPCODE_LINE = re.compile(r"^\s*([0-9a-fA-F]{2})\s+([0-9a-fA-F]{1,4})?\s*(\d+)\s+(.+?)\s*$")


@dataclass(frozen=True)
class Inquiry:
    vendor: str | None = None
    product: str | None = None
    revision: str | None = None
    serial: str | None = None
    device_type: str | None = None

    @property
    def is_ata_behind_sat(self) -> bool:
        # SAT layers report vendor "ATA": the drive speaks ATA and hdparm is the better path.
        return (self.vendor or "").strip() == "ATA"


@dataclass(frozen=True)
class ReadCapacity:
    blocks: int | None = None
    block_size: int | None = None
    lbpme: bool | None = None
    lbprz: bool | None = None
    protection: bool | None = None


@dataclass(frozen=True)
class ScsiCapabilities:
    device: str
    sanitize_actions: frozenset[int] | None = None  # None: RSOC unsupported, so unknown
    inquiry: Inquiry = Inquiry()
    capacity: ReadCapacity = ReadCapacity()
    notes: tuple[str, ...] = field(default=())

    def _has(self, sa: int) -> bool:
        return self.sanitize_actions is not None and sa in self.sanitize_actions

    @property
    def sanitize_crypto(self) -> bool:
        return self._has(SA_CRYPTO)

    @property
    def sanitize_block(self) -> bool:
        return self._has(SA_BLOCK)

    @property
    def sanitize_overwrite(self) -> bool:
        return self._has(SA_OVERWRITE)

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["sanitize_actions"] = None if self.sanitize_actions is None else sorted(self.sanitize_actions)
        doc["notes"] = list(self.notes)
        return doc


def parse_opcodes(text: str) -> frozenset[int] | None:
    """Service actions of SANITIZE listed by `sg_opcodes`; None if the list is unavailable."""
    if re.search(r"Report supported operation codes:.*(Illegal request|Invalid opcode|not supported)", text):
        return None
    actions: set[int] = set()
    saw_table = False
    for line in text.splitlines():
        match = _OPCODE_LINE.match(line)
        if not match:
            continue
        saw_table = True
        if int(match.group(1), 16) == SANITIZE_OPCODE and match.group(2):
            actions.add(int(match.group(2), 16))
    return frozenset(actions) if saw_table else None


def parse_inquiry(text: str) -> Inquiry:
    def field_of(label: str) -> str | None:
        match = re.search(rf"{label}:\s*(.*)", text)
        return match.group(1).strip() or None if match else None

    return Inquiry(
        vendor=field_of("Vendor identification"),
        product=field_of("Product identification"),
        revision=field_of("Product revision level"),
        serial=field_of("Unit serial number"),
        device_type=field_of("Peripheral device type"),
    )


def parse_readcap(text: str) -> ReadCapacity:
    def num(pattern: str) -> int | None:
        match = re.search(pattern, text)
        return to_int(match.group(1)) if match else None

    def flag(name: str) -> bool | None:
        value = num(rf"{name}=(\d)")
        return None if value is None else bool(value)

    return ReadCapacity(
        blocks=num(r"Number of logical blocks=(\d+)"),
        block_size=num(r"Logical block length=(\d+)"),
        lbpme=flag("lbpme"),
        lbprz=flag("lbprz"),
        protection=flag("prot_en"),
    )


def probe(host: Host, device: str) -> ScsiCapabilities:
    notes = []
    ops = host.run(["sg_opcodes", device], timeout=60)
    actions = parse_opcodes(ops.stdout + "\n" + ops.stderr)
    if actions is None:
        notes.append("REPORT SUPPORTED OPERATION CODES rejected: SANITIZE support unknown, not offered")
    inq = parse_inquiry(host.run(["sg_inq", device], timeout=30).stdout)
    cap = parse_readcap(host.run(["sg_readcap", "-l", device], timeout=30).stdout)
    return ScsiCapabilities(device=device, sanitize_actions=actions, inquiry=inq, capacity=cap, notes=tuple(notes))


@dataclass(frozen=True)
class SenseProgress:
    fraction: float | None  # None: no progress indication (operation not running)
    text: str


def parse_requests_progress(text: str) -> SenseProgress:
    match = re.search(r"Progress indication:\s*(\d+(?:\.\d+)?)%", text)
    return SenseProgress(float(match.group(1)) / 100 if match else None, text.strip())
