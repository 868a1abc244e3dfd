"""Where a sample verification reads: NIST SP 800-88 Rev. 1 §4.7 pseudorandom locations."""

from __future__ import annotations

import math
import random

from sanitize.erase.overwrite.io import CHUNK

SUBSECTIONS = 1000


def sample_ranges(
    size: int, sector: int, coverage: float, seed: int, subsections: int = SUBSECTIONS
) -> list[tuple[int, int]]:
    """Rev. 1 §4.7 sampling (NIST SP 800-88 Rev. 2 gives no numbers of its own): first and last
    blocks, plus 2 pseudorandom blocks in each of >= `subsections` equal subsections, sized so
    at least `coverage` of the device is read.

    Returns sorted, non-overlapping (offset, length) byte ranges. A device too small to
    split that finely is read in full.
    """
    sectors = size // sector
    count = max(subsections, math.ceil(coverage * sectors / (2 * (CHUNK // sector))))
    if coverage >= 1 or sectors < 4 * count:
        return [(0, size)]
    rng = random.Random(seed)
    picks: list[tuple[int, int]] = []
    for i in range(count):
        start, end = i * sectors // count, (i + 1) * sectors // count
        half = (end - start) // 2
        block = min(half, max(1, math.ceil(coverage * (end - start) / 2)))
        for lo, hi in ((start, start + half), (start + half, end)):
            first = rng.randint(lo, hi - block)
            picks.append((first, block))
        if i == 0:
            picks.append((0, block))
        if i == count - 1:
            picks.append((sectors - block, block))
    merged: list[list[int]] = []
    for first, n in sorted(picks):
        if merged and first <= merged[-1][0] + merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], first + n - merged[-1][0])
        else:
            merged.append([first, n])
    return [(first * sector, n * sector) for first, n in merged]
