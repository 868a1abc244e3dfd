"""NVMe controller capabilities: Identify Controller, its namespaces and the sanitize log.

Sanitize and Format-with-crypto-erase-on-all-namespaces act on the whole controller, so the
capability record carries the namespaces that share it; the planner refuses when any of them
is in use. Parsers accept nvme-cli 1.x JSON (`"key" : value`), 2.x JSON, and the plain-text or
`-H` output (from which old nvme-cli versions omit `sanicap`), and tolerate truncated output:
a field that is missing is None ("unknown"), never 0 ("not supported").
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sanitize.hw.host import Host
from sanitize.hw.nvme_sysfs import controller_of_namespace
from sanitize.purge.capabilities._text import bit, to_int

# SSTAT[2:0] values (NVMe base spec, Sanitize Status log page).
SSTAT_NEVER = 0
SSTAT_SUCCESS = 1
SSTAT_IN_PROGRESS = 2
SSTAT_FAILED = 3
SSTAT_SUCCESS_NO_DEALLOC = 4
SPROG_DONE = 65535
NO_ESTIMATE = 0xFFFFFFFF

_KEYS = ("sn", "mn", "fr", "oacs", "sanicap", "fna", "nn", "tnvmcap", "ver")
_TEXT_LINE = re.compile(r"^([a-z][a-z0-9_]*)\s*:\s*(.*?)\s*$")
_JSON_PAIR = re.compile(r'"([A-Za-z0-9_]+)"\s*:\s*("(?:[^"\\]|\\.)*"|[-0-9.]+)')


@dataclass(frozen=True)
class SanitizeLog:
    sprog: int | None
    sstat: int | None  # the register: [2:0] status, [7:3] passes, [8] global data erased
    cdw10: int | None = None
    estimate_overwrite_s: int | None = None
    estimate_block_s: int | None = None
    estimate_crypto_s: int | None = None

    @property
    def status(self) -> int | None:
        return None if self.sstat is None else self.sstat & 0x7

    @property
    def global_data_erased(self) -> bool:
        return bit(self.sstat, 8)

    @property
    def in_progress(self) -> bool:
        return self.status == SSTAT_IN_PROGRESS

    @property
    def succeeded(self) -> bool:
        return self.status in (SSTAT_SUCCESS, SSTAT_SUCCESS_NO_DEALLOC)

    @property
    def failed(self) -> bool:
        return self.status == SSTAT_FAILED

    def fraction(self) -> float | None:
        return None if self.sprog is None else min(self.sprog, SPROG_DONE) / SPROG_DONE


@dataclass(frozen=True)
class NvmeCapabilities:
    controller: str  # /dev/nvme0
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    oacs: int | None = None
    sanicap: int | None = None  # None: not reported (old nvme-cli, truncated output)
    fna: int | None = None
    nn: int | None = None
    namespaces: tuple[str, ...] = ()  # every namespace block device on this controller
    sanitize_log: SanitizeLog | None = None
    notes: tuple[str, ...] = field(default=())

    # SANICAP: [0] CES crypto, [1] BES block, [2] OWS overwrite, [29] NDI, [31:30] NODMMAS
    @property
    def sanitize_crypto(self) -> bool:
        return bit(self.sanicap, 0)

    @property
    def sanitize_block(self) -> bool:
        return bit(self.sanicap, 1)

    @property
    def sanitize_overwrite(self) -> bool:
        return bit(self.sanicap, 2)

    @property
    def sanitize_any(self) -> bool:
        return self.sanitize_crypto or self.sanitize_block or self.sanitize_overwrite

    @property
    def no_dealloc_inhibited(self) -> bool:
        return bit(self.sanicap, 29)

    @property
    def nodmmas(self) -> int | None:
        return None if self.sanicap is None else (self.sanicap >> 30) & 0x3

    # OACS: [0] Security Send/Receive, [1] Format NVM
    @property
    def format_supported(self) -> bool:
        return bit(self.oacs, 1)

    @property
    def security_send_receive(self) -> bool:
        return bit(self.oacs, 0)

    # FNA: [0] format applies to all namespaces, [1] crypto erase applies to all, [2] crypto erase supported
    @property
    def format_all_namespaces(self) -> bool:
        return bit(self.fna, 0)

    @property
    def crypto_erase_all_namespaces(self) -> bool:
        return bit(self.fna, 1)

    @property
    def format_crypto_erase(self) -> bool:
        return bit(self.fna, 2)

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["namespaces"] = list(self.namespaces)
        doc["notes"] = list(self.notes)
        doc["decoded"] = {
            "sanitize_crypto": self.sanitize_crypto,
            "sanitize_block": self.sanitize_block,
            "sanitize_overwrite": self.sanitize_overwrite,
            "no_dealloc_inhibited": self.no_dealloc_inhibited,
            "nodmmas": self.nodmmas,
            "format_supported": self.format_supported,
            "security_send_receive": self.security_send_receive,
            "format_all_namespaces": self.format_all_namespaces,
            "crypto_erase_all_namespaces": self.crypto_erase_all_namespaces,
            "format_crypto_erase": self.format_crypto_erase,
        }
        return doc


def _fields_from_text(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        match = _TEXT_LINE.match(line)  # decoded "-H" lines start with spaces and "[", so never match
        if match and match.group(1) not in out:
            out[match.group(1)] = match.group(2)
    return out


def _fields_from_json(text: str) -> tuple[dict[str, Any], bool]:
    """Top-level id-ctrl fields, and whether the JSON was complete."""
    try:
        doc = json.loads(text)
    except ValueError:
        # Truncated JSON: salvage the simple "key": value pairs that made it.
        found: dict[str, Any] = {}
        for key, raw in _JSON_PAIR.findall(text):
            if key not in found:
                found[key] = json.loads(raw) if raw.startswith('"') else to_int(raw)
        return found, False
    return (doc if isinstance(doc, dict) else {}), True


def parse_id_ctrl(text: str, controller: str = "") -> NvmeCapabilities:
    """Parse `nvme id-ctrl [-o json|-H]` output of any nvme-cli version."""
    notes: list[str] = []
    if text.lstrip().startswith("{"):
        fields, complete = _fields_from_json(text)
        if not complete:
            notes.append("id-ctrl JSON was truncated; missing fields are unknown")
    else:
        fields = dict(_fields_from_text(text))
    if not fields:
        notes.append("id-ctrl output had no fields")
    values = {k: fields.get(k) for k in _KEYS}
    for key in ("sanicap", "fna", "oacs"):
        if values[key] is None:
            notes.append(f"{key} not reported (older nvme-cli or truncated output): treated as unknown")

    def text_of(key: str) -> str | None:
        raw = values[key]
        return str(raw).strip() or None if raw is not None else None

    return NvmeCapabilities(
        controller=controller,
        model=text_of("mn"),
        serial=text_of("sn"),
        firmware=text_of("fr"),
        oacs=to_int(values["oacs"]),
        sanicap=to_int(values["sanicap"]),
        fna=to_int(values["fna"]),
        nn=to_int(values["nn"]),
        notes=tuple(notes),
    )


def _estimate(value: object) -> int | None:
    n = to_int(value)
    return None if n is None or n in (0, NO_ESTIMATE) else n


def _sstat_from_json(raw: object) -> int | None:
    if not isinstance(raw, dict):
        return to_int(raw)
    status: int | None = None
    for key, value in raw.items():
        # The status is "(N) text"; one nvme-cli release even used the text as the key.
        if isinstance(value, str):
            match = re.match(r"\s*\((\d+)\)", value)
            if match:
                status = int(match.group(1))
        elif key == "status":
            status = to_int(value)
    if status is None:
        return None
    passes = to_int(raw.get("no_cmplted_passes")) or 0
    erased = to_int(raw.get("global_erased")) or 0
    return (status & 0x7) | ((passes & 0x1F) << 3) | ((erased & 1) << 8)


def parse_sanitize_log(text: str) -> SanitizeLog:
    """Parse `nvme sanitize-log [-o json]` (nested `{"nvme0": {...}}` JSON or the text report)."""
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            return SanitizeLog(sprog=None, sstat=None)
        body = doc
        if isinstance(doc, dict) and "sprog" not in doc and len(doc) == 1:
            body = next(iter(doc.values()))
        if not isinstance(body, dict):
            return SanitizeLog(sprog=None, sstat=None)
        return SanitizeLog(
            sprog=to_int(body.get("sprog")),
            sstat=_sstat_from_json(body.get("sstat")),
            cdw10=to_int(body.get("cdw10_info")),
            estimate_overwrite_s=_estimate(body.get("time_over_write")),
            estimate_block_s=_estimate(body.get("time_block_erase")),
            estimate_crypto_s=_estimate(body.get("time_crypto_erase")),
        )
    sprog = sstat = cdw10 = None
    est: dict[str, int | None] = {}
    for line in text.splitlines():
        label, sep, value = line.partition(":")
        if not sep:
            continue
        label = " ".join(label.split())
        if "(SPROG)" in label:
            sprog = to_int(value)
        elif "(SSTAT)" in label:
            sstat = to_int(value)
        elif "(SCDW10)" in label:
            cdw10 = to_int(value)
        elif label.startswith("Estimated Time For") and "No-Deallocate" not in label:
            kind = label.removeprefix("Estimated Time For ").split()[0].lower()
            est[kind] = _estimate(value)
        elif label.startswith("Global Data Erased") and to_int(value) and sstat is not None:
            sstat |= 0x100
    return SanitizeLog(
        sprog=sprog,
        sstat=sstat,
        cdw10=cdw10,
        estimate_overwrite_s=est.get("overwrite"),
        estimate_block_s=est.get("block"),
        estimate_crypto_s=est.get("crypto"),
    )


_NS_NAME = re.compile(r"^nvme(\d+)(?:c\d+)?n(\d+)$")


def resolve_controller(host: Host, name: str, hint: str | None = None) -> str | None:
    """The controller of namespace `name`: the inventory's (`hint`) when it has one."""
    return hint or controller_of_namespace(host, name)


