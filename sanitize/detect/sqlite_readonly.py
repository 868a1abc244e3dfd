"""Open a SQLite file for inspection without changing anything on disk.

`mode=ro&immutable=1` makes SQLite skip locking and never create `-wal`/`-shm`/`-journal`
files, so a scan leaves the volume byte-identical (and ignores any uncommitted WAL, which is
acceptable for identification). `query_only` refuses writes even from a hostile schema, and a
progress handler aborts any statement that runs too long, so a huge or crafted database costs
a bounded amount of work.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 0.5
# The progress handler runs every _OPS_PER_TICK virtual-machine instructions; a connection
# may spend _MAX_TICKS of them in total (tens of millions of instructions, well under a second).
_OPS_PER_TICK = 10_000
_MAX_TICKS = 3_000
MAX_SCHEMA_ROWS = 5_000


class SqliteUnreadable(Exception):
    """A file with a SQLite header that SQLite cannot read (corrupt, truncated, encrypted)."""


def has_sqlite_header(header: bytes) -> bool:
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return False
    page_size = int.from_bytes(header[16:18], "big")
    return page_size == 1 or (512 <= page_size <= 32768 and page_size & (page_size - 1) == 0)


def readonly_uri(path: str) -> str:
    return "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro&immutable=1"


@dataclass(frozen=True)
class SchemaEntry:
    type: str  # table, index, view, trigger
    name: str
    sql: str


@contextmanager
def open_readonly(path: str) -> Iterator[sqlite3.Connection]:
    ticks = 0

    def budget() -> int:
        nonlocal ticks
        ticks += 1
        return 1 if ticks > _MAX_TICKS else 0  # non-zero aborts the running statement

    try:
        conn = sqlite3.connect(
            readonly_uri(path), uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise SqliteUnreadable(f"{type(exc).__name__}: {exc}") from None
    try:
        conn.set_progress_handler(budget, _OPS_PER_TICK)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA trusted_schema = OFF")
        yield conn
    except sqlite3.Error as exc:
        raise SqliteUnreadable(f"{type(exc).__name__}: {exc}") from None
    finally:
        conn.close()


def read_schema(conn: sqlite3.Connection) -> list[SchemaEntry]:
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view') LIMIT ?", (MAX_SCHEMA_ROWS,)
    ).fetchall()
    return [SchemaEntry(str(t), str(n), str(s or "")) for t, n, s in rows]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def capped_count(conn: sqlite3.Connection, table: str, cap: int) -> tuple[int, bool]:
    """Rows in `table`, counting at most `cap` of them; True when the cap was reached."""
    (count,) = conn.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {quote_ident(table)} LIMIT ?)", (cap,)).fetchone()
    return int(count), int(count) >= cap
