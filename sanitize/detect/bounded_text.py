"""Bounded views of text artifacts: a capped prefix, JSON keys found in it, a first JSON line.

Chat logs, prompt logs and JSON stores can be gigabytes. Detectors here decide from at most
`TEXT_PREFIX_BYTES`, never parse a whole file, and only ever look at key names and structure.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sanitize.detect.base import FileContext
from sanitize.detect.base import looks_like_text as looks_like_text  # moved to base; still importable here

TEXT_PREFIX_BYTES = 64 * 1024

_JSON_KEY = re.compile(rb'"([A-Za-z_][A-Za-z0-9_./-]{0,63})"\s*:')


def read_prefix(ctx: FileContext) -> bytes:
    """The first TEXT_PREFIX_BYTES of the file (the header plus at most one more capped read).

    Several text detectors look at the same file in turn; they share one read through ctx.memo.
    """
    if ctx.size <= len(ctx.header):
        return ctx.header
    cached = ctx.memo.get("text-prefix")
    if cached is None:
        want = min(TEXT_PREFIX_BYTES, ctx.size) - len(ctx.header)
        cached = ctx.header + ctx.read_at(len(ctx.header), want)
        ctx.memo["text-prefix"] = cached
    return cached  # type: ignore[return-value]


def is_whole(ctx: FileContext, prefix: bytes) -> bool:
    return len(prefix) >= ctx.size


# A JSON object or array as the detectors take it: after whitespace or a BOM (first_significant_byte),
# as a Gate's opening. Gates that share one are tested together (see Gate.keyed).
JSON_OBJECT_OPENING = rb"[ \t\r\n\xef\xbb\xbf]*\{"
JSON_ARRAY_OPENING = rb"[ \t\r\n\xef\xbb\xbf]*\["


def first_significant_byte(data: bytes) -> int | None:
    stripped = data.lstrip(b" \t\r\n\xef\xbb\xbf")
    return stripped[0] if stripped else None


def json_keys(prefix: bytes) -> set[str]:
    """Every `"key":` in the prefix, at any depth: enough for structure rules, no parsing."""
    return {m.group(1).decode("ascii") for m in _JSON_KEY.finditer(prefix)}


def load_whole_json(ctx: FileContext, prefix: bytes) -> Any | None:
    """Parse the file only when the prefix holds all of it; None for truncated or malformed JSON."""
    if not is_whole(ctx, prefix):
        return None
    try:
        return json.loads(prefix)
    except (ValueError, RecursionError):
        return None


def first_json_line(prefix: bytes) -> dict[str, Any] | None:
    """The first non-empty line of a JSONL prefix, if it is a complete JSON object."""
    for raw in prefix.split(b"\n", 8)[:8]:
        line = raw.strip()
        if not line:
            continue
        if not line.startswith(b"{"):
            return None
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            return None
        return value if isinstance(value, dict) else None
    return None


def is_jsonl(prefix: bytes) -> bool:
    """At least two lines that each hold a JSON object (the first one complete)."""
    lines = [ln.strip() for ln in prefix.split(b"\n", 8)[:8] if ln.strip()]
    return len(lines) >= 2 and first_json_line(prefix) is not None and lines[1].startswith(b"{")
