"""SQLite table b-tree leaf pages whose rows hold embedding-sized BLOBs.

A deleted embedding store leaves its pages behind long after the database header is gone.
A leaf table page starts with 0x0D, a cell count and a cell pointer array; each cell is a
record whose header lists serial types, and a BLOB of L bytes has serial type 2L+12. A page
counts when at least one record is internally consistent (header + bodies == payload size)
and carries a BLOB of 4*d bytes for a usual embedding dimension d. Nothing of the record's
body leaves this module: only the dimension and how many cells matched.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np

from sanitize.carve.signatures import Details

LEAF_TABLE = 0x0D
EMBEDDING_DIMS = frozenset({128, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096})
MAX_PAGE = 65536
_MAX_CELLS = 2048
MAX_LOG_PAGES = 4096  # pages walked after one WAL or journal header (16 MiB of 4 KiB pages)

Reader = Callable[[int, int], "bytes | memoryview"]  # (offset from the header, length) -> bytes


def page_candidates(sectors: np.ndarray) -> np.ndarray:
    """Indices of sectors whose first 10 bytes fit a leaf table page header (vectorised)."""
    idx = np.flatnonzero(sectors[:, 0] == LEAF_TABLE)  # 1 sector in 256 of random data
    if idx.size == 0:
        return idx
    s = sectors[idx, :10].astype(np.int32)
    ncells = (s[:, 3] << 8) | s[:, 4]
    content = (s[:, 5] << 8) | s[:, 6]
    content = np.where(content == 0, MAX_PAGE, content)
    ptr0 = (s[:, 8] << 8) | s[:, 9]
    floor = 8 + 2 * ncells
    ok = (ncells >= 1) & (ncells <= _MAX_CELLS) & (content >= floor) & (ptr0 >= content)
    return idx[ok]


def _varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """SQLite varint at pos: (value, next position). Raises IndexError past the end."""
    value = 0
    for i in range(8):
        byte = buf[pos + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos + i + 1
    return (value << 8) | buf[pos + 8], pos + 9


def _content_size(serial: int) -> int | None:
    if serial >= 12:
        return (serial - 12) // 2 if serial % 2 == 0 else (serial - 13) // 2
    return (0, 1, 2, 3, 4, 6, 8, 8, 0, 0, None, None)[serial]


def _record_blob_dim(page: bytes | memoryview, cell: int) -> tuple[int | None, int] | None:
    """(embedding dim or None, local blob position) if the cell holds a consistent record; None if not a record."""
    payload, pos = _varint(page, cell)
    _rowid, pos = _varint(page, pos)
    header_size, hpos = _varint(page, pos)
    if not 2 <= header_size <= min(payload, 1024):
        return None
    end = pos + header_size
    body = header_size
    dim: int | None = None
    blob_at = 0
    while hpos < end:
        serial, hpos = _varint(page, hpos)
        size = _content_size(serial)
        if size is None:
            return None
        if serial >= 12 and serial % 2 == 0 and size % 4 == 0 and size // 4 in EMBEDDING_DIMS and dim is None:
            dim, blob_at = size // 4, pos + body
        body += size
    if hpos != end or body != payload:
        return None
    return dim, blob_at


def _plausible_floats(page: bytes | memoryview, at: int, dim: int) -> bool:
    """When the BLOB lies inside the page, check it decodes as finite, moderate float32s."""
    if at + 4 * dim > len(page):
        return True  # spills into an overflow page: the record structure is the evidence
    values = np.frombuffer(page, dtype="<f4", count=dim, offset=at)
    return bool(np.isfinite(values).all() and (np.abs(values) < 100).all() and values.any())


def inspect_page(page: bytes | memoryview) -> Details | None:
    """Details of a leaf table page holding embedding BLOBs, or None."""
    if len(page) < 16 or page[0] != LEAF_TABLE:
        return None
    ncells = int.from_bytes(page[3:5], "big")
    floor = 8 + 2 * ncells
    if len(page) < floor:
        return None
    cells: list[tuple[int, int]] = []  # (offset of payload, payload size)
    dims: set[int] = set()
    vectors = 0
    try:
        for i in range(ncells):
            ptr = int.from_bytes(page[8 + 2 * i : 10 + 2 * i], "big")
            if ptr < floor:
                return None
            payload, pos = _varint(page, ptr)
            _rowid, pos = _varint(page, pos)
            cells.append((pos, payload))
            found = _record_blob_dim(page, ptr)
            if found is None:
                return None
            dim, at = found
            if dim is not None:
                if not _plausible_floats(page, at, dim):
                    return None
                dims.add(dim)
                vectors += 1
    except IndexError:
        return None
    if vectors == 0 or len(dims) != 1:
        return None
    return {"dim": dims.pop(), "vectors": vectors, "page_size_estimate": _page_size(cells)}


def _local_size(payload: int, usable: int) -> int:
    """Bytes of a table-leaf payload stored on the page itself (SQLite file format §1.6), + overflow pointer."""
    most = usable - 35
    if payload <= most:
        return payload
    least = (usable - 12) * 32 // 255 - 23
    k = least + (payload - least) % (usable - 4)
    return (k if k <= most else least) + 4


def _page_size(cells: list[tuple[int, int]]) -> int:
    """Smallest page size whose local-payload rule makes every cell fit in the page."""
    size = 512
    while size < MAX_PAGE and any(pos + _local_size(p, size) > size for pos, p in cells):
        size *= 2
    return size


def _count_pages(pages: list[bytes | memoryview]) -> Details:
    dims: dict[int, int] = {}
    vectors = 0
    for page in pages:
        details = inspect_page(page)
        if details is not None:
            dim = int(details["dim"])
            dims[dim] = dims.get(dim, 0) + 1
            vectors += int(details["vectors"])
    out: Details = {"embedding_pages": sum(dims.values()), "vectors": vectors}
    if dims:
        out["dim"] = max(dims, key=lambda d: dims[d])
    return out


def walk_wal(header: bytes, read: Reader) -> Details:
    """Frames following a WAL header: 24-byte frame header (salts must match the file's) + page."""
    (page_size,) = struct.unpack_from(">I", header, 8)
    salts = header[16:24]
    pages = []
    for k in range(MAX_LOG_PAGES):
        frame = read(32 + k * (24 + page_size), 24 + page_size)
        if len(frame) < 24 + page_size or bytes(frame[8:16]) != salts:
            break
        pages.append(frame[24:])
    return {"frames": len(pages), **_count_pages(pages)}


def walk_journal(header: bytes, read: Reader) -> Details:
    """Records following a rollback-journal header: u32 page number + original page + u32 checksum."""
    nrec, _nonce, _db_pages, sector, page_size = struct.unpack_from(">IIIII", header, 8)
    if not page_size or not sector:
        return {"records": 0}
    limit = nrec if 0 < nrec < MAX_LOG_PAGES else MAX_LOG_PAGES  # 0xFFFFFFFF/0: count unknown
    pages = []
    for k in range(limit):
        record = read(sector + k * (page_size + 8), page_size + 8)
        if len(record) < page_size + 8:
            break
        (pgno,) = struct.unpack_from(">I", record, 0)
        if not 1 <= pgno < 1 << 31:
            break
        pages.append(record[4 : 4 + page_size])
    return {"records": len(pages), **_count_pages(pages)}


LOG_WALKERS: dict[str, Callable[[bytes, Reader], Details]] = {"sqlite-wal": walk_wal, "sqlite-journal": walk_journal}
