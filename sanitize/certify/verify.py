"""Verify a certificate or failure report (JSON + detached signature, or signed PDF).

Every check raises `VerificationError` with one line naming what failed; a file that is not a
certificate at all raises `BadInput`. `verify_file` returns only when everything holds.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from sanitize.certify import pdf as pdfrender
from sanitize.certify import pdftext, qr
from sanitize.certify.archive import Archive, archive_dir, fp_hex
from sanitize.certify.canonical import canonical_bytes, parse_json_bytes, sha256_hex
from sanitize.certify.document import check_document, kind_of
from sanitize.certify.issue import SUMMARY_SCHEMA
from sanitize.certify.keys import fingerprint, load_certs, load_signer_cert
from sanitize.certify.signing import signature_valid
from sanitize.errors import BadInput, SanitizeError, VerificationError
from sanitize.inputs import read_input
from sanitize.state import StateDir

NOT_TRUSTED = "signature valid but signer not trusted — pass --trust CERT.pem"


@dataclass
class Verified:
    path: str
    kind: str
    schema: str
    certificate_id: str | None
    json_sha256: str
    signer_fingerprint: str
    checks: list[str] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)
    countersigned_by: list[dict[str, Any]] = field(default_factory=list)
    signer: x509.Certificate | None = None  # the certificate whose key signed it (not in the JSON verdict)

    @classmethod
    def of(
        cls, path: str, doc: dict[str, Any], json_bytes: bytes, signer: x509.Certificate, checks: list[str]
    ) -> Verified:
        """The verdict for a signed document whose checks all held."""
        return cls(
            path=path,
            kind=kind_of(doc),
            schema=doc["schema"],
            certificate_id=doc["certificate_id"],
            json_sha256=sha256_hex(json_bytes),
            signer_fingerprint=fingerprint(signer),
            checks=checks,
            document=doc,
            signer=signer,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "sanitize.cert-verify/1",
            "file": self.path,
            "valid": True,
            "kind": self.kind,
            "document_schema": self.schema,
            "certificate_id": self.certificate_id,
            "json_sha256": self.json_sha256,
            "signer_fingerprint": self.signer_fingerprint,
            "checks": self.checks,
            "countersigned_by": self.countersigned_by,
        }


@dataclass
class Trust:
    """Which signer certificates this verification accepts."""

    certs: list[x509.Certificate]
    explicit: bool  # from --trust (else: this installation's own signer and its earlier keys)

    def accepts(self, cert: x509.Certificate) -> bool:
        for anchor in self.certs:
            if anchor == cert:
                return True
            try:  # an organisation CA given with --trust: accept leaves it issued directly
                cert.verify_directly_issued_by(anchor)
                return True
            except (ValueError, TypeError, InvalidSignature):
                continue
        return False


def resolve_trust(state: StateDir, trust_path: str | None, archive_path: str | None) -> Trust:
    if trust_path:
        return Trust(load_certs(read_input(trust_path, "certificate"), trust_path), explicit=True)
    certs: list[x509.Certificate] = []
    own = load_signer_cert(state)
    if own is not None:
        certs.append(own)
        # Earlier keys of this installation (rotated with `keys init --force`) signed older entries.
        signers_dir = os.path.join(archive_path or archive_dir(state), "signers")
        if archive_path is None:
            state.sub("archive", "signers", create=False)  # trusted only if nobody else could add to it
        if os.path.isdir(signers_dir) and archive_path is None:
            for name in sorted(os.listdir(signers_dir)):
                certs.extend(load_certs(read_input(os.path.join(signers_dir, name), "certificate"), name)[:1])
    return Trust(certs, explicit=False)


def _sibling_certs(path: str) -> list[x509.Certificate]:
    candidate = os.path.join(os.path.dirname(os.path.abspath(path)), "signer.pem")
    if not os.path.isfile(candidate):
        return []
    try:
        return load_certs(read_input(candidate), candidate)
    except BadInput:
        return []


def _check_signature(
    data: bytes, signature: bytes, candidates: list[x509.Certificate], trust: Trust, what: str
) -> x509.Certificate:
    """The trusted certificate whose key made `signature`; else a one-line VerificationError."""
    for cert in [*trust.certs, *candidates]:
        if signature_valid(cert, data, signature):
            if trust.accepts(cert):
                return cert
            if trust.certs:
                raise VerificationError(
                    f"{what}: signed by another key (fingerprint {fingerprint(cert)}), not the trusted signer"
                )
            raise VerificationError(f"{what}: {NOT_TRUSTED}")
    raise VerificationError(f"{what}: signature does not verify (document or signature altered)")


def _load_document(data: bytes, what: str) -> dict[str, Any]:
    doc = check_document(parse_json_bytes(data, what=what), what)
    if canonical_bytes(doc) != data:
        raise VerificationError(f"{what}: not in canonical form (edited after signing)")
    return doc


def _check_archive(result: Verified, archive_path: str | None, state: StateDir, trust: Trust) -> None:
    archive = Archive(archive_path) if archive_path else Archive.of(state)
    if not archive.exists():
        if archive_path:
            raise BadInput(f"{archive_path}: no archive there (log.jsonl / head.json)")
        result.checks.append("archive not at hand (not checked)")
        return
    label = f"{'host summary' if result.kind == 'host-summary' else 'certificate'} {result.certificate_id}"
    entry = archive.find(str(result.certificate_id))
    if entry is None:
        raise VerificationError(f"{label} is not in the archive at {archive.path}")
    if entry.get("sha256") != result.json_sha256:
        raise VerificationError(f"{label} differs from its archived copy")
    report = archive.verify(trust.certs[0] if trust.certs else None)
    if not report.ok:
        raise VerificationError(f"archive at {archive.path} does not verify: {report.problems[0]}")
    result.checks.append(f"in the archive as entry {entry.get('index')}, archive intact")


def verify_json(path: str, data: bytes, trust: Trust) -> Verified:
    summary = _is_summary(data)
    doc = None if summary else _load_document(data, path)
    signature = _read_optional(f"{path}.sig")
    if signature is None:
        raise VerificationError(f"{path}: no detached signature {os.path.basename(path)}.sig next to it")
    cert = _check_signature(data, signature, _sibling_certs(path), trust, path)
    checks = ["JSON signature valid", f"signer trusted ({fingerprint(cert)})"]
    if summary:
        return _summary_verified(path, data, cert, checks)
    assert doc is not None
    return Verified.of(path, doc, data, cert, checks)


def _is_summary(data: bytes) -> bool:
    """Whether a JSON file claims to be a host summary (checked properly by _summary_verified)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return False  # reported by the certificate path, with its own message
    return isinstance(doc, dict) and doc.get("schema") == SUMMARY_SCHEMA


