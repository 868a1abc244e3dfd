"""Header signatures through the whole in-memory carve pipeline (carve_bytes)."""

from __future__ import annotations

import glob
import json
import math
import os
import random
import sqlite3
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sanitize.carve.model import Hit
from sanitize.carve.scanner import CarveOptions, registry_sniffers
from tests.support.carve import carve_bytes
from tests.support.carve_artifacts import write_gguf, write_safetensors, write_sqlite_store

SECTOR = 4096  # where a filesystem would start each file


def faiss_header() -> bytes:
    return b"IxF2" + struct.pack("<iqqqBi", 384, 10, 1 << 20, 1 << 20, 1, 1)


def hnswlib_header(m: int = 16, dim: int = 384) -> bytes:
    size = dim * 4 + 8 + 8 + 4 * (2 * m + 1)
    off_data = 4 * (2 * m + 1)
    label = off_data + dim * 4
    head = struct.pack("<6Q", 0, 1000, 10, size, label, off_data)
    head += struct.pack("<iI3Qd Q".replace(" ", ""), 0, 0, m, 2 * m, m, 1 / math.log(m), 200)
    return head


def numpy_header() -> bytes:
    text = b"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 384), }"
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def torch_zip(tmp: Path) -> bytes:
    path = tmp / "model.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("model/data.pkl", b"\x80\x02}q\x00.")
        zf.writestr("model/data/0", os.urandom(64))
    return path.read_bytes()


SYNTHETIC = {
    "faiss": faiss_header,
    "hnswlib": hnswlib_header,
    "numpy": numpy_header,
    "hdf5": lambda: b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00\x00\x08\x08\x00",
    "sqlite-wal": lambda: struct.pack(">IIII", 0x377F0682, 3007000, 4096, 0),
    "sqlite-journal": lambda: bytes.fromhex("d9d505f920a163d7") + struct.pack(">IIIII", 0, 1, 5, 512, 4096),
    "pytorch-legacy": lambda: bytes.fromhex("80028a0a6cfc9c46f9206aa85019") + b".\x80\x02M\xe9\x03.",
    "llama-session": lambda: b"nsgg" + struct.pack("<II", 9, 12) + struct.pack("<12i", *range(12)),
    "llama-seq-state": lambda: b"qsgg" + struct.pack("<II", 2, 5),
    "redis-rdb": lambda: b"REDIS0011\xfa\tredis-ver\x067.2.4",
    "ggml-legacy": lambda: b"tjgg" + struct.pack("<IIIIIIII", 3, 32000, 4096, 256, 32, 32, 128, 2),
}


def image(*parts: bytes) -> bytes:
    """Files laid out as a filesystem would: each at a 4 KiB boundary, after a 4 KiB gap."""
    out = bytearray(SECTOR)
    for part in parts:
        out += part + b"\0" * (-len(part) % SECTOR) + bytes(SECTOR)
    return bytes(out)


def kinds(hits: list[Hit]) -> list[tuple[int, str]]:
    return [(h.offset, h.kind) for h in hits]


@pytest.mark.parametrize("kind", sorted(SYNTHETIC))
def test_each_synthetic_header_is_found_at_its_offset(kind: str) -> None:
    header = SYNTHETIC[kind]()
    data = image(os.urandom(8192), header + os.urandom(3000))
    result = carve_bytes(data)
    assert kinds(result.hits) == [(SECTOR * 4, kind)], result.hits


def test_real_gguf_safetensors_sqlite_and_torch_zip(tmp_path: Path) -> None:
    rng = random.Random(2)
    write_gguf(str(tmp_path / "m.gguf"), rng)
    write_safetensors(str(tmp_path / "e.safetensors"), rng)
    write_sqlite_store(str(tmp_path / "s.db"), rng, rows=40)
    files = [(tmp_path / n).read_bytes() for n in ("m.gguf", "e.safetensors", "s.db")] + [torch_zip(tmp_path)]
    result = carve_bytes(image(*files), sniffers=registry_sniffers())
    found = {h.kind for h in result.hits}
    assert {"gguf", "safetensors", "sqlite-database", "sqlite-embedding-pages", "pytorch-zip"} <= found
    gguf = next(h for h in result.hits if h.kind == "gguf")
    assert gguf.offset == SECTOR and gguf.details["version"] == 3
    pages = next(h for h in result.hits if h.kind == "sqlite-embedding-pages")
    assert pages.details["dim"] == 384 and int(pages.details["vectors"]) == 40


def test_long_safetensors_header_is_judged_by_its_start() -> None:
    names = {f"layer.{i}.weight": {"dtype": "F16", "shape": [64, 64], "data_offsets": [0, 8192]} for i in range(200)}
    raw = json.dumps(names).encode()
    result = carve_bytes(image(struct.pack("<Q", len(raw)) + raw))
    assert kinds(result.hits) == [(SECTOR, "safetensors")]


