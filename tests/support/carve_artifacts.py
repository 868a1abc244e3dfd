"""Small real artifacts for carving tests and the carve benchmark (written with stdlib only)."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import struct


def unit_vector(rng: random.Random, dim: int) -> list[float]:
    values = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = sum(v * v for v in values) ** 0.5
    return [v / norm for v in values]


def float32_bytes(values: list[float]) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def write_gguf(path: str, rng: random.Random, floats: int = 4096) -> None:
    """GGUF v3: one string KV, one F32 tensor, 32-byte aligned data."""

    def gstr(s: str) -> bytes:
        raw = s.encode()
        return struct.pack("<Q", len(raw)) + raw

    head = b"GGUF" + struct.pack("<Iqq", 3, 1, 1)
    head += gstr("general.architecture") + struct.pack("<I", 8) + gstr("llama")
    head += gstr("token_embd.weight") + struct.pack("<I", 1) + struct.pack("<Q", floats) + struct.pack("<IQ", 0, 0)
    head += b"\0" * (-len(head) % 32)
    data = float32_bytes([rng.uniform(-0.1, 0.1) for _ in range(floats)])
    with open(path, "wb") as fh:
        fh.write(head + data)


def write_safetensors(path: str, rng: random.Random, rows: int = 64, dim: int = 384) -> None:
    nbytes = rows * dim * 4
    tensor = {"dtype": "F32", "shape": [rows, dim], "data_offsets": [0, nbytes]}
    header = {"__metadata__": {"format": "pt"}, "emb": tensor}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    data = b"".join(float32_bytes(unit_vector(rng, dim)) for _ in range(rows))
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw + data)


def write_sqlite_store(path: str, rng: random.Random, rows: int = 300, dim: int = 384) -> None:
    """An embedding store as many RAG apps keep one: id, document text, float32 BLOB."""
    con = sqlite3.connect(path)
    try:
        con.execute("CREATE TABLE embeddings (id INTEGER PRIMARY KEY, doc TEXT, vec BLOB)")
        con.executemany(
            "INSERT INTO embeddings (doc, vec) VALUES (?, ?)",
            ((f"chunk {i}", float32_bytes(unit_vector(rng, dim))) for i in range(rows)),
        )
        con.commit()
    finally:
        con.close()


def fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