def _read_optional(path: str) -> bytes | None:
    return read_input(path) if os.path.exists(path) else None


# --- PDF ----------------------------------------------------------------------------------
def _open_pdf(path: str, data: bytes) -> Any:
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not data.startswith(b"%PDF-"):
        raise BadInput(f"{path}: not a PDF or JSON file")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        reader.root["/Pages"]
        return reader
    # pyHanko raises many types on damage: PdfError, KeyError, ... and decimal's InvalidOperation for "/Count .".
    except Exception as exc:
        raise BadInput(f"{path}: malformed or truncated PDF ({type(exc).__name__})") from None


def _attachments(reader: Any) -> dict[str, bytes]:
    try:
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        return {str(names[i]): names[i + 1]["/EF"]["/F"].data for i in range(0, len(names), 2)}
    except Exception:  # damaged names or streams (any type pyHanko or zlib raise): no attachment to trust
        return {}


def _der_length(der: bytes) -> int:
    """Length of the outer DER SEQUENCE (header included)."""
    if len(der) < 2 or der[0] != 0x30:
        raise ValueError("not a DER sequence")
    if der[1] < 0x80:
        return 2 + der[1]
    n = der[1] & 0x7F
    if not 1 <= n <= 4 or len(der) < 2 + n:
        raise ValueError("bad DER length")
    return 2 + n + int.from_bytes(der[2 : 2 + n], "big")


