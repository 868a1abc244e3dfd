"""Self-encrypting drive hints: ATA "Device encrypts all user data" and `sedutil-cli`.

They tell the planner whether the drive encrypts its media, and `tcg-psid-revert`
(sanitize/purge/methods/tcg.py) reads the locking state before and after its revert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sanitize.hw.host import Host


@dataclass(frozen=True)
class SedInfo:
    opal: bool | None = None  # sedutil-cli says the drive speaks Opal/Enterprise
    media_encrypt: bool | None = None
    locking_enabled: bool | None = None
    locked: bool | None = None
    source: str | None = None


def parse_sedutil_query(text: str) -> SedInfo:
    def yn(name: str) -> bool | None:
        match = re.search(rf"\b{name}\s*=\s*([YN])", text)
        return None if not match else match.group(1) == "Y"

    opal = bool(re.search(r"OPAL [12]\.0 function|Enterprise function|Opalite|Pyrite", text)) or None
    return SedInfo(
        opal=opal,
        media_encrypt=yn("MediaEncrypt"),
        locking_enabled=yn("LockingEnabled"),
        locked=yn("Locked"),
        source="sedutil-cli --query",
    )


def probe(host: Host, device: str) -> SedInfo | None:
    """Raises ToolMissing when sedutil-cli is not installed (callers treat it as optional)."""
    res = host.run(["sedutil-cli", "--query", device], timeout=30)
    return parse_sedutil_query(res.stdout) if res.ok else None