@pytest.mark.parametrize("kind", ["faiss", "numpy", "llama-session", "redis-rdb"])
def test_headers_off_sector_boundaries_are_not_reported(kind: str) -> None:
    data = bytearray(image(os.urandom(16384)))
    data[SECTOR + 100 : SECTOR + 100 + 64] = SYNTHETIC[kind]()[:64]
    assert carve_bytes(bytes(data)).hits == []


def test_magic_without_a_valid_structure_is_rejected() -> None:
    bad = [
        b"GGUF" + struct.pack("<I", 77) + bytes(100),  # impossible version
        b"SQLite format 3\x00" + bytes(100),  # page size 0
        b"PK\x03\x04" + bytes(22) + struct.pack("<HH", 9, 0) + b"readme.md",  # an ordinary zip
        b"\x93NUMPY\x01\x00\x10\x00garbage garbage!",
        struct.pack("<Q", 50) + b'{"not": "a tensor"}' + bytes(40),
    ]
    assert carve_bytes(image(*bad)).hits == []


def test_header_straddling_two_buffers_is_read_whole() -> None:
    header = SYNTHETIC["llama-session"]()
    data = bytearray(os.urandom(8 * SECTOR))
    at = 2 * SECTOR - 512  # last sector of the first 8 KiB buffer
    data[at : at + len(header)] = header
    result = carve_bytes(bytes(data), CarveOptions(buffer=2 * SECTOR))
    assert kinds(result.hits) == [(at, "llama-session")]


def test_float_runs_are_reported_once_with_their_extent() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(0, 0.05, 16 * 1024).astype("<f4").tobytes()  # 16 blocks
    data = image(os.urandom(8192), vectors)
    result = carve_bytes(data, CarveOptions(buffer=3 * SECTOR, min_float_blocks=8))
    assert [(h.kind, h.offset, h.length) for h in result.hits] == [("float32-run", 4 * SECTOR, 16 * SECTOR)]
    assert carve_bytes(data, CarveOptions(min_float_blocks=17)).hits == []


def test_max_hits_keeps_the_first_and_counts_all() -> None:
    data = image(*[SYNTHETIC["faiss"]() for _ in range(5)])
    result = carve_bytes(data, CarveOptions(max_hits=2))
    assert len(result.hits) == 2 and result.hits_total == 5 and result.truncated


NEGATIVES = str(Path(__file__).resolve().parents[2] / "fixtures" / "artifacts" / "negatives")


def _concat(pattern: str, limit: int) -> bytes:
    """The machine's files matching `pattern`, plus the repository's negatives of that kind
    (`*.png` also matches fixtures/artifacts/negatives/**/*.png), so a machine without
    images still tests images."""
    parts, total = [], 0
    ours = f"{NEGATIVES}/**/{os.path.basename(pattern)}" if "*." in os.path.basename(pattern) else None
    paths = sorted(glob.glob(ours, recursive=True)) if ours else []
    for path in paths + sorted(glob.glob(pattern, recursive=True)):
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        try:
            with open(path, "rb") as fh:
                data = fh.read(4 << 20)
        except OSError:
            continue
        parts.append(data)
        total += len(data)
        if total > limit:
            break
    assert parts, pattern
    return image(*parts)


@pytest.mark.parametrize(
    "pattern",
    [
        "/usr/bin/*",
        "/usr/lib/x86_64-linux-gnu/*.so*",
        "/usr/share/doc/**/*",
        "/usr/share/**/*.png",
        "/usr/share/**/*.jp*g",
        "/usr/share/**/*.svg",
    ],
)
def test_no_false_positives_on_ordinary_files(pattern: str) -> None:
    result = carve_bytes(_concat(pattern, 48 << 20), sniffers=registry_sniffers())
    assert result.hits == [], [(h.kind, h.evidence) for h in result.hits[:5]]


def test_reports_carry_no_content(tmp_path: Path) -> None:
    marker = "CONFIDENTIAL-PROMPT-7731"
    db = tmp_path / "chat.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, text TEXT, vec BLOB)")
    rng = np.random.default_rng(4)
    con.executemany(
        "INSERT INTO m (text, vec) VALUES (?, ?)",
        ((f"{marker} {i}", rng.normal(0, 0.05, 384).astype("<f4").tobytes()) for i in range(50)),
    )
    con.commit()
    con.close()
    header = {"__metadata__": {"note": marker}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    raw = json.dumps(header).encode()
    st = struct.pack("<Q", len(raw)) + raw + bytes(8)
    result = carve_bytes(image(db.read_bytes(), st), sniffers=registry_sniffers())
    assert {"sqlite-database", "sqlite-embedding-pages", "safetensors"} <= {h.kind for h in result.hits}
    assert marker not in json.dumps([h.to_dict() for h in result.hits])
