"""Names from the disk (file names, labels) made safe for JSON documents and for terminals.

Linux file names are bytes. Python decodes the bytes that are not UTF-8 to lone surrogates
(surrogateescape), which a JSON document must not contain (RFC 8259 requires UTF-8), and a
terminal would show a name with a newline, an escape sequence or a right-to-left override as
something else. So:
- `json_safe` gives each such string as text with every undecodable byte written `\\xNN` and
  every backslash doubled (so the text of a name that holds a literal `\\xff` cannot be the
  text of one that holds the byte 0xff), and keeps the exact bytes, base64, in a sibling field
  `<name>_b64` whenever the text is not the name itself (see docs/schemas.md);
- `printable` escapes control and formatting characters for human output;
- `human_size` writes a byte count for a person (binary units).
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from typing import Any

_SURROGATES = re.compile("[\ud800-\udfff]")
_NEEDS_ESCAPE = re.compile("[\ud800-\udfff\\\\]")  # undecodable bytes, and the escape character itself
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _text(value: str) -> str:
    doubled = value.replace("\\", "\\\\")
    return doubled.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _raw_b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8", "surrogateescape")).decode("ascii")


def json_safe(value: Any) -> Any:
    """`value` with every string valid UTF-8; a dict field `k` that needed it gains `k_b64`."""
    if isinstance(value, str):
        return _text(value) if _NEEDS_ESCAPE.search(value) else value
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            safe_key = json_safe(key)
            if isinstance(item, str) and _NEEDS_ESCAPE.search(item):
                out[safe_key] = _text(item)
                out[f"{safe_key}_b64"] = _raw_b64(item)
            else:
                out[safe_key] = json_safe(item)
        return out
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def json_text(value: Any, indent: int | None = 2) -> str:
    """`json.dumps(json_safe(value), indent=indent, ensure_ascii=False)`, made without walking the
    document twice when no string needs it (almost always: a scan's document of thousands of
    artifacts took 70 ms in json_safe's walk). In the JSON text a lone surrogate stays as it is
    and a backslash of a string is always written as two, and nothing else writes either."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    if "\\\\" in text or _SURROGATES.search(text):
        text = json.dumps(json_safe(value), indent=indent, ensure_ascii=False)
    return text


def printable(value: str) -> str:
    """`value` for a terminal: control, formatting and undecodable characters escaped."""
    if value.isprintable() and not _SURROGATES.search(value):
        return value
    out = []
    for ch in value:
        if "\udc80" <= ch <= "\udcff":  # an undecodable byte of the name
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch == " " or unicodedata.category(ch) not in _UNPRINTABLE_CATEGORIES:
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)


def human_size(n: int) -> str:
    """A byte count for a person: "512 B", "1.5 GiB" (PiB is the largest unit)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
