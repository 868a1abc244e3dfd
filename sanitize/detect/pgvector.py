"""PostgreSQL data directories with the pgvector extension installed in some database.

A data directory has `PG_VERSION`, `base/` and `global/pg_control`. In each `base/<dboid>/`,
the heap of pg_extension (relfilenode 3079) names `vector` when the extension is installed and
pg_am (2601) names `hnsw`/`ivfflat` access methods; that is one 8 KiB page each. A VACUUM
FULL on those catalogs renumbers the files, so a miss here is not proof of absence.
"""

from __future__ import annotations

import os

from sanitize.detect.base import Category, Detail, DirContext, Finding
from sanitize.detect.dir_files import is_dir, is_file, list_dir, read_head

PAGE = 8192
PAGES_READ = 4
MAX_DATABASES = 256
PG_EXTENSION, PG_AM = "3079", "2601"


class PgvectorDetector:
    name = "pgvector"

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if not {"PG_VERSION", "base", "global"} <= ctx.entries:
            return None
        if not is_file(os.path.join(ctx.path, "global", "pg_control")):
            return None
        base = os.path.join(ctx.path, "base")
        if not is_dir(base):
            return None
        with_vector = 0
        with_index_am = 0
        for db in list_dir(base, limit=MAX_DATABASES):
            if not db.isdigit():
                continue
            ext = read_head(os.path.join(base, db, PG_EXTENSION), PAGE * PAGES_READ)
            if b"vector\x00" not in ext:
                continue
            with_vector += 1
            am = read_head(os.path.join(base, db, PG_AM), PAGE * PAGES_READ)
            if b"hnsw\x00" in am or b"ivfflat\x00" in am:
                with_index_am += 1
        if not with_vector:
            return None
        version = read_head(os.path.join(ctx.path, "PG_VERSION"), 16).strip().decode("ascii", "replace")
        details: dict[str, Detail] = {
            "databases_with_vector": with_vector,
            "databases_with_vector_index_am": with_index_am,
            "pg_version": version,
        }
        return Finding(Category.VECTOR_STORE, "pgvector", "pgvector-catalog", details)


DETECTORS = [PgvectorDetector()]
