"""USearch indexes: `usearch` + u16 major, minor, patch. `Index.save()` may put a vector
blob first (u32 rows, u32 bytes per row, rows*bytes of data), so the magic can follow it."""

from __future__ import annotations

import struct

from sanitize.detect.base import BINARY, Category, Detail, FileContext, Finding, Gate

MAGIC = b"usearch"


def _at(buf: bytes, offset: int, vectors_first: bool | None = None) -> Finding | None:
    """The index whose magic is at `offset` of `buf`; `vectors_first` when `buf` is not the file's start."""
    if buf[offset : offset + 7] != MAGIC or len(buf) < offset + 13:
        return None
    major, minor, patch = struct.unpack_from("<HHH", buf, offset + 7)
    if major > 20 or minor > 200 or patch > 1000:
        return None
    first = offset > 0 if vectors_first is None else vectors_first
    details: dict[str, Detail] = {"version": f"{major}.{minor}.{patch}", "vectors_first": first}
    return Finding(Category.VECTOR_STORE, "usearch", "usearch-magic", details)


def _blob_offset(head: bytes) -> int | None:
    if len(head) < 8:
        return None
    rows, width = struct.unpack_from("<II", head)
    if rows == 0 or width == 0 or width > 1 << 20:
        return None
    return 8 + int(rows) * int(width)


def sniff_usearch(header: bytes) -> Finding | None:
    found = _at(header, 0)
    if found is None and (offset := _blob_offset(header)) is not None and offset + 13 <= len(header):
        found = _at(header, offset)
    return found


class UsearchDetector:
    name = "usearch"
    # The u16 major version (<= 20) after the magic, or the vector blob's u32 row width (<= 1 MiB),
    # has a NUL high byte inside the header.
    header_class = BINARY
    # The magic first, or a vector blob's u32 row width <= 1 MiB (its bytes 6-7 at most 0x10, 0).
    gate = Gate(opening=rb"usearch|(?s:.{6})[\x00-\x10]\x00")

    def sniff(self, header: bytes) -> Finding | None:
        return sniff_usearch(header)

    def detect(self, ctx: FileContext) -> Finding | None:
        header = ctx.header
        if header[:7] == MAGIC and (found := _at(header, 0)) is not None:
            return found
        offset = _blob_offset(header)
        if offset is None:
            return None
        if offset + 13 <= len(header):
            return _at(header, offset)
        if offset + 13 > ctx.size:
            return None
        return _at(ctx.read_at(offset, 13), 0, vectors_first=True)


DETECTORS = [UsearchDetector()]
