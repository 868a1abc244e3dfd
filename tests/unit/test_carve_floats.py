"""The float32-run heuristic on synthetic 4 KiB blocks: embeddings in, look-alikes out."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from sanitize.carve.floats import BLOCK, RunTracker, float_blocks

RNG = np.random.default_rng(7)


def embeddings(blocks: int, dim: int = 384) -> bytes:
    vecs = RNG.normal(0, 1, (blocks * BLOCK // (4 * dim) + 1, dim)).astype("<f4")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs.tobytes()[: blocks * BLOCK]


def flags(data: bytes) -> list[bool]:
    return [bool(x) for x in float_blocks(np.frombuffer(data, dtype=np.uint8))]


def test_normalised_embeddings_of_every_common_dimension_qualify() -> None:
    for dim in (384, 768, 1024, 1536):
        assert all(flags(embeddings(8, dim))), dim


def test_weight_like_gaussian_floats_qualify() -> None:
    assert all(flags(RNG.normal(0, 0.02, 4 * 1024).astype("<f4").tobytes()))


@pytest.mark.parametrize(
    "name,data",
    [
        ("zeros", bytes(BLOCK)),
        ("random", os.urandom(BLOCK)),
        ("0xff", b"\xff" * BLOCK),
        ("ascii numbers", (b"0.0213, -0.551, 0.1934, " * 200)[:BLOCK]),
        ("ascii text", (b"The quick brown fox jumps over the lazy dog. " * 100)[:BLOCK]),
        ("small u32 table", struct.pack("<1024I", *range(1024))),
        ("small signed ints", struct.pack("<1024i", *(i - 512 for i in range(1024)))),
        ("constant float", struct.pack("<f", 0.25) * 1024),
        ("floats above one", (RNG.normal(0, 3, 1024)).astype("<f4").tobytes()),
        ("all positive floats", np.abs(RNG.normal(0, 0.1, 1024)).astype("<f4").tobytes()),
        ("mostly zero floats", np.concatenate([RNG.normal(0, 0.1, 64), np.zeros(960)]).astype("<f4").tobytes()),
        ("float with a NaN", np.concatenate([RNG.normal(0, 0.1, 1023), [np.nan]]).astype("<f4").tobytes()),
        ("float64 vectors", RNG.normal(0, 0.05, 512).astype("<f8").tobytes()),
    ],
)
def test_look_alikes_are_rejected(name: str, data: bytes) -> None:
    assert flags(data) == [False], name


def test_partial_trailing_block_is_ignored() -> None:
    assert flags(embeddings(2)[: BLOCK + 100]) == [True]


def test_run_tracker_joins_runs_across_buffers_and_drops_short_ones() -> None:
    tracker = RunTracker(min_blocks=3)
    t, f = True, False
    out = tracker.feed(0, np.array([f, t, t]))  # run starts at block 1, continues
    out += tracker.feed(3 * BLOCK, np.array([t, t, f, t]))  # run 1..4 ends; block 7 starts one
    out += tracker.feed(7 * BLOCK, np.array([f, f]))  # single block at 6 dropped (too short)
    out += tracker.feed(9 * BLOCK, np.array([t, t, t]))
    out += tracker.flush()
    assert out == [(1 * BLOCK, 4), (9 * BLOCK, 3)]


def test_run_tracker_flush_breaks_a_run() -> None:
    tracker = RunTracker(min_blocks=2)
    assert tracker.feed(0, np.array([True, True])) == []
    assert tracker.flush() == [(0, 2)]
    assert tracker.feed(100 * BLOCK, np.array([True])) == []
    assert tracker.flush() == []


def test_the_quick_test_on_the_sector_heads_keeps_every_block_the_full_test_keeps() -> None:
    """The scanner samples the sector heads it already gathered (160 values per block): the
    verdicts equal the full test's, block by block, on a mix of vectors and look-alikes."""
    from sanitize.carve.signatures import SECTOR, sector_heads

    tiny_heads = bytearray(embeddings(1, 384))  # 160 of 1024 values near zero, all in the heads: out
    for sector in range(BLOCK // SECTOR):
        tiny_heads[sector * SECTOR : sector * SECTOR + 80] = np.full(20, 1e-7, "<f4").tobytes()
    parts = [embeddings(6, 768), os.urandom(3 * BLOCK), bytes(BLOCK), bytes(tiny_heads), embeddings(2)]
    data = np.frombuffer(b"".join(parts), dtype=np.uint8)
    heads = sector_heads(data.reshape(-1, SECTOR))

    with_heads = float_blocks(data, heads)
    assert list(with_heads) == [True] * 6 + [False] * 5 + [True] * 2
    assert list(with_heads) == list(float_blocks(data))  # the strided sample agrees here


def _whole_buffer_verdicts(data: np.ndarray) -> list[bool]:
    """The full test's conditions written out over the whole buffer at once, in float64: the
    reference the cache-sized groups of floats._full_test must agree with."""
    words = data[: data.size // BLOCK * BLOCK].view("<u4").reshape(-1, 1024).astype(np.int64)
    mag = words & 0x7FFFFFFF
    negative = (words >> 31).sum(axis=1)
    with np.errstate(all="ignore"):
        values = data[: data.size // BLOCK * BLOCK].view("<f4").reshape(-1, 1024).astype(np.float64)
        var = values.var(axis=1)
    ok = (mag.max(axis=1) < 0x3F800000) & ((mag < 0x37000000).sum(axis=1) <= 102.4)
    ok &= (negative >= 204.8) & (negative <= 819.2) & (var >= 1e-6) & (var <= 0.75**2)
    return [bool(x) for x in ok]


def test_the_grouped_full_test_agrees_with_the_whole_buffer_test_across_group_boundaries() -> None:
    """More blocks than one group of the full test, survivors and rejects mixed inside groups
    (a NaN, a value above one, too many near-zero values, one sign, no spread): every block
    gets the verdict of the conditions applied to the whole buffer."""
    from sanitize.carve import floats

    rows = []
    for i in range(3 * floats._GROUP + 5):
        vec = RNG.normal(0, 0.05, 1024).astype("<f4")
        kind = i % 7
        if kind == 1:
            vec[i % 1024] = np.nan
        elif kind == 2:
            vec[3] = 1.5
        elif kind == 3:
            vec[:200] = 0.0
        elif kind == 4:
            vec = np.abs(vec)
        elif kind == 5:
            vec[:] = 0.125
        rows.append(vec.tobytes())
    data = np.frombuffer(b"".join(rows), dtype=np.uint8)
    want = _whole_buffer_verdicts(data)
    groups = [want[g : g + floats._GROUP] for g in range(0, len(want), floats._GROUP)]
    assert all(True in group and False in group for group in groups)  # survivors and rejects in every group
    assert list(float_blocks(data)) == want
