"""LUKS1/LUKS2 header facts from `cryptsetup luksDump`: version, keyslots, header extent.

The header extent (everything before the data segment) is what luks-crypto-erase overwrites
after `cryptsetup erase`: keyslots, both LUKS2 metadata copies and any unused keyslot area.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sanitize.hw.host import Host
from sanitize.purge.capabilities._text import to_int

LUKS1_SECTOR = 512


@dataclass(frozen=True)
class Keyslot:
    slot: int
    enabled: bool
    area_offset: int | None = None  # bytes from the start of the header
    area_length: int | None = None


@dataclass(frozen=True)
class LuksHeader:
    version: int | None
    uuid: str | None = None
    data_offset: int | None = None  # bytes; 0 with a detached header
    metadata_size: int | None = None  # LUKS2 only
    keyslots_size: int | None = None  # LUKS2 only
    keyslots: tuple[Keyslot, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def active_keyslots(self) -> list[int]:
        return [k.slot for k in self.keyslots if k.enabled]

    @property
    def header_size(self) -> int | None:
        """Bytes that hold key material or metadata (up to the data offset when it is known)."""
        if self.data_offset:
            return self.data_offset
        if self.metadata_size is not None and self.keyslots_size is not None:
            return 2 * self.metadata_size + self.keyslots_size
        return None

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["keyslots"] = [asdict(k) for k in self.keyslots]
        doc["notes"] = list(self.notes)
        doc["header_size"] = self.header_size
        doc["active_keyslots"] = self.active_keyslots
        return doc


def parse_dump(text: str) -> LuksHeader:
    version_match = re.search(r"^Version:\s*(\d+)", text, re.MULTILINE)
    version = int(version_match.group(1)) if version_match else None
    uuid_match = re.search(r"^UUID:\s*(\S+)", text, re.MULTILINE)
    uuid = uuid_match.group(1) if uuid_match else None
    if version == 1:
        return _parse_luks1(text, uuid)
    if version == 2:
        return _parse_luks2(text, uuid)
    return LuksHeader(version=None, notes=("not a LUKS header dump",))


def _parse_luks1(text: str, uuid: str | None) -> LuksHeader:
    payload = re.search(r"^Payload offset:\s*(\d+)", text, re.MULTILINE)
    slots = []
    blocks = re.split(r"^(?=Key Slot \d+:)", text, flags=re.MULTILINE)
    for block in blocks:
        head = re.match(r"Key Slot (\d+):\s*(ENABLED|DISABLED)", block)
        if not head:
            continue
        offset = re.search(r"Key material offset:\s*(\d+)", block)
        slots.append(
            Keyslot(
                slot=int(head.group(1)),
                enabled=head.group(2) == "ENABLED",
                area_offset=int(offset.group(1)) * LUKS1_SECTOR if offset else None,
                # LUKS1 does not print the key material length (it depends on key size x stripes).
                area_length=None,
            )
        )
    return LuksHeader(
        version=1,
        uuid=uuid,
        data_offset=int(payload.group(1)) * LUKS1_SECTOR if payload else None,
        keyslots=tuple(slots),
    )


def _parse_luks2(text: str, uuid: str | None) -> LuksHeader:
    metadata = re.search(r"^Metadata area:\s*(\d+)", text, re.MULTILINE)
    keyslots_area = re.search(r"^Keyslots area:\s*(\d+)", text, re.MULTILINE)
    segments = _section(text, "Data segments")
    offset = re.search(r"offset:\s*(\d+)", segments)
    slots = []
    for block in re.split(r"^(?=\s+\d+: luks2)", _section(text, "Keyslots"), flags=re.MULTILINE):
        head = re.match(r"\s+(\d+): luks2", block)
        if not head:
            continue
        area_off = re.search(r"Area offset:\s*(\d+)", block)
        area_len = re.search(r"Area length:\s*(\d+)", block)
        slots.append(
            Keyslot(
                slot=int(head.group(1)),
                enabled=True,
                area_offset=to_int(area_off.group(1)) if area_off else None,
                area_length=to_int(area_len.group(1)) if area_len else None,
            )
        )
    return LuksHeader(
        version=2,
        uuid=uuid,
        data_offset=int(offset.group(1)) if offset else None,
        metadata_size=int(metadata.group(1)) if metadata else None,
        keyslots_size=int(keyslots_area.group(1)) if keyslots_area else None,
        keyslots=tuple(slots),
    )


def _section(text: str, title: str) -> str:
    """Lines after `title:` up to the next top-level `Word:` heading."""
    match = re.search(rf"^{re.escape(title)}:\s*\n(.*?)(?=^[A-Z][A-Za-z ]*:|\Z)", text, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ""


def is_luks(host: Host, device: str, header: str | None = None) -> bool:
    argv = ["cryptsetup", "isLuks", *(["--header", header] if header else []), device]
    return host.run(argv, timeout=30).returncode == 0


def probe(host: Host, device: str, header: str | None = None) -> LuksHeader | None:
    if not is_luks(host, device, header):
        return None
    target = header or device
    res = host.run(["cryptsetup", "luksDump", target], timeout=30)
    return parse_dump(res.stdout) if res.ok else LuksHeader(version=None, notes=("luksDump failed",))
