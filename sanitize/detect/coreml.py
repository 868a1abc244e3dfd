"""Core ML: `.mlmodel` protobuf files, `.mlpackage` and compiled `.mlmodelc` directories.

`Model` starts with specificationVersion (field 1, `08 NN`) and a description (field 2), then
one model-type field numbered 200 or more. The walk reads only tag bytes: when a field runs
past the header, the next tag is fetched with a 16-byte capped read.
"""

from __future__ import annotations

from collections.abc import Callable

from sanitize.detect.base import Category, Detail, DirContext, FileContext, Finding
from sanitize.detect.binreader import Truncated, read_varint

MAX_TAGS = 6
MAX_SPEC_VERSION = 64


def _walk(fetch: Callable[[int, int], bytes], size: int | None) -> Finding | None:
    first = fetch(0, 16)
    if first[:1] != b"\x08":
        return None
    pos = 0
    spec: int | None = None
    try:
        for index in range(MAX_TAGS):
            chunk = fetch(pos, 16)
            key, used = read_varint(chunk, 0)
            field, wire = key >> 3, key & 7
            cursor = used
            if index == 0:
                if field != 1 or wire != 0:
                    return None
                spec, cursor = read_varint(chunk, cursor)
                if not 1 <= spec <= MAX_SPEC_VERSION:
                    return None
            elif wire == 2 and (field == 2 or field >= 200):
                length, cursor = read_varint(chunk, cursor)
                if size is not None and pos + cursor + length > size:
                    return None
                if field >= 200:
                    details: dict[str, Detail] = {"specification_version": spec or 0, "model_type_field": field}
                    return Finding(Category.MODEL_WEIGHTS, "coreml", "coreml-model-proto", details)
                cursor += length
            elif field == 10 and wire == 0:
                _, cursor = read_varint(chunk, cursor)
            else:
                return None
            pos += cursor
    except Truncated:
        return None
    return None


class CoreMLModelDetector:
    name = "coreml-mlmodel"
    first_bytes = b"\x08"

    def sniff(self, header: bytes) -> Finding | None:
        return _walk(lambda pos, n: header[pos : pos + n], None)

    def detect(self, ctx: FileContext) -> Finding | None:
        if ctx.header[:1] != b"\x08":
            return None
        return _walk(lambda pos, n: ctx.read_at(pos, max(0, min(n, ctx.size - pos))), ctx.size)


class CoreMLPackageDetector:
    """`X.mlpackage/` with Manifest.json naming com.apple.CoreML; `X.mlmodelc/` compiled models."""

    name = "coreml-package"

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if "Manifest.json" in ctx.entries and "Data" in ctx.entries:
            manifest = ctx.read_member("Manifest.json", 8192) or b""
            if b"com.apple.CoreML" in manifest and b"itemInfoEntries" in manifest:
                return Finding(Category.MODEL_WEIGHTS, "coreml-mlpackage", "mlpackage-manifest", {})
        if "coremldata.bin" in ctx.entries and ({"model.mil", "weights", "model.espresso.net"} & ctx.entries):
            return Finding(Category.MODEL_WEIGHTS, "coreml-mlmodelc", "mlmodelc-layout", {})
        return None


DETECTORS = [CoreMLModelDetector(), CoreMLPackageDetector()]
