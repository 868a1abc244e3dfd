"""Signed PDFs: round trip, tampering anywhere, visible fields and QR bound to the attached JSON."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanitize.certify import pdf, qr
from sanitize.certify.canonical import canonical_bytes
from sanitize.certify.document import build_document
from sanitize.certify.keys import load_signer
from sanitize.certify.signing import sign
from sanitize.certify.verify import load_any, verify_file
from sanitize.errors import ExitCode, SanitizeError, VerificationError
from tests.support.certify import OPERATOR, erase_result, issue, read_bytes, state_with_keys


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    base = tmp_path_factory.mktemp("pdf")
    state = state_with_keys(str(base / "state"))
    return state, issue(state, str(base / "out"))


def test_pdf_round_trip(issued):
    state, doc = issued
    result = verify_file(doc.pdf_path, state=state)
    assert result.kind == "certificate" and result.certificate_id == doc.certificate_id
    assert any("QR" in c for c in result.checks)
    assert any("identical to" in c for c in result.checks)


@pytest.mark.parametrize("status", ["failed", "interrupted", "unverified"])
def test_failure_report_pdf_verifies_as_failure_report(issued, tmp_path, status):
    state, _ = issued
    report = issue(state, str(tmp_path), "erase_failed.json", status=status)
    result = verify_file(report.pdf_path, state=state)
    assert result.kind == "failure-report"
    assert result.document["title"].startswith("FAILURE REPORT")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=10**7), xor=st.integers(min_value=1, max_value=255))
def test_any_flipped_byte_of_pdf_fails(issued, tmp_path, position, xor):
    state, doc = issued
    copy = str(tmp_path / f"p{position}-{xor}.pdf")  # no sibling JSON: only the PDF itself is judged
    data = bytearray(read_bytes(doc.pdf_path))
    data[position % len(data)] ^= xor
    with open(copy, "wb") as fh:
        fh.write(bytes(data))
    with pytest.raises(SanitizeError) as info:
        verify_file(copy, state=state)
    assert info.value.exit_code in (ExitCode.BAD_INPUT, ExitCode.NOT_VERIFIED)


def test_damaged_numbers_of_the_pdf_objects_fail_cleanly(issued, tmp_path):
    """pyHanko raises decimal's InvalidOperation for "/Count ." (not a PdfError): still bad input."""
    state, doc = issued
    data = read_bytes(doc.pdf_path)
    positions = [m.end() - 1 for m in re.finditer(rb"/(?:Count|Length|Size|Prev|Kids|Pages|Root)\s*\[?\s*\d", data)]
    assert len(positions) > 5
    for position in positions:
        damaged = tmp_path / f"d{position}.pdf"
        damaged.write_bytes(data[:position] + b"." + data[position + 1 :])
        with pytest.raises(SanitizeError) as info:
            verify_file(str(damaged), state=state)
        assert info.value.exit_code in (ExitCode.BAD_INPUT, ExitCode.NOT_VERIFIED)
        try:  # `cert show` reads it unverified: where the damage is harmless it may still show it
            load_any(str(damaged))
        except SanitizeError as exc:
            assert exc.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize("where", ["padding", "hexcase"])
def test_changes_inside_the_unsigned_signature_gap_fail(issued, tmp_path, where):
    state, doc = issued
    data = bytearray(read_bytes(doc.pdf_path))
    gap_end = data.rindex(b"00>") + 2  # last byte of zero padding before '>'
    if where == "padding":
        data[gap_end - 1] = ord("1")
    else:
        start = data.index(b"/Contents <") + len(b"/Contents <")
        letter = next(i for i in range(start, gap_end) if chr(data[i]) in "ABCDEF")
        data[letter] = ord(chr(data[letter]).lower())
    copy = tmp_path / "gap.pdf"
    copy.write_bytes(bytes(data))
    with pytest.raises(VerificationError):
        verify_file(str(copy), state=state)


def test_appended_bytes_fail(issued, tmp_path):
    state, doc = issued
    copy = tmp_path / "appended.pdf"
    copy.write_bytes(read_bytes(doc.pdf_path) + b"\n% extra\n")
    with pytest.raises(VerificationError):
        verify_file(str(copy), state=state)


