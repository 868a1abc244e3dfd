"""Read a SQLite file the scanner already opened, without SQLite opening anything itself.

Python's sqlite3 can only open by name, and even `file:/proc/self/fd/N` is re-opened by name:
SQLite resolves symlinks itself (readlink of the magic link gives the file's current path,
or "<path> (deleted)"), then open()s that path without O_NONBLOCK. Whoever can write in the
scanned tree can therefore swap in a FIFO (the scan hangs in open) or a symlink out of the
tree between the scanner's checks and SQLite's open; tests/system/test_trust_boundaries.py
shows both. So databases are read through APSW with a small VFS that serves exactly one
already-open descriptor per connection: SQLite sees a name that maps to that descriptor,
reads pages with pread, and cannot open, create or delete any file (journals, WAL, temp
files, other names all fail).

`mode=ro&immutable=1` makes SQLite skip locking and never look for `-wal`/`-journal` files
(so it ignores an uncommitted WAL, which is acceptable for identification). `query_only`
refuses writes even from a hostile schema, temp storage stays in memory, and a progress
handler aborts any statement that runs too long, so a huge or crafted database costs a
bounded amount of work.

Errors: a file that is not a well-formed database (a header that contradicts itself, pages
SQLite finds corrupt, a truncated file, text that is not in the declared encoding) raises
`SqliteDamaged`, a `DamagedFile`: the scan lists it as a damaged database and goes on. A query
stopped by the budget raises `SqliteBudgetExceeded`, a `BudgetExceeded`. Any other SQLite
error is `SqliteUnreadable` itself: unexpected, so the scan reports it as a detector bug.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import apsw

from sanitize.detect.base import BudgetExceeded, DamagedFile, FileContext, Finding

Connection = apsw.Connection
SqliteError = apsw.Error  # what queries on an open connection raise

SQLITE_MAGIC = b"SQLite format 3\x00"
VFS_NAME = "sanitize-fd"
# The progress handler runs every _OPS_PER_TICK virtual-machine instructions; a connection
# may spend _MAX_TICKS of them in total (tens of millions of instructions, well under a second).
_OPS_PER_TICK = 10_000
_MAX_TICKS = 3_000
MAX_SCHEMA_ROWS = 5_000


class SqliteUnreadable(Exception):
    """SQLite could not read a file with a SQLite header; the subclasses below say why, and
    this class itself means an error nobody expected (a bug, or a kind of database not handled)."""


class SqliteDamaged(SqliteUnreadable, DamagedFile):
    """Not a well-formed database: corrupt or overwritten pages, truncated, a bad header."""

    def __init__(self, reason: str, *, recognised: Finding | None = None) -> None:
        DamagedFile.__init__(self, reason, fmt="sqlite", recognised=recognised)


class SqliteBudgetExceeded(SqliteUnreadable, BudgetExceeded):
    """A statement ran past the connection's budget (see `open_fd`)."""


# SQLite errors that describe the file, not the query (https://sqlite.org/rescode.html).
_DAMAGE = (
    (apsw.CorruptError, "corrupt"),
    (apsw.NotADBError, "not-a-database"),
    (apsw.IOError, "unreadable"),  # e.g. a short read past the end of a truncated file
    (apsw.TooBigError, "corrupt"),  # a record claiming a size no row can have
)
DAMAGE_ERRORS = tuple(kind for kind, _ in _DAMAGE)


def has_sqlite_header(header: bytes) -> bool:
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return False
    page_size = int.from_bytes(header[16:18], "big")
    return page_size == 1 or (512 <= page_size <= 32768 and page_size & (page_size - 1) == 0)


def header_damage(header: bytes) -> str | None:
    """Why a file starting with the SQLite magic cannot be a well-formed database, judged from
    its 100-byte header (https://sqlite.org/fileformat2.html#the_database_header), or None."""
    if len(header) < 100:
        return "truncated"
    if not has_sqlite_header(header):
        return "header"  # the page size is not one SQLite can write
    if header[18] not in (1, 2) or header[19] not in (1, 2) or header[21:24] != b"\x40\x20\x20":
        return "header"  # file format versions and payload fractions have fixed values
    if int.from_bytes(header[44:48], "big") > 4:  # schema formats 1-4 (0 for an empty database)
        return "header"
    return None


def _classify(exc: BaseException) -> SqliteUnreadable:
    if isinstance(exc, apsw.InterruptError):  # our progress handler stopped the statement
        return SqliteBudgetExceeded("the statement ran past the scan's budget")
    if isinstance(exc, UnicodeDecodeError):  # a name or SQL text not in the database's declared encoding
        return SqliteDamaged("text-encoding")
    for kind, reason in _DAMAGE:
        if isinstance(exc, kind):
            return SqliteDamaged(reason)
    return SqliteUnreadable(f"{type(exc).__name__}: {exc}")


