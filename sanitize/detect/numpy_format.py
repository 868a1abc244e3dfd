"""NumPy `.npy` (magic, version, header dict) and `.npz` (a zip of `.npy` members).

Category rule: a 2-D float array whose second dimension is a common embedding width
(384, 768, 1536, ...) is an embeddings matrix, so a vector store; any other array is counted as
model weights. Only dtype and shape are reported.
"""

from __future__ import annotations

import re
import struct

from sanitize.detect.base import Category, Detail, FileContext, Finding
from sanitize.detect.ziplist import central_directory, read_stored

NPY_MAGIC = b"\x93NUMPY"
MAX_HEADER = 64 * 1024
EMBEDDING_DIMS = frozenset({128, 256, 300, 384, 512, 768, 1024, 1536, 2048, 3072, 4096})
_DESCR = re.compile(r"""['"]descr['"]\s*:\s*['"]([<>|=]?[a-zA-Z]\d*)['"]""")
_SHAPE = re.compile(r"""['"]shape['"]\s*:\s*\(([\d,\s]*)\)""")


def parse_npy_header(data: bytes) -> tuple[str, tuple[int, ...]] | None:
    """(descr, shape) from the start of a .npy, or None. Regexes, not eval: the dict is hostile."""
    if len(data) < 10 or data[:6] != NPY_MAGIC or data[6] not in (1, 2, 3):
        return None
    if data[6] == 1:
        (hlen,) = struct.unpack_from("<H", data, 8)
        start = 10
    else:
        if len(data) < 12:
            return None
        (hlen,) = struct.unpack_from("<I", data, 8)
        start = 12
    if hlen > MAX_HEADER:
        return None
    text = data[start : start + min(hlen, len(data) - start)].decode("latin-1")
    descr, shape = _DESCR.search(text), _SHAPE.search(text)
    if descr is None or shape is None:
        return None
    try:
        dims = tuple(int(x) for x in shape.group(1).split(",") if x.strip())
    except ValueError:
        return None
    return descr.group(1), dims


def _classify(descr: str, shape: tuple[int, ...]) -> tuple[Category, str]:
    kind = descr.lstrip("<>|=")
    if kind[:1] == "f" and len(shape) == 2 and shape[1] in EMBEDDING_DIMS:
        width = {"f2": "float16", "f4": "float32", "f8": "float64"}.get(kind, kind)
        return Category.VECTOR_STORE, f"embeddings:{width}x{shape[1]}"
    return Category.MODEL_WEIGHTS, "array"


def _npy_finding(parsed: tuple[str, tuple[int, ...]], fmt: str, evidence: str) -> Finding:
    descr, shape = parsed
    category, what = _classify(descr, shape)
    details: dict[str, Detail] = {"dtype": descr, "shape": "x".join(map(str, shape))}
    if descr.lstrip("<>|=").startswith("O"):
        details["pickled_objects"] = True
    return Finding(category, fmt, f"{evidence}:{what}" if category is Category.VECTOR_STORE else evidence, details)


class NpyDetector:
    name = "npy"
    first_bytes = b"\x93"

    def sniff(self, header: bytes) -> Finding | None:
        parsed = parse_npy_header(header)
        return None if parsed is None else _npy_finding(parsed, "npy", "npy-header")

    def detect(self, ctx: FileContext) -> Finding | None:
        return self.sniff(ctx.header)


class NpzDetector:
    name = "npz"
    first_bytes = b"P"

    def detect(self, ctx: FileContext) -> Finding | None:
        zd = central_directory(ctx)
        if zd is None or not all(n.endswith(".npy") for n in zd.names):
            return None
        best: Finding | None = None
        for entry in zd.entries[:16]:
            head = read_stored(ctx, entry, 4096)
            parsed = parse_npy_header(head) if head else None
            if parsed is not None:
                found = _npy_finding(parsed, "npz", "npz-members")
                if best is None or found.category is Category.VECTOR_STORE:
                    best = found
        details: dict[str, Detail] = {"arrays": zd.total}
        if best is None:  # compressed members (savez_compressed): names alone decide
            return Finding(Category.MODEL_WEIGHTS, "npz", "npz-members", details)
        return Finding(best.category, "npz", best.evidence, {**details, **best.details})


DETECTORS = [NpyDetector(), NpzDetector()]
