"""HDF5 (legacy Keras `.h5`, `.weights.h5`) and Keras 3 `.keras` zips.

The HDF5 superblock signature sits at 0 or after a user block at 512, 1024, 2048, ... bytes.
Keras writes `keras_version` / `model_config` / `layer_names` attributes near the start, which
tells a Keras model from other HDF5 data; both are reported, with the Keras markers as details.
User blocks larger than 2 KiB (superblock beyond the first HEADER_BYTES) are not probed: that
would cost several extra reads on every large file of a tree, for a layout h5py rarely writes.
"""

from __future__ import annotations

from sanitize.detect.base import BINARY, Category, Detail, FileContext, Finding, Gate
from sanitize.detect.ziplist import central_directory

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
KERAS_MARKERS = (b"keras_version", b"model_config", b"layer_names")
PEEK = 64 * 1024


def _superblock_in(header: bytes) -> int | None:
    for offset in (0, 512, 1024, 2048):
        if offset >= len(header):
            return None  # a short header has no later superblock either
        # A byte compare first: called on every file, a slice per offset would cost more.
        if header[offset] == 0x89 and header[offset : offset + 8] == HDF5_MAGIC:
            return offset
    return None


def _finding(offset: int, peek: bytes) -> Finding:
    keras = any(m in peek for m in KERAS_MARKERS)
    details: dict[str, Detail] = {"superblock_offset": offset, "keras": keras}
    evidence = "hdf5-superblock" + (":keras-attributes" if keras else "")
    return Finding(Category.MODEL_WEIGHTS, "keras-h5" if keras else "hdf5", evidence, details)


class HDF5Detector:
    name = "hdf5"
    # The superblock follows its signature with version bytes and zero fields: NUL bytes in the header.
    header_class = BINARY
    gate = Gate(opening=rb"(?s:.{512}|.{1024}|.{2048})?\x89HDF\r\n\x1a\n")  # the signature at 0 or after a user block

    def sniff(self, header: bytes) -> Finding | None:
        offset = _superblock_in(header)
        return None if offset is None else _finding(offset, header)

    def detect(self, ctx: FileContext) -> Finding | None:
        offset = _superblock_in(ctx.header)
        if offset is None:
            return None
        peek = ctx.header if ctx.size <= len(ctx.header) else ctx.read_at(0, min(ctx.size, PEEK))
        return _finding(offset, peek)


class KerasZipDetector:
    name = "keras-zip"
    first_bytes = b"P"

    def detect(self, ctx: FileContext) -> Finding | None:
        zd = central_directory(ctx)
        if zd is None:
            return None
        names = set(zd.names)
        if not {"metadata.json", "config.json"} <= names or not any(n.endswith(".h5") for n in names):
            return None
        return Finding(Category.MODEL_WEIGHTS, "keras", "keras-zip-members", {"zip_entries": zd.total})


DETECTORS = [HDF5Detector(), KerasZipDetector()]
