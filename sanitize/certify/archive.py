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
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import io
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from sanitize.certify import merkle
from sanitize.certify.canonical import canonical_bytes, parse_json_bytes, sha256_hex
from sanitize.certify.keys import Signer, cert_pem, load_certs, load_signer_cert
from sanitize.certify.signing import sign, signature_valid
from sanitize.errors import BadInput, VerificationError
from sanitize.inputs import read_input, read_regular
from sanitize.state import StateDir, make_private_dir, write_private

HEAD_SCHEMA = "sanitize.archive-head/1"
ZERO_HASH = "0" * 64


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


@dataclass
class Problem:
    index: int | None
    certificate_id: str | None
    message: str

    def __str__(self) -> str:
        who = []
        if self.index is not None:
            who.append(f"entry {self.index}")
        if self.certificate_id:
            who.append(f"certificate {self.certificate_id}")
        return f"{' '.join(who)}: {self.message}" if who else self.message


@dataclass
class Report:
    size: int = 0
    head: dict[str, Any] | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "sanitize.archive-verify/1",
            "ok": self.ok,
            "size": self.size,
            "head": self.head,
            "problems": [
                {"index": p.index, "certificate_id": p.certificate_id, "message": p.message} for p in self.problems
            ],
        }


class Archive:
    def __init__(self, path: str, state: StateDir | None = None) -> None:
        self.path = path
        self._state = state  # set for the live archive: its directories are the state directory's

    @classmethod
    def of(cls, state: StateDir) -> Archive:
        return cls(archive_dir(state), state)

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

    def _remember_signer(self, signer: Signer) -> str:
        fp = fp_hex(signer.cert)
        path = self.p("signers", f"{fp}.pem")
        if not os.path.exists(path):
            write_private(path, cert_pem(signer.cert))
        return fp

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
    ) -> int:
        """Store the documents, append one entry and re-sign the head; returns the entry's index."""
        with self.locked():
            lines = self.raw_lines()
            fp = self._remember_signer(signer)
            write_private(self.doc_path(certificate_id, ".json"), json_bytes)
            write_private(self.doc_path(certificate_id, ".json.sig"), signature)
            if pdf_bytes is not None:
                write_private(self.doc_path(certificate_id, ".pdf"), pdf_bytes)
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
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(self.log_path, flags, 0o600)
            try:
                os.write(fd, entry.line() + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            self._write_head(signer, [*lines, entry.line()])
            return entry.index

    def _write_head(self, signer: Signer, lines: list[bytes]) -> None:
        head = {
            "schema": HEAD_SCHEMA,
            "size": len(lines),
            "root": merkle.root(lines).hex(),
            "chain_head": sha256_hex(lines[-1]) if lines else ZERO_HASH,
            "timestamp": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "signer": self._remember_signer(signer),
        }
        data = canonical_bytes(head)
        write_private(self.p("head.json"), data)
        write_private(self.p("head.json.sig"), sign(signer, data))

    def resign_head(self, old_cert: x509.Certificate | None, signer: Signer) -> bool:
        """After a key rotation: re-sign the head with the new key, but only if the archive is intact
        under the old one (otherwise rotating keys would launder tampering)."""
        if not self.exists():
            return False
        report = self.verify(old_cert)
        if not report.ok:
            raise VerificationError(f"archive does not verify, head not re-signed: {report.problems[0]}")
        with self.locked():
            self._write_head(signer, self.raw_lines())
        return True

    # --- verification ------------------------------------------------------------------
    def verify(self, trusted: x509.Certificate | None, anchors: Sequence[Anchor] = ()) -> Report:
        """Every check; `anchors` are heads recorded outside (the archive must extend each one)."""
        report = Report()
        lines = self.raw_lines()
        entries = self.entries()
        report.entries = entries
        report.size = len(lines)
        problems = report.problems
        self._check_chain(lines, entries, problems)
        head = self._check_head(lines, entries, trusted, report)
        self._check_documents(entries, problems, head)
        self._check_orphans(entries, problems)
        for anchor in anchors:
            problem = anchor.check(lines)
            if problem:
                problems.append(Problem(None, None, problem))
        return report

    def _check_chain(self, lines: list[bytes], entries: list[dict[str, Any]], problems: list[Problem]) -> None:
        indices: list[int] = [e["index"] if isinstance(e.get("index"), int) else -1 for e in entries]
        present = set(indices)
        top = max(indices, default=-1)
        removed = [i for i in range(top + 1) if i not in present]
        if removed:
            listed = ", ".join(str(i) for i in removed)
            problems.append(Problem(None, None, f"entries {listed} removed from the log (index gap)"))
        for pos, (line, entry) in enumerate(zip(lines, entries, strict=True)):
            cid = entry.get("certificate_id")
            if "unparsable_line" in entry:
                problems.append(Problem(pos, None, "log line is not valid JSON (edited)"))
                continue
            if canonical_bytes(entry) != line:
                problems.append(Problem(pos, cid, "log line is not in canonical form (edited)"))
            index = indices[pos]
            expected = len([i for i in range(index) if i not in present]) if index >= 0 else -1
            if index - expected != pos:  # not where it belongs once removals are accounted for
                problems.append(Problem(index, cid, f"out of order: found at position {pos} (reordered)"))
                continue
            if index == 0:
                if entry.get("prev") != ZERO_HASH:
                    problems.append(Problem(pos, cid, "edited: the first entry must have an all-zero 'prev'"))
            elif pos > 0 and indices[pos - 1] == index - 1 and entry.get("prev") != sha256_hex(lines[pos - 1]):
                # A removal or reorder breaks the chain too, but is reported above with better names.
                before = entries[pos - 1].get("certificate_id")
                problems.append(Problem(pos - 1, before, f"edited: its hash no longer matches 'prev' of entry {pos}"))

    def _check_head(
        self,
        lines: list[bytes],
        entries: list[dict[str, Any]],
        trusted: x509.Certificate | None,
        report: Report,
    ) -> dict[str, Any] | None:
        problems = report.problems
        raw = self.read_head()
        if raw is None:
            if lines:
                problems.append(Problem(None, None, "signed head (head.json, head.json.sig) is missing"))
            return None
        data, sig = raw
        try:
            head = parse_json_bytes(data, what="head.json")
        except BadInput as exc:
            problems.append(Problem(None, None, exc.message))
            return None
        if not isinstance(head, dict) or head.get("schema") != HEAD_SCHEMA:
            problems.append(Problem(None, None, "head.json has the wrong schema"))
            return None
        report.head = head
        if trusted is None:
            problems.append(Problem(None, None, "no trusted signer to check the head against (pass --trust)"))
        elif not signature_valid(trusted, data, sig):
            claimed = self.signer_cert(str(head.get("signer")))
            if claimed is not None and signature_valid(claimed, data, sig):
                why = f"re-signed with another key (fingerprint {fp_hex(claimed)})"
            else:
                why = "signature does not verify (head edited or re-signed with another key)"
            problems.append(Problem(None, None, f"archive head: {why}"))
        size = head.get("size")
        if not isinstance(size, int):
            problems.append(Problem(None, None, "head.json has no size"))
            return head
        if len(lines) > size:
            for pos in range(size, len(lines)):
                problems.append(
                    Problem(pos, entries[pos].get("certificate_id"), "appended without a signed head (not covered)")
                )
        elif len(lines) < size:
            missing = ", ".join(str(i) for i in range(len(lines), size))
            problems.append(Problem(None, None, f"entries {missing} removed from the end (signed head has {size})"))
        covered = lines[:size]
        if len(lines) >= size and covered:
            if sha256_hex(covered[-1]) != head.get("chain_head"):
                problems.append(
                    Problem(size - 1, entries[size - 1].get("certificate_id"), "edited: does not match the signed head")
                )
            elif merkle.root(covered).hex() != head.get("root"):
                problems.append(Problem(None, None, "Merkle root differs from the signed head (log edited)"))
        return head

    def _check_documents(
        self, entries: list[dict[str, Any]], problems: list[Problem], head: dict[str, Any] | None
    ) -> None:
        for pos, entry in enumerate(entries):
            cid = entry.get("certificate_id")
            if not isinstance(cid, str) or "/" in cid or cid.startswith("."):
                continue
            try:
                data = read_regular(self.doc_path(cid, ".json"))
                sig = read_regular(self.doc_path(cid, ".json.sig"))
            except FileNotFoundError:
                problems.append(Problem(pos, cid, "document or signature file removed from archive/docs"))
                continue
            except OSError as exc:
                problems.append(Problem(pos, cid, f"document or signature unreadable ({exc.strerror})"))
                continue
            if sha256_hex(data) != entry.get("sha256"):
                problems.append(Problem(pos, cid, "document edited: its SHA-256 differs from the log"))
            signer = self.signer_cert(str(entry.get("signer")))
            if signer is None:
                problems.append(Problem(pos, cid, "its signer certificate is missing from archive/signers"))
            elif not signature_valid(signer, data, sig):
                problems.append(Problem(pos, cid, "document signature does not verify (re-signed with another key?)"))
            pdf = self.doc_path(cid, ".pdf")
            if entry.get("pdf_sha256"):
                if not os.path.isfile(pdf):
                    problems.append(Problem(pos, cid, "PDF removed from archive/docs"))
                elif _file_sha256(pdf) != entry["pdf_sha256"]:
                    problems.append(Problem(pos, cid, "PDF edited: its SHA-256 differs from the log"))

    def _check_orphans(self, entries: list[dict[str, Any]], problems: list[Problem]) -> None:
        known = {e.get("certificate_id") for e in entries}
        try:
            names = sorted(os.listdir(self.p("docs")))
        except FileNotFoundError:
            return
        for name in names:
            if name.endswith(".json") and name[: -len(".json")] not in known:
                problems.append(
                    Problem(None, name[: -len(".json")], "in archive/docs but not in the log (entry removed)")
                )


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
        return [_bundle_anchor(Archive(path).read_head(), path, trusted)]
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


def _file_sha256(path: str) -> str:
    """The file's SHA-256, or "" when it cannot be read (so it never matches a logged hash)."""
    try:
        return hashlib.sha256(read_regular(path)).hexdigest()
    except OSError:
        return ""


def trusted_for(state: StateDir, trust: x509.Certificate | None) -> x509.Certificate | None:
    return trust if trust is not None else load_signer_cert(state)