def test_visible_fields_must_match_attached_json(issued, tmp_path):
    """A PDF signed by the right key that shows another serial than its JSON is rejected."""
    state, _ = issued
    signer = load_signer(state)
    shown = build_document(erase_result(), operator=OPERATOR)
    attached = dict(shown, device=dict(shown["device"], serial="OTHER-SERIAL"))
    shown_bytes, attached_bytes = canonical_bytes(shown), canonical_bytes(attached)
    forged = pdf.attach_and_sign(
        pdf.render(shown, attached_bytes, signer),
        {
            pdf.JSON_ATTACHMENT: (attached_bytes, "application/json"),
            pdf.SIG_ATTACHMENT: (sign(signer, attached_bytes), "application/octet-stream"),
        },
        signer,
        reason="test",
    )
    path = tmp_path / "forged.pdf"
    path.write_bytes(forged)
    with pytest.raises(VerificationError, match="visible serial"):
        verify_file(str(path), state=state)
    assert shown_bytes != attached_bytes


def test_qr_must_carry_the_attached_json_hash(issued, tmp_path, monkeypatch):
    state, _ = issued
    signer = load_signer(state)
    doc = build_document(erase_result(), operator=OPERATOR)
    data = canonical_bytes(doc)
    real_payload = qr.payload
    monkeypatch.setattr(qr, "payload", lambda cid, sha, schema: real_payload(cid, "0" * 64, schema))
    rendered = pdf.render(doc, data, signer)
    monkeypatch.setattr(qr, "payload", real_payload)
    forged = pdf.attach_and_sign(
        rendered,
        {
            pdf.JSON_ATTACHMENT: (data, "application/json"),
            pdf.SIG_ATTACHMENT: (sign(signer, data), "application/octet-stream"),
        },
        signer,
        reason="test",
    )
    path = tmp_path / "qr.pdf"
    path.write_bytes(forged)
    with pytest.raises(VerificationError, match="QR"):
        verify_file(str(path), state=state)


def test_pdf_differing_from_sibling_json_fails(issued, tmp_path):
    state, doc = issued
    other = issue(state, str(tmp_path / "o"))
    pdf_copy = tmp_path / "x.pdf"
    shutil.copy(doc.pdf_path, pdf_copy)
    shutil.copy(other.json_path, tmp_path / "x.json")
    with pytest.raises(VerificationError, match="differs from the JSON next to it"):
        verify_file(str(pdf_copy), state=state)


def test_pdf_signed_by_other_key_fails_against_trust(issued, tmp_path):
    state, _ = issued
    other = state_with_keys(str(tmp_path / "other"), "Mallory Inc")
    forged = issue(other, str(tmp_path / "forged"))
    trust = os.path.join(state.path, "keys", "signer.pem")
    with pytest.raises(VerificationError, match="another key"):
        verify_file(forged.pdf_path, state=state, trust_path=trust)


def test_summary_pdf_verifies(issued, tmp_path):
    from sanitize.certify import issue_host_summary

    state, doc = issued
    path = issue_host_summary(
        [erase_result(id=doc.result_id), erase_result("erase_failed.json")],
        state=state,
        issued=[doc],
        output_dir=str(tmp_path),
    )
    result = verify_file(path, state=state)
    assert result.kind == "host-summary"
    assert result.document["devices"][0]["certificate_id"] == doc.certificate_id
    assert result.certificate_id == result.document["summary_id"]
    assert any(c.startswith("in the archive as entry") for c in result.checks)


def test_summary_is_archived_and_its_json_verifies_alone(tmp_path):
    from sanitize.certify import issue_host_summary
    from sanitize.certify.archive import Archive, trusted_for

    state = state_with_keys(str(tmp_path / "state"))
    cert = issue(state, str(tmp_path / "out"))
    path = issue_host_summary([erase_result()], state=state, issued=[cert], output_dir=str(tmp_path / "out"))

    archive = Archive.of(state)
    entries = archive.entries()
    assert [e["kind"] for e in entries] == ["certificate", "host-summary"]
    summary_id = entries[1]["certificate_id"]
    trusted = trusted_for(state, None)
    assert archive.verify(trusted).ok
    archived_json = archive.doc_path(summary_id, ".json")
    result = verify_file(archived_json, state=state)  # the machine-readable copy, openssl-verifiable too
    assert result.kind == "host-summary" and result.certificate_id == summary_id
    assert verify_file(path, state=state).json_sha256 == result.json_sha256

    with open(archived_json, "r+b") as fh:  # an edited summary: the archive names it
        data = fh.read().replace(b'"outcome":"verified"', b'"outcome":"failed!!"')
        fh.seek(0)
        fh.write(data)
    assert any("document edited" in p.message for p in archive.verify(trusted).problems)
    with pytest.raises(VerificationError):
        verify_file(path, state=state)
