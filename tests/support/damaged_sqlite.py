"""Real SQLite databases, written by sqlite3, then damaged the way disks and crashes damage
them: a page overwritten, the file cut short, the header page zeroed after the magic, a
table's pages overwritten under a schema that is still legible on page 1."""

from __future__ import annotations

import os
import sqlite3
import struct

SECRET = "privileged memo: damaged but still on the disk"
PAGE = 4096  # sqlite3's default page size, which these databases use
# What SQLite may call a damaged page: the exact code depends on where the damage lands and
# on the SQLite release (the tests run on the newest and the lowest APSW).
PAGE_DAMAGE = {"corrupt", "not-a-database", "unreadable"}


def embeddings_db(path: str) -> None:
    """A RAG cache: document text beside 384-float embeddings, over several pages."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc TEXT, embedding BLOB)")
    vec = struct.pack("<384f", *([0.05] * 384))
    db.executemany("INSERT INTO chunks (doc, embedding) VALUES (?, ?)", [(f"{SECRET} #{i}", vec) for i in range(60)])
    db.commit()
    db.close()


def chat_db(path: str) -> None:
    """Open WebUI's tables (auth, user, chat), the chats filling many pages."""
    db = sqlite3.connect(path)
    for table in ("auth", "user", "chat"):
        db.execute(f'CREATE TABLE "{table}" (id TEXT, data TEXT)')
    db.executemany("INSERT INTO chat VALUES (?, ?)", [(f"c{i}", f"{SECRET} #{i}") for i in range(400)])
    db.commit()
    db.close()


def _overwrite(path: str, offset: int, data: bytes) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def damaged_tree(directory: str) -> dict[str, tuple[str, str, set[str] | None]]:
    """Write the damaged databases (and one intact) into `directory`; returns, per file name,
    what a scan must list: (category, format, the possible `details.damage` or None)."""
    intact = os.path.join(directory, "intact.db")
    embeddings_db(intact)
    with open(intact, "rb") as fh:
        good = fh.read()
    assert len(good) > 3 * PAGE
    with open(os.path.join(directory, "overwritten.db"), "wb") as fh:  # page 2, the table's root
        fh.write(good[:PAGE] + b"\xff" * PAGE + good[2 * PAGE :])
    with open(os.path.join(directory, "truncated.db"), "wb") as fh:
        fh.write(good[:5000])
    with open(os.path.join(directory, "zeroed-header.db"), "wb") as fh:  # the magic, then nothing
        fh.write(good[:16] + bytes(PAGE - 16) + good[PAGE:])
    webui = os.path.join(directory, "webui.db")
    chat_db(webui)
    size = os.path.getsize(webui)
    _overwrite(webui, size - 2 * PAGE, b"\xff" * 2 * PAGE)  # the last pages: chat rows
    return {
        "intact.db": ("vector-store", "sqlite-embeddings", None),
        "overwritten.db": ("damaged", "sqlite", PAGE_DAMAGE),
        "truncated.db": ("damaged", "sqlite", PAGE_DAMAGE),
        "zeroed-header.db": ("damaged", "sqlite", {"header"}),
        "webui.db": ("conversation", "open-webui", PAGE_DAMAGE),  # page 1 still names the schema
    }
