"""Build `sanitize.certificate/1` and `sanitize.failure-report/1` documents from an erase result.

Field names follow NIST SP 800-88 Rev. 1 §4.8 / Appendix G. Everything comes from the
`sanitize.erase/1` result (read as the typed `EraseResult`), the operator config and the
inventory's artifact summary (counts and bytes per category only: artifact content, names or
paths never reach a certificate). `result_sha256` is the digest of the result document as
handed in.
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
    return {
        "manufacturer": _manufacturer(device),
        "vendor": device.get("vendor"),
        "model": device.get("model"),
        "serial": serial,
        "wwn": device.get("wwn"),
        "firmware": device.get("firmware"),
        "size_bytes": device.get("size_bytes"),
        "logical_sector_size": device.get("logical_sector_size"),
        "media_type": device.get("media_type"),
        "interface": device.get("transport"),
        "device_type": device.get("type"),
        "path": device.get("path"),
        "property_number": config.property_numbers.get(str(serial)) if serial else None,
    }


def _media_source(host: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "hostname": host.get("hostname"),
        "machine_id": host.get("machine_id"),
        "system_vendor": host.get("system_vendor"),
        "product_name": host.get("product_name"),
        "product_serial": host.get("product_serial"),
        "product_uuid": host.get("product_uuid"),
        "chassis_asset_tag": host.get("chassis_asset_tag"),
    }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def summarize_artifacts(summary: Any) -> dict[str, Any] | None:
    """Reduce an inventory summary to per-category counts and bytes.

    Accepts `{category: {count, bytes}}`, `{"categories": {...}}` or a list of findings with
    `category` and `size`. Any other key (names, paths, previews) is dropped on purpose.
    """
    if summary is None:
        return None
    categories: dict[str, dict[str, int]] = {}
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
    return {
        "categories": dict(sorted(categories.items())),
        "total_count": sum(c["count"] for c in categories.values()),
        "total_bytes": sum(c["bytes"] for c in categories.values()),
    }


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


def _commands(commands: list[CommandRecord]) -> list[dict[str, Any]]:
    return [{"argv": list(c.argv), "returncode": c.returncode, "seconds": c.seconds} for c in commands]


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
            "method_details": {
                "passes": result.passes,
                "pattern": result.pattern,
                "bytes_written": result.bytes_written,
                "commands": _commands(result.commands),
            },
            "tool": erase_tool,
        },
        "verification": _verification(result.verification),
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
