"""Appending to the archive: one hash-chained log entry per document, and a newly signed head.

`prev` is the SHA-256 of the previous line (64 zeros for the first), so an edit, removal or
reorder breaks the chain at a named entry; the signed head (size, RFC 6962 Merkle root over the
lines, the last line's hash) pins the size, so truncating or appending without the key shows too.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from sanitize.certify import merkle
from sanitize.certify.archive.store import ArchiveStore, Entry
from sanitize.certify.canonical import canonical_bytes, sha256_hex
from sanitize.certify.keys import Signer
from sanitize.certify.signing import sign

HEAD_SCHEMA = "sanitize.archive-head/1"
ZERO_HASH = "0" * 64


def append(
    store: ArchiveStore,
    signer: Signer,
    *,
    kind: str,
    certificate_id: str,
    issued_at: str | None,
    json_bytes: bytes,
    signature: bytes,
    pdf_bytes: bytes | None,
    document_signer: x509.Certificate | None = None,
) -> int:
    """Store the documents, append one entry and re-sign the head; returns the entry's index.

    `document_signer`: who signed the document when it is not `signer` (a document merged
    from another archive keeps its own signature; `signer` signs the head).
    """
    with store.locked():
        lines = store.raw_lines()
        fp = store.remember_signer(document_signer if document_signer is not None else signer.cert)
        store.write_documents(certificate_id, json_bytes, signature, pdf_bytes)
        entry = Entry(
            index=len(lines),
            kind=kind,
            certificate_id=certificate_id,
            issued_at=issued_at,
            sha256=sha256_hex(json_bytes),
            pdf_sha256=sha256_hex(pdf_bytes) if pdf_bytes is not None else None,
            signer=fp,
            prev=sha256_hex(lines[-1]) if lines else ZERO_HASH,
        )
        store.append_line(entry.line())
        sign_head(store, signer, [*lines, entry.line()])
        return entry.index


def sign_head(store: ArchiveStore, signer: Signer, lines: list[bytes]) -> None:
    """Write head.json for these log lines and its signature (call it locked)."""
    head = {
        "schema": HEAD_SCHEMA,
        "size": len(lines),
        "root": merkle.root(lines).hex(),
        "chain_head": sha256_hex(lines[-1]) if lines else ZERO_HASH,
        "timestamp": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "signer": store.remember_signer(signer.cert),
    }
    data = canonical_bytes(head)
    store.write_head(data, sign(signer, data))
