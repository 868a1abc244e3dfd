"""Signing keys: creation, permissions, import (PEM, PKCS#12 with chain) and `keys show`."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from sanitize.certify import keys
from sanitize.errors import BadInput, Refused
from sanitize.state import StateDir
from tests.support.certify import run_cli


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_init_creates_private_key_and_signing_cert(tmp_path):
    state = StateDir(str(tmp_path / "state"))
    signer = keys.init_keys(state, "Example Corp")
    assert mode(state.path) == 0o700
    assert mode(os.path.join(state.path, "keys")) == 0o700
    assert mode(keys.key_path(state)) == 0o600
    assert mode(keys.cert_path(state)) == 0o600
    cert = signer.cert
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Example Corp"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "sanitize certificate signer"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=3650) <= lifetime <= dt.timedelta(days=3660)
    loaded = keys.load_signer(state)
    assert loaded.cert == cert


def test_init_refuses_to_replace_without_force(tmp_path):
    state = StateDir(str(tmp_path / "s"))
    first = keys.init_keys(state, "A")
    with pytest.raises(Refused):
        keys.init_keys(state, "B")
    second = keys.init_keys(state, "B", force=True)
    assert first.fingerprint != second.fingerprint


def _ca_and_leaf() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate]:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Root CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(2)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    return ca_key, ca, leaf_key, leaf


def test_import_pem_with_chain(tmp_path):
    _, ca, leaf_key, leaf = _ca_and_leaf()
    cert_file, key_file = tmp_path / "org.pem", tmp_path / "org.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    state = StateDir(str(tmp_path / "s"))
    signer = keys.import_pem(state, str(cert_file), str(key_file), password=None, force=False)
    assert signer.cert == leaf and signer.chain == (ca,)
    assert mode(keys.key_path(state)) == 0o600
    assert keys.load_signer(state).chain == (ca,)


def test_import_pkcs12_with_chain_and_password(tmp_path):
    _, ca, leaf_key, leaf = _ca_and_leaf()
    p12 = pkcs12.serialize_key_and_certificates(
        b"org", leaf_key, leaf, [ca], serialization.BestAvailableEncryption(b"pw")
    )
    (tmp_path / "org.p12").write_bytes(p12)
    state = StateDir(str(tmp_path / "s"))
    signer = keys.import_pkcs12(state, str(tmp_path / "org.p12"), password=b"pw", force=False)
    assert signer.cert == leaf and signer.chain == (ca,)
    with pytest.raises(BadInput, match="PKCS#12"):
        keys.import_pkcs12(StateDir(str(tmp_path / "t")), str(tmp_path / "org.p12"), password=b"wrong", force=False)


def test_import_refuses_key_of_another_certificate(tmp_path):
    _, _, _, leaf = _ca_and_leaf()
    other = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "c.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(
        other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    with pytest.raises(BadInput, match="does not belong"):
        keys.import_pem(
            StateDir(str(tmp_path / "s")), str(tmp_path / "c.pem"), str(tmp_path / "k.pem"), password=None, force=False
        )


def test_cli_keys_init_show_never_print_the_key(tmp_path):
    state = StateDir(str(tmp_path / "s"))
    result = run_cli(state, "keys", "init", "--org", "Example Corp")
    assert result.exit_code == 0, result.output
    shown = run_cli(state, "keys", "show")
    assert shown.exit_code == 0
    fp = keys.fingerprint(keys.load_signer_cert(state))  # type: ignore[arg-type]
    assert fp in shown.stdout
    assert "PRIVATE KEY" not in result.output + shown.output
    again = run_cli(state, "keys", "init", "--org", "X")
    assert again.exit_code == 4 and "--force" in again.stderr


def test_cli_keys_show_without_keys_is_bad_input(tmp_path):
    result = run_cli(StateDir(str(tmp_path / "none")), "keys", "show")
    assert result.exit_code == 3
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_keys_import_needs_one_source(tmp_path):
    result = run_cli(StateDir(str(tmp_path / "s")), "keys", "import", "--cert", "x.pem")
    assert result.exit_code == 3
