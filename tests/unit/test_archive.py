"""The tamper-evident archive: hash chain, RFC 6962 root, signed head; every tampering is named."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import zipfile

import pytest

from sanitize.certify import keys, merkle
from sanitize.certify.archive import Archive
from sanitize.certify.canonical import canonical_bytes
from sanitize.certify.signing import sign
from sanitize.state import StateDir
from tests.support.certify import issue, read_bytes, run_cli, state_with_keys


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A state dir with four archived documents, copied fresh for each test."""
    base = tmp_path_factory.mktemp("archive")
    state = state_with_keys(str(base / "state"))
    docs = [issue(state, str(base / "out")) for _ in range(3)]
    docs.append(issue(state, str(base / "out"), "erase_failed.json"))
    return state, docs


@pytest.fixture
def arch(pristine, tmp_path):
    state, docs = pristine
    copy = StateDir(str(tmp_path / "state"))
    shutil.copytree(state.path, copy.path)
    return copy, Archive.of(copy), [d.certificate_id for d in docs]


def lines(archive: Archive) -> list[bytes]:
    return archive.raw_lines()


def write_lines(archive: Archive, new: list[bytes]) -> None:
    with open(archive.log_path, "wb") as fh:
        fh.write(b"".join(line + b"\n" for line in new))


def problems(state: StateDir) -> list[str]:
    report = Archive.of(state).verify(keys.load_signer_cert(state))
    return [str(p) for p in report.problems]


def test_intact_archive_verifies(arch):
    state, archive, ids = arch
    assert problems(state) == []
    head = json.loads(read_bytes(archive.p("head.json")))
    assert head["size"] == 4
    assert head["root"] == merkle.root(lines(archive)).hex()
    assert [e["certificate_id"] for e in archive.entries()] == ids
    assert [e["kind"] for e in archive.entries()][-1] == "failure-report"


def test_rfc6962_root_matches_reference_values():
    # Hand-computed from the RFC 6962 definition for 3 leaves: MTH = node(node(l0,l1), l2).
    leaves = [b"a", b"b", b"c"]
    l0, l1, l2 = (merkle.leaf_hash(x) for x in leaves)
    assert merkle.root(leaves) == merkle.node_hash(merkle.node_hash(l0, l1), l2)
    assert merkle.root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_edited_entry_is_named(arch):
    state, archive, ids = arch
    entries = lines(archive)
    edited = json.loads(entries[1])
    edited["kind"] = "certificate" if edited["kind"] != "certificate" else "failure-report"
    entries[1] = canonical_bytes(edited)
    write_lines(archive, entries)
    found = problems(state)
    assert any(p.startswith(f"entry 1 certificate {ids[1]}: edited") for p in found), found


def test_edited_last_entry_is_named_by_signed_head(arch):
    state, archive, ids = arch
    entries = lines(archive)
    edited = json.loads(entries[3])
    edited["issued_at"] = "2020-01-01T00:00:00Z"
    entries[3] = canonical_bytes(edited)
    write_lines(archive, entries)
    assert any(p.startswith(f"entry 3 certificate {ids[3]}: edited") for p in problems(state))


def test_edited_document_is_named(arch):
    state, archive, ids = arch
    path = archive.doc_path(ids[2], ".json")
    doc = json.loads(read_bytes(path))
    doc["device"]["serial"] = "SWAPPED"
    with open(path, "wb") as fh:
        fh.write(canonical_bytes(doc))
    assert any(p.startswith(f"entry 2 certificate {ids[2]}: document edited") for p in problems(state))


def test_document_swapped_for_a_fifo_is_named_not_waited_for(arch):
    state, archive, ids = arch
    doc = archive.doc_path(ids[2], ".json")
    os.unlink(doc)
    os.mkfifo(doc)
    found = problems(state)
    assert any(ids[2] in p and "not a regular file" in p for p in found), found


def test_removed_entry_is_named(arch):
    state, archive, ids = arch
    entries = lines(archive)
    del entries[1]
    write_lines(archive, entries)
    found = problems(state)
    assert any("entries 1 removed" in p for p in found), found
    assert any(ids[1] in p and "not in the log" in p for p in found), found


def test_removed_last_entry_is_named(arch):
    state, archive, ids = arch
    write_lines(archive, lines(archive)[:3])
    found = problems(state)
    assert any("entries 3 removed from the end" in p for p in found), found
    assert any(ids[3] in p for p in found), found


def test_reordered_entries_are_named(arch):
    state, archive, ids = arch
    entries = lines(archive)
    entries[1], entries[2] = entries[2], entries[1]
    write_lines(archive, entries)
    found = problems(state)
    assert any(p.startswith(f"entry 2 certificate {ids[2]}: out of order") for p in found), found
    assert any(p.startswith(f"entry 1 certificate {ids[1]}: out of order") for p in found), found


def test_appended_without_signing_is_named(arch):
    state, archive, _ids = arch
    entries = lines(archive)
    forged = json.loads(entries[0])
    forged.update(index=4, certificate_id="forged-id")
    write_lines(archive, [*entries, canonical_bytes(forged)])
    found = problems(state)
    assert any(p.startswith("entry 4 certificate forged-id: appended without a signed head") for p in found), found


def test_head_resigned_with_another_key_is_detected(arch, tmp_path):
    state, archive, _ = arch
    mallory = keys.generate("Mallory Inc")
    data = read_bytes(archive.p("head.json"))
    with open(archive.p("head.json.sig"), "wb") as fh:
        fh.write(sign(mallory, data))
    found = problems(state)
    assert any("archive head" in p and "another key" in p for p in found), found


