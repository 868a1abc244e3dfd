"""FAISS index files (every fourcc), and LangChain's `index.faiss` + `index.pkl` directory.

Float indexes share `write_index_header`: fourcc, i32 d, i64 ntotal, then two i64 fields that
FAISS always writes as 1<<20 (a dummy kept for compatibility). Those 16 bytes are the strong
check, so unknown or future fourccs are recognised too. Binary indexes (`IB..`) have their own
header: fourcc, i32 d, i32 code_size = d/8, i64 ntotal, u8 is_trained, i32 metric.
"""

from __future__ import annotations

import os
import struct

from sanitize.detect.base import Category, DirContext, FileContext, Finding
from sanitize.detect.dir_files import read_head

_DUMMY = struct.pack("<qq", 1 << 20, 1 << 20)
MAX_DIM = 1 << 17

# Names for the common fourccs; anything else that passes the header check is "faiss".
KNOWN_FOURCCS = {
    b"IxFI": "flat-ip", b"IxF2": "flat-l2", b"IxFl": "flat", b"IHNf": "hnsw-flat", b"IHNp": "hnsw-pq",
    b"IHNs": "hnsw-sq", b"IHN2": "hnsw-2level", b"IwFl": "ivf-flat", b"IwFd": "ivf-flat-dedup",
    b"IwPQ": "ivf-pq", b"IwQR": "ivf-pq-r", b"IwSQ": "ivf-sq", b"IwSq": "ivf-sq", b"IvPQ": "ivf-pq",
    b"IxMp": "id-map", b"IxM2": "id-map2", b"IxPq": "pq", b"IxPQ": "pq", b"IxSQ": "sq", b"IxSq": "sq",
    b"IxPT": "pretransform", b"IxLS": "lsh", b"IxRF": "refine", b"IxHe": "hnsw", b"ILfs": "lsh",
    b"IPfs": "pq-fastscan", b"IwPf": "ivf-pq-fastscan", b"IxRQ": "rq", b"IwRQ": "ivf-rq", b"IxNS": "nsg",
    b"INSf": "nsg-flat", b"IxSh": "shards", b"IxRp": "replicas", b"IxNf": "nndescent",
    b"IBxF": "binary-flat", b"IBwF": "binary-ivf", b"IBHf": "binary-hnsw", b"IBMp": "binary-id-map",
    b"IBM2": "binary-id-map2", b"IBHh": "binary-hash", b"IBHm": "binary-multihash", b"IBFf": "binary-from-float",
}  # fmt: skip


def _plausible_fourcc(fourcc: bytes) -> bool:
    return len(fourcc) == 4 and fourcc[0:1] == b"I" and all(0x30 <= b < 0x7B and chr(b).isalnum() for b in fourcc)


def sniff_faiss(header: bytes) -> Finding | None:
    if len(header) < 32 or not _plausible_fourcc(header[:4]):
        return None
    fourcc = header[:4]
    kind = KNOWN_FOURCCS.get(fourcc, "unknown")
    if fourcc.startswith(b"IB"):
        if len(header) < 25:
            return None
        d, code_size, ntotal = struct.unpack_from("<iiq", header, 4)
        is_trained = header[20]
        if 0 < d <= MAX_DIM and d % 8 == 0 and code_size == d // 8 and ntotal >= 0 and is_trained in (0, 1):
            details = {"index_type": kind, "dimension": d, "vectors": ntotal}
            return Finding(Category.VECTOR_STORE, "faiss", "faiss-binary-header", details)
        return None
    d, ntotal = struct.unpack_from("<iq", header, 4)
    if header[16:32] != _DUMMY or not (0 < d <= MAX_DIM) or ntotal < 0:
        return None
    details = {"index_type": kind, "dimension": d, "vectors": ntotal}
    return Finding(Category.VECTOR_STORE, "faiss", "faiss-header-dummy", details)


class FaissDetector:
    name = "faiss"
    first_bytes = b"I"  # every fourcc starts with I

    def sniff(self, header: bytes) -> Finding | None:
        return sniff_faiss(header)

    def detect(self, ctx: FileContext) -> Finding | None:
        return sniff_faiss(ctx.header)


class LangchainFaissDirDetector:
    """`FAISS.save_local` writes the index plus a pickled docstore that holds the page text."""

    name = "langchain-faiss"

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        pairs = [n[: -len(".faiss")] for n in ctx.ending(".faiss") if n[:-6] + ".pkl" in ctx.entries]
        for stem in sorted(pairs):
            index = read_head(os.path.join(ctx.path, stem + ".faiss"), 32)
            pkl = read_head(os.path.join(ctx.path, stem + ".pkl"), 2)
            hit = sniff_faiss(index)
            if hit is not None and len(pkl) == 2 and pkl[0] == 0x80 and 2 <= pkl[1] <= 5:
                details = {"indexes": len(pairs), "dimension": hit.details["dimension"],
                           "vectors": hit.details["vectors"]}  # fmt: skip
                return Finding(Category.DOCUMENT_STORE, "langchain-faiss", "langchain-faiss-pair", details)
        return None


DETECTORS = [FaissDetector(), LangchainFaissDirDetector()]
