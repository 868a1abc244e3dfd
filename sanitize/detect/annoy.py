"""Annoy indexes: no header at all, so this is a weak rule that needs the `.ann` extension.

The file is an array of fixed-size nodes, items first; every item node has n_descendants = 1.
A node is 12 + 4f bytes (angular) or 16 + 4f bytes (euclidean, manhattan, dot) for f
dimensions, so some f must divide the size exactly and decode to finite item values.
"""

from __future__ import annotations

import math
import struct

from sanitize.detect.base import BINARY, Category, FileContext, Finding

MAX_DIM = 4096


def _dimension(ctx: FileContext) -> tuple[int, str] | None:
    head = ctx.header
    if len(head) < 16 or struct.unpack_from("<i", head)[0] != 1:
        return None
    for base, metric in ((12, "angular"), (16, "euclidean")):
        for f in range(1, MAX_DIM + 1):
            node = base + 4 * f
            if node > ctx.size:
                break
            if ctx.size % node or node > len(head):
                continue
            values = struct.unpack_from(f"<{f}f", head, base)
            if all(math.isfinite(v) and abs(v) < 1e6 for v in values) and any(values):
                return f, metric
    return None


class AnnoyDetector:
    name = "annoy"
    first_bytes = b"\x01"  # the first item node's n_descendants, i32 LE 1 ...
    header_class = BINARY  # ... whose NUL bytes make it binary

    def detect(self, ctx: FileContext) -> Finding | None:
        if not ctx.name.endswith(".ann") or ctx.size == 0 or ctx.size % 4:
            return None
        found = _dimension(ctx)
        if found is None:
            return None
        dim, metric = found
        return Finding(Category.VECTOR_STORE, "annoy", "annoy-ext-node-modulus", {"dimension": dim, "metric": metric})


DETECTORS = [AnnoyDetector()]
