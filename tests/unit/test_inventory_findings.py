"""Per-volume findings: the largest paths per kind, sanitize's own files apart, readable terminal lines."""

from __future__ import annotations

import os
import sqlite3
import struct
from pathlib import Path

import pytest

from sanitize.inventory import own_files, volumes
from sanitize.inventory.volumes import TOP_PATHS, FindingGroup, TopFinding, VolumeReport
from sanitize.report.inventory import volume_notes
from sanitize.scan import Scanner

CHECKOUT = Path(__file__).resolve().parents[2]


def scanned(root: Path, *, mounted_at: str | None) -> VolumeReport:
    report = VolumeReport("/dev/sdz1", "sdz1", "ext4", mounted_at)
    volumes._scan_into(report, Scanner(), str(root))
    return report


def plant(root: Path, n_models: int = 8) -> None:
    for i in range(n_models):
        (root / "models").mkdir(exist_ok=True)
        (root / "models" / f"m{i}.gguf").write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 0) + b"\0" * (100 * (i + 1)))
    db = sqlite3.connect(root / "rag.sqlite")
    db.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc TEXT, embedding BLOB)")
    vec = struct.pack("<384f", *([0.01] * 384))
    db.executemany("INSERT INTO chunks (doc, embedding) VALUES (?, ?)", [("secret memo", vec)] * 40)
    db.commit()
    db.close()
    (root / "rag.sqlite").chmod(0o644)


def test_group_keeps_the_largest_paths_only() -> None:
    group = FindingGroup("model-weights", "gguf")
    for i in range(20):
        group.add(TopFinding(f"/m/{i}.gguf", i * 10, 0, i % 2 == 0))
    assert group.count == 20 and group.bytes == sum(i * 10 for i in range(20)) and group.world_readable == 10
    assert [f.path for f in group.top] == [f"/m/{i}.gguf" for i in range(19, 19 - TOP_PATHS, -1)]


def test_unmounted_volume_paths_are_from_its_root(tmp_path: Path) -> None:
    plant(tmp_path)
    report = scanned(tmp_path, mounted_at=None)
    assert report.artifact_count == 9 and report.own_count == 0
    groups = {(g.category, g.format): g for g in report.ranked_groups}
    weights = groups[("model-weights", "gguf")]
    assert weights.count == 8 and len(weights.top) == TOP_PATHS
    assert weights.top[0].path == "/models/m7.gguf"  # the largest first, from the volume's root
    store = groups[("vector-store", "sqlite-embeddings")]
    assert store.top[0].records == 40 and store.top[0].world_readable


def test_own_checkout_is_counted_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from a git checkout, the tool's own test fixtures are not the server's AI data."""
    assert str(CHECKOUT) in own_files.own_trees() or any(str(CHECKOUT).startswith(t) for t in own_files.own_trees())
    report = scanned(CHECKOUT / "fixtures", mounted_at=str(CHECKOUT / "fixtures"))
    assert report.artifact_count == 0 and not report.groups and report.summary == {}
    assert report.own_count > 20 and report.own_trees == [os.path.realpath(CHECKOUT)]
    assert "no AI artifacts found" in report.short_risk
    assert "sanitize's own files" in report.short_risk and "credential" not in report.short_risk
    doc = report.to_dict()
    assert doc["own_files"]["count"] == report.own_count and doc["artifacts"] == []


def test_own_trees_are_not_looked_for_on_a_private_mount(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plant(tmp_path)
    monkeypatch.setattr(volumes, "own_trees", lambda: (str(tmp_path),))
    assert scanned(tmp_path, mounted_at=str(tmp_path)).own_count == 9
    assert scanned(tmp_path, mounted_at=None).own_count == 0  # unmounted: it cannot be where we run from


def test_terminal_lines_are_short_wrapped_and_list_paths(tmp_path: Path) -> None:
    plant(tmp_path)
    report = scanned(tmp_path, mounted_at=None)
    lines = volume_notes([report], width=60)["/dev/sdz1"]
    assert lines[0].startswith("AI DATA: sdz1 (ext4, not mounted): 9 AI artifacts")
    assert all(len(line) <= 56 for line in lines), lines
    text = "\n".join(lines)
    assert "readable by every local user" in " ".join(text.split())  # world-readable explained
    assert "/rag.sqlite" in text and "/models/m7.gguf" in text
    assert "/models/m0.gguf" not in text  # only the largest five by default ...
    assert "4 more" in text and "sanitize inventory -v" in text
    assert "secret memo" not in text
    every = "\n".join(volume_notes([report], verbose=True, width=200)["/dev/sdz1"])
    assert all(f"/models/m{i}.gguf" in every for i in range(8))  # ... all of them with -v


def test_terminal_lines_escape_hostile_names(tmp_path: Path) -> None:
    (tmp_path / "evil\x1b[2Jname.gguf").write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 0) + b"\0" * 64)
    text = "\n".join(volume_notes([scanned(tmp_path, mounted_at=None)])["/dev/sdz1"])
    assert "\x1b" not in text and "evil" in text
