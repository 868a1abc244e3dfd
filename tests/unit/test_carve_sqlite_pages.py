"""SQLite leaf-page heuristic on pages of real databases written by the stdlib sqlite3."""

from __future__ import annotations

import os
import random
import sqlite3
import struct
from pathlib import Path

import numpy as np

from sanitize.carve.model import Detail
from sanitize.carve.sqlite_pages import inspect_page, page_candidates
from tests.support.carve import carve_bytes
from tests.support.carve_artifacts import float32_bytes, unit_vector, write_sqlite_store


def pages(path: Path) -> list[bytes]:
    data = path.read_bytes()
    size = struct.unpack(">H", data[16:18])[0]
    return [data[i : i + size] for i in range(size, len(data), size)]  # page 1 holds the db header


def found(path: Path) -> list[dict[str, Detail]]:
    out = []
    for page in pages(path):
        details = inspect_page(page)
        if details is not None:
            out.append(dict(details))
    return out


def test_embedding_store_pages_are_found_with_their_dimension(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    write_sqlite_store(str(db), random.Random(3), rows=200, dim=384)
    hits = found(db)
    assert len(hits) >= 50
    assert {h["dim"] for h in hits} == {384}
    assert sum(int(str(h["vectors"])) for h in hits) == 200


def test_overflowing_vectors_are_found_from_the_record_header(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    write_sqlite_store(str(db), random.Random(4), rows=20, dim=1536)  # 6 KiB blobs > 4 KiB pages
    hits = found(db)
    assert hits and {h["dim"] for h in hits} == {1536}


def test_tables_without_vectors_give_nothing(tmp_path: Path) -> None:
    db = tmp_path / "plain.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB, n REAL)")
    rng = random.Random(5)
    con.executemany(
        "INSERT INTO t (name, data, n) VALUES (?, ?, ?)",
        ((f"row {i}", os.urandom(rng.randrange(1, 700)), rng.random()) for i in range(500)),
    )
    # A BLOB of embedding size that is not float data (random bytes): rejected by the decode check.
    con.executemany("INSERT INTO t (name, data) VALUES (?, ?)", (("x", b"\xff" * 1536) for _ in range(20)))
    con.commit()
    con.close()
    assert found(db) == []


def test_float_check_of_in_page_blob(tmp_path: Path) -> None:
    db = tmp_path / "ok.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE v (id INTEGER PRIMARY KEY, vec BLOB)")
    con.execute("INSERT INTO v (vec) VALUES (?)", (float32_bytes(unit_vector(random.Random(1), 768)),))
    con.commit()
    con.close()
    assert found(db) == [{"dim": 768, "vectors": 1, "page_size_estimate": 4096}]


def test_garbage_that_starts_like_a_leaf_page_is_rejected() -> None:
    rng = random.Random(9)
    for _ in range(2000):
        page = bytearray(os.urandom(4096))
        page[0] = 0x0D
        page[3:5] = (rng.randrange(1, 20)).to_bytes(2, "big")
        assert inspect_page(bytes(page)) is None


def test_vectorised_prefilter_keeps_real_pages_and_drops_zero_and_random(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    write_sqlite_store(str(db), random.Random(3), rows=50, dim=384)
    data = db.read_bytes()
    image = np.frombuffer(bytes(4096) + os.urandom(8192) + data, dtype=np.uint8).reshape(-1, 512)
    cands = set(int(i) for i in page_candidates(image))
    real = {(12288 + off) // 512 for off in range(4096, len(data), 4096) if inspect_page(data[off : off + 4096])}
    assert real and real <= cands
    assert not any(i < 24 for i in cands)


def test_wal_frames_with_embedding_pages_are_counted(tmp_path: Path) -> None:
    db = tmp_path / "wal.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")  # keep every page in the WAL, as a crash would
    con.execute("CREATE TABLE e (id INTEGER PRIMARY KEY, vec BLOB)")
    rng = random.Random(8)
    con.executemany("INSERT INTO e (vec) VALUES (?)", ((float32_bytes(unit_vector(rng, 384)),) for _ in range(60)))
    con.commit()
    wal = (tmp_path / "wal.db-wal").read_bytes()
    con.close()
    result = carve_bytes(bytes(4096) + wal + bytes(4096))
    (hit,) = [h for h in result.hits if h.kind == "sqlite-wal"]
    assert hit.offset == 4096
    assert int(hit.details["frames"]) >= 30 and hit.details["dim"] == 384
    assert int(hit.details["vectors"]) == 60


def test_journal_records_with_embedding_pages_are_counted(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    write_sqlite_store(str(db), random.Random(3), rows=40, dim=768)
    originals = pages(db)
    sector, size = 512, len(originals[0])
    head = bytes.fromhex("d9d505f920a163d7") + struct.pack(
        ">IIIII", len(originals), 7, len(originals) + 1, sector, size
    )
    journal = head + bytes(sector - len(head))
    for pgno, page in enumerate(originals, start=2):
        journal += struct.pack(">I", pgno) + page + b"\0\0\0\0"
    result = carve_bytes(journal + bytes(4096))
    (hit,) = [h for h in result.hits if h.kind == "sqlite-journal"]
    assert hit.details["records"] == len(originals)
    assert hit.details["dim"] == 768 and int(hit.details["vectors"]) == 40