def namespaces_of(host: Host, controller: str) -> tuple[str, ...]:
    """Namespace block devices on a controller, from sysfs (`/sys/class/nvme/nvme0/nvme0n*`).

    With native multipath the controller lists `nvme0c0n1` hidden paths; the block device the
    user sees is then `nvme<subsys>n1`, found through the controller's subsystem link.
    """
    ctrl = controller.rsplit("/", 1)[-1]
    names: set[str] = set()
    for entry in host.list_sys("class", "nvme", ctrl):
        match = _NS_NAME.match(entry)
        if not match:
            continue
        if "c" in entry[len("nvme") :].split("n")[0]:
            subsys = host.sys_realpath("class", "nvme", ctrl, "subsystem").rsplit("/", 1)[-1]
            inst = subsys.removeprefix("nvme-subsys")
            names.add(f"nvme{inst}n{match.group(2)}" if inst.isdigit() else entry)
        else:
            names.add(entry)
    return tuple(f"/dev/{n}" for n in sorted(names))


def probe(host: Host, controller: str) -> NvmeCapabilities:
    """Read-only: id-ctrl, sysfs namespaces and (if sanitize is advertised) the sanitize log."""
    res = host.run(["nvme", "id-ctrl", "-o", "json", controller], timeout=30)
    if not res.ok:
        return NvmeCapabilities(controller=controller, notes=(f"nvme id-ctrl failed: {_last_line(res)}",))
    caps = parse_id_ctrl(res.stdout, controller)
    log = None
    notes = list(caps.notes)
    if caps.sanicap is None or caps.sanitize_any:
        lres = host.run(["nvme", "sanitize-log", "-o", "json", controller], timeout=30)
        if lres.ok:
            log = parse_sanitize_log(lres.stdout)
        else:
            notes.append(f"sanitize log unreadable: {_last_line(lres)}")
    return dataclasses.replace(caps, namespaces=namespaces_of(host, controller), sanitize_log=log, notes=tuple(notes))


def read_sanitize_log(host: Host, controller: str) -> SanitizeLog:
    res = host.run(["nvme", "sanitize-log", "-o", "json", controller], timeout=30)
    if not res.ok:
        return SanitizeLog(sprog=None, sstat=None)
    return parse_sanitize_log(res.stdout)


def _last_line(res: Any) -> str:
    lines = (res.stderr or res.stdout or "").strip().splitlines()
    return lines[-1] if lines else f"exit {res.returncode}"
