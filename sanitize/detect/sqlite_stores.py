"""SQLite files that hold AI data: known vector-store and chat-app schemas, then generic
embedding columns and chat-shaped tables.

Only files whose first bytes are a SQLite header ever reach SQLite, and they are opened
read-only and immutable (see `sqlite_readonly`). Reports carry table names, row counts and
vector dimensions, never a row's content. A file with the SQLite magic that is not a
well-formed database (truncated, overwritten pages, a bad header) raises `SqliteDamaged`: the
scan lists it as damaged, as what page 1 still shows (a known schema) when it shows one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sanitize.detect.base import Category, Detail, FileContext, Finding
from sanitize.detect.sqlite_embeddings import find_embedding_columns
from sanitize.detect.sqlite_readonly import (
    DAMAGE_ERRORS,
    SQLITE_MAGIC,
    Connection,
    SchemaEntry,
    SqliteDamaged,
    SqliteError,
    capped_count,
    has_sqlite_header,
    header_damage,
    open_context,
    quote_ident,
    read_schema,
)

COUNT_CAP = 1_000_000
MAX_TABLES_EXAMINED = 200

_CREATE_TABLE = re.compile(
    rb"CREATE\s+(?:VIRTUAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`\[]?([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE
)
_VEC0 = re.compile(r"USING\s+vec0\s*\(", re.IGNORECASE)
_VSS0 = re.compile(r"USING\s+vss0\s*\(", re.IGNORECASE)
_VEC0_DIM = re.compile(r"float\[(\d{1,6})\]", re.IGNORECASE)
_VSS0_DIM = re.compile(r"\w+\s*\(\s*(\d{1,6})\s*\)")


@dataclass(frozen=True)
class KnownSchema:
    format: str
    category: Category
    tables: frozenset[str]  # all must be present
    count_table: str  # rows counted for the report
    count_key: str
    credential_tables: frozenset[str] = frozenset()  # present => the file also holds secrets

    def matches(self, tables: set[str]) -> bool:
        return self.tables <= tables


KNOWN_SCHEMAS: tuple[KnownSchema, ...] = (
    KnownSchema("chroma", Category.VECTOR_STORE, frozenset({"embeddings_queue", "collections", "segments"}),
                "embeddings", "embeddings"),
    KnownSchema("open-webui", Category.CONVERSATION, frozenset({"chat", "auth", "user"}), "chat", "chats",
                frozenset({"auth", "user"})),
    KnownSchema("anythingllm", Category.CONVERSATION, frozenset({"workspace_chats", "workspaces"}),
                "workspace_chats", "chats", frozenset({"api_keys", "users"})),
    KnownSchema("gpt4all-localdocs", Category.VECTOR_STORE,
                frozenset({"chunks", "documents", "folders", "collection_items"}), "chunks", "chunks"),
)  # fmt: skip


def tables_in_prefix(data: bytes) -> set[str]:
    """Lower-cased names of the tables whose CREATE statements appear in these bytes."""
    return {m.group(1).decode("ascii").lower() for m in _CREATE_TABLE.finditer(data)}


def _schema_from_header(header: bytes) -> tuple[set[str], str]:
    """Table names and SQL text visible in page 1 (small schemas fit there entirely)."""
    return tables_in_prefix(header), header.decode("latin-1")


def _known_in_page_one(header: bytes) -> Finding | None:
    tables, text = _schema_from_header(header)
    known = _classify_known(tables, [text])
    return known[0] if known else None


def _virtual_kind(sql: str) -> tuple[str, int] | None:
    if _VEC0.search(sql):
        m = _VEC0_DIM.search(sql)
        return "sqlite-vec", int(m.group(1)) if m else 0
    if _VSS0.search(sql):
        m = _VSS0_DIM.search(sql.split("(", 1)[1] if "(" in sql else "")
        return "sqlite-vss", int(m.group(1)) if m else 0
    return None


def _classify_known(tables: set[str], sql_texts: Iterable[str]) -> tuple[Finding, KnownSchema | None] | None:
    for schema in KNOWN_SCHEMAS:
        if schema.matches(tables):
            details: dict[str, Detail] = {}
            if schema.credential_tables & tables:
                details["has_credentials"] = True
            return Finding(schema.category, schema.format, f"sqlite-schema:{schema.format}", details), schema
    for sql in sql_texts:
        kind = _virtual_kind(sql)
        if kind is not None:
            fmt, dim = kind
            details = {"dimension": dim} if dim else {}
            return Finding(Category.VECTOR_STORE, fmt, f"sqlite-schema:{fmt}", details), None
    if tables == {"points"}:
        return Finding(Category.VECTOR_STORE, "qdrant-local", "sqlite-schema:qdrant-local"), None
    return None


def _ordinary_tables(schema: list[SchemaEntry]) -> list[str]:
    virtual = [e.name for e in schema if e.type == "table" and e.sql.upper().startswith("CREATE VIRTUAL")]
    out = []
    for e in schema:
        if e.type != "table" or e.name.startswith("sqlite_") or e.name in virtual:
            continue
        if any(e.name.startswith(v + "_") for v in virtual):  # shadow tables of FTS/vec0/vss0
            continue
        out.append(e.name)
    return out[:MAX_TABLES_EXAMINED]


_CHAT_PAIRS: tuple[tuple[str, frozenset[str]], ...] = (
    ("role+content", frozenset({"role", "content"})),
    ("prompt+completion", frozenset({"prompt", "completion"})),
    ("prompt+response", frozenset({"prompt", "response"})),
    ("prompt+answer", frozenset({"prompt", "answer"})),
    ("question+answer+context", frozenset({"question", "answer", "context"})),
)


def _chat_table(conn: Connection, tables: list[str]) -> tuple[str, str] | None:
    for table in tables:
        cols = {str(r[1]).lower() for r in conn.execute(f"PRAGMA table_info({quote_ident(table)})")}
        for rule, needed in _CHAT_PAIRS:
            if needed <= cols:
                return table, rule
        if "messages" in cols and any(w in table.lower() for w in ("chat", "conversation", "thread")):
            return table, "messages"
    return None


def _count_details(conn: Connection, table: str, key: str) -> dict[str, Detail]:
    """The row count, or nothing when it cannot be had (the budget ran out, an odd table);
    a damaged page raises, so the file is reported as damaged."""
    try:
        count, capped = capped_count(conn, table, COUNT_CAP)
    except DAMAGE_ERRORS:
        raise
    except SqliteError:
        return {}
    details: dict[str, Detail] = {key: count}
    if capped:
        details[f"{key}_capped"] = True
    return details


class SqliteStoreDetector:
    name = "sqlite-stores"
    first_bytes = b"S"  # "SQLite format 3\0"

    def sniff(self, header: bytes) -> Finding | None:
        return _known_in_page_one(header) if has_sqlite_header(header) else None

    def detect(self, ctx: FileContext) -> Finding | None:
        if not ctx.header.startswith(SQLITE_MAGIC):
            return None
        damage = header_damage(ctx.header)
        if damage is not None:
            raise SqliteDamaged(damage, recognised=_known_in_page_one(ctx.header))
        seen: list[Finding] = []  # what the schema showed before a damaged page was met
        try:
            with open_context(ctx) as conn:
                return self._inspect(conn, seen)
        except SqliteDamaged as exc:
            exc.recognised = seen[-1] if seen else _known_in_page_one(ctx.header)
            raise

    def _inspect(self, conn: Connection, seen: list[Finding]) -> Finding | None:
        schema = read_schema(conn)
        tables = {e.name.lower() for e in schema if e.type == "table"}
        known = _classify_known(tables, [e.sql for e in schema if e.type == "table"])
        if known is not None:
            finding, spec = known
            seen.append(finding)
            details = dict(finding.details)
            if spec is not None:
                details.update(_count_details(conn, _actual_name(schema, spec.count_table), spec.count_key))
            elif finding.format == "qdrant-local":
                details.update(_count_details(conn, _actual_name(schema, "points"), "points"))
            details["tables"] = len(tables)
            return Finding(finding.category, finding.format, finding.evidence, details)
        ordinary = _ordinary_tables(schema)
        columns = find_embedding_columns(conn, ordinary)
        if columns:
            first = columns[0]
            details = {"dimension": first.dim, "element": first.element, "embedding_columns": len(columns)}
            found = Finding(Category.VECTOR_STORE, "sqlite-embeddings", first.evidence, details)
            return _with_rows(conn, found, first.table, seen)
        chat = _chat_table(conn, ordinary)
        if chat is not None:
            table, rule = chat
            found = Finding(Category.CONVERSATION, "sqlite-chat", f"sqlite-chat-columns:{rule}", {"chat_tables": 1})
            return _with_rows(conn, found, table, seen)
        return None


def _with_rows(conn: Connection, found: Finding, table: str, seen: list[Finding]) -> Finding:
    """`found` with the rows of `table` counted; noted in `seen` first, so that a damaged table
    still reports what the file is."""
    seen.append(found)
    return Finding(
        found.category, found.format, found.evidence, {**found.details, **_count_details(conn, table, "rows")}
    )


WAL_MAGICS = (b"\x37\x7f\x06\x82", b"\x37\x7f\x06\x83")
WAL_FORMAT_VERSION = 3007000
WAL_PREFIX_BYTES = 64 * 1024


def _is_wal(header: bytes) -> bool:
    return len(header) >= 32 and header[:4] in WAL_MAGICS and int.from_bytes(header[4:8], "big") == WAL_FORMAT_VERSION


class SqliteWalDetector:
    """`-wal` files next to a live database hold its most recent pages, often a chat app's newest
    messages, and `immutable=1` reads ignore them. A WAL frame that carries page 1 shows the
    schema in plain text, so known schemas are recognised from the WAL's first frames."""

    name = "sqlite-wal"
    first_bytes = b"\x37"  # both WAL magics

    def sniff(self, header: bytes) -> Finding | None:
        return self._classify(header) if _is_wal(header) else None

    def detect(self, ctx: FileContext) -> Finding | None:
        if not _is_wal(ctx.header):
            return None
        prefix = ctx.header
        if ctx.size > len(prefix):
            prefix += ctx.read_at(len(prefix), min(ctx.size, WAL_PREFIX_BYTES) - len(prefix))
        return self._classify(prefix)

    @staticmethod
    def _classify(data: bytes) -> Finding | None:
        tables, text = _schema_from_header(data)
        known = _classify_known(tables, [text])
        if known is None:
            return None
        finding = known[0]
        return Finding(finding.category, finding.format, f"sqlite-wal-schema:{finding.format}", finding.details)


def _actual_name(schema: list[SchemaEntry], lowered: str) -> str:
    return next((e.name for e in schema if e.name.lower() == lowered), lowered)


DETECTORS = [SqliteStoreDetector(), SqliteWalDetector()]
