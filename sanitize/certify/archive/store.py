"""Where the archive lives on disk, and how it is read and written (no signing, no checks).

Every file is written private (0600, new temporary file, renamed into place); appends hold an
fcntl lock on `.lock`; the log and head are read through `read_input` (regular files only,
bounded), documents through `read_regular`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from sanitize.certify.canonical import canonical_bytes, parse_json_bytes
from sanitize.certify.keys import cert_pem, load_certs
from sanitize.errors import BadInput
from sanitize.inputs import read_input
from sanitize.state import StateDir, make_private_dir, write_private


def archive_dir(state: StateDir) -> str:
    return os.path.join(state.path, "archive")


def fp_hex(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


@dataclass(frozen=True)
class Entry:
    index: int
    kind: str
    certificate_id: str
    issued_at: str | None
    sha256: str
    pdf_sha256: str | None
    signer: str
    prev: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def line(self) -> bytes:
        return canonical_bytes(self.to_dict())


class ArchiveStore:
    def __init__(self, path: str, state: StateDir | None = None) -> None:
        self.path = path
        self._state = state  # set for the live archive: its directories are the state directory's

    # --- paths -----------------------------------------------------------------------
    def p(self, *parts: str) -> str:
        return os.path.join(self.path, *parts)

    @property
    def log_path(self) -> str:
        return self.p("log.jsonl")

    def doc_path(self, certificate_id: str, suffix: str) -> str:
        return self.p("docs", f"{certificate_id}{suffix}")

    def exists(self) -> bool:
        return os.path.isfile(self.log_path) or os.path.isfile(self.p("head.json"))

    # --- reading -----------------------------------------------------------------------
    def raw_lines(self) -> list[bytes]:
        if not os.path.exists(self.log_path):
            return []
        data = read_input(self.log_path, "archive log", limit=None)
        return [line for line in data.split(b"\n") if line]

    def entries(self) -> list[dict[str, Any]]:
        """Entries as found on disk (unchecked); lines that do not parse become None-free stubs."""
        out = []
        for n, line in enumerate(self.raw_lines()):
            try:
                value = parse_json_bytes(line, what=f"log line {n + 1}")
            except BadInput:
                value = {"index": None, "certificate_id": None, "unparsable_line": n + 1}
            out.append(value if isinstance(value, dict) else {"unparsable_line": n + 1})
        return out

    def find(self, certificate_id: str) -> dict[str, Any] | None:
        for entry in self.entries():
            if entry.get("certificate_id") == certificate_id:
                return entry
        return None

    def read_head(self) -> tuple[bytes, bytes] | None:
        head, sig = self.p("head.json"), self.p("head.json.sig")
        if not (os.path.exists(head) and os.path.exists(sig)):
            return None
        return read_input(head, "archive head"), read_input(sig, "archive head signature")

    def head_anchor(self) -> dict[str, Any] | None:
        """The signed head's size and Merkle root as found on disk (check with `verify`), to be
        recorded outside this server: `archive verify --expect-head SIZE:ROOT` then detects a
        rollback to any earlier state."""
        raw = self.read_head()
        if raw is None:
            return None
        try:
            head = parse_json_bytes(raw[0], what="head.json")
        except BadInput:
            return None
        if not isinstance(head, dict) or not isinstance(head.get("size"), int) or not isinstance(head.get("root"), str):
            return None
        return {"size": head["size"], "root": head["root"], "anchor": f"{head['size']}:{head['root']}"}

    def signer_cert(self, fingerprint_hex: str) -> x509.Certificate | None:
        path = self.p("signers", f"{fingerprint_hex}.pem")
        if not os.path.isfile(path):
            return None
        return load_certs(read_input(path, "certificate"), path)[0]

    # --- writing -----------------------------------------------------------------------
    def _ensure_dirs(self) -> None:
        if self._state is not None:
            self._state.sub("archive")
        else:
            make_private_dir(self.path)
        for sub in ("docs", "signers"):
            make_private_dir(self.p(sub))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self._ensure_dirs()
        fd = os.open(self.p(".lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def remember_signer(self, cert: x509.Certificate) -> str:
        """Keep the certificate under signers/ (once); returns its fingerprint."""
        fp = fp_hex(cert)
        path = self.p("signers", f"{fp}.pem")
        if not os.path.exists(path):
            write_private(path, cert_pem(cert))
        return fp

    def write_documents(
        self, certificate_id: str, json_bytes: bytes, signature: bytes, pdf_bytes: bytes | None
    ) -> None:
        write_private(self.doc_path(certificate_id, ".json"), json_bytes)
        write_private(self.doc_path(certificate_id, ".json.sig"), signature)
        if pdf_bytes is not None:
            write_private(self.doc_path(certificate_id, ".pdf"), pdf_bytes)

    def append_line(self, line: bytes) -> None:
        """One line at the end of the log, on the medium before this returns (call it locked)."""
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.log_path, flags, 0o600)
        try:
            os.write(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)

    def write_head(self, data: bytes, signature: bytes) -> None:
        write_private(self.p("head.json"), data)
        write_private(self.p("head.json.sig"), signature)
