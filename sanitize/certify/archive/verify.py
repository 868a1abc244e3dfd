"""Checking the archive: the chain, the signed head, every document, and heads recorded outside.

A problem names the entry (index, certificate) and what happened to it: edited, removed,
reordered, appended without a signed head, re-signed with another key, rolled back.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from sanitize.certify import merkle
from sanitize.certify.archive.anchors import Anchor
from sanitize.certify.archive.chain import HEAD_SCHEMA, ZERO_HASH
from sanitize.certify.archive.store import ArchiveStore, fp_hex
from sanitize.certify.canonical import canonical_bytes, parse_json_bytes, sha256_hex
from sanitize.certify.signing import signature_valid
from sanitize.errors import BadInput
from sanitize.inputs import read_regular


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


def verify(store: ArchiveStore, trusted: x509.Certificate | None, anchors: Sequence[Anchor] = ()) -> Report:
    """Every check; `anchors` are heads recorded outside (the archive must extend each one)."""
    report = Report()
    lines = store.raw_lines()
    entries = store.entries()
    report.entries = entries
    report.size = len(lines)
    problems = report.problems
    _check_chain(lines, entries, problems)
    head = _check_head(store, lines, entries, trusted, report)
    _check_documents(store, entries, problems, head)
    _check_orphans(store, entries, problems)
    for anchor in anchors:
        problem = anchor.check(lines)
        if problem:
            problems.append(Problem(None, None, problem))
    return report


def _check_chain(lines: list[bytes], entries: list[dict[str, Any]], problems: list[Problem]) -> None:
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
    store: ArchiveStore,
    lines: list[bytes],
    entries: list[dict[str, Any]],
    trusted: x509.Certificate | None,
    report: Report,
) -> dict[str, Any] | None:
    problems = report.problems
    raw = store.read_head()
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
        claimed = store.signer_cert(str(head.get("signer")))
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
    store: ArchiveStore, entries: list[dict[str, Any]], problems: list[Problem], head: dict[str, Any] | None
) -> None:
    for pos, entry in enumerate(entries):
        cid = entry.get("certificate_id")
        if not isinstance(cid, str) or "/" in cid or cid.startswith("."):
            continue
        try:
            data = read_regular(store.doc_path(cid, ".json"))
            sig = read_regular(store.doc_path(cid, ".json.sig"))
        except FileNotFoundError:
            problems.append(Problem(pos, cid, "document or signature file removed from archive/docs"))
            continue
        except OSError as exc:
            problems.append(Problem(pos, cid, f"document or signature unreadable ({exc.strerror})"))
            continue
        if sha256_hex(data) != entry.get("sha256"):
            problems.append(Problem(pos, cid, "document edited: its SHA-256 differs from the log"))
        signer = store.signer_cert(str(entry.get("signer")))
        if signer is None:
            problems.append(Problem(pos, cid, "its signer certificate is missing from archive/signers"))
        elif not signature_valid(signer, data, sig):
            problems.append(Problem(pos, cid, "document signature does not verify (re-signed with another key?)"))
        pdf = store.doc_path(cid, ".pdf")
        if entry.get("pdf_sha256"):
            if not os.path.isfile(pdf):
                problems.append(Problem(pos, cid, "PDF removed from archive/docs"))
            elif _file_sha256(pdf) != entry["pdf_sha256"]:
                problems.append(Problem(pos, cid, "PDF edited: its SHA-256 differs from the log"))


def _check_orphans(store: ArchiveStore, entries: list[dict[str, Any]], problems: list[Problem]) -> None:
    known = {e.get("certificate_id") for e in entries}
    try:
        names = sorted(os.listdir(store.p("docs")))
    except FileNotFoundError:
        return
    for name in names:
        if name.endswith(".json") and name[: -len(".json")] not in known:
            problems.append(Problem(None, name[: -len(".json")], "in archive/docs but not in the log (entry removed)"))


def _file_sha256(path: str) -> str:
    """The file's SHA-256, or "" when it cannot be read (so it never matches a logged hash)."""
    try:
        return hashlib.sha256(read_regular(path)).hexdigest()
    except OSError:
        return ""
