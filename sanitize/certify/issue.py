"""Issue signed documents: the API the CLI and the decommission workflow call.

`issue_for_result` turns one `sanitize.erase/1` result into a signed certificate (or failure
report), writes `<name>.json`, `.json.sig`, `.pdf` and `signer.pem` to the output directory and
appends it to the archive. `issue_host_summary` writes one signed summary PDF per host run and
appends it to the archive as well (kind `host-summary`, keyed by its `summary_id`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sanitize.certify import pdf
from sanitize.certify.archive import Archive
from sanitize.certify.canonical import canonical_bytes, sha256_hex
from sanitize.certify.config import CertConfig, Person, load_config
from sanitize.certify.document import ResultInput, build_document, identified_by, kind_of, read_result
from sanitize.certify.keys import Signer, load_signer
from sanitize.certify.plausible import check_plausible
from sanitize.certify.signing import sign
from sanitize.erase.record import check_recorded, issued_for, issuing, mark_issued
from sanitize.erase.result import EraseResult
from sanitize.errors import Refused
from sanitize.outputs import make_output_dir
from sanitize.state import StateDir, write_private

SUMMARY_SCHEMA = "sanitize.host-summary/1"


@dataclass(frozen=True)
class IssuedDocument:
    kind: str  # "certificate" or "failure-report"
    certificate_id: str
    result_id: str
    json_path: str
    sig_path: str
    pdf_path: str
    signer_path: str
    archive_index: int
    json_sha256: str
    document: dict[str, Any]
    archive_head: dict[str, Any] | None = None  # {"size", "root"} of the signed head after the append

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "certificate_id": self.certificate_id,
            "result_id": self.result_id,
            "json": self.json_path,
            "signature": self.sig_path,
            "pdf": self.pdf_path,
            "signer": self.signer_path,
            "archive_index": self.archive_index,
            "json_sha256": self.json_sha256,
            "archive_head": self.archive_head,
        }


def _safe(value: Any) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", str(value or "unknown")).strip("._")
    return cleaned[:48] or "unknown"


def _output_dir(state: StateDir, output_dir: str | None) -> str:
    if output_dir is None:
        return state.sub("certificates")
    return make_output_dir(output_dir)


def _write_signer(directory: str, signer: Signer) -> str:
    path = os.path.join(directory, "signer.pem")
    write_private(path, signer.chain_pem())
    return path


def issue_for_result(
    result: ResultInput,
    *,
    state: StateDir,
    operator: Person | None = None,
    artifacts_before: dict[str, Any] | list[Any] | None = None,
    output_dir: str | None = None,
    config: CertConfig | None = None,
    signer: Signer | None = None,
) -> IssuedDocument:
    """Certificate for a verified+passed result, failure report for failed/interrupted; Refused otherwise.

    Only a result the erase engine recorded in `state` (unchanged since), plausible, and not
    issued before is accepted; see sanitize.erase.record and sanitize.certify.plausible.
    """
    config = config if config is not None else load_config(state)
    signer = signer or load_signer(state)
    typed, document = read_result(result)
    doc = build_document(document, config=config, operator=operator, artifacts_before=artifacts_before)
    check_recorded(state, document)
    if kind_of(doc) == "certificate":
        check_plausible(typed)
    with issuing(state):
        first = issued_for(state, document)
        if first is not None:
            raise Refused(
                f"result {typed.id} was already issued: {first.get('kind')} {first.get('certificate_id')} "
                f"(archive entry {first.get('archive_index')}, {first.get('pdf')})",
                hint="one document per result; check that one with `sanitize cert verify`",
            )
        issued = _sign_and_store(typed, doc, state=state, output_dir=output_dir, signer=signer)
        mark_issued(
            state,
            document,
            {
                "kind": issued.kind,
                "certificate_id": issued.certificate_id,
                "archive_index": issued.archive_index,
                "issued_at": doc["issued_at"],
                "json": issued.json_path,
                "pdf": issued.pdf_path,
            },
        )
    return issued


def _sign_and_store(
    result: EraseResult, doc: dict[str, Any], *, state: StateDir, output_dir: str | None, signer: Signer
) -> IssuedDocument:
    json_bytes = canonical_bytes(doc)
    signature = sign(signer, json_bytes)
    pdf_bytes = pdf.document_pdf(doc, json_bytes, signature, signer)
    kind = kind_of(doc)
    cid = doc["certificate_id"]
    directory = _output_dir(state, output_dir)
    # Devices without a serial (loop, some virtual disks) are named by kernel name, as the
    # confirmation prompt names them.
    label = doc["device"].get("serial") or result.device.get("name")
    base = os.path.join(directory, f"{kind}-{_safe(label)}-{cid[:8]}")
    write_private(f"{base}.json", json_bytes)
    write_private(f"{base}.json.sig", signature)
    write_private(f"{base}.pdf", pdf_bytes)
    signer_path = _write_signer(directory, signer)
    archive = Archive.of(state)
    index = archive.append(
        signer,
        kind=kind,
        certificate_id=cid,
        issued_at=doc["issued_at"],
        json_bytes=json_bytes,
        signature=signature,
        pdf_bytes=pdf_bytes,
    )
    return IssuedDocument(
        kind=kind,
        certificate_id=cid,
        result_id=result.id,
        json_path=f"{base}.json",
        sig_path=f"{base}.json.sig",
        pdf_path=f"{base}.pdf",
        signer_path=signer_path,
        archive_index=index,
        json_sha256=sha256_hex(json_bytes),
        document=doc,
        archive_head=archive.head_anchor(),
    )


def _summary_identity(dev: dict[str, Any]) -> dict[str, Any]:
    """What tells one row from another: the path and size, and the serial or what stands for it."""
    links = [str(x) for x in dev.get("links") or [] if isinstance(x, str)]
    return {
        "path": dev.get("path"),
        "name": dev.get("name"),
        "serial": dev.get("serial"),
        "model": dev.get("model"),
        "size_bytes": dev.get("size_bytes"),
        "backing_file": dev.get("backing_file"),
        "links": links,
        "identified_by": identified_by(dev, links),
    }


def build_summary(
    results: Sequence[ResultInput],
    issued: list[IssuedDocument] | None,
    not_sanitized: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every device of the run: each result with its document, and each device left out with why.

    `not_sanitized`: `{"device": {...identity fields...}, "why": str, "advice": str}` per device
    the run did not sanitize (protected, read-only, refused), so the summary lists the whole host.
    """
    by_result = {d.result_id: d for d in issued or []}
    devices = []
    host: dict[str, Any] = {}
    for given in results:
        result, _ = read_result(given)
        host = host or dict(result.host)
        doc = by_result.get(result.id)
        devices.append(
            {
                **_summary_identity(result.device),
                "method": pdf.text(doc.document["sanitization"]["method_label"]) if doc else result.method,
                "nist_level": result.nist_level,
                "outcome": result.status,
                "kind": doc.kind if doc else "none",
                "certificate_id": doc.certificate_id if doc else None,
                "json_sha256": doc.json_sha256 if doc else None,
                "result_id": result.id,
            }
        )
    for item in not_sanitized or []:
        devices.append(
            {
                **_summary_identity(item.get("device") or {}),
                "method": None,
                "nist_level": None,
                "outcome": "not-sanitized",
                "kind": "none",
                "certificate_id": None,
                "json_sha256": None,
                "result_id": None,
                "why": item.get("why"),
                "advice": item.get("advice"),
            }
        )
    if host.get("machine_id"):
        host["machine_id_sha256"] = sha256_hex(str(host["machine_id"]).encode())
    return {
        "schema": SUMMARY_SCHEMA,
        "summary_id": str(uuid.uuid4()),
        "issued_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "host": host,
        "devices": devices,
    }


def issue_host_summary(
    results: Sequence[ResultInput],
    *,
    state: StateDir,
    issued: list[IssuedDocument] | None = None,
    output_dir: str | None = None,
    signer: Signer | None = None,
    not_sanitized: list[dict[str, Any]] | None = None,
) -> str:
    """One signed summary PDF for a host run (the summary JSON and its signature attached)."""
    signer = signer or load_signer(state)
    summary = build_summary(results, issued, not_sanitized)
    json_bytes = canonical_bytes(summary)
    signature = sign(signer, json_bytes)
    pdf_bytes = pdf.summary_pdf(summary, json_bytes, signature, signer)
    directory = _output_dir(state, output_dir)
    path = os.path.join(directory, f"summary-{_safe(summary['host'].get('hostname'))}-{summary['summary_id'][:8]}.pdf")
    write_private(path, pdf_bytes)
    _write_signer(directory, signer)
    Archive.of(state).append(
        signer,
        kind="host-summary",
        certificate_id=summary["summary_id"],
        issued_at=summary["issued_at"],
        json_bytes=json_bytes,
        signature=signature,
        pdf_bytes=pdf_bytes,
    )
    return path
