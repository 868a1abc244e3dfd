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
from json.encoder import encode_basestring
from typing import Any

try:  # private to json: another Python may lack it, and then json.dumps writes every document
    from json.encoder import c_make_encoder  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - CPython 3.11-3.14 have it
    c_make_encoder = None

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
    text = _dumps(value, indent)
    # isascii() is a flag of the string (no scan): a surrogate is looked for only in other text.
    if "\\\\" in text or (not text.isascii() and _SURROGATES.search(text)):
        text = _dumps(json_safe(value), indent)
    return text


def _dumps(value: Any, indent: int | None) -> str:
    """`json.dumps(value, indent=indent, ensure_ascii=False)`, the same text, mostly written by the
    C encoder: Python's json writes with its pure-Python encoder whenever `indent` is set."""
    if type(indent) is int and indent >= 0 and c_make_encoder is not None and type(value) in _CONTAINERS and value:
        try:
            return _Indented(indent).container(value, 0)
        except _Unusual:
            pass
    return json.dumps(value, indent=indent, ensure_ascii=False)


class _Unusual(Exception):
    """A document `_Indented` leaves to json.dumps: a subclass of a JSON type, a key that is not a
    string, another type, nesting deeper than MAX_DEPTH (or a cycle)."""


def _unusual(value: Any) -> Any:
    raise _Unusual


_SCALARS = frozenset({str, int, float, bool, type(None)})
_CONTAINERS = frozenset({dict, list, tuple})
_NESTED = (dict, list, tuple)
_PLACEHOLDER = 0x5EED_0000_0000_0000_0000  # + n: where a dict's n-th nested container goes
MAX_DEPTH = 64


class _Indented:
    """The text of `json.dumps(indent=n, ensure_ascii=False)`, written a container at a time: the
    C encoder writes a dict's scalar and empty items in one call, with the item separator of its
    depth (`,` newline, indentation); each non-empty container in it is written the same way and
    put where a placeholder number stood (the number checked to occur once)."""

    def __init__(self, indent: int) -> None:
        self.indent = indent
        self.levels: list[tuple[Any, str, str]] = []  # by depth: encoder, its items' and its own indentation

    def container(self, value: Any, level: int) -> str:
        """The text of a non-empty dict, list or tuple at depth `level`."""
        if level >= len(self.levels):
            if level > MAX_DEPTH:
                raise _Unusual
            while len(self.levels) <= level:
                inner = "\n" + " " * (self.indent * (len(self.levels) + 1))
                encoder = c_make_encoder({}, _unusual, encode_basestring, None, ": ", "," + inner, False, False, True)
                self.levels.append((encoder, inner, "\n" + " " * (self.indent * len(self.levels))))
        encoder, inner, outer = self.levels[level]
        if not isinstance(value, dict):
            items = [self.container(v, level + 1) if isinstance(v, _NESTED) and v else _scalar(v) for v in value]
            return "[" + inner + ("," + inner).join(items) + outer + "]"
        # Keys, scalars and their subclasses (a StrEnum): the C encoder writes them as json's
        # Python encoder does; another type reaches `_unusual`.
        nested: dict[Any, Any] | None = None
        for k, v in value.items():
            if isinstance(v, _NESTED) and v:
                if nested is None:
                    nested = {}
                nested[k] = v
        if nested is None:
            text: str = encoder(value, 0)[0]
        else:
            flat = dict(value)
            for n, k in enumerate(nested):
                flat[k] = _PLACEHOLDER + n
            text = encoder(flat, 0)[0]
            for n, v in enumerate(nested.values()):
                mark = str(_PLACEHOLDER + n)
                if text.count(mark) != 1:  # the number also occurs in the document's own text
                    raise _Unusual
                text = text.replace(mark, self.container(v, level + 1))
        return "{" + inner + text[1:-1] + outer + "}"


def _scalar(value: Any) -> str:
    """A list item that is a scalar or an empty container, as json writes it."""
    if type(value) not in _SCALARS and type(value) not in _CONTAINERS:
        raise _Unusual
    text: str = _FLAT([value], 0)[0]
    return text[1:-1]


_FLAT: Any = (
    c_make_encoder({}, _unusual, encode_basestring, None, ": ", ", ", False, False, True)
    if c_make_encoder is not None
    else None
)


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
