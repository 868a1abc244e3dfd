"""The append-only, tamper-evident archive of every certificate and failure report.

Layout under `<state>/archive/` (an exported bundle has the same layout, so one verifier serves both):

    log.jsonl            one canonical JSON entry per line: index, kind, certificate_id, issued_at,
                         sha256 (of the signed JSON), pdf_sha256, signer (cert fingerprint), prev
    head.json(.sig)      signed head after every append: size, RFC 6962 Merkle root over the lines,
                         chain_head (SHA-256 of the last line), timestamp, signer
    docs/<id>.json(.sig|.pdf)
    signers/<fp>.pem     every certificate that ever signed an entry (keys can be rotated)
    .lock                fcntl lock held while appending

`prev` is the SHA-256 of the previous line (64 zeros for the first), so an edit, removal or
reorder breaks the chain at a named entry; the signed head pins the size, so truncating or
appending without the key shows too.

The parts, by job: `store` (the files: paths, reading, private writes, the lock), `chain`
(appending an entry and signing the head), `verify` (every check, and the report), `anchors`
(heads recorded outside, against rollback). `Archive` is the store with those operations.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

from sanitize.certify.archive import chain
from sanitize.certify.archive import verify as checks
from sanitize.certify.archive.anchors import Anchor, read_witness
from sanitize.certify.archive.chain import HEAD_SCHEMA, ZERO_HASH
from sanitize.certify.archive.store import ArchiveStore, Entry, archive_dir, fp_hex
from sanitize.certify.archive.verify import Problem, Report
from sanitize.certify.keys import Signer, load_signer_cert
from sanitize.errors import VerificationError
from sanitize.state import StateDir


class Archive(ArchiveStore):
    """One archive directory: its files (ArchiveStore), appending to it, verifying it."""

    @classmethod
    def of(cls, state: StateDir) -> Archive:
        return cls(archive_dir(state), state)

    def append(
        self,
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
        `document_signer`: see chain.append."""
        return chain.append(
            self,
            signer,
            kind=kind,
            certificate_id=certificate_id,
            issued_at=issued_at,
            json_bytes=json_bytes,
            signature=signature,
            pdf_bytes=pdf_bytes,
            document_signer=document_signer,
        )

    def resign_head(self, old_cert: x509.Certificate | None, signer: Signer) -> bool:
        """After a key rotation: re-sign the head with the new key, but only if the archive is intact
        under the old one (otherwise rotating keys would launder tampering)."""
        if not self.exists():
            return False
        report = self.verify(old_cert)
        if not report.ok:
            raise VerificationError(f"archive does not verify, head not re-signed: {report.problems[0]}")
        with self.locked():
            chain.sign_head(self, signer, self.raw_lines())
        return True

    def verify(self, trusted: x509.Certificate | None, anchors: Sequence[Anchor] = ()) -> Report:
        """Every check; `anchors` are heads recorded outside (the archive must extend each one)."""
        return checks.verify(self, trusted, anchors)


def trusted_for(state: StateDir, trust: x509.Certificate | None) -> x509.Certificate | None:
    return trust if trust is not None else load_signer_cert(state)


__all__ = [
    "HEAD_SCHEMA",
    "ZERO_HASH",
    "Anchor",
    "Archive",
    "ArchiveStore",
    "Entry",
    "Problem",
    "Report",
    "archive_dir",
    "fp_hex",
    "read_witness",
    "trusted_for",
]