def _check_signature_gap(path: str, data: bytes, sig: Any) -> None:
    """The unsigned gap of /ByteRange must hold exactly our DER signature, upper-case hex, zero padded.

    The PDF signature cannot cover its own /Contents, and a CMS parser ignores bytes after the
    DER; without this check a changed padding byte or hex letter case would go unnoticed.
    """
    try:
        byte_range = [int(v) for v in sig.sig_object["/ByteRange"]]
        contents = bytes(sig.sig_object["/Contents"])
        used = _der_length(contents)
    except (KeyError, TypeError, ValueError, IndexError):
        raise VerificationError(f"{path}: PDF signature container damaged") from None
    gap = data[byte_range[1] : byte_range[2]]
    if gap != b"<" + contents.hex().upper().encode() + b">" or contents[used:].strip(b"\x00"):
        raise VerificationError(f"{path}: PDF signature container altered (bytes outside the signature changed)")


def _check_pdf_signature(path: str, data: bytes, reader: Any, trust: Trust) -> x509.Certificate:
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    sigs = reader.embedded_signatures
    if len(sigs) != 1:
        raise VerificationError(f"{path}: expected one PDF signature, found {len(sigs)}")
    sig = sigs[0]
    _check_signature_gap(path, data, sig)
    try:
        signer = x509.load_der_x509_certificate(sig.signer_cert.dump())
        roots = [_asn1(c) for c in trust.certs] or [sig.signer_cert]
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=roots, allow_fetching=False))
    except Exception as exc:  # pyHanko raises many types for a damaged signature; all mean "not verified"
        raise VerificationError(f"{path}: PDF signature cannot be validated ({type(exc).__name__})") from None
    if not status.intact or not status.valid:
        raise VerificationError(f"{path}: PDF signature does not verify (document altered after signing)")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        raise VerificationError(f"{path}: PDF signature does not cover the whole file (content added after signing)")
    if not trust.accepts(signer):
        if trust.certs:
            raise VerificationError(f"{path}: PDF signed by another key (fingerprint {fingerprint(signer)})")
        raise VerificationError(f"{path}: PDF {NOT_TRUSTED}")
    return signer


def _asn1(cert: x509.Certificate) -> Any:
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _page_checks(path: str, reader: Any, doc: dict[str, Any], json_bytes: bytes) -> None:
    """The page must show what the embedded JSON says, and the QR must carry its ID and hash."""
    try:
        page = reader.root["/Pages"]["/Kids"][0]
        contents = page["/Contents"]
        streams = contents if isinstance(contents, list) else [contents]
        text = pdftext.page_text(b"\n".join(s.get_object().data for s in streams))
        form = page["/Resources"]["/XObject"][f"/FormXob.{qr.FORM_NAME}"]
        bbox = [int(float(v)) for v in form["/BBox"]]
        drawn = qr.matrix_from_form(form.data, bbox[2])
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise VerificationError(f"{path}: page content unreadable ({type(exc).__name__})") from None
    for name, value in pdfrender.visible_fields(doc).items():
        if pdftext.normalise(value) not in text:
            raise VerificationError(f"{path}: visible {name} does not match the embedded JSON ({value!r})")
    expected = qr.matrix(qr.payload(str(doc["certificate_id"]), sha256_hex(json_bytes), str(doc["schema"])))
    if drawn != expected:
        raise VerificationError(f"{path}: QR code does not carry this certificate's ID and SHA-256")


