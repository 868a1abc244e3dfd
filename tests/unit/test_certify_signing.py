"""Detached JSON signatures: round trip, openssl interoperability, tampering, trust."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanitize.certify import keys
from sanitize.certify.verify import verify_file
from sanitize.errors import ExitCode, SanitizeError, VerificationError
from sanitize.state import StateDir
from tests.support.certify import issue, read_bytes, state_with_keys


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    base = tmp_path_factory.mktemp("sign")
    state = state_with_keys(str(base / "state"))
    doc = issue(state, str(base / "out"))
    return state, doc


def test_round_trip(issued):
    state, doc = issued
    result = verify_file(doc.json_path, state=state)
    assert result.kind == "certificate" and result.certificate_id == doc.certificate_id
    assert any("archive" in c for c in result.checks)


def test_openssl_alone_verifies_the_signature(issued, tmp_path):
    _, doc = issued
    openssl = shutil.which("openssl")
    assert openssl, "openssl binary is needed (Debian package openssl)"
    pub = tmp_path / "pub.pem"
    out = subprocess.run(
        [openssl, "x509", "-in", doc.signer_path, "-pubkey", "-noout"], check=True, capture_output=True
    )
    pub.write_bytes(out.stdout)
    ok = subprocess.run(
        [openssl, "dgst", "-sha256", "-verify", str(pub), "-signature", doc.sig_path, doc.json_path],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "Verified OK" in ok.stdout
    tampered = tmp_path / "cert.json"
    tampered.write_bytes(read_bytes(doc.json_path) + b" ")
    bad = subprocess.run(
        [openssl, "dgst", "-sha256", "-verify", str(pub), "-signature", doc.sig_path, str(tampered)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "Verification failure" in bad.stdout


def _copy_set(doc, directory) -> tuple[str, str]:
    os.makedirs(directory, exist_ok=True)
    json_copy = os.path.join(directory, "c.json")
    shutil.copy(doc.json_path, json_copy)
    shutil.copy(doc.sig_path, json_copy + ".sig")
    shutil.copy(doc.signer_path, os.path.join(directory, "signer.pem"))
    return json_copy, json_copy + ".sig"


def _flip(path: str, position: int, xor: int) -> None:
    data = bytearray(read_bytes(path))
    data[position % len(data)] ^= xor
    with open(path, "wb") as fh:
        fh.write(bytes(data))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=10**6), xor=st.integers(min_value=1, max_value=255))
def test_any_flipped_byte_of_json_fails(issued, tmp_path, position, xor):
    state, doc = issued
    json_copy, _ = _copy_set(doc, str(tmp_path / f"j{position}-{xor}"))
    _flip(json_copy, position, xor)
    with pytest.raises(SanitizeError) as info:
        verify_file(json_copy, state=state)
    assert info.value.exit_code in (ExitCode.BAD_INPUT, ExitCode.NOT_VERIFIED)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=10**6), xor=st.integers(min_value=1, max_value=255))
def test_any_flipped_byte_of_signature_fails(issued, tmp_path, position, xor):
    state, doc = issued
    json_copy, sig_copy = _copy_set(doc, str(tmp_path / f"s{position}-{xor}"))
    _flip(sig_copy, position, xor)
    with pytest.raises(VerificationError):
        verify_file(json_copy, state=state)


def test_other_key_fails_against_trust(issued, tmp_path):
    state, doc = issued
    other = state_with_keys(str(tmp_path / "other"), "Mallory Inc")
    forged = issue(other, str(tmp_path / "forged"))
    with pytest.raises(VerificationError, match="another key"):
        verify_file(forged.json_path, state=state, trust_path=keys.cert_path(state))
    # and the genuine one passes against the right --trust
    assert verify_file(doc.json_path, state=state, trust_path=keys.cert_path(state)).kind == "certificate"


def test_untrusted_signer_without_trust_exits_9(issued, tmp_path):
    _, doc = issued
    json_copy, _ = _copy_set(doc, str(tmp_path / "copy"))
    empty = StateDir(str(tmp_path / "auditor-has-no-state"))
    with pytest.raises(VerificationError, match="signer not trusted — pass --trust") as info:
        verify_file(json_copy, state=empty)
    assert info.value.exit_code == ExitCode.NOT_VERIFIED
    ok = verify_file(json_copy, state=empty, trust_path=os.path.join(os.path.dirname(json_copy), "signer.pem"))
    assert ok.kind == "certificate" and "archive not at hand (not checked)" in ok.checks
