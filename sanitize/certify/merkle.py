"""RFC 6962 Merkle tree hash: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right).

The domain-separation prefixes stop a leaf being passed off as an inner node (second preimage).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 §2.1 over the raw leaf data."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    return _mth([leaf_hash(d) for d in leaves])


def _mth(hashes: list[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    split = 1 << ((len(hashes) - 1).bit_length() - 1)  # largest power of two below n
    return node_hash(_mth(hashes[:split]), _mth(hashes[split:]))
