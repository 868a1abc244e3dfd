"""Merging an archive segment into this archive: how a live image's results join the central store.

A live run keeps its archive in RAM and hands over a copy (results/<run>/archive/). The collector
checks that segment completely (chain, Merkle root, signed head, every document's signature)
against the signer the job used, then appends its entries, in order, to its own archive: the
documents keep their original signatures and signer certificate, the central chain covers them,
and the central key re-signs the head. The segment's signed head is kept under
`segments/<chain_head>.json(.sig)`, so anyone can later check that what was merged is exactly
what the host produced. Merging the same segment twice adds nothing; a certificate id that is
already present with other content is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from sanitize.certify.archive import Archive, fp_hex
from sanitize.certify.canonical import parse_json_bytes
from sanitize.certify.keys import Signer, cert_pem
from sanitize.errors import BadInput, VerificationError
from sanitize.inputs import read_input
from sanitize.state import write_private


@dataclass
class MergeReport:
    segment: str
    segment_size: int
    segment_chain_head: str
    added: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": "sanitize.archive-merge/1",
            "segment": self.segment,
            "segment_size": self.segment_size,
            "segment_chain_head": self.segment_chain_head,
            "added": self.added,
            "already_present": self.already_present,
        }


def merge_segment(target: Archive, segment: Archive, *, trust: x509.Certificate, signer: Signer) -> MergeReport:
    if not segment.exists():
        raise BadInput(f"{segment.path}: no archive there")
    if os.path.realpath(target.path) == os.path.realpath(segment.path):
        raise BadInput("an archive cannot be merged into itself")
    checked = segment.verify(trust)
    if not checked.ok:
        raise VerificationError(f"segment {segment.path} does not verify: {checked.problems[0]}")
    raw_head = segment.read_head()
    assert raw_head is not None and checked.head is not None  # verify() reports a missing head
    chain_head = str(checked.head.get("chain_head"))
    report = MergeReport(segment.path, checked.size, chain_head)
    present = {e.get("certificate_id"): e for e in target.entries()}
    for entry in segment.entries():
        cid = str(entry["certificate_id"])
        if cid in present:
            if present[cid].get("sha256") != entry.get("sha256"):
                raise VerificationError(f"certificate {cid} is already in {target.path} with other content")
            report.already_present.append(cid)
            continue
        document_signer = segment.signer_cert(str(entry["signer"]))
        assert document_signer is not None  # verify() checked every document against it
        pdf_path = segment.doc_path(cid, ".pdf")
        target.append(
            signer,
            kind=str(entry["kind"]),
            certificate_id=cid,
            issued_at=entry.get("issued_at"),
            json_bytes=read_input(segment.doc_path(cid, ".json"), "certificate"),
            signature=read_input(segment.doc_path(cid, ".json.sig"), "signature"),
            pdf_bytes=read_input(pdf_path, "PDF", limit=None) if entry.get("pdf_sha256") else None,
            document_signer=document_signer,
        )
        report.added.append(cid)
    _keep_segment_head(target, raw_head, trust, chain_head)
    return report


def _keep_segment_head(target: Archive, raw_head: tuple[bytes, bytes], trust: x509.Certificate, name: str) -> None:
    data, sig = raw_head
    parse_json_bytes(data, what="segment head")  # already checked; never store garbage
    with target.locked():
        os.makedirs(target.p("segments"), mode=0o700, exist_ok=True)
        write_private(target.p("segments", f"{name}.json"), data)
        write_private(target.p("segments", f"{name}.json.sig"), sig)
        write_private(target.p("segments", f"{name}.signer-{fp_hex(trust)}.pem"), cert_pem(trust))
