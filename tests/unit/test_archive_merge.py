"""`sanitize archive merge`: a live run's archive segment joins the central archive."""

from __future__ import annotations

import json
import shutil

import pytest

from sanitize.certify import keys
from sanitize.certify.archive import Archive, fp_hex
from sanitize.certify.merge import merge_segment
from sanitize.certify.signing import sign
from sanitize.errors import VerificationError
from tests.support.certify import issue, read_bytes, run_cli, state_with_keys


@pytest.fixture
def central_and_segment(tmp_path):
    central = state_with_keys(str(tmp_path / "central"), org="Central IT")
    issue(central, str(tmp_path / "out-central"))  # the central archive already has an entry
    live = state_with_keys(str(tmp_path / "live"), org="Live image")
    ids = [issue(live, str(tmp_path / "out-live")).certificate_id for _ in range(2)]
    signer_pem = tmp_path / "live-signer.pem"
    signer_pem.write_bytes(keys.cert_pem(keys.load_signer_cert(live)))
    return central, Archive.of(live), ids, signer_pem


def test_merged_entries_verify_centrally_with_their_own_signer(central_and_segment):
    central, segment, ids, signer_pem = central_and_segment
    result = run_cli(central, "archive", "merge", segment.path, "--trust", str(signer_pem), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["added"] == ids and doc["already_present"] == []
    assert doc["archive"]["ok"] and doc["archive"]["size"] == 3
    archive = Archive.of(central)
    logged = archive.entries()
    assert [e["certificate_id"] for e in logged[1:]] == ids
    live_cert = keys.load_certs(read_bytes(signer_pem), str(signer_pem))[0]
    assert logged[1]["signer"] == fp_hex(live_cert) != logged[0]["signer"]
    # The segment's own signed head is kept, so the merge can be audited against the host's copy.
    head = read_bytes(segment.p("head.json"))
    chain_head = json.loads(head)["chain_head"]
    assert read_bytes(archive.p("segments", f"{chain_head}.json")) == head
    assert run_cli(central, "archive", "verify").exit_code == 0


def test_merging_twice_adds_nothing(central_and_segment):
    central, segment, ids, signer_pem = central_and_segment
    run_cli(central, "archive", "merge", segment.path, "--trust", str(signer_pem))
    result = run_cli(central, "archive", "merge", segment.path, "--trust", str(signer_pem), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["added"] == [] and doc["already_present"] == ids
    assert Archive.of(central).verify(keys.load_signer_cert(central)).size == 3


def test_a_segment_signed_by_another_key_is_refused(central_and_segment, tmp_path):
    central, segment, _ids, _signer_pem = central_and_segment
    other = state_with_keys(str(tmp_path / "other"), org="Someone else")
    other_pem = tmp_path / "other.pem"
    other_pem.write_bytes(keys.cert_pem(keys.load_signer_cert(other)))
    result = run_cli(central, "archive", "merge", segment.path, "--trust", str(other_pem))
    assert result.exit_code == 9
    assert "does not verify" in result.stderr
    assert Archive.of(central).verify(keys.load_signer_cert(central)).size == 1


def test_an_edited_segment_is_refused_and_nothing_is_added(central_and_segment, tmp_path):
    central, segment, ids, signer_pem = central_and_segment
    edited = Archive(str(tmp_path / "edited"))
    shutil.copytree(segment.path, edited.path)
    doc = edited.doc_path(ids[1], ".json")
    data = bytearray(read_bytes(doc))
    data[10] ^= 1
    with open(doc, "wb") as fh:
        fh.write(data)
    result = run_cli(central, "archive", "merge", edited.path, "--trust", str(signer_pem))
    assert result.exit_code == 9
    assert f"certificate {ids[1]}" in result.stderr
    assert Archive.of(central).verify(keys.load_signer_cert(central)).size == 1


def test_a_certificate_id_with_other_content_is_refused(central_and_segment, tmp_path):
    central, segment, ids, signer_pem = central_and_segment
    run_cli(central, "archive", "merge", segment.path, "--trust", str(signer_pem))
    # A valid segment that claims an id already merged, for another document.
    rogue_state = state_with_keys(str(tmp_path / "rogue"))
    rogue = keys.load_signer(rogue_state)
    data = b'{"not":"the same"}'
    Archive.of(rogue_state).append(
        rogue,
        kind="certificate",
        certificate_id=ids[0],
        issued_at=None,
        json_bytes=data,
        signature=sign(rogue, data),
        pdf_bytes=None,
    )
    with pytest.raises(VerificationError, match="with other content"):
        merge_segment(Archive.of(central), Archive.of(rogue_state), trust=rogue.cert, signer=keys.load_signer(central))
    assert Archive.of(central).verify(keys.load_signer_cert(central)).size == 3
