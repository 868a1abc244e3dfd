"""Runs of float32 vectors: 4 KiB blocks that look like embedding (or weight) data.

A block qualifies when its 1024 values are all finite with |x| < 1, signs are mixed,
almost none are near zero and the spread is plausible. Each condition removes a family of
look-alikes: random or compressed data (half its exponents are >= 1), ASCII text and small
integer tables (sign bit never set, values are denormal), zero-padded structures (near-zero
values), constant fills (no spread). A quick test of a sample per block (the 160 values of
its sector heads when the caller has them, else 16 strided values) rejects almost every
other block before the full test, so cost stays far below the read time.
"""

from __future__ import annotations

import numpy as np

BLOCK = 4096
VALUES = BLOCK // 4
_ABS_MASK = np.uint32(0x7FFFFFFF)
_ONE = np.uint32(0x3F800000)  # bit pattern of 1.0f: |x| < 1 and finite <=> (bits & ABS) < ONE
_TINY = np.uint32(0x37000000)  # 2**-17 ~ 7.6e-6: below this a value is "near zero"
_SAMPLE_STRIDE = 64
_GROUP = 64  # rows of the full test at a time: 256 KiB, with its temporaries within a core's L2

MIN_NEGATIVE_FRACTION = 0.2
MAX_NEGATIVE_FRACTION = 0.8
MAX_TINY_FRACTION = 0.1
MIN_STD = 1e-3
MAX_STD = 0.75


def float_blocks(buf: np.ndarray, heads: np.ndarray | None = None) -> np.ndarray:
    """Boolean per whole 4 KiB block of `buf` (a uint8 array): does it look like float32 vectors?

    `heads`: the buffer's sector heads (signatures.sector_heads: the first 80 bytes of each
    512-byte sector, already in the CPU cache), when the caller has them: the quick test then
    reads their 160 values per block instead of 16 values strided over the buffer, one pass
    over memory fewer. Both quick tests only reject blocks the full test rejects too when they
    have 160 values (one at least 1 or not finite, or all 160 near zero: more than 10 %).
    """
    n = buf.size // BLOCK
    if n == 0:
        return np.zeros(0, dtype=bool)
    words = buf[: n * BLOCK].view("<u4").reshape(n, VALUES)

    # Quick test on a sample of values per block: cheap enough to run on every block of every
    # buffer. Signs are left to the full test: a sample of a real vector can all share one sign.
    per_block = BLOCK // 512
    if heads is not None and len(heads) >= n * per_block:
        sample = heads[: n * per_block].view("<u4").reshape(n, -1)
    else:
        sample = words[:, ::_SAMPLE_STRIDE]
    mag = sample & _ABS_MASK
    top = mag.max(axis=1)
    quick = (top < _ONE) & (top >= _TINY)
    result = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(quick)
    if idx.size == 0:
        return result

    block = words if idx.size == n else words[idx]  # a device full of vectors: skip the gather
    result[idx[_full_test(block)]] = True
    return result


def _full_test(block: np.ndarray) -> np.ndarray:
    """The full test of every row of `block` ((m, VALUES) uint32), in groups of _GROUP rows whose
    temporaries stay in the CPU cache: on a buffer of vectors it is the carve's costliest step, and
    whole-buffer temporaries (4 MiB each) took twice as long (docs/benchmarks.md)."""
    ok = np.zeros(len(block), dtype=bool)
    mag = np.empty((min(len(block), _GROUP), VALUES), dtype=np.uint32)
    flag = np.empty(mag.shape, dtype=bool)
    for start in range(0, len(block), _GROUP):
        rows = block[start : start + _GROUP]
        size = len(rows)
        m = np.bitwise_and(rows, _ABS_MASK, out=mag[:size])
        good = m.max(axis=1) < _ONE
        tiny = np.add.reduce(np.less(m, _TINY, out=flag[:size]).view(np.uint8), axis=1, dtype=np.uint16)
        good &= tiny <= MAX_TINY_FRACTION * VALUES
        negative = np.add.reduce(rows >> np.uint32(31), axis=1, dtype=np.uint32)
        good &= (negative >= MIN_NEGATIVE_FRACTION * VALUES) & (negative <= MAX_NEGATIVE_FRACTION * VALUES)
        if not good.any():
            continue
        # Spread last, on the survivors only: they are all finite and below 1, so float32 sums are exact enough.
        sub = rows if good.all() else rows[good]
        values = sub.view("<f4")
        mean = np.einsum("ij->i", values) / VALUES
        var = np.einsum("ij,ij->i", values, values) / VALUES - mean * mean
        good[good] = (var >= MIN_STD**2) & (var <= MAX_STD**2)
        ok[start : start + size] = good
    return ok


class RunTracker:
    """Joins qualifying blocks across buffers into runs; emits (offset, blocks) of runs >= min_blocks."""

    def __init__(self, min_blocks: int) -> None:
        self.min_blocks = max(1, min_blocks)
        self._start: int | None = None
        self._count = 0

    def feed(self, base: int, flags: np.ndarray) -> list[tuple[int, int]]:
        """`flags[i]` is block i of the buffer at device offset `base` (contiguous with the last feed)."""
        runs: list[tuple[int, int]] = []
        if flags.size == 0:
            return runs
        # Edges of runs of True: +1 where a run starts, -1 where it ends.
        padded = np.concatenate(([False], flags, [False])).astype(np.int8)
        edges = np.diff(padded)
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)
        for s, e in zip(starts, ends, strict=True):
            if s == 0 and self._start is not None:
                self._count += int(e)
            else:
                runs.extend(self.flush())
                self._start, self._count = base + int(s) * BLOCK, int(e - s)
            if e < flags.size:
                runs.extend(self.flush())
        if flags.size and not flags[0] and self._start is not None and starts.size == 0:
            runs.extend(self.flush())
        return runs

    def flush(self) -> list[tuple[int, int]]:
        """End the current run (at a gap or a jump to a non-adjacent buffer)."""
        out = []
        if self._start is not None and self._count >= self.min_blocks:
            out.append((self._start, self._count))
        self._start, self._count = None, 0
        return out