class _DescriptorFile:
    """The VFS file: reads from a descriptor the caller owns (and closes)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def xRead(self, amount: int, offset: int) -> bytes:
        return os.pread(self.fd, amount, offset)  # a short read is zero-filled by APSW, as SQLite expects

    def xFileSize(self) -> int:
        return os.fstat(self.fd).st_size

    def xWrite(self, data: bytes, offset: int) -> None:
        raise apsw.ReadOnlyError("read-only")

    def xTruncate(self, newsize: int) -> None:
        raise apsw.ReadOnlyError("read-only")

    def xSync(self, flags: int) -> None:
        raise apsw.ReadOnlyError("read-only")

    def xClose(self) -> None:
        pass

    def xLock(self, level: int) -> None:
        pass

    def xUnlock(self, level: int) -> None:
        pass

    def xCheckReservedLock(self) -> bool:
        return False

    def xFileControl(self, op: int, ptr: int) -> bool:
        return False

    def xSectorSize(self) -> int:
        return 512

    def xDeviceCharacteristics(self) -> int:
        return 0


class _DescriptorVFS(apsw.VFS):
    """Names `/sanitize-fd/<n>` registered by `open_fd`; every other open fails."""

    def __init__(self) -> None:
        self.files: dict[str, int] = {}
        self.lock = threading.Lock()
        self.counter = itertools.count()
        super().__init__(VFS_NAME, base="")

    def add(self, fd: int) -> str:
        with self.lock:
            name = f"/{VFS_NAME}/{next(self.counter)}"
            self.files[name] = fd
        return name

    def remove(self, name: str) -> None:
        with self.lock:
            self.files.pop(name, None)

    # APSW accepts any object with the VFSFile methods; its stub names VFSFile.
    def xOpen(self, name: str | apsw.URIFilename | None, flags: list[int]) -> _DescriptorFile:  # type: ignore[override]
        key = name.filename() if isinstance(name, apsw.URIFilename) else name
        with self.lock:
            fd = self.files.get(key) if key is not None else None
        if fd is None:  # a journal, WAL, temp file or any other name: nothing is opened
            raise apsw.CantOpenError(f"{key}: not a descriptor handed to the scan")
        return _DescriptorFile(fd)

    def xAccess(self, pathname: str, flags: int) -> bool:
        return False

    def xFullPathname(self, name: str) -> str:
        return name

    def xDelete(self, filename: str, syncdir: bool) -> None:
        raise apsw.ReadOnlyError("read-only")

    def xRandomness(self, numbytes: int) -> bytes:
        return os.urandom(numbytes)

    def xSleep(self, microseconds: int) -> int:
        return 0

    def xCurrentTime(self) -> float:
        return 2440587.5 + time.time() / 86400.0

    def xGetLastError(self) -> tuple[int, str]:
        return 0, ""


_vfs: _DescriptorVFS | None = None
_vfs_lock = threading.Lock()


def _the_vfs() -> _DescriptorVFS:
    global _vfs
    with _vfs_lock:
        if _vfs is None:
            _vfs = _DescriptorVFS()
        return _vfs


@contextmanager
def open_fd(fd: int) -> Iterator[apsw.Connection]:
    """A read-only, budgeted connection to the database behind `fd` (which the caller closes)."""
    ticks = 0

    def budget() -> bool:
        nonlocal ticks
        ticks += 1
        return ticks > _MAX_TICKS  # true aborts the running statement

    vfs = _the_vfs()
    name = vfs.add(fd)
    conn: apsw.Connection | None = None
    try:
        conn = apsw.Connection(
            f"file:{name}?mode=ro&immutable=1",
            flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI,
            vfs=VFS_NAME,
        )
        conn.set_progress_handler(budget, _OPS_PER_TICK)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.execute("PRAGMA temp_store = MEMORY")
        yield conn
    except (apsw.Error, UnicodeDecodeError) as exc:
        raise _classify(exc) from None
    finally:
        if conn is not None:
            conn.close()
        vfs.remove(name)


@contextmanager
def open_context(ctx: FileContext) -> Iterator[apsw.Connection]:
    """The database a file detector was handed, through the scanner's own descriptor."""
    if ctx.fd is None:
        raise SqliteUnreadable("no open descriptor for this file")
    with open_fd(ctx.fd) as conn:
        yield conn


@dataclass(frozen=True)
class SchemaEntry:
    type: str  # table, index, view, trigger
    name: str
    sql: str


def read_schema(conn: apsw.Connection) -> list[SchemaEntry]:
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view') LIMIT ?", (MAX_SCHEMA_ROWS,)
    ).fetchall()
    return [SchemaEntry(str(t), str(n), str(s or "")) for t, n, s in rows]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def capped_count(conn: apsw.Connection, table: str, cap: int) -> tuple[int, bool]:
    """Rows in `table`, counting at most `cap` of them; True when the cap was reached."""
    row = conn.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {quote_ident(table)} LIMIT ?)", (cap,)).fetchone()
    count = int(row[0]) if row is not None and isinstance(row[0], int) else 0
    return count, count >= cap
