"""TensorFlow Lite: a FlatBuffer with file identifier `TFL3` at bytes 4-7."""

from __future__ import annotations

import struct

from sanitize.detect.base import BINARY, Category, FileContext, Finding, Gate


def _check(header: bytes, size: int | None) -> Finding | None:
    if len(header) < 8 or header[4:8] != b"TFL3":
        return None
    (root,) = struct.unpack_from("<I", header)
    if root < 8 or (size is not None and root >= size):
        return None  # the root table offset must point inside the buffer, past the identifier
    return Finding(Category.MODEL_WEIGHTS, "tflite", "tflite-identifier", {})


class TFLiteDetector:
    name = "tflite"
    # Bytes 0-3 are a little-endian root offset and the tables hold small integers: NUL bytes.
    header_class = BINARY
    gate = Gate(opening=rb"(?s:.{4})TFL3")

    def sniff(self, header: bytes) -> Finding | None:
        return _check(header, None)

    def detect(self, ctx: FileContext) -> Finding | None:
        return _check(ctx.header, ctx.size)


DETECTORS = [TFLiteDetector()]
