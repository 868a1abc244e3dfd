"""ATA capabilities from `hdparm -I`, `hdparm -N`, `hdparm --dco-identify`, `--sanitize-status`.

The Security section of `hdparm -I` prints one state per line, negated with a leading "not"
("not\tenabled", "\tfrozen"); sources differ in tabs vs spaces, so lines are compared as words.
hdparm exits 0 even when the drive aborted the command, so nothing here looks at exit codes
to decide a capability; only the text the drive's IDENTIFY data produced.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sanitize.hw.host import Host
from sanitize.purge.capabilities._text import to_int, words

_FEATURES = {
    "SANITIZE feature set": "sanitize",
    "CRYPTO_SCRAMBLE_EXT command": "sanitize_crypto",
    "BLOCK_ERASE_EXT command": "sanitize_block",
    "OVERWRITE_EXT command": "sanitize_overwrite",
    "SANITIZE_ANTIFREEZE_LOCK_EXT command": "sanitize_antifreeze",
    "Device encrypts all user data": "encrypts_all_data",
    "Host Protected Area feature set": "hpa_feature",
    "Device Configuration Overlay feature set": "dco_feature",
    "Security Mode feature set": "security_feature",
}
_ERASE_TIME = re.compile(r"(\d+)\s*min\s+for\s+(ENHANCED\s+)?SECURITY\s+ERASE\s+UNIT", re.IGNORECASE)


@dataclass(frozen=True)
class AtaSecurity:
    supported: bool = False
    enabled: bool = False
    locked: bool = False
    frozen: bool = False
    count_expired: bool = False
    enhanced_erase: bool = False
    erase_minutes: int | None = None
    enhanced_erase_minutes: int | None = None
    master_revision: int | None = None


@dataclass(frozen=True)
class AtaCapabilities:
    device: str
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    rotation_rpm: int | None = None  # None = solid state or not reported
    solid_state: bool | None = None
    sectors: int | None = None  # LBA48 user addressable sectors (what the host sees now)
    logical_sector_size: int | None = None
    features: frozenset[str] = frozenset()  # names from _FEATURES whose line is present
    security: AtaSecurity = AtaSecurity()
    has_security_section: bool = False
    notes: tuple[str, ...] = field(default=())

    def has(self, feature: str) -> bool:
        return feature in self.features

    @property
    def sanitize_crypto(self) -> bool:
        return self.has("sanitize") and self.has("sanitize_crypto")

    @property
    def sanitize_block(self) -> bool:
        return self.has("sanitize") and self.has("sanitize_block")

    @property
    def sanitize_overwrite(self) -> bool:
        return self.has("sanitize") and self.has("sanitize_overwrite")

    @property
    def self_encrypting(self) -> bool:
        return self.has("encrypts_all_data")

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["features"] = sorted(self.features)
        doc["notes"] = list(self.notes)
        return doc


def parse_identify(text: str, device: str = "") -> AtaCapabilities:
    """Parse `hdparm -I DEV`. A missing Security section means the feature set is absent."""
    model = serial = firmware = None
    rpm: int | None = None
    solid: bool | None = None
    sectors = lss = None
    features: set[str] = set()
    section = ""
    sec_lines: list[list[str]] = []
    for raw in text.splitlines():
        if raw and not raw[0].isspace():
            section = raw.split(":", 1)[0].strip()
            if section == "Security":
                sec_lines = []
            continue
        line = " ".join(raw.split())
        if not line:
            continue
        if section == "Security":
            sec_lines.append(words(line))
            continue
        key, sep, value = line.partition(":")
        value = value.strip()
        if sep and key == "Model Number":
            model = value or None
        elif sep and key == "Serial Number":
            serial = value or None
        elif sep and key == "Firmware Revision":
            firmware = value or None
        elif sep and key == "Nominal Media Rotation Rate":
            solid = value == "Solid State Device"
            rpm = to_int(value) if not solid else None
        elif sep and key == "LBA48 user addressable sectors":
            sectors = to_int(value)
        elif sep and key == "Logical Sector size":
            lss = to_int(value)
        elif section == "Commands/features":
            feature = line.lstrip("* ").strip()
            if feature in _FEATURES:
                features.add(_FEATURES[feature])
    has_security = "Security:" in text or any(line.startswith("Security:") for line in text.splitlines())
    security = _parse_security(sec_lines) if has_security else AtaSecurity()
    notes = []
    if not has_security:
        notes.append("no Security section in IDENTIFY: ATA Security feature set not supported")
    if model is None:
        notes.append("no model number: hdparm -I output missing or truncated")
    return AtaCapabilities(
        device=device,
        model=model,
        serial=serial,
        firmware=firmware,
        rotation_rpm=rpm,
        solid_state=solid,
        sectors=sectors,
        logical_sector_size=lss,
        features=frozenset(features),
        security=security,
        has_security_section=has_security,
        notes=tuple(notes),
    )


def _parse_security(lines: list[list[str]]) -> AtaSecurity:
    state: dict[str, Any] = {}
    for toks in lines:
        joined = " ".join(toks)
        if joined.startswith("Master password revision code"):
            state["master_revision"] = to_int(joined.rsplit("=", 1)[-1])
            continue
        times = _ERASE_TIME.findall(joined)
        if times:
            for minutes, enhanced in times:
                state["enhanced_erase_minutes" if enhanced else "erase_minutes"] = int(minutes)
            continue
        negated = toks[0] == "not"
        rest = " ".join(toks[1:] if negated else toks)
        if rest == "supported":
            state["supported"] = not negated
        elif rest == "enabled":
            state["enabled"] = not negated
        elif rest == "locked":
            state["locked"] = not negated
        elif rest == "frozen":
            state["frozen"] = not negated
        elif rest.startswith("expired"):
            state["count_expired"] = not negated
        elif rest.startswith("supported: enhanced erase"):
            state["enhanced_erase"] = not negated
    return AtaSecurity(**state)


@dataclass(frozen=True)
class HpaState:
    current: int | None
    native: int | None
    enabled: bool | None

    @property
    def hidden_sectors(self) -> int:
        if self.current is None or self.native is None:
            return 0
        return max(0, self.native - self.current)


def parse_hpa(text: str) -> HpaState:
    """` max sectors   = 1953525168/1953525168, HPA is disabled`."""
    match = re.search(r"max sectors\s*=\s*(\d+)\s*/\s*(\d+)(?:,\s*HPA is (enabled|disabled))?", text)
    if not match:
        return HpaState(None, None, None)
    enabled = None if match.group(3) is None else match.group(3) == "enabled"
    return HpaState(int(match.group(1)), int(match.group(2)), enabled)


@dataclass(frozen=True)
class DcoState:
    real_max_sectors: int | None
    checksum_ok: bool | None


def parse_dco(text: str) -> DcoState:
    match = re.search(r"Real max sectors:\s*(\d+)", text)
    checksum = None
    if "Checksum verified" in text:
        checksum = True
    elif re.search(r"checksum", text, re.IGNORECASE):
        checksum = False
    return DcoState(int(match.group(1)) if match else None, checksum)


@dataclass(frozen=True)
class SanitizeStatus:
    state: str | None  # SD0 idle, SD1 frozen, SD2 in progress
    progress: int | None  # 0..0xFFFF while in progress
    completed_without_error: bool
    error_reason: str | None
    bad_sense: bool  # "SG_IO: bad/missing sense data": the command may never have reached the drive

    @property
    def in_progress(self) -> bool:
        return self.state == "SD2"

    @property
    def frozen(self) -> bool:
        return self.state == "SD1"

    @property
    def succeeded(self) -> bool:
        # "SD0 Sanitize Idle" alone is NOT success: a drive that never ran the command reads idle.
        return not self.in_progress and self.completed_without_error and self.error_reason is None


def parse_sanitize_status(text: str) -> SanitizeStatus:
    state = re.search(r"State:\s*(SD\d)", text)
    prog = re.search(r"Progress:\s*(0x[0-9a-fA-F]+)", text)
    reason = re.search(r"SANITIZE device error reason:\s*(.+)", text)
    return SanitizeStatus(
        state=state.group(1) if state else None,
        progress=int(prog.group(1), 16) if prog else None,
        completed_without_error="Last Sanitize Operation Completed Without Error" in text,
        error_reason=reason.group(1).strip() if reason else None,
        bad_sense="bad/missing sense data" in text,
    )


def probe(host: Host, device: str) -> AtaCapabilities:
    res = host.run(["hdparm", "-I", device], timeout=30)
    caps = parse_identify(res.stdout, device)
    if not res.ok:
        caps = AtaCapabilities(device=device, notes=(*caps.notes, f"hdparm -I exited {res.returncode}"))
    return caps


def probe_hpa(host: Host, device: str) -> HpaState:
    return parse_hpa(host.run(["hdparm", "-N", device], timeout=30).stdout)


def probe_dco(host: Host, device: str) -> DcoState:
    res = host.run(["hdparm", "--dco-identify", device], timeout=30)
    return parse_dco(res.stdout + res.stderr)


def read_sanitize_status(host: Host, device: str) -> SanitizeStatus:
    res = host.run(["hdparm", "--sanitize-status", device], timeout=30)
    return parse_sanitize_status(res.stdout + "\n" + res.stderr)
