"""Countersignatures: a second person's signed validation of a certificate.

NIST SP 800-88 Rev. 2 separates verification (the technique ran) from validation (the result
is effective) and expects sanitization to be checked within an organisation's program; R2v3
auditors look for independent validation. The certificate's "Validated by" block can be signed
by hand; `sanitize cert countersign` does it cryptographically: the validator, with a key of
their own (their own state directory, `sanitize keys init`), checks the certificate and signs a
small `sanitize.countersignature/1` document bound to the SHA-256 of the certificate's signed
JSON. It is written next to the certificate as `<name>.countersign-<id8>.json`, with its
detached signature (`.json.sig`) and the validator's certificate (`.pem`), so the certificate
itself, its signature and its archive entry stay exactly as issued. `cert verify` checks every
countersignature it finds next to a certificate.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from sanitize import tool_identity
from sanitize.certify.canonical import canonical_bytes, parse_json_bytes, sha256_hex
from sanitize.certify.config import Person
from sanitize.certify.keys import Signer, fingerprint, load_certs
from sanitize.certify.signing import sign, signature_valid
from sanitize.errors import BadInput, Refused, VerificationError
from sanitize.inputs import read_input
from sanitize.state import write_private

COUNTERSIGN_SCHEMA = "sanitize.countersignature/1"
DEFAULT_STATEMENT = (
    "I checked this certificate and the evidence it records (the device's own completion status, the "
    "read-back and the carve check) and validate that the sanitization of the device it names was effective."
)


@dataclass(frozen=True)
class Countersigned:
    json_path: str
    sig_path: str
    signer_path: str
    document: dict[str, Any]


def base_of(path: str) -> str:
    """`DIR/certificate-X-id8` for `DIR/certificate-X-id8.pdf` or `.json`."""
    root, ext = os.path.splitext(path)
    return root if ext.lower() in (".pdf", ".json") else path


def build(
    certificate: dict[str, Any],
    json_bytes: bytes,
    certificate_signer: str,
    validator: Person,
    statement: str | None = None,
    now: str | None = None,
) -> dict[str, Any]:
    when = now or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {
        "schema": COUNTERSIGN_SCHEMA,
        "countersignature_id": str(uuid.uuid4()),
        "certificate_id": certificate.get("certificate_id"),
        "certificate_schema": certificate.get("schema"),
        "certificate_sha256": sha256_hex(json_bytes),
        "certificate_signer": certificate_signer,
        "validated_by": {**validator.to_dict(), "date": when},
        "statement": statement or DEFAULT_STATEMENT,
        "signed_at": when,
        "tool": tool_identity(),
    }


def countersign(
    certificate_path: str,
    certificate: dict[str, Any],
    json_bytes: bytes,
    certificate_signer: x509.Certificate,
    validator_key: Signer,
    validator: Person,
    *,
    statement: str | None = None,
    output_dir: str | None = None,
) -> Countersigned:
    """Sign the validation of a certificate that was verified by the caller."""
    if validator_key.fingerprint == fingerprint(certificate_signer):
        raise Refused(
            "a countersignature must come from a second person's key, not the key that issued the certificate",
            hint="the validator makes a key once (`sanitize --state-dir THEIR_DIR keys init --org ...`) and uses it",
        )
    if not validator.name:
        raise BadInput("say who validates: --name (and --title, --org, --location, --contact)")
    doc = build(certificate, json_bytes, fingerprint(certificate_signer), validator, statement)
    data = canonical_bytes(doc)
    directory = output_dir or os.path.dirname(os.path.abspath(certificate_path))
    base = os.path.join(directory, os.path.basename(base_of(certificate_path)))
    stem = f"{base}.countersign-{doc['countersignature_id'][:8]}"
    write_private(f"{stem}.json", data)
    write_private(f"{stem}.json.sig", sign(validator_key, data))
    write_private(f"{stem}.pem", validator_key.chain_pem())
    return Countersigned(f"{stem}.json", f"{stem}.json.sig", f"{stem}.pem", doc)


def find(certificate_path: str) -> list[str]:
    """The countersignatures lying next to a certificate (its PDF or its JSON)."""
    return sorted(glob.glob(glob.escape(base_of(certificate_path)) + ".countersign-*.json"))


def check(path: str, certificate_sha256: str) -> tuple[str, dict[str, Any]]:
    """One countersignature: bound to this certificate, signed by the key in its .pem; else exit 9."""
    data = read_input(path, "countersignature")
    doc = parse_json_bytes(data, what=path)
    if not isinstance(doc, dict) or doc.get("schema") != COUNTERSIGN_SCHEMA or canonical_bytes(doc) != data:
        raise VerificationError(f"{path}: not a canonical {COUNTERSIGN_SCHEMA} document")
    if doc.get("certificate_sha256") != certificate_sha256:
        raise VerificationError(f"{path}: countersigns another document (its certificate SHA-256 differs)")
    stem = path.removesuffix(".json")
    certs = load_certs(read_input(f"{stem}.pem", "validator certificate"), f"{stem}.pem")
    signature = read_input(f"{path}.sig", "countersignature signature")
    if not certs or not signature_valid(certs[0], data, signature):
        raise VerificationError(f"{path}: countersignature does not verify (document or signature altered)")
    person = doc.get("validated_by") or {}
    who = ", ".join(str(person[k]) for k in ("name", "title", "organization") if person.get(k))
    return f"countersigned by {who} on {person.get('date')} (validator key {fingerprint(certs[0])})", doc
