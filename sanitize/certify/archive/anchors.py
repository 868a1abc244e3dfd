"""Heads recorded outside the archive, and checking that the archive still extends them.

A signed head's (size, Merkle root), written down somewhere the server cannot rewrite (a
ticket, the central store, the Ansible controller, an earlier export bundle), detects a
rollback of the whole archive to an older state, which the archive alone cannot show.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass

from cryptography import x509

from sanitize.certify import merkle
from sanitize.certify.archive.store import ArchiveStore
from sanitize.certify.canonical import parse_json_bytes
from sanitize.certify.signing import signature_valid
from sanitize.errors import BadInput, VerificationError
from sanitize.inputs import read_input


@dataclass(frozen=True)
class Anchor:
    """A signed head's (size, Merkle root) recorded outside the archive: a ticket, the central
    store, the Ansible controller, or an earlier export bundle."""

    size: int
    root: str
    source: str

    @classmethod
    def parse(cls, text: str, source: str) -> Anchor:
        size, sep, root = text.strip().partition(":")
        if not sep or not size.isdigit() or len(root) != 64 or any(c not in "0123456789abcdef" for c in root):
            got = text.strip()[:80]
            raise BadInput(f"{source}: expected a head as SIZE:ROOT (entries, 64 hex digits), got {got!r}")
        return cls(int(size), root, source)

    def check(self, lines: list[bytes]) -> str | None:
        """Why the archive with these log lines does not extend this head, or None."""
        if len(lines) < self.size:
            return (
                f"rolled back: {len(lines)} entries, but the head recorded in {self.source} has {self.size} "
                f"(root {self.root[:16]}...); the archive was restored from an older state"
            )
        if merkle.root(lines[: self.size]).hex() != self.root:
            return f"history rewritten: its first {self.size} entries differ from the head recorded in {self.source}"
        return None


def read_witness(path: str, trusted: x509.Certificate | None) -> list[Anchor]:
    """Heads from a witness: lines of SIZE:ROOT (as `cert issue` and `archive list` print them),
    a head.json, `archive list --json` output, or an export bundle (.zip or unzipped) whose signed
    head must verify against `trusted`."""
    if os.path.isdir(path):
        return [_bundle_anchor(ArchiveStore(path).read_head(), path, trusted)]
    data = read_input(path, "witness file")
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as bundle:
                raw = (bundle.read("head.json"), bundle.read("head.json.sig"))
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise BadInput(f"{path}: not an archive export bundle ({exc})") from None
        return [_bundle_anchor(raw, path, trusted)]
    if data.lstrip().startswith(b"{"):
        doc = parse_json_bytes(data, what=path)
        head = doc.get("head") if isinstance(doc, dict) and isinstance(doc.get("head"), dict) else doc
        if not isinstance(head, dict):
            raise BadInput(f"{path}: no archive head in this JSON")
        return [Anchor.parse(f"{head.get('size')}:{head.get('root')}", path)]
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: a witness file holds SIZE:ROOT lines (ASCII)") from None
    lines = [line.split("#", 1)[0].split()[0] for line in text.splitlines() if line.split("#", 1)[0].strip()]
    if not lines:
        raise BadInput(f"{path}: the witness file holds no head")
    return [Anchor.parse(line, path) for line in lines]


def _bundle_anchor(raw: tuple[bytes, bytes] | None, path: str, trusted: x509.Certificate | None) -> Anchor:
    if raw is None:
        raise BadInput(f"{path}: no signed head (head.json, head.json.sig) in this bundle")
    data, sig = raw
    if trusted is None or not signature_valid(trusted, data, sig):
        raise VerificationError(f"{path}: the bundle's head is not signed by the trusted signer")
    head = parse_json_bytes(data, what=f"{path}: head.json")
    if not isinstance(head, dict):
        raise BadInput(f"{path}: head.json is not an archive head")
    return Anchor.parse(f"{head.get('size')}:{head.get('root')}", f"{path} (export bundle)")
