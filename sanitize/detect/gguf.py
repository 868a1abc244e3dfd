"""GGUF (llama.cpp): `GGUF`, u32 version 1-3, tensor and KV counts, then typed KV pairs.

Big-endian files keep the magic but store the version big-endian (gguf-py flags BE when
`version & 0xFFFF == 0`). A KV `general.type = "adapter"` marks a LoRA adapter. Only a few
`general.*` / `adapter.*` keys are read; the walk stops at the first large array (the vocab)
or after MAX_KEYS, so a hostile n_kv cannot make it loop.
"""

from __future__ import annotations

import contextlib

from sanitize.detect.base import Category, Detail, FileContext, Finding
from sanitize.detect.binreader import Cursor, Truncated

MAX_KEYS = 64
PARSE_BYTES = 64 * 1024
_SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
_WANTED = {"general.architecture", "general.type", "adapter.type", "general.file_type"}


def _version(header: bytes) -> tuple[int, bool] | None:
    if len(header) < 8 or header[:4] != b"GGUF":
        return None
    le = int.from_bytes(header[4:8], "little")
    if 1 <= le <= 3:
        return le, False
    be = int.from_bytes(header[4:8], "big")
    if 1 <= be <= 3:
        return be, True
    return None


def _read_kv(cur: Cursor, version: int, n_kv: int, found: dict[str, Detail]) -> None:
    """Fill `found` with the wanted keys; a Truncated mid-way keeps what was read."""

    def length() -> int:
        return cur.u32() if version == 1 else cur.u64()

    for _ in range(min(n_kv, MAX_KEYS)):
        key = cur.take(length()).decode("utf-8", "replace")
        vtype = cur.u32()
        if vtype == _STRING:
            raw = cur.take(length())
            if key in _WANTED:
                found[key] = raw[:64].decode("utf-8", "replace")
        elif vtype in _SCALAR_SIZES:
            raw = cur.take(_SCALAR_SIZES[vtype])
            if key in _WANTED and vtype in (4, 5):
                found[key] = int.from_bytes(raw, "big" if cur.order == ">" else "little")
        else:
            break  # an array (vocab, merges) or unknown type: the general.* keys come first
        if found.keys() >= _WANTED:
            break


def _parse(data: bytes) -> Finding | None:
    ver = _version(data)
    if ver is None:
        return None
    version, big = ver
    cur = Cursor(data, 8, big_endian=big)
    try:
        if version == 1:
            n_tensors, n_kv = cur.u32(), cur.u32()
        else:
            n_tensors, n_kv = cur.i64(), cur.i64()
    except Truncated:
        return None
    if n_tensors < 0 or n_kv < 0:
        return None
    details: dict[str, Detail] = {
        "version": version,
        "byte_order": "big" if big else "little",
        "n_tensors": n_tensors,
        "n_kv": n_kv,
    }
    kv: dict[str, Detail] = {}
    with contextlib.suppress(Truncated):  # the magic and version already decide the format
        _read_kv(cur, version, n_kv, kv)
    if "general.architecture" in kv:
        details["architecture"] = kv["general.architecture"]
    is_adapter = kv.get("general.type") == "adapter"
    if is_adapter:
        details["adapter_type"] = str(kv.get("adapter.type", "unknown"))
    evidence = "gguf-magic" + (":be" if big else "") + (":adapter" if is_adapter else "")
    return Finding(Category.ADAPTER if is_adapter else Category.MODEL_WEIGHTS, "gguf", evidence, details)


class GGUFDetector:
    name = "gguf"
    first_bytes = b"G"

    def sniff(self, header: bytes) -> Finding | None:
        return _parse(header)

    def detect(self, ctx: FileContext) -> Finding | None:
        if _version(ctx.header) is None:
            return None
        data = ctx.header
        if ctx.size > len(data):
            data = ctx.read_at(0, min(ctx.size, PARSE_BYTES))
        return _parse(data)


DETECTORS = [GGUFDetector()]