def test_document_resigned_with_another_key_is_named(arch):
    state, archive, ids = arch
    mallory = keys.generate("Mallory Inc")
    data = read_bytes(archive.doc_path(ids[0], ".json"))
    with open(archive.doc_path(ids[0], ".json.sig"), "wb") as fh:
        fh.write(sign(mallory, data))
    found = problems(state)
    assert any(p.startswith(f"entry 0 certificate {ids[0]}: document signature") for p in found), found


def test_everything_rewritten_with_another_key_fails_against_trust(arch, tmp_path):
    """Rebuilding the whole archive with another key passes its own checks but not --trust."""
    state, _, _ = arch
    trusted = keys.cert_path(state)
    keep = tmp_path / "trusted.pem"
    shutil.copy(trusted, keep)
    mallory_state = StateDir(str(tmp_path / "mallory"))
    keys.init_keys(mallory_state, "Mallory Inc")
    issue(mallory_state, str(tmp_path / "m"))
    result = run_cli(mallory_state, "archive", "verify", "--trust", str(keep))
    assert result.exit_code == 9
    assert "another key" in result.stderr


def _append_many(path: str, n: int) -> None:
    state = StateDir(path)
    for _ in range(n):
        issue(state, os.path.join(path, "out"))


def test_concurrent_appends_keep_the_chain(tmp_path):
    state = state_with_keys(str(tmp_path / "state"))
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(state.path, 3)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    archive = Archive.of(state)
    assert len(archive.raw_lines()) == 9
    assert problems(state) == []


def test_cli_list_verify_and_tamper_exit_code(arch):
    state, archive, ids = arch
    listed = run_cli(state, "archive", "list")
    assert listed.exit_code == 0 and all(i in listed.stdout for i in ids)
    ok = run_cli(state, "archive", "verify", "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["ok"] is True
    write_lines(archive, lines(archive)[:2] + lines(archive)[3:])
    bad = run_cli(state, "archive", "verify")
    assert bad.exit_code == 9
    last = bad.stderr.strip().splitlines()[-1]
    assert last.startswith("sanitize: error: archive does not verify:")


def test_cli_list_escapes_control_characters_of_unverified_entries(arch):
    state, archive, _ids = arch
    entry = json.loads(lines(archive)[0])
    entry["kind"] = "certificate\x1b]0;owned\x07"
    write_lines(archive, [json.dumps(entry).encode(), *lines(archive)[1:]])
    listed = run_cli(state, "archive", "list")
    assert listed.exit_code == 0
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout
    assert "certificate\\x1b]0;owned\\x07" in listed.stdout


def test_cert_verify_fails_when_not_in_archive(arch, tmp_path):
    state, _archive, _ids = arch
    other = StateDir(str(tmp_path / "elsewhere"))
    shutil.copytree(os.path.join(state.path, "keys"), os.path.join(other.path, "keys"))
    stray = issue(other, str(tmp_path / "stray"))  # same key, other archive
    result = run_cli(state, "cert", "verify", stray.pdf_path)
    assert result.exit_code == 9 and "not in the archive" in result.stderr


def test_export_bundle_verifies_offline_with_openssl(arch, tmp_path):
    state, _, ids = arch
    bundle = tmp_path / "bundle.zip"
    result = run_cli(state, "archive", "export", "--output", str(bundle))
    assert result.exit_code == 0, result.output
    out = tmp_path / "unzipped"
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        zf.extractall(out)
    assert {"log.jsonl", "head.json", "head.json.sig", "signer.pem", "VERIFY.txt"} <= names
    assert all(f"docs/{i}.json" in names and f"docs/{i}.json.sig" in names and f"docs/{i}.pdf" in names for i in ids)
    pub = subprocess.run(
        ["openssl", "x509", "-in", str(out / "signer.pem"), "-pubkey", "-noout"], check=True, capture_output=True
    ).stdout
    (out / "pub.pem").write_bytes(pub)
    for signed in ["head.json", *[f"docs/{i}.json" for i in ids]]:
        check = subprocess.run(
            ["openssl", "dgst", "-sha256", "-verify", "pub.pem", "-signature", f"{signed}.sig", signed],
            cwd=out,
            capture_output=True,
            text=True,
        )
        assert "Verified OK" in check.stdout, signed
    verified = run_cli(
        StateDir(str(tmp_path / "auditor")), "archive", "verify", "--dir", str(out), "--trust", str(out / "signer.pem")
    )
    assert verified.exit_code == 0, verified.output
    cert = run_cli(
        StateDir(str(tmp_path / "auditor")),
        "cert",
        "verify",
        str(out / "docs" / f"{ids[0]}.pdf"),
        "--trust",
        str(out / "signer.pem"),
        "--archive",
        str(out),
    )
    assert cert.exit_code == 0, cert.output


def test_key_rotation_keeps_archive_verifiable(arch):
    state, _, _ids = arch
    rotated = run_cli(state, "keys", "init", "--org", "Example Corp 2", "--force")
    assert rotated.exit_code == 0, rotated.output
    assert problems(state) == []
    issue(state, os.path.join(state.path, "out"))
    assert problems(state) == []


def test_key_rotation_refused_when_archive_tampered(arch):
    state, archive, _ = arch
    write_lines(archive, lines(archive)[:3])
    before = read_bytes(keys.cert_path(state))
    result = run_cli(state, "keys", "init", "--org", "X", "--force")
    assert result.exit_code == 4
    assert read_bytes(keys.cert_path(state)) == before
