"""LanceDB / Lance tables: a `<table>.lance/` directory with `_versions/*.manifest`, and data
files and manifests that end with the 4 bytes `LANC` after a u16 major/minor version."""

from __future__ import annotations

import os
import struct

from sanitize.detect.base import Category, DirContext, FileContext, Finding, Gate
from sanitize.detect.dir_files import is_dir, list_dir

FOOTER_MAGIC = b"LANC"


class LanceDetector:
    name = "lance"
    gate = Gate(ending=(FOOTER_MAGIC,))  # the footer ends the file

    def detect(self, ctx: FileContext) -> Finding | None:
        if ctx.size < 16:
            return None
        # Most files fit in the header: their footer is already in memory.
        tail = ctx.header[-8:] if ctx.size == len(ctx.header) else ctx.tail(8)
        if tail[4:] != FOOTER_MAGIC:
            return None
        major, minor = struct.unpack_from("<HH", tail)
        if major > 50 or minor > 50:
            return None
        kind = "manifest" if ctx.name.endswith(".manifest") else "data"
        return Finding(Category.VECTOR_STORE, "lance", "lance-footer", {"file_kind": kind})

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if "_versions" not in ctx.entries:
            return None
        versions = os.path.join(ctx.path, "_versions")
        if not is_dir(versions):
            return None
        manifests = [n for n in list_dir(versions) if n.endswith(".manifest")]
        if not manifests:
            return None
        data_files = len([n for n in list_dir(os.path.join(ctx.path, "data")) if n.endswith(".lance")])
        details = {"versions": len(manifests), "data_files": data_files}
        return Finding(Category.VECTOR_STORE, "lance", "lance-table-dir", details)


DETECTORS = [LanceDetector()]
