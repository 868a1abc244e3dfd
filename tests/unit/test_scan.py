"""The scanner core: walk rules, directory units, error accounting, CLI output."""

from __future__ import annotations

import json
import os
import stat
import struct
import threading
from pathlib import Path

import pytest

from sanitize.cli import cli
from sanitize.detect import registry
from sanitize.detect.base import OPEN_FLAGS, Category, DirContext, FileContext, Finding
from sanitize.errors import BadInput, ExitCode
from sanitize.scan import HeaderReader, Scanner
from sanitize.scan.collect import Collector
from sanitize.scan.files import FileScanner
from sanitize.scan.model import ScanStats
from tests.support.clirunner import cli_runner


def _gguf_bytes() -> bytes:
    return b"GGUF" + struct.pack("<Iqq", 3, 0, 0)


class _Raises:
    name = "raises"

    def detect(self, ctx: FileContext) -> Finding | None:
        raise ValueError("boom")


class _Greedy:
    name = "greedy"

    def detect(self, ctx: FileContext) -> Finding | None:
        ctx.read_at(0, 1 << 30)
        return None


class _UnitDir:
    name = "unit"

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if "MARKER" in ctx.entries:
            return Finding(Category.VECTOR_STORE, "test-unit", "marker-file")
        return None


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "model.bin").write_bytes(_gguf_bytes())
    (root / "a" / "notes.txt").write_text("hello\n")
    (root / "empty.bin").write_bytes(b"")
    return root


