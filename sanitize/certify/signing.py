"""Detached signatures over canonical JSON, checkable with `openssl dgst -sha256 -verify`.

ECDSA keys give a DER (X9.62) ECDSA-SHA256 signature, RSA keys PKCS#1 v1.5 SHA-256: the two
forms `openssl dgst -sha256 -signature` accepts without extra options.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from sanitize.certify.keys import Signer


def sign(signer: Signer, data: bytes) -> bytes:
    if isinstance(signer.key, ec.EllipticCurvePrivateKey):
        return signer.key.sign(data, ec.ECDSA(hashes.SHA256()))
    return signer.key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def signature_valid(cert: x509.Certificate, data: bytes, signature: bytes) -> bool:
    public = cert.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True
