"""Build `sanitize.certificate/1` and `sanitize.failure-report/1` documents from an erase result.

Field names follow the certificate of NIST SP 800-88 (Rev. 1 §4.8 and Appendix G, which Rev. 2
keeps asking for as "a certificate per sanitized item"), with what Rev. 2 adds: the method's
standard (Rev. 2 level, IEEE 2883-2022 technique and interface command) and the sanitization
validation done. A device without a serial is identified by its path, udev names, size and
backing file, in a host identified by its DMI serial and UUID, hostname and machine-id hash.
Everything comes from the `sanitize.erase/1` result (read as the typed `EraseResult`), the
operator config and the inventory's artifact summary (counts and bytes per category only:
artifact content, names or paths never reach a certificate). `result_sha256` is the digest of
the result document as handed in.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sanitize import TOOL_NAME, tool_identity
from sanitize.certify.canonical import canonical_bytes, sha256_hex
from sanitize.certify.config import CertConfig, Person
from sanitize.enums import Outcome, Status
from sanitize.erase.result import CommandRecord, EraseResult, Verification
from sanitize.errors import BadInput, Refused
from sanitize.purge.levels import standard_of, technique_of

CERT_SCHEMA = "sanitize.certificate/1"
FAILURE_SCHEMA = "sanitize.failure-report/1"
CERT_TITLE = "Certificate of Sanitization"
FAILURE_TITLE = "FAILURE REPORT — NOT A CERTIFICATE OF SANITIZATION"
DOCUMENT_SCHEMAS = (CERT_SCHEMA, FAILURE_SCHEMA)

# Human names of the erase engine's methods, and the NIST "Method Used" family each belongs to.
METHOD_LABELS: dict[str, tuple[str, str]] = {
    "overwrite": ("Overwrite (host writes)", "Overwrite"),
    "nvme-sanitize-crypto": ("NVMe Sanitize, Crypto Erase", "Cryptographic Erase"),
    "nvme-sanitize-block": ("NVMe Sanitize, Block Erase", "Block Erase"),
    "nvme-sanitize-overwrite": ("NVMe Sanitize, Overwrite", "Overwrite (device firmware)"),
    "nvme-format-crypto": ("NVMe Format, Cryptographic Erase (SES=2)", "Cryptographic Erase"),
    "nvme-format-user": ("NVMe Format, User Data Erase (SES=1)", "Format (user data erase)"),
    "ata-sanitize-crypto": ("ATA Sanitize, Crypto Scramble", "Cryptographic Erase"),
    "ata-sanitize-block": ("ATA Sanitize, Block Erase", "Block Erase"),
    "ata-sanitize-overwrite": ("ATA Sanitize, Overwrite", "Overwrite (device firmware)"),
    "ata-secure-erase": ("ATA Security Erase Unit", "Secure Erase"),
    "ata-secure-erase-enhanced": ("ATA Enhanced Security Erase Unit", "Secure Erase (enhanced)"),
    "scsi-sanitize-crypto": ("SCSI Sanitize, Cryptographic Erase", "Cryptographic Erase"),
    "scsi-sanitize-block": ("SCSI Sanitize, Block Erase", "Block Erase"),
    "scsi-sanitize-overwrite": ("SCSI Sanitize, Overwrite", "Overwrite (device firmware)"),
    "luks-crypto-erase": ("LUKS key-slot destruction (crypto erase)", "Cryptographic Erase"),
    "tcg-psid-revert": ("TCG PSID Revert (media encryption key replaced)", "Cryptographic Erase"),
}

_MAX_LISTED_ERRORS = 50  # a failure report lists the first bad ranges; the count says how many more


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, (method, method))[0]


def method_family(method: str) -> str:
    return METHOD_LABELS.get(method, (method, method))[1]


ResultInput = EraseResult | Mapping[str, Any]


def read_result(result: ResultInput, source: str = "result") -> tuple[EraseResult, dict[str, Any]]:
    """The typed result and the document it is (for its digest); BadInput for a malformed one."""
    if isinstance(result, EraseResult):
        return result, result.to_dict()
    return EraseResult.from_dict(result, source), dict(result)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# Model-number prefixes of makers whose disks Linux reports with vendor "ATA" (or none).
_MAKER_PREFIXES = (
    ("ST", "Seagate"),
    ("WDC", "Western Digital"),
    ("WD", "Western Digital"),
    ("HGST", "HGST"),
    ("HUS", "HGST"),
    ("TOSHIBA", "Toshiba"),
    ("SAMSUNG", "Samsung"),
    ("INTEL", "Intel"),
    ("MICRON", "Micron"),
    ("MTFD", "Micron"),
    ("CT", "Crucial"),
    ("KINGSTON", "Kingston"),
    ("SAMSUNG", "Samsung"),
)


def _manufacturer(device: Mapping[str, Any]) -> str | None:
    vendor = (device.get("vendor") or "").strip()
    # Linux reports "ATA" as the vendor of every SATA disk; the model then names the maker.
    if vendor and vendor.upper() not in ("ATA", "NVME"):
        return vendor
    model = (device.get("model") or "").strip().upper()
    for prefix, maker in _MAKER_PREFIXES:
        if model.startswith(prefix):
            return maker
    return None


def _device(device: Mapping[str, Any], config: CertConfig) -> dict[str, Any]:
    serial = device.get("serial")
    links = [str(x) for x in device.get("links") or [] if isinstance(x, str)]
    return {
        "manufacturer": _manufacturer(device),
        "vendor": device.get("vendor"),
        "model": device.get("model"),
        "serial": serial,
        "wwn": device.get("wwn"),
        "firmware": device.get("firmware"),
        "size_bytes": device.get("size_bytes"),
        "logical_sector_size": device.get("logical_sector_size"),
        "physical_sector_size": device.get("physical_sector_size"),
        "media_type": device.get("media_type"),
        "interface": device.get("transport"),
        "device_type": device.get("type"),
        "path": device.get("path"),
        "name": device.get("name"),
        "links": links,
        "backing_file": device.get("backing_file"),
        "identified_by": identified_by(device, links),
        "property_number": config.property_number_for(device, links),
    }


def identified_by(device: Mapping[str, Any], links: list[str]) -> str:
    """How a person finds this physical device: its serial, else what names it on this host."""
    if device.get("serial"):
        return f"serial number {device['serial']}"
    parts = [f"device path {device.get('path')}"]
    if device.get("backing_file"):
        parts.append(f"loop device backed by the file {device['backing_file']}")
    if device.get("wwn"):
        parts.append(f"WWN {device['wwn']}")
    parts += links
    return "no serial number reported; " + ", ".join(parts) + ", in the host named below"


def _media_source(host: Mapping[str, Any]) -> dict[str, Any]:
    machine_id = host.get("machine_id")
    return {
        "hostname": host.get("hostname"),
        "machine_id": machine_id,
        "machine_id_sha256": sha256_hex(str(machine_id).encode()) if machine_id else None,
        "system_vendor": host.get("system_vendor"),
        "product_name": host.get("product_name"),
        "product_serial": host.get("product_serial"),
        "product_uuid": host.get("product_uuid"),
        "chassis_asset_tag": host.get("chassis_asset_tag"),
        "board_serial": host.get("board_serial"),
    }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def summarize_artifacts(summary: Any) -> dict[str, Any] | None:
    """Reduce an inventory summary to per-category counts and bytes.

    Accepts `{category: {count, bytes}}`, `{"categories": {...}, "volumes": [...]}` or a list of
    findings with `category` and `size`. Any other key (names, paths, previews) is dropped on
    purpose. `volumes` says which volumes were scanned and which could not be (encrypted, ...),
    so that "none found" is never said of a volume nobody could read.
    """
    if summary is None:
        return None
    categories: dict[str, dict[str, int]] = {}
    volumes = _volumes(summary.get("volumes")) if isinstance(summary, dict) else None
    if isinstance(summary, dict) and isinstance(summary.get("categories"), dict):
        summary = summary["categories"]
    if isinstance(summary, dict):
        for name, value in summary.items():
            if isinstance(value, dict):
                categories[str(name)] = {"count": _count(value.get("count")), "bytes": _count(value.get("bytes"))}
            elif isinstance(value, int):
                categories[str(name)] = {"count": _count(value), "bytes": 0}
    elif isinstance(summary, list):
        for item in summary:
            if isinstance(item, dict) and isinstance(item.get("category"), str):
                slot = categories.setdefault(item["category"], {"count": 0, "bytes": 0})
                slot["count"] += 1
                slot["bytes"] += _count(item.get("size", item.get("bytes")))
    else:
        raise BadInput("artifact summary must be an object or a list of findings")
    out: dict[str, Any] = {
        "categories": dict(sorted(categories.items())),
        "total_count": sum(c["count"] for c in categories.values()),
        "total_bytes": sum(c["bytes"] for c in categories.values()),
    }
    if volumes is not None:
        out["volumes"] = volumes
    return out


VOLUME_STATES = ("scanned", "encrypted", "not-scanned", "member")  # member: of LVM/RAID, read on what is built on it


def _volumes(volumes: Any) -> list[dict[str, Any]] | None:
    """Per volume: its device, filesystem and whether its files were read (never a path inside it)."""
    if not isinstance(volumes, list):
        return None
    out = []
    for vol in volumes:
        if not isinstance(vol, dict) or not isinstance(vol.get("device"), str):
            continue
        state = vol.get("state") if vol.get("state") in VOLUME_STATES else "not-scanned"
        out.append(
            {
                "device": vol["device"],
                "fstype": str(vol["fstype"]) if vol.get("fstype") else None,
                "state": state,
                "why": str(vol["why"]) if vol.get("why") else None,
                "files_seen": _count(vol.get("files_seen")),
            }
        )
    return out


def _verification(verification: Verification) -> dict[str, Any]:
    out: dict[str, Any] = {
        "method": verification.method,
        "coverage": verification.coverage,
        "bytes_checked": verification.bytes_checked,
        "outcome": verification.outcome,
        "mismatches": verification.mismatches,
    }
    if verification.text is not None:
        out["details"] = verification.text
    carve = verification.carve_hits
    if isinstance(carve, int):
        out["carve_hits"] = carve
    elif isinstance(carve, dict):  # per category counts only
        out["carve_hits"] = {str(k): _count(v) for k, v in carve.items()}
    return out


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _validation(result: EraseResult) -> dict[str, Any]:
    """What NIST SP 800-88 Rev. 2 asks a record of: the technique completed, and the data is gone.

    `technique_completed` is the device's own evidence (sanitize log, IDENTIFY, key slots) or, for
    host writes, that every sector was written; `read_back` the comparison read afterwards;
    `carve_check` the search of the erased device for anything the artifact scanner recognises.
    """
    ver = result.verification
    details = ver.details
    completed: str | None
    if result.method == "overwrite":
        completed = (
            f"every user-addressable sector written by the host ({result.bytes_written:,} bytes), no write error"
            if not result.errors
            else f"{len(result.errors)} range(s) could not be written"
        )
    else:
        status = details.get("device_status") or details.get("luks")
        completed = status if isinstance(status, str) else None
        if isinstance(status, dict):  # LUKS chained with another method
            completed = str(status.get("luks")) if status.get("luks") else None
    read_back: dict[str, Any] = {
        "method": ver.method,
        "coverage": ver.coverage,
        "bytes_checked": ver.bytes_checked,
        "mismatches": ver.mismatches,
        "outcome": ver.outcome,
    }
    for key in ("subsections", "locations", "samples", "informative_samples", "unchanged_samples", "approach"):
        if isinstance(details.get(key), int | str) and not isinstance(details.get(key), bool):
            read_back[key] = details[key]
    if ver.text is not None:
        read_back["approach"] = ver.text
    carve = details.get("carve")
    carve_check = None
    if isinstance(carve, dict):
        kinds = carve.get("kinds")
        carve_check = {
            "coverage": _number(carve.get("coverage")),
            "bytes_read": _number(carve.get("bytes_read")),
            "hits": _number(carve.get("hits")),
            "kinds": {str(k): _count(v) for k, v in kinds.items()} if isinstance(kinds, dict) else {},
        }
    elif isinstance(ver.carve_hits, int):
        carve_check = {"coverage": None, "bytes_read": None, "hits": ver.carve_hits, "kinds": {}}
    return {"technique_completed": completed, "read_back": read_back, "carve_check": carve_check}


def _commands(commands: list[CommandRecord]) -> list[dict[str, Any]]:
    return [{"argv": list(c.argv), "returncode": c.returncode, "seconds": c.seconds} for c in commands]


def _method_description(result: EraseResult, commands: list[dict[str, Any]]) -> str:
    """What was done, in words, counted from the execution record (never from the method's name)."""
    passes = result.passes
    size = _number(result.device.get("size_bytes"))
    of_total = f" of {int(size * passes):,}" if size and passes else ""
    pattern = result.pattern or "unknown"
    if result.pattern_cipher:  # recorded since the cipher could change (older results: AES-256-CTR)
        pattern += f" ({result.pattern_cipher} keystream, a new random key per pass)"
    host_writes = (
        f"{passes} overwrite pass(es), pattern {pattern}, written by sanitize itself "
        f"({result.bytes_written:,}{of_total} bytes written)"
    )
    if result.method == "overwrite":
        parts = [host_writes]
    elif result.method == "luks-crypto-erase":
        parts = ["LUKS key slots destroyed with cryptsetup erase, then the header area overwritten with random data"]
        if passes:
            parts.append(f"then {host_writes}")
    else:
        tech = technique_of(result.method)
        parts = [f"the device's own command: {tech.interface_command if tech else result.method}"]
        if passes:
            parts.append(host_writes)
    names = sorted({str(c["argv"][0]) for c in commands if c["argv"]})
    run = f"{len(commands)} external command(s) run ({', '.join(names)})" if commands else "no external command run"
    return "; ".join([*parts, run])


def build_document(
    result: ResultInput,
    *,
    config: CertConfig | None = None,
    operator: Person | None = None,
    artifacts_before: Any = None,
    certificate_id: str | None = None,
    issued_at: str | None = None,
) -> dict[str, Any]:
    """A certificate for a verified+passed result, else a failure report (never the other way round).

    `unverified` (the operator skipped verification) also gets a failure report: NIST SP 800-88
    requires verification before media is certified.
    """
    typed, document = read_result(result)
    if typed.certifiable:
        return _build(typed, document, CERT_SCHEMA, config, operator, artifacts_before, certificate_id, issued_at)
    if typed.status == Status.VERIFIED:
        outcome = typed.verification.outcome
        raise Refused(f"result {typed.id} says verified but its verification outcome is {str(outcome)!r}")
    return _build(typed, document, FAILURE_SCHEMA, config, operator, artifacts_before, certificate_id, issued_at)


def build_certificate(
    result: ResultInput,
    *,
    config: CertConfig | None = None,
    operator: Person | None = None,
    artifacts_before: Any = None,
    certificate_id: str | None = None,
    issued_at: str | None = None,
) -> dict[str, Any]:
    typed, document = read_result(result)
    if not typed.certifiable:
        outcome = typed.verification.outcome
        raise Refused(
            f"no certificate for result {typed.id}: status {str(typed.status)!r}, verification {str(outcome)!r}",
            hint="only verified results with a passed verification are certified",
        )
    return _build(typed, document, CERT_SCHEMA, config, operator, artifacts_before, certificate_id, issued_at)


def _build(
    result: EraseResult,
    document: dict[str, Any],
    schema: str,
    config: CertConfig | None,
    operator: Person | None,
    artifacts_before: Any,
    certificate_id: str | None,
    issued_at: str | None,
) -> dict[str, Any]:
    config = config or CertConfig()
    performer = operator if operator is not None else config.operator
    tool = result.tool or {}
    erase_tool = {"name": tool.get("name") or TOOL_NAME, "version": tool.get("version")}
    commands = _commands(result.commands)
    doc: dict[str, Any] = {
        "schema": schema,
        "title": CERT_TITLE if schema == CERT_SCHEMA else FAILURE_TITLE,
        "certificate_id": certificate_id or str(uuid.uuid4()),
        "issued_at": issued_at or _now(),
        "tool": tool_identity(),
        "status": result.status,
        "device": _device(result.device, config),
        "media_source": _media_source(result.host),
        "pre_sanitization_confidentiality": config.pre_sanitization_confidentiality,
        "artifacts_before": summarize_artifacts(artifacts_before),
        "sanitization": {
            "nist_level": result.nist_level,
            "method": result.method,
            "method_label": method_label(result.method),
            "method_family": method_family(result.method),
            "standard": standard_of(result.method, result.nist_level),
            "method_details": {
                "passes": result.passes,
                "pattern": result.pattern,
                **({"pattern_cipher": result.pattern_cipher} if result.pattern_cipher else {}),
                "bytes_written": result.bytes_written,
                "commands": commands,
                "commands_run": len(commands),
                "description": _method_description(result, commands),
            },
            "tool": erase_tool,
        },
        "verification": _verification(result.verification),
        "validation": _validation(result),
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "post_sanitization_destination": config.post_sanitization_destination,
        "performed_by": performer.to_dict(),
        "validated_by": {**config.validator.to_dict(), "date": None},
        "notes": list(result.notes),
        "result_id": result.id,
        "result_sha256": sha256_hex(canonical_bytes(document)),
    }
    if schema == FAILURE_SCHEMA:
        doc["errors"] = [e.to_dict() for e in result.errors[:_MAX_LISTED_ERRORS]]
        doc["errors_total"] = len(result.errors)
        # How far the run got and what stopped it, exactly as the erase recorded them.
        doc["failure"] = result.failure.to_dict() if result.failure is not None else None
        doc["phases"] = {name: {"status": str(e.status), "detail": e.detail} for name, e in result.phases.items()}
    return doc


def check_document(doc: Any, source: str) -> dict[str, Any]:
    """A signed document read back from disk: the right schema and the fields verify relies on."""
    if not isinstance(doc, dict) or doc.get("schema") not in DOCUMENT_SCHEMAS:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise BadInput(f"{source}: schema is {found!r}, expected one of {', '.join(DOCUMENT_SCHEMAS)}")
    for name in ("certificate_id", "device", "sanitization", "verification", "status"):
        if name not in doc:
            raise BadInput(f"{source}: field {name!r} is missing")
    verification = doc.get("verification")
    outcome = verification.get("outcome") if isinstance(verification, dict) else None
    if doc["schema"] == CERT_SCHEMA and not (doc.get("status") == Status.VERIFIED and outcome == Outcome.PASSED):
        raise BadInput(f"{source}: a certificate for a result that was not verified and passed")
    return doc


def kind_of(doc: dict[str, Any]) -> str:
    return "certificate" if doc.get("schema") == CERT_SCHEMA else "failure-report"
