"""hnswlib index files, standalone or as Chroma's per-segment `header.bin`.

There is no magic; the 96-byte header is self-checking instead: `mult` is stored as the
float64 1/ln(M), maxM0 = 2*maxM, offsetData = maxM0*4 + 4, and the label sits 8 bytes before
the end of each element. Random data essentially never satisfies all of these at once.
"""

from __future__ import annotations

import math
import struct

from sanitize.detect.base import BINARY, Category, FileContext, Finding

HEADER_LEN = 96
_FMT = "<QQQQQQiIQQQdQ"
CHROMA_PREFIX = struct.pack("<i", 1)  # Chroma writes a persist version before the hnswlib header


def parse_header(buf: bytes) -> dict[str, int] | None:
    if len(buf) < HEADER_LEN:
        return None
    (offset_l0, max_elements, cur_count, size_per_el, label_offset, offset_data, _maxlevel, _enter,
     max_m, max_m0, m, mult, _ef) = struct.unpack_from(_FMT, buf)  # fmt: skip
    if offset_l0 != 0 or not (2 <= m <= 4096) or max_m != m or max_m0 != 2 * m:
        return None
    if not math.isclose(mult, 1.0 / math.log(m), rel_tol=1e-9):
        return None
    if offset_data != max_m0 * 4 + 4 or label_offset <= offset_data or size_per_el != label_offset + 8:
        return None
    if cur_count > max_elements or (label_offset - offset_data) % 4:
        return None
    return {"dimension": (label_offset - offset_data) // 4, "elements": cur_count, "m": m,
            "element_bytes": size_per_el}  # fmt: skip


def sniff_hnswlib(header: bytes) -> Finding | None:
    info = parse_header(header)
    if info is not None:
        details = {k: info[k] for k in ("dimension", "elements", "m")}
        return Finding(Category.VECTOR_STORE, "hnswlib", "hnswlib-header-mult", details)
    if header.startswith(CHROMA_PREFIX):
        info = parse_header(header[4:])
        if info is not None:
            details = {k: info[k] for k in ("dimension", "elements", "m")}
            return Finding(Category.VECTOR_STORE, "chroma-hnsw", "hnswlib-header-mult", details)
    return None


class HnswlibDetector:
    name = "hnswlib"
    first_bytes = b"\x00\x01"  # offsetLevel0 is u64 0, or Chroma's i32 1 comes first ...
    header_class = BINARY  # ... so the header has NUL bytes

    def sniff(self, header: bytes) -> Finding | None:
        return sniff_hnswlib(header)

    def detect(self, ctx: FileContext) -> Finding | None:
        finding = sniff_hnswlib(ctx.header)
        if finding is None:
            return None
        if finding.format == "hnswlib":
            info = parse_header(ctx.header)
            # A standalone index holds every element after the header: a truncated copy is not one.
            if info is None or ctx.size < HEADER_LEN + info["elements"] * info["element_bytes"]:
                return None
        return finding


DETECTORS = [HnswlibDetector()]
