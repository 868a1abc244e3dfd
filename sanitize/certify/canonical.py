"""Canonical JSON: the exact bytes that are hashed and signed.

Sorted keys, UTF-8 (not \\u escapes), no insignificant whitespace, no NaN/Infinity, so the
same document always yields the same bytes and an auditor's `openssl dgst` sees what we signed.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sanitize.errors import BadInput


def canonical_bytes(document: Any) -> bytes:
    try:
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:  # NaN/Infinity would make the bytes non-portable
        raise BadInput(f"document cannot be canonicalised: {exc}") from None
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_json_bytes(data: bytes, *, what: str) -> Any:
    """Parse JSON, turning every decoding problem into one BadInput line."""
    try:
        text = data.decode("utf-8")
        value = json.loads(text, parse_constant=_reject_constant)
        if _SURROGATE_ESCAPE.search(text):
            # A lone "\udc80" escape is valid JSON but no UTF-8 text: it could be neither
            # printed nor canonicalised, so the file is refused here, not by a later crash.
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except UnicodeEncodeError:
        raise BadInput(f"{what}: not valid JSON (an unpaired surrogate escape: no UTF-8 text)") from None
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise BadInput(f"{what}: not valid JSON ({exc})") from None
    except RecursionError:
        raise BadInput(f"{what}: not valid JSON (nested too deeply)") from None


# Strictly decoded UTF-8 holds no surrogates: only a \u escape can make one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")
