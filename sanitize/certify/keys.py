"""The organisation's signing key and X.509 certificate, kept in the state directory.

Layout: `<state>/keys/signer.key` (PKCS#8 PEM, 0600) and `<state>/keys/signer.pem` (the signer
certificate first, then its chain). The key never leaves this module except as an object.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from sanitize.errors import BadInput, Refused
from sanitize.inputs import read_input
from sanitize.state import StateDir, read_private, write_private

KEY_FILE = "signer.key"
CERT_FILE = "signer.pem"
SIGNER_CN = "sanitize certificate signer"
VALIDITY_DAYS = 3653  # ~10 years: auditors re-check certificates years later

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Signer:
    key: PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.cert)

    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.cert, *self.chain))


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 over the DER certificate, hex with colons as `openssl x509 -fingerprint -sha256` prints it."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def key_path(state: StateDir) -> str:
    return os.path.join(state.path, "keys", KEY_FILE)


def cert_path(state: StateDir) -> str:
    return os.path.join(state.path, "keys", CERT_FILE)


def have_keys(state: StateDir) -> bool:
    state.sub("keys", create=False)  # refuses a keys/ directory someone else could have written to
    return os.path.isfile(key_path(state)) and os.path.isfile(cert_path(state))


def _refuse_overwrite(state: StateDir, force: bool) -> None:
    if have_keys(state) and not force:
        raise Refused(f"{key_path(state)}: a signing key already exists", hint="pass --force to replace it")


def _store(state: StateDir, signer: Signer) -> None:
    state.sub("keys")
    key_pem = signer.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(key_path(state), key_pem)
    write_private(cert_path(state), signer.chain_pem())


def generate(org: str, *, now: dt.datetime | None = None) -> Signer:
    if not org.strip():
        raise BadInput("--org must name the organisation")
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org.strip()), x509.NameAttribute(NameOID.COMMON_NAME, SIGNER_CN)]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Signer(key=key, cert=cert)


def init_keys(state: StateDir, org: str, *, force: bool = False) -> Signer:
    _refuse_overwrite(state, force)
    signer = generate(org)
    _store(state, signer)
    return signer


def load_certs(data: bytes, source: str) -> list[x509.Certificate]:
    try:
        if b"-----BEGIN" in data:
            return list(x509.load_pem_x509_certificates(data))
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise BadInput(f"{source}: not an X.509 certificate (PEM or DER)") from None


def _check_key(key: object, source: str) -> PrivateKey:
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        return key
    raise BadInput(f"{source}: only ECDSA and RSA signing keys are supported")


def _check_pair(signer: Signer, source: str) -> Signer:
    if signer.cert.public_key() != signer.key.public_key():
        raise BadInput(f"{source}: the private key does not belong to the certificate")
    return signer


def import_pem(state: StateDir, cert_file: str, key_file: str, *, password: bytes | None, force: bool) -> Signer:
    _refuse_overwrite(state, force)
    certs = load_certs(read_input(cert_file, "certificate"), cert_file)
    try:
        key = serialization.load_pem_private_key(read_input(key_file, "key"), password=password)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"{key_file}: cannot load the private key ({exc})") from None
    signer = _check_pair(Signer(key=_check_key(key, key_file), cert=certs[0], chain=tuple(certs[1:])), cert_file)
    _store(state, signer)
    return signer


def import_pkcs12(state: StateDir, p12_file: str, *, password: bytes | None, force: bool) -> Signer:
    _refuse_overwrite(state, force)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(read_input(p12_file, "PKCS#12 file"), password)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"{p12_file}: cannot open the PKCS#12 file ({exc})") from None
    if key is None or cert is None:
        raise BadInput(f"{p12_file}: the PKCS#12 file must hold a key and its certificate")
    signer = _check_pair(Signer(key=_check_key(key, p12_file), cert=cert, chain=tuple(extra or ())), p12_file)
    _store(state, signer)
    return signer


def load_signer(state: StateDir) -> Signer:
    if not have_keys(state):
        raise BadInput(f"no signing key in {state.path}/keys", hint="run `sanitize keys init --org NAME` first")
    key = serialization.load_pem_private_key(_read_state(key_path(state), "key"), password=None)
    certs = load_certs(_read_state(cert_path(state), "certificate"), cert_path(state))
    return Signer(key=_check_key(key, key_path(state)), cert=certs[0], chain=tuple(certs[1:]))


def load_signer_cert(state: StateDir) -> x509.Certificate | None:
    """The installation's own signer certificate, or None when keys were never set up here."""
    path = cert_path(state)
    state.sub("keys", create=False)
    if not os.path.isfile(path):
        return None
    return load_certs(_read_state(path, "certificate"), path)[0]


def _read_state(path: str, what: str) -> bytes:
    try:
        return read_private(path)
    except OSError as exc:
        raise BadInput(f"{path}: cannot read {what} ({exc.strerror})") from None


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)
