"""ONNX `ModelProto`: a protobuf whose top-level fields are all ModelProto fields, with a graph.

Walk at most MAX_TAGS top-level tags in the header (ai-artifacts.md §1): every field number
must belong to ModelProto with the right wire type, the first must be ir_version (08), and
field 7 (graph) must appear. Length-delimited fields are skipped, not read.
"""

from __future__ import annotations

from sanitize.detect.base import Category, Detail, FileContext, Finding
from sanitize.detect.binreader import Truncated, read_varint

MAX_TAGS = 12
MAX_IR_VERSION = 16  # IR 11 is current; leaves room without accepting any varint
_VARINT_FIELDS = {1, 5}
_LEN_FIELDS = {2, 3, 4, 6, 7, 8, 14, 20, 25, 26}


def sniff_onnx(header: bytes, size: int | None = None) -> Finding | None:
    if header[:1] != b"\x08":
        return None
    pos, seen_graph = 0, False
    details: dict[str, Detail] = {}
    limit = size if size is not None else 1 << 62
    try:
        for _ in range(MAX_TAGS):
            if pos >= len(header):
                break
            key, pos = read_varint(header, pos)
            field, wire = key >> 3, key & 7
            if field in _VARINT_FIELDS and wire == 0:
                value, pos = read_varint(header, pos)
                if field == 1:
                    if not 1 <= value <= MAX_IR_VERSION:
                        return None
                    details["ir_version"] = value
            elif field in _LEN_FIELDS and wire == 2:
                length, pos = read_varint(header, pos)
                if pos + length > limit:
                    return None
                if field == 2 and pos + length <= len(header):
                    producer = header[pos : pos + min(length, 32)]
                    if producer.isascii() and producer.decode().isprintable():
                        details["producer"] = producer.decode()
                if field == 7:
                    seen_graph = True
                    break
                pos += length
            else:
                return None
    except Truncated:
        pass
    if not seen_graph or "ir_version" not in details:
        return None
    return Finding(Category.MODEL_WEIGHTS, "onnx", "onnx-modelproto", details)


class ONNXDetector:
    name = "onnx"
    first_bytes = b"\x08"

    def sniff(self, header: bytes) -> Finding | None:
        return sniff_onnx(header)

    def detect(self, ctx: FileContext) -> Finding | None:
        return sniff_onnx(ctx.header, ctx.size)


DETECTORS = [ONNXDetector()]
