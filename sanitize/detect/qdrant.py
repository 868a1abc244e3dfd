"""Qdrant storage as directories.

Local (embedded client) mode: `meta.json` with a `collections` object plus
`collection/<name>/storage.sqlite` (a `points` table of pickled points, which the SQLite
detector also recognises on its own). Server mode (best effort, layout from the docs, not
checked against a real server): `collections/<name>/` next to `raft_state.json` or `aliases/`.
"""

from __future__ import annotations

import json
import os

from sanitize.detect.base import Category, DirContext, Finding
from sanitize.detect.dir_files import is_dir, is_file, list_dir, read_head

META_LIMIT = 64 * 1024


class QdrantDetector:
    name = "qdrant"

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if "meta.json" in ctx.entries and "collection" in ctx.entries:
            return self._local(ctx)
        if "collections" in ctx.entries and ({"raft_state.json", "aliases"} & ctx.entries):
            collections = list_dir(os.path.join(ctx.path, "collections"), limit=1000)
            if is_dir(os.path.join(ctx.path, "collections")):
                return Finding(Category.VECTOR_STORE, "qdrant-server", "qdrant-storage-dir",
                               {"collections": len(collections)})  # fmt: skip
        return None

    def _local(self, ctx: DirContext) -> Finding | None:
        raw = read_head(os.path.join(ctx.path, "meta.json"), META_LIMIT)
        try:
            meta = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(meta, dict) or not isinstance(meta.get("collections"), dict):
            return None
        base = os.path.join(ctx.path, "collection")
        stores = [c for c in list_dir(base, limit=1000) if is_file(os.path.join(base, c, "storage.sqlite"))]
        details = {"collections": len(meta["collections"]), "sqlite_stores": len(stores)}
        return Finding(Category.VECTOR_STORE, "qdrant-local", "qdrant-local-meta", details)


DETECTORS = [QdrantDetector()]
