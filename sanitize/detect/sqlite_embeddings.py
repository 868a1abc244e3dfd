"""Spot embedding vectors in arbitrary SQLite tables by the shape of a small sample.

A column holds embeddings when a sample of at most `SAMPLE_ROWS` values all have one length
that is a common model dimension times 4 (float32) or 2 (float16), or are JSON arrays of that
many numbers, and a decoded vector looks like one: finite, small, most components not near zero. Favicons,
hashes and UUIDs fail one of these. Only lengths and one decoded vector are examined; nothing
leaves this module but the dimension and element type.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass

from sanitize.detect.sqlite_readonly import Connection, quote_ident

SAMPLE_ROWS = 50
EMBEDDING_DIMS = frozenset({256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096})
MAX_ABS_COMPONENT = 10.0
MIN_MEDIAN_COMPONENT = 1e-6
_VECTOR_HINTS = ("embed", "vector", "vec")
_MAX_JSON_VECTOR_CHARS = 4096 * 32


@dataclass(frozen=True)
class EmbeddingColumn:
    table: str
    column: str
    element: str  # float32, float16, json
    dim: int

    @property
    def evidence(self) -> str:
        return f"sqlite-embedding-blobs:{self.element}x{self.dim}"


def _plausible_vector(values: tuple[float, ...] | list[float]) -> bool:
    if not values:
        return False
    if not all(isinstance(v, int | float) and math.isfinite(v) and abs(v) < MAX_ABS_COMPONENT for v in values):
        return False
    # Reinterpreted data (float16 pairs read as float32) decodes to denormal-sized values:
    # a real dense embedding has most components well away from zero.
    magnitudes = sorted(abs(v) for v in values)
    return magnitudes[len(magnitudes) // 2] >= MIN_MEDIAN_COMPONENT


def _decode_binary(blob: bytes, element: str, dim: int) -> tuple[float, ...]:
    code = "f" if element == "float32" else "e"
    return struct.unpack(f"<{dim}{code}", blob)


def _binary_layout(length: int) -> list[tuple[str, int]]:
    layouts = []
    if length % 4 == 0 and length // 4 in EMBEDDING_DIMS:
        layouts.append(("float32", length // 4))
    if length % 2 == 0 and length // 2 in EMBEDDING_DIMS:
        layouts.append(("float16", length // 2))
    return layouts


def _candidate_columns(conn: Connection, table: str) -> list[tuple[str, str]]:
    cols = conn.execute(f"PRAGMA table_info({quote_ident(table)})").fetchall()
    out = []
    for _cid, name, decl, *_ in cols:
        decl_u = str(decl or "").upper()
        hinted = any(h in str(name).lower() for h in _VECTOR_HINTS)
        if "BLOB" in decl_u or decl_u == "" or hinted:
            out.append((str(name), decl_u))
    return out


def _check_column(conn: Connection, table: str, column: str) -> EmbeddingColumn | None:
    t, c = quote_ident(table), quote_ident(column)
    sample = conn.execute(
        f"SELECT typeof({c}), length({c}) FROM {t} WHERE {c} IS NOT NULL LIMIT ?", (SAMPLE_ROWS,)
    ).fetchall()
    if not sample:
        return None
    kinds = {kind for kind, _ in sample}
    lengths = {length for _, length in sample}
    if kinds == {"blob"} and len(lengths) == 1:
        (length,) = lengths
        if not isinstance(length, int):
            return None
        for element, dim in _binary_layout(length):
            rows = conn.execute(f"SELECT {c} FROM {t} WHERE {c} IS NOT NULL LIMIT 3").fetchall()
            blobs = [r[0] for r in rows if isinstance(r[0], bytes)]
            if len(blobs) == len(rows) and all(_plausible_vector(_decode_binary(b, element, dim)) for b in blobs):
                return EmbeddingColumn(table, column, element, dim)
        return None
    if kinds == {"text"}:
        # As bytes: SQLite stores whatever bytes an application gave it, and a value that is not
        # valid UTF-8 is simply not a JSON vector (APSW would raise decoding it as text).
        rows = conn.execute(
            f"SELECT CAST({c} AS BLOB) FROM {t} WHERE {c} IS NOT NULL AND substr({c}, 1, 1) = '[' "
            f"AND length({c}) <= ? LIMIT 3",
            (_MAX_JSON_VECTOR_CHARS,),
        ).fetchall()
        if not rows:
            return None
        dims = set()
        for (raw,) in rows:
            if not isinstance(raw, bytes):
                return None
            try:
                values = json.loads(raw.decode("utf-8"))
            except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
                return None
            if not isinstance(values, list) or not _plausible_vector(values):
                return None
            if all(isinstance(v, int) for v in values):  # lists of small integers are not embeddings
                return None
            dims.add(len(values))
        if len(dims) == 1 and (dim := dims.pop()) in EMBEDDING_DIMS:
            return EmbeddingColumn(table, column, "json", dim)
    return None


def find_embedding_columns(conn: Connection, tables: list[str], limit: int = 4) -> list[EmbeddingColumn]:
    found: list[EmbeddingColumn] = []
    for table in tables:
        for column, _decl in _candidate_columns(conn, table):
            hit = _check_column(conn, table, column)
            if hit is not None:
                found.append(hit)
                if len(found) >= limit:
                    return found
    return found
