"""Merging, sampling, risk phrases and the carve command's input errors (no devices needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sanitize.carve.model import Allocation, CarveResult, Hit
from sanitize.carve.reader import Chunk, plan_chunks
from sanitize.carve.scanner import PAGE_KIND, CarveOptions, HitSink, scan_chunks
from sanitize.carve.summary import risk_phrase
from sanitize.cli import cli
from sanitize.errors import ExitCode
from tests.support.clirunner import cli_runner


def page(offset: int, dim: int = 384) -> Hit:
    return Hit(offset, 4096, PAGE_KIND, "sqlite-leaf-page-blob", {"dim": dim, "vectors": 2, "pages": 1})


def test_neighbouring_pages_merge_into_one_hit_counting_pages() -> None:
    sink = HitSink(max_hits=10)
    for off in (0, 4096, 12288, 1 << 20, (1 << 20) + 4096):
        sink.add(page(off))
    sink.add(page((1 << 20) + 8192, dim=768))
    sink.flush_pages()
    assert [(h.offset, h.length, h.details["pages"], h.details["dim"]) for h in sink.hits] == [
        (0, 16384, 3, 384),
        (1 << 20, 8192, 2, 384),
        ((1 << 20) + 8192, 4096, 1, 768),
    ]
    assert sink.total == 3


def test_sample_plan_spreads_reads_and_full_plan_covers_all() -> None:
    full = plan_chunks(100 << 20, 16 << 20, 1.0)
    assert sum(n for _, n in full) == 100 << 20
    sampled = plan_chunks(1 << 30, 16 << 20, 0.25, seed=123)
    assert len(sampled) == 16
    offsets = [o for o, _ in sampled]
    assert offsets == sorted(set(offsets))
    assert offsets[0] < 64 << 20 and offsets[-1] >= (1 << 30) - (80 << 20)
    assert plan_chunks(4 << 20, 16 << 20, 0.01) == [(0, 4 << 20)]


def test_risk_phrase_names_deleted_units() -> None:
    result = CarveResult(device="/dev/x", size=1)
    merged = Hit(0, 8192, PAGE_KIND, "e", {"dim": 384, "vectors": 70, "pages": 37}, Allocation.FREE)
    gguf = Hit(9 << 20, 512, "gguf", "gguf-header", {}, Allocation.FREE)
    live = Hit(20 << 20, 512, "safetensors", "safetensors-header", {}, Allocation.ALLOCATED, "/m.safetensors")
    wal = Hit(30 << 20, 512, "sqlite-wal", "sqlite-wal-header", {"frames": 9, "embedding_pages": 5}, Allocation.FREE)
    result.hits = [merged, gguf, live, wal]
    assert risk_phrase(result) == (
        "42 deleted SQLite pages with embedding BLOBs, 1 GGUF model header, 1 SQLite WAL header in free space"
    )
    assert risk_phrase(result, Allocation.ALLOCATED) == "1 safetensors header in allocated space"
    assert risk_phrase(CarveResult(device="/dev/x", size=1)) is None


def test_hit_dict_has_no_content_fields() -> None:
    hit = Hit(512, 512, "gguf", "gguf-header", {"version": 3}, Allocation.FREE)
    assert set(hit.to_dict()) == {"offset", "length", "kind", "evidence", "details", "allocation", "path", "volume"}


def test_cli_rejects_missing_and_regular_files(tmp_path: Path) -> None:
    runner = cli_runner()
    res = runner.invoke(cli, ["carve", str(tmp_path / "nope")])
    assert res.exit_code == ExitCode.BAD_INPUT and "no such device" in res.stderr
    regular = tmp_path / "file.img"
    regular.write_bytes(b"\0" * 4096)
    res = runner.invoke(cli, ["carve", str(regular)])
    assert res.exit_code == ExitCode.BAD_INPUT and "not a block device" in res.stderr
    res = runner.invoke(cli, ["carve", "--sample", "0", "/dev/null"])
    assert res.exit_code == ExitCode.USAGE


def test_unreadable_chunks_are_recorded_and_break_runs() -> None:
    vectors = np.random.default_rng(2).normal(0, 0.05, 8 * 1024).astype("<f4").tobytes()  # 8 blocks
    chunks = [Chunk(0, memoryview(vectors)), Chunk(len(vectors), memoryview(b""), "Input/output error")]
    chunks.append(Chunk(2 * len(vectors), memoryview(vectors)))
    result = CarveResult(device="<test>", size=3 * len(vectors))
    scan_chunks(chunks, result, lambda o, n: b"", CarveOptions(max_hits=10, min_float_blocks=8), (), result.size)
    assert result.unreadable == [(len(vectors), "Input/output error")]
    assert result.bytes_read == 2 * len(vectors)
    assert [(h.kind, h.offset) for h in result.hits] == [("float32-run", 0), ("float32-run", 2 * len(vectors))]
