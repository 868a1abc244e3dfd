"""Chroma persist directories: `chroma.sqlite3` plus one UUID directory per vector segment.

The directory is reported as one unit because the text (SQLite) and the vectors (segment
files) must be destroyed together. Small collections keep vectors only in SQLite, so the
segment directories are counted but not required.
"""

from __future__ import annotations

import os
import re

from sanitize.detect.base import Category, DirContext, Finding
from sanitize.detect.dir_files import is_file, open_file
from sanitize.detect.sqlite_readonly import SqliteUnreadable, has_sqlite_header, open_fd, read_schema

_UUID = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
CHROMA_TABLES = frozenset({"embeddings_queue", "collections", "segments"})
SEGMENT_FILES = ("header.bin", "data_level0.bin", "link_lists.bin", "length.bin", "index_metadata.pickle")


class ChromaDirDetector:
    name = "chroma"

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if "chroma.sqlite3" not in ctx.entries:
            return None
        if not _is_chroma_db(os.path.join(ctx.path, "chroma.sqlite3")):
            return None
        segments = 0
        for name in ctx.entries:
            if _UUID.match(name) and any(is_file(os.path.join(ctx.path, name, f)) for f in SEGMENT_FILES):
                segments += 1
        return Finding(Category.VECTOR_STORE, "chroma", "chroma-persist-dir", {"vector_segments": segments})


def _is_chroma_db(path: str) -> bool:
    """The name is a hint only: the database must have Chroma's own tables."""
    fd = open_file(path)  # one open, no symlink followed; SQLite reads through it
    if fd is None:
        return False
    try:
        if not has_sqlite_header(os.pread(fd, 100, 0)):
            return False
        with open_fd(fd) as conn:
            tables = {e.name for e in read_schema(conn) if e.type == "table"}
    except (OSError, SqliteUnreadable):
        return False
    finally:
        os.close(fd)
    return tables >= CHROMA_TABLES


DETECTORS = [ChromaDirDetector()]