def test_finds_by_content_and_reports_relative_paths(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = Scanner().scan([str(root)])
    assert [(a.path, a.format, a.unit) for a in result.artifacts] == [("a/b/model.bin", "gguf", "file")]
    art = result.artifacts[0]
    assert art.root == str(root) and art.size_bytes == len(_gguf_bytes())
    assert result.stats.files_seen == 3 and result.stats.dirs_seen == 3
    assert result.stats.errors == 0


def test_fifo_device_node_and_symlink_loop_are_skipped_not_opened(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.mkfifo(root / "a" / "fifo.bin")  # opening it for reading would block forever
    os.symlink(root, root / "a" / "loop")
    os.symlink("missing-target", root / "dangling")
    if os.geteuid() == 0:
        os.mknod(root / "null.bin", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    done: list[object] = []
    worker = threading.Thread(target=lambda: done.append(Scanner().scan([str(root)])), daemon=True)
    worker.start()
    worker.join(60)
    assert done, "scan blocked"
    result = done[0]
    assert result.stats.skipped["symlink"] == 2  # type: ignore[attr-defined]
    assert result.stats.skipped["special"] == (2 if os.geteuid() == 0 else 1)  # type: ignore[attr-defined]
    assert len(result.artifacts) == 1  # type: ignore[attr-defined]


def test_detector_errors_and_budget_are_counted_not_raised(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    reg = registry.Registry((_Raises(), _Greedy(), *registry.file_detectors()), (), (), ())
    result = Scanner(reg).scan([str(root)])
    kinds = sorted({e.kind for e in result.errors})
    assert kinds == ["budget:greedy", "detector:raises"]
    assert len(result.artifacts) == 1  # the later detectors still ran
    assert all(set(e.to_dict()) == {"root", "path", "kind"} for e in result.errors)


def test_registry_records_import_failures() -> None:
    reg = registry.build(["sanitize.detect.no_such_module", "sanitize.detect.gguf"])
    assert [e.module for e in reg.errors] == ["sanitize.detect.no_such_module"]
    assert [d.name for d in reg.file_detectors] == ["gguf"]
    assert [d.name for d in reg.sniffers] == ["gguf"]


def test_default_registry_loads_every_module() -> None:
    assert registry.load_errors() == ()
    for d in registry.sniffers():
        assert d.sniff(b"") is None and d.sniff(b"\0" * 4096) is None


def test_directory_unit_reported_once_with_total_size(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    unit = root / "store"
    (unit / "seg").mkdir(parents=True)
    (unit / "MARKER").write_bytes(b"x" * 10)
    (unit / "seg" / "inner.gguf").write_bytes(_gguf_bytes())
    reg = registry.Registry(registry.file_detectors(), (_UnitDir(),), (), ())
    result = Scanner(reg).scan([str(root)])
    by_path = {a.path: a for a in result.artifacts}
    assert set(by_path) == {"a/b/model.bin", "store"}
    assert by_path["store"].unit == "directory"
    assert by_path["store"].size_bytes == 10 + len(_gguf_bytes())
    assert by_path["store"].files == 2
    assert result.stats.files_in_units == 2 and result.stats.files_seen == 5


def test_vanished_file_is_a_counted_error(tmp_path: Path) -> None:
    root = _tree(tmp_path)

    class _Deleter:
        name = "deleter"

        def detect(self, ctx: FileContext) -> Finding | None:
            return None

    # Delete the file between the directory listing and the open: simulate with a file
    # removed by the first detector call on a sibling, then scanned afterwards.
    victim = root / "a" / "b" / "zz-victim.bin"
    victim.write_bytes(b"x")
    real_open = os.open
    calls: list[str] = []

    def racing_open(path: str, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if str(path).endswith("zz-victim.bin") and not calls:
            calls.append(path)
            os.unlink(path)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    reg = registry.Registry((_Deleter(),), (), (), ())
    mp = pytest.MonkeyPatch()
    mp.setattr(os, "open", racing_open)
    try:
        result = Scanner(reg, workers=1).scan([str(root)])
    finally:
        mp.undo()
    assert [(e.path, e.kind) for e in result.errors] == [("a/b/zz-victim.bin", "vanished")]


def test_missing_root_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput):
        Scanner().scan([str(tmp_path / "nope")])


def test_single_file_root(tmp_path: Path) -> None:
    f = tmp_path / "x.weights"
    f.write_bytes(_gguf_bytes())
    result = Scanner().scan([str(f)])
    assert [(a.root, a.path) for a in result.artifacts] == [(str(f), "x.weights")]


def test_hash_only_when_asked(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert Scanner().scan([str(root)]).artifacts[0].sha256 is None
    import hashlib

    art = Scanner(hash_files=True).scan([str(root)]).artifacts[0]
    assert art.sha256 == hashlib.sha256(_gguf_bytes()).hexdigest()


def test_mode_and_world_readable(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "a" / "b" / "model.bin").chmod(0o600)
    art = Scanner().scan([str(root)]).artifacts[0]
    assert (art.mode, art.world_readable) == ("0600", False)


def test_location_hint_added_to_content_match_only(tmp_path: Path) -> None:
    hub = tmp_path / ".cache" / "huggingface" / "x"
    hub.mkdir(parents=True)
    (hub / "w.bin").write_bytes(_gguf_bytes())
    (hub / "plain.bin").write_bytes(b"not a model")
    result = Scanner().scan([str(tmp_path)])
    assert [(a.path, a.location_hint) for a in result.artifacts] == [
        (".cache/huggingface/x/w.bin", "huggingface-cache")
    ]


# -- CLI ---------------------------------------------------------------------------------


def _run(*args: str) -> object:
    return cli_runner().invoke(cli, ["--state-dir", "/nonexistent-state", *args])


def test_cli_json_document(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    r = _run("scan", "--json", str(root))
    assert r.exit_code == 0, r.stderr  # type: ignore[attr-defined]
    doc = json.loads(r.stdout)  # type: ignore[attr-defined]
    assert doc["schema"] == "sanitize.scan/1"
    assert doc["roots"] == [str(root)]
    assert [a["path"] for a in doc["artifacts"]] == ["a/b/model.bin"]
    assert {"files_seen", "dirs_seen", "bytes_read", "errors", "skipped", "seconds"} <= doc["stats"].keys()
    assert doc["errors"] == []


def test_cli_table_and_fail_on_found(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    r = _run("scan", "--fail-on-found", str(root))
    assert r.exit_code == ExitCode.FOUND  # type: ignore[attr-defined]
    assert "a/b/model.bin" in r.stdout and "gguf-magic" in r.stdout  # type: ignore[attr-defined]
    assert "model-weights" in r.stdout  # type: ignore[attr-defined]
    clean = tmp_path / "clean"
    clean.mkdir()
    r = _run("scan", "--fail-on-found", str(clean))
    assert r.exit_code == 0 and "No AI artifacts found" in r.stdout  # type: ignore[attr-defined]


def test_cli_bad_path_one_line_exit_3(tmp_path: Path) -> None:
    r = _run("scan", "--json", str(tmp_path / "missing"))
    assert r.exit_code == ExitCode.BAD_INPUT  # type: ignore[attr-defined]
    assert r.stdout == ""  # type: ignore[attr-defined]
    assert r.stderr.count("\n") == 1 and "no such file" in r.stderr  # type: ignore[attr-defined]


def test_process_mode_gives_the_same_result_as_threads(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    for i in range(30):
        (root / "a" / f"m{i}.bin").write_bytes(_gguf_bytes() if i % 3 == 0 else b"plain text\n")
    os.mkfifo(root / "a" / "fifo")

    def summary(result: object) -> tuple[list[tuple[str, str]], int, int, int]:
        arts = sorted((a.path, a.evidence) for a in result.artifacts)  # type: ignore[attr-defined]
        s = result.stats  # type: ignore[attr-defined]
        return arts, s.files_seen, s.dirs_seen, s.errors

    threaded = Scanner(processes=0).scan([str(root)])
    forked = Scanner(processes=2, pool_after_files=0).scan([str(root)])  # fork even for this small tree
    assert summary(forked) == summary(threaded)
    assert len(forked.artifacts) == 11 and forked.stats.skipped["special"] == 1


@pytest.mark.parametrize("probe", [False, True])
def test_a_fifo_or_directory_where_a_file_was_listed_is_a_changed_type_error(tmp_path: Path, probe: bool) -> None:
    """What a race can put in a listed file's place: its read (or the fstat of a probing read)
    refuses it, the scan does not block on a FIFO, and nothing is reported but the error."""
    os.mkfifo(tmp_path / "swapped")
    (tmp_path / "sub").mkdir()
    collector = Collector(None, True)
    files = FileScanner(registry.default(), collector, HeaderReader(), False)
    stats = ScanStats()
    dir_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in ("swapped", "sub"):
            path = str(tmp_path / name)
            files.scan_file(str(tmp_path), str(tmp_path), path, frozenset(), stats, name, dir_fd, None, probe)
    finally:
        os.close(dir_fd)
    assert [(e.path, e.kind) for e in collector.errors] == [("swapped", "changed-type"), ("sub", "changed-type")]
    assert collector.artifacts == [] and stats.files_seen == 2


def test_files_are_opened_so_that_a_terminal_cannot_become_the_scans() -> None:
    assert OPEN_FLAGS & os.O_NOCTTY and OPEN_FLAGS & os.O_NONBLOCK and OPEN_FLAGS & os.O_NOFOLLOW


def test_unreadable_file_is_a_counted_permission_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root can read a chmod 000 file, so refuse the open itself, as a non-root scan would see it.
    root = _tree(tmp_path)
    real_open = os.open

    def refusing_open(path: str, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if str(path).endswith("model.bin"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", refusing_open)
    result = Scanner(processes=0).scan([str(root)])
    assert result.artifacts == []
    assert [(e.path, e.kind) for e in result.errors] == [("a/b/model.bin", "permission")]
    assert result.stats.errors == 1


class _Killer:
    name = "killer"

    def detect(self, ctx: FileContext) -> Finding | None:
        if ctx.name == "poison.bin":
            os._exit(3)  # a worker process dying mid-batch (OOM killer, segfault in a C library)
        return None


def test_killed_worker_process_is_a_counted_error(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "a" / "b" / "poison.bin").write_bytes(b"x")
    reg = registry.Registry((_Killer(), *registry.file_detectors()), (), (), ())
    result = Scanner(reg, processes=2, pool_after_files=0, batch_timeout=3).scan([str(root)])
    assert [(e.path, e.kind) for e in result.errors] == [("a/b", "worker-lost")]
    assert result.stats.files_seen == 4  # the lost batch is still counted
    assert [a.path for a in result.artifacts] == []  # model.bin shared the poisoned batch


def test_a_detector_fault_makes_the_scan_command_incomplete_not_ok(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    clean = Scanner().scan([str(root)])
    assert clean.faults() == []
    reg = registry.Registry((_Raises(), _Greedy(), *registry.file_detectors()), (), (), ())
    faulty = Scanner(reg).scan([str(root)])
    raised = sum(e.kind == "detector:raises" for e in faulty.errors)
    assert raised and faulty.faults() == [f"{raised} file(s) or directories not fully examined (detector:raises)"]
    faulty.detector_load_errors.append("sanitize.detect.broken: ImportError: x")
    assert faulty.faults()[0] == "detector module failed to load: sanitize.detect.broken: ImportError: x"


def test_dir_context_lists_names_by_suffix() -> None:
    ctx = DirContext("/x/store/", frozenset({"a.faiss", "a.pkl", "odd\nname.faiss", "b.faiss.bak", "c.manifest"}))
    assert sorted(ctx.ending(".faiss")) == ["a.faiss", "odd\nname.faiss"]
    assert ctx.ending(".arrow") == [] and ctx.ending(".manifest") == ["c.manifest"]
    assert DirContext("/x", frozenset()).ending(".faiss") == []
    assert ctx.name == "store" and ctx.name == "store"
