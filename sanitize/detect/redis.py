"""Redis persistence: RDB snapshots (`REDIS` + 4 digits), AOF logs (RESP commands) and the
Redis 7 `appendonlydir/` with its manifest. Redis holds vectors (raw float32 hash fields) and
chat sessions for RAG apps, so a dump is reported as a store to review."""

from __future__ import annotations

import os
import re

from sanitize.detect.base import Category, DirContext, FileContext, Finding
from sanitize.detect.dir_files import read_head

_AOF_START = re.compile(rb"\*[1-9][0-9]{0,5}\r\n\$[1-9][0-9]{0,5}\r\n[A-Za-z.]{2,32}\r\n")
_AOF_COMMANDS = {b"SELECT", b"SET", b"HSET", b"HMSET", b"MULTI", b"FT.CREATE", b"JSON.SET", b"ZADD", b"RPUSH",
                 b"LPUSH", b"SADD", b"XADD", b"DEL", b"EXPIRE", b"PEXPIREAT", b"INCR"}  # fmt: skip
MAX_MANIFESTS = 4
_MANIFEST_LINE = re.compile(rb"^file \S+ seq \d+ type [bhi]\s*$", re.MULTILINE)


def sniff_redis(header: bytes) -> Finding | None:
    if header[:5] == b"REDIS" and header[5:9].isdigit():
        version = int(header[5:9])
        if 1 <= version <= 99:
            return Finding(Category.VECTOR_STORE, "redis-rdb", "redis-rdb-magic", {"rdb_version": version})
    m = _AOF_START.match(header)
    if m is not None and m.group(0).split(b"\r\n")[2].upper() in _AOF_COMMANDS:
        return Finding(Category.VECTOR_STORE, "redis-aof", "redis-aof-resp")
    return None


class RedisDetector:
    name = "redis"
    first_bytes = b"R*"  # REDIS magic or a RESP array

    def sniff(self, header: bytes) -> Finding | None:
        return sniff_redis(header)

    def detect(self, ctx: FileContext) -> Finding | None:
        return sniff_redis(ctx.header)

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        manifests = sorted(ctx.ending(".manifest"))
        for name in manifests[:MAX_MANIFESTS]:  # Redis writes one; a directory of many is something else
            text = read_head(os.path.join(ctx.path, name), 4096)
            lines = _MANIFEST_LINE.findall(text)
            if lines:
                return Finding(Category.VECTOR_STORE, "redis-aof-dir", "redis-aof-manifest", {"files": len(lines)})
        return None


DETECTORS = [RedisDetector()]
