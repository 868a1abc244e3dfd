"""Read a Parquet file's footer (column names, types and sizes) without pyarrow.

A Parquet file ends with its `FileMetaData` (Thrift compact protocol), a little-endian u32 with
its length and `PAR1`. Only what structure rules need is kept: each leaf column's name, whether
it holds strings, and its value count and uncompressed size summed over row groups (so the
average bytes per value, which tells long free text from codes and numbers). Column statistics
(min/max values, which are content) are skipped unread. The reader is bounded: one footer of at
most MAX_FOOTER bytes, nesting depth and collection sizes capped; malformed input raises
`ParquetError`, and a footer past the size bounds `ParquetTooLarge`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from sanitize.detect.base import FileContext

MAGIC = b"PAR1"
MAX_FOOTER = 512 * 1024
MAX_DEPTH = 12
MAX_ITEMS = 200_000  # values decoded per footer, all collections together
BYTE_ARRAY = 6
UTF8 = 0  # ConvertedType.UTF8

# Thrift compact type ids
_BOOL_TRUE, _BOOL_FALSE, _I8, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)


class ParquetError(Exception):
    """The file starts and ends like Parquet but its footer is malformed: damaged (or hostile)."""


class ParquetTooLarge(ParquetError):
    """A footer beyond the reader's bounds (MAX_FOOTER bytes, MAX_ITEMS values): not read, maybe valid."""


class _Reader:
    def __init__(self, data: bytes, keep_binary: frozenset[tuple[int, ...]]) -> None:
        self.data = data
        self.pos = 0
        self.items = 0
        self.keep = keep_binary  # field paths whose binary values are kept (column names only)

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ParquetError("truncated footer")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise ParquetError("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, ttype: int, path: tuple[int, ...], depth: int) -> object:
        self.items += 1
        if self.items > MAX_ITEMS:
            raise ParquetTooLarge("footer too large")
        if depth > MAX_DEPTH:  # FileMetaData nests a few levels deep; deeper is not Parquet's
            raise ParquetError("footer nested too deep")
        if ttype in (_BOOL_TRUE, _BOOL_FALSE):
            return ttype == _BOOL_TRUE
        if ttype == _I8:
            return self.byte()
        if ttype in (_I16, _I32, _I64):
            return self.zigzag()
        if ttype == _DOUBLE:
            self.pos += 8
            return None
        if ttype == _BINARY:
            n = self.varint()
            if n > len(self.data) - self.pos:
                raise ParquetError("binary beyond footer")
            raw = self.data[self.pos : self.pos + n] if path in self.keep else None
            self.pos += n
            return raw
        if ttype in (_LIST, _SET):
            head = self.byte()
            size, etype = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            if etype in (_BOOL_TRUE, _BOOL_FALSE):  # list<bool>: one byte per element
                self.pos += size
                return []
            return [self.value(etype, path, depth + 1) for _ in range(size)]
        if ttype == _MAP:
            size = self.varint()
            if size:
                kv = self.byte()
                for _ in range(size):
                    self.value(kv >> 4, path, depth + 1)
                    self.value(kv & 0x0F, path, depth + 1)
            return None
        if ttype == _STRUCT:
            return self.struct(path, depth + 1)
        raise ParquetError(f"unknown thrift type {ttype}")

    def struct(self, path: tuple[int, ...] = (), depth: int = 0) -> dict[int, object]:
        fields: dict[int, object] = {}
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return fields
            delta, ttype = head >> 4, head & 0x0F
            fid = last + delta if delta else self.zigzag()
            last = fid
            fields[fid] = self.value(ttype, (*path, fid), depth)


@dataclass(frozen=True)
class Column:
    name: str  # the leaf's path in the schema, dot-joined
    is_string: bool
    values: int
    uncompressed_bytes: int

    @property
    def avg_bytes(self) -> float:
        return self.uncompressed_bytes / self.values if self.values else 0.0


@dataclass(frozen=True)
class Footer:
    rows: int
    columns: tuple[Column, ...]


# FileMetaData: 2 schema list<SchemaElement{1 type, 4 name, 5 num_children, 6 converted_type,
# 10 logicalType{1 STRING}}>, 3 num_rows, 4 row_groups list<RowGroup{1 columns list<ColumnChunk{
# 3 meta_data ColumnMetaData{3 path_in_schema list<binary>, 5 num_values, 6 total_uncompressed_size}}>}>
_KEEP = frozenset({(2, 4), (4, 1, 3, 3)})


def read_footer(ctx: FileContext) -> Footer | None:
    """The footer of a Parquet file, None if the file does not start and end like one."""
    if ctx.size < 12 or not ctx.header.startswith(MAGIC):
        return None
    tail = ctx.tail(8)
    if tail[4:] != MAGIC:
        return None
    (length,) = struct.unpack("<I", tail[:4])
    if length == 0 or length > ctx.size - 12:
        raise ParquetError("footer length out of range")
    if length > MAX_FOOTER:
        raise ParquetTooLarge("footer too large")
    meta = _Reader(ctx.read_at(ctx.size - 8 - length, length), _KEEP).struct()
    return _summarise(meta)


def _summarise(meta: dict[int, object]) -> Footer:
    schema = meta.get(2)
    if not isinstance(schema, list) or not schema:
        raise ParquetError("no schema")
    strings: dict[str, bool] = {}
    for element in schema[1:]:  # the first element is the root
        if not isinstance(element, dict) or element.get(5):  # groups have num_children
            continue
        name = element.get(4)
        if isinstance(name, bytes):
            logical = element.get(10)
            is_string = element.get(1) == BYTE_ARRAY and (
                element.get(6) == UTF8 or (isinstance(logical, dict) and 1 in logical) or element.get(6) is None
            )
            strings[name.decode("utf-8", "replace")] = is_string
    sizes: dict[str, list[int]] = {}
    groups = meta.get(4)
    for group in groups if isinstance(groups, list) else []:
        chunks = group.get(1) if isinstance(group, dict) else None
        for chunk in chunks if isinstance(chunks, list) else []:
            md = chunk.get(3) if isinstance(chunk, dict) else None
            if not isinstance(md, dict) or not isinstance(md.get(3), list):
                continue
            path = ".".join(p.decode("utf-8", "replace") for p in md[3] if isinstance(p, bytes))
            acc = sizes.setdefault(path, [0, 0])
            acc[0] += md.get(5) if isinstance(md.get(5), int) else 0  # type: ignore[operator]
            acc[1] += md.get(6) if isinstance(md.get(6), int) else 0  # type: ignore[operator]
    columns = []
    for path, (values, size) in sizes.items():
        leaf = path.rsplit(".", 1)[-1]
        columns.append(Column(path, strings.get(leaf, False), values, size))
    if not columns:  # no row groups: names and types only
        columns = [Column(name, is_string, 0, 0) for name, is_string in strings.items()]
    rows = meta.get(3)
    return Footer(rows if isinstance(rows, int) else 0, tuple(columns))
