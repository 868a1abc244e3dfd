"""Core ML: `.mlmodel` protobuf files, `.mlpackage` and compiled `.mlmodelc` directories.

`Model` starts with specificationVersion (field 1, `08 NN`) and a description (field 2), then
one model-type field from the known Model.Type numbers. The walk reads only tag bytes: when a field runs
past the header, the next tag is fetched with a 16-byte capped read.
"""

from __future__ import annotations

from collections.abc import Callable

from sanitize.detect.base import Category, Detail, DirContext, FileContext, Finding
from sanitize.detect.binreader import Truncated, read_varint

MAX_TAGS = 6
MAX_SPEC_VERSION = 12  # coremltools 9 writes up to 9
# Model.Type oneof field numbers (Model.proto): pipelines 200s, regressors 300s, classifiers
# 400s, neural network / recommender / ML program 500s, custom and linked models 555+,
# feature engineering 600s, identity 900, Create ML models 2000s, serialized model 3000.
_MODEL_TYPE_FIELDS = (
    range(200, 203), range(300, 310), range(400, 410), range(500, 503), range(555, 565),
    range(600, 615), range(900, 905), range(2000, 2010), range(3000, 3001),
)  # fmt: skip


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
            elif index == 1 and not (field == 2 and wire == 2):
                return None  # the description always follows the version
            elif wire == 2 and (field == 2 or any(field in r for r in _MODEL_TYPE_FIELDS)):
                length, cursor = read_varint(chunk, cursor)
                if size is not None and pos + cursor + length > size:
                    return None
                if field != 2:
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
