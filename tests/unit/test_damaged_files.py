"""A damaged file on a scanned disk is input, not a bug: real damaged SQLite databases are
listed as damaged artifacts through the real command line, which exits 0; a detector that
raises anything else is still a bug (exit 1)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sanitize.cli import cli
from sanitize.cli.app import App
from sanitize.detect import registry
from sanitize.detect.base import HEADER_BYTES, DamagedFile, FileContext, Finding
from sanitize.detect.sqlite_stores import SqliteStoreDetector
from sanitize.errors import ExitCode
from sanitize.hw.linux import LinuxHost
from sanitize.scan import Scanner
from tests.support.clirunner import cli_runner
from tests.support.damaged_sqlite import SECRET, damaged_tree, embeddings_db


def _sanitize(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sanitize", *args], capture_output=True, text=True, timeout=120, check=False
    )


def _listed(doc: dict) -> dict[str, tuple[str, str, str | None]]:
    return {a["path"]: (a["category"], a["format"], a["details"].get("damage")) for a in doc["artifacts"]}


def test_scan_lists_damaged_databases_and_exits_0(tmp_path: Path) -> None:
    expected = damaged_tree(str(tmp_path))
    damaged = sorted(name for name, (_c, _f, damage) in expected.items() if damage)

    proc = _sanitize("scan", "--json", str(tmp_path))

    assert proc.returncode == 0, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    listed = _listed(doc)
    assert set(listed) == set(expected)
    for name, (category, fmt, damage) in expected.items():
        assert listed[name][:2] == (category, fmt), name
        assert listed[name][2] in damage if damage else listed[name][2] is None, (name, listed[name])
    assert sorted((e["path"], e["kind"]) for e in doc["errors"]) == [(n, "damaged:sqlite-stores") for n in damaged]
    assert doc["stats"]["errors"] == len(damaged)
    assert SECRET not in proc.stdout + proc.stderr

    human = _sanitize("scan", str(tmp_path))
    assert human.returncode == 0, human.stderr
    assert f"{len(damaged)} damaged file(s) recognised but not examined" in human.stderr
    assert "could not be read" not in human.stderr  # nothing else went wrong
    rows = {line.split()[0]: line for line in human.stdout.splitlines() if line.endswith(".db") or "DAMAGED" in line}
    for name in damaged:
        assert "DAMAGED" in rows[name], rows
    assert SECRET not in human.stdout + human.stderr

    # A damaged database may hold anything: it counts as found.
    assert _sanitize("scan", "--fail-on-found", str(tmp_path)).returncode == ExitCode.FOUND


def test_only_damaged_files_still_exit_0_and_are_listed(tmp_path: Path) -> None:
    damaged_tree(str(tmp_path))
    for name in ("intact.db", "webui.db"):
        os.unlink(tmp_path / name)
    proc = _sanitize("scan", "--json", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert {a["category"] for a in json.loads(proc.stdout)["artifacts"]} == {"damaged"}


def test_worker_processes_report_damage_as_threads_do(tmp_path: Path) -> None:
    damaged_tree(str(tmp_path))
    threaded = Scanner(processes=0).scan([str(tmp_path)])
    forked = Scanner(processes=2, pool_after_files=0).scan([str(tmp_path)])
    for result in (threaded, forked):
        assert result.faults() == []
    assert sorted((a.path, a.category, dict(a.details).get("damage")) for a in forked.artifacts) == sorted(
        (a.path, a.category, dict(a.details).get("damage")) for a in threaded.artifacts
    )
    assert sorted((e.path, e.kind) for e in forked.errors) == sorted((e.path, e.kind) for e in threaded.errors)


def _ctx(path: Path, fd: int) -> FileContext:
    size = os.fstat(fd).st_size
    return FileContext(str(path), size, os.pread(fd, HEADER_BYTES, 0), fd)


def _detect(path: Path) -> Finding | None:
    fd = os.open(path, os.O_RDONLY)
    try:
        return SqliteStoreDetector().detect(_ctx(path, fd))
    finally:
        os.close(fd)


def test_a_name_not_in_the_declared_encoding_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "flipped.db"
    embeddings_db(str(path))
    data = path.read_bytes()
    assert data.count(b"chunks") >= 2  # the table's name and its CREATE statement
    path.write_bytes(data.replace(b"chunks", b"chu\xffks"))  # a flipped byte, everywhere it occurs
    with pytest.raises(DamagedFile) as caught:
        _detect(path)
    assert caught.value.reason == "text-encoding"


def test_a_value_that_is_not_utf8_is_not_damage(tmp_path: Path) -> None:
    """SQLite stores whatever bytes an application hands it; a valid database is examined."""
    path = tmp_path / "odd.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, embedding TEXT, body TEXT)")
    db.execute("INSERT INTO notes (embedding, body) VALUES (CAST(x'5bff2c315d' AS TEXT), CAST(x'ff' AS TEXT))")
    db.commit()
    db.close()
    assert _detect(path) is None


class _Raises:
    name = "raises"
    first_bytes = b"S"

    def detect(self, ctx: FileContext) -> Finding | None:
        raise ValueError("a bug")


def test_any_other_exception_is_still_a_bug_exit_1(tmp_path: Path) -> None:
    damaged_tree(str(tmp_path))
    buggy = registry.Registry((_Raises(), *registry.file_detectors()), (), (), ())
    result = cli_runner().invoke(cli, ["scan", "--json", str(tmp_path)], obj=App(host=LinuxHost(), detectors=buggy))
    assert result.exit_code == ExitCode.INTERNAL
    assert "detector:raises" in result.stderr and "a bug" in result.stderr
    kinds = {e["kind"] for e in json.loads(result.stdout)["errors"]}
    assert kinds == {"detector:raises", "damaged:sqlite-stores"}  # the damage is still reported as such
