"""Read a zip's central directory through the capped FileContext, never its compressed data.

Zip-based formats (PyTorch, .npz, .keras) are told apart by member names, which sit in the
central directory at the end of the file. Reads stay within READ_BUDGET: the end record from
the last 64 KiB, at most MAX_DIR_BYTES of directory and MAX_ENTRIES names. Nothing is ever
decompressed, so a zip bomb costs the same as any other zip. Member data is only read when
stored uncompressed (method 0), which is how torch.save writes `data.pkl`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from sanitize.detect.base import FileContext

ZIP_MAGIC = b"PK\x03\x04"
MAX_ENTRIES = 4096
MAX_DIR_BYTES = 512 * 1024
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"


@dataclass(frozen=True)
class ZipEntry:
    name: str
    method: int
    compressed_size: int
    size: int
    local_offset: int


@dataclass(frozen=True)
class ZipDirectory:
    entries: tuple[ZipEntry, ...]
    total: int  # entries the end record announces; more than len(entries) when capped

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]


def _zip64_values(extra: bytes, wanted: list[bool]) -> list[int | None]:
    """Values of the zip64 extra field (id 1) for the fields that were 0xFFFFFFFF, in order."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        if tag == 1:
            out: list[int | None] = []
            cursor = 0
            for w in wanted:
                if w and cursor + 8 <= len(body):
                    out.append(struct.unpack_from("<Q", body, cursor)[0])
                    cursor += 8
                else:
                    out.append(None)
            return out
        pos += 4 + length
    return [None] * len(wanted)


def _end_record(ctx: FileContext) -> tuple[int, int, int] | None:
    """(total entries, directory size, directory offset) or None if this is not a zip."""
    tail_len = min(ctx.size, 22 + 65535)
    tail = ctx.tail(tail_len)
    pos = tail.rfind(_EOCD)
    if pos < 0 or pos + 22 > len(tail):
        return None
    _, _, _, total, dir_size, dir_offset, _ = struct.unpack_from("<HHHHIIH", tail, pos + 4)
    if total == 0xFFFF or dir_size == 0xFFFFFFFF or dir_offset == 0xFFFFFFFF:
        loc = pos - 20
        if loc < 0 or tail[loc : loc + 4] != _EOCD64_LOCATOR:
            return None
        (eocd64_offset,) = struct.unpack_from("<Q", tail, loc + 8)
        rec = ctx.read_at(eocd64_offset, 56)
        if len(rec) < 56 or rec[:4] != _EOCD64:
            return None
        total, dir_size, dir_offset = struct.unpack_from("<QQQ", rec, 32)
    return total, dir_size, dir_offset


def central_directory(ctx: FileContext) -> ZipDirectory | None:
    """The (capped) central directory of a zip starting with a local header; memoised on ctx."""
    if ctx.header[:4] != ZIP_MAGIC:
        return None
    if "zip" in ctx.memo:
        return ctx.memo["zip"]  # type: ignore[return-value]
    result = _parse(ctx)
    ctx.memo["zip"] = result
    return result


def _parse(ctx: FileContext) -> ZipDirectory | None:
    end = _end_record(ctx)
    if end is None:
        return None
    total, dir_size, dir_offset = end
    if dir_offset + dir_size > ctx.size:
        return None
    data = ctx.read_at(dir_offset, min(dir_size, MAX_DIR_BYTES))
    entries: list[ZipEntry] = []
    pos = 0
    while pos + 46 <= len(data) and len(entries) < min(total, MAX_ENTRIES):
        if data[pos : pos + 4] != _CENTRAL:
            break
        (method, csize, usize, name_len, extra_len, comment_len, local) = struct.unpack_from(
            "<H8xII HHH8xI", data, pos + 10
        )
        end_of_entry = pos + 46 + name_len + extra_len + comment_len
        if end_of_entry > len(data):
            break
        name = data[pos + 46 : pos + 46 + name_len].decode("utf-8", "replace")
        if 0xFFFFFFFF in (csize, usize, local):
            extra = data[pos + 46 + name_len : pos + 46 + name_len + extra_len]
            big = _zip64_values(extra, [usize == 0xFFFFFFFF, csize == 0xFFFFFFFF, local == 0xFFFFFFFF])
            usize = big[0] if big[0] is not None else usize
            csize = big[1] if big[1] is not None else csize
            local = big[2] if big[2] is not None else local
        entries.append(ZipEntry(name, method, csize, usize, local))
        pos = end_of_entry
    if not entries:
        return None
    return ZipDirectory(tuple(entries), total)


def read_stored(ctx: FileContext, entry: ZipEntry, limit: int) -> bytes | None:
    """Up to `limit` bytes of an uncompressed member; None if compressed or malformed."""
    if entry.method != 0:
        return None
    head = ctx.read_at(entry.local_offset, 30)
    if len(head) < 30 or head[:4] != _LOCAL:
        return None
    name_len, extra_len = struct.unpack_from("<HH", head, 26)
    start = entry.local_offset + 30 + name_len + extra_len
    length = min(limit, entry.size, max(0, ctx.size - start))
    return ctx.read_at(start, length)