@contextlib.contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    """pyHanko logs tracebacks as warnings on damaged input; our one-line verdict says it all."""
    loggers = [logging.getLogger(name) for name in ("pyhanko", "pyhanko_certvalidator")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def verify_pdf(path: str, data: bytes, trust: Trust) -> Verified:
    with _quiet_pyhanko():
        reader = _open_pdf(path, data)
        try:
            return _verify_pdf(path, data, reader, trust)
        except SanitizeError:
            raise
        except Exception as exc:  # pyHanko parses lazily and raises many unrelated types on damage
            raise VerificationError(f"{path}: PDF damaged or altered ({type(exc).__name__})") from None


def _verify_pdf(path: str, data: bytes, reader: Any, trust: Trust) -> Verified:
    signer = _check_pdf_signature(path, data, reader, trust)
    files = _attachments(reader)
    if "summary.json" in files:
        return _verify_summary(path, files, signer)
    json_bytes = files.get(pdfrender.JSON_ATTACHMENT)
    sig = files.get(pdfrender.SIG_ATTACHMENT)
    if json_bytes is None or sig is None:
        raise VerificationError(f"{path}: the signed JSON and its signature are not attached")
    what = f"{path} (attached {pdfrender.JSON_ATTACHMENT})"
    doc = _load_document(json_bytes, what)
    if not signature_valid(signer, json_bytes, sig):
        raise VerificationError(f"{what}: signature does not verify with the PDF's signer")
    _page_checks(path, reader, doc, json_bytes)
    checks = [
        "PDF signature valid and covers the whole file",
        f"signer trusted ({fingerprint(signer)})",
        "attached JSON signature valid",
        "visible serial, method, outcome, certificate ID and QR code match the attached JSON",
    ]
    sibling = os.path.splitext(path)[0] + ".json"
    if os.path.isfile(sibling):
        if read_input(sibling) != json_bytes:
            raise VerificationError(f"{path}: differs from the JSON next to it ({sibling})")
        checks.append(f"identical to {os.path.basename(sibling)}")
    return Verified.of(path, doc, json_bytes, signer, checks)


def _verify_summary(path: str, files: dict[str, bytes], signer: x509.Certificate) -> Verified:
    data, sig = files["summary.json"], files.get("summary.json.sig", b"")
    if not signature_valid(signer, data, sig):
        raise VerificationError(f"{path}: attached summary.json signature does not verify")
    checks = ["PDF signature valid and covers the whole file", "attached summary JSON signature valid"]
    return _summary_verified(path, data, signer, checks, what=f"{path} (attached summary.json)")


def _summary_verified(
    path: str, data: bytes, signer: x509.Certificate, checks: list[str], *, what: str | None = None
) -> Verified:
    """A host summary whose signature was checked: its shape, and the verdict."""
    what = what or path
    summary = parse_json_bytes(data, what=what)
    if not isinstance(summary, dict) or summary.get("schema") != SUMMARY_SCHEMA or canonical_bytes(summary) != data:
        raise VerificationError(f"{what}: not a canonical {SUMMARY_SCHEMA}")
    if not isinstance(summary.get("summary_id"), str):
        raise VerificationError(f"{what}: no summary_id")
    return Verified(
        path=path,
        kind="host-summary",
        schema=SUMMARY_SCHEMA,
        certificate_id=summary["summary_id"],
        json_sha256=sha256_hex(data),
        signer_fingerprint=fingerprint(signer),
        checks=checks,
        document=summary,
    )


def verify_file(
    path: str, *, state: StateDir, trust_path: str | None = None, archive_path: str | None = None
) -> Verified:
    data = read_input(path)
    trust = resolve_trust(state, trust_path, archive_path)
    result = verify_json(path, data, trust) if data.lstrip()[:1] == b"{" else verify_pdf(path, data, trust)
    _check_archive(result, archive_path, state, trust)
    _check_countersignatures(path, result)
    return result


def verify_signed(path: str, *, state: StateDir, trust_path: str | None) -> Verified:
    """Signatures, form and page of one document, without the archive (a validator may have none)."""
    data = read_input(path)
    trust = resolve_trust(state, trust_path, None)
    return verify_json(path, data, trust) if data.lstrip()[:1] == b"{" else verify_pdf(path, data, trust)


def _check_countersignatures(path: str, result: Verified) -> None:
    from sanitize.certify import countersign

    for found in countersign.find(path):
        line, doc = countersign.check(found, result.json_sha256)
        result.checks.append(line)
        result.countersigned_by.append({**(doc.get("validated_by") or {}), "file": found})


def load_any(path: str) -> tuple[dict[str, Any], bytes]:
    """The document inside a JSON or PDF file, unverified (for `cert show`)."""
    data = read_input(path)
    if data.lstrip()[:1] == b"{":
        return check_document(parse_json_bytes(data, what=path), path), data
    with _quiet_pyhanko():
        files = _attachments(_open_pdf(path, data))
    json_bytes = files.get(pdfrender.JSON_ATTACHMENT) or files.get("summary.json")
    if json_bytes is None:
        raise BadInput(f"{path}: no certificate JSON attached")
    doc = parse_json_bytes(json_bytes, what=f"{path} (attached JSON)")
    if isinstance(doc, dict) and doc.get("schema") == SUMMARY_SCHEMA:
        return doc, json_bytes
    return check_document(doc, path), json_bytes


__all__ = ["NOT_TRUSTED", "Trust", "Verified", "fp_hex", "load_any", "verify_file", "verify_signed"]
