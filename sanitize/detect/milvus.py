"""Milvus: standalone binlog files and Milvus Lite 3.x directories.

A binlog starts with the i32 magic 0xfffabc, then the descriptor event header: u64
timestamp, i8 type code (0 = descriptor), i32 event length, i32 next position, where next
position = 4 + event length. A Milvus Lite `X.db` is a directory holding
`collections/<c>/manifest.json` and `schema.json` (its `.idx` files are FAISS).
"""

from __future__ import annotations

import json
import os
import struct

from sanitize.detect.base import Category, DirContext, FileContext, Finding
from sanitize.detect.dir_files import list_dir, read_head

BINLOG_MAGIC = struct.pack("<i", 0xFFFABC)


def sniff_binlog(header: bytes) -> Finding | None:
    if len(header) < 21 or not header.startswith(BINLOG_MAGIC):
        return None
    _ts, type_code, event_len, next_pos = struct.unpack_from("<QbiI", header, 4)
    if type_code != 0 or not (17 <= event_len <= 1 << 24) or next_pos != 4 + event_len:
        return None
    return Finding(Category.VECTOR_STORE, "milvus-binlog", "milvus-binlog-magic")


class MilvusDetector:
    name = "milvus"
    first_bytes = BINLOG_MAGIC[:1]

    def sniff(self, header: bytes) -> Finding | None:
        return sniff_binlog(header)

    def detect(self, ctx: FileContext) -> Finding | None:
        return sniff_binlog(ctx.header)

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if "collections" not in ctx.entries:
            return None
        base = os.path.join(ctx.path, "collections")
        collections = 0
        for name in list_dir(base, limit=1000):
            schema = read_head(os.path.join(base, name, "schema.json"), 64 * 1024)
            manifest = read_head(os.path.join(base, name, "manifest.json"), 16)
            if not schema or not manifest.lstrip().startswith(b"{"):
                continue
            try:
                parsed = json.loads(schema)
            except (ValueError, RecursionError):
                continue
            if isinstance(parsed, dict) and "fields" in parsed:
                collections += 1
        if not collections:
            return None
        return Finding(Category.VECTOR_STORE, "milvus-lite", "milvus-lite-dir", {"collections": collections})


DETECTORS = [MilvusDetector()]
