"""LlamaIndex (and PrivateGPT) persist directories and their JSON files.

`docstore.json` holds the document text under `docstore/data`, `*vector_store.json` holds
`embedding_dict`, `index_store.json` the index structure. These files can be gigabytes, so
only the opening bytes are checked: each starts with its own top-level key.
"""

from __future__ import annotations

import os
import re

from sanitize.detect.base import Category, DirContext, FileContext, Finding, Gate
from sanitize.detect.dir_files import read_head

_OPENING = re.compile(
    rb'\A\s*\{\s*"(docstore/(?:metadata|data|ref_doc_info)|index_store/data|embedding_dict)"\s*:\s*(\{\s*\}?)'
)
_KINDS = {
    "docstore": (Category.DOCUMENT_STORE, "llamaindex-docstore"),
    "index_store": (Category.DOCUMENT_STORE, "llamaindex-index-store"),
    "embedding_dict": (Category.VECTOR_STORE, "llamaindex-vector-store"),
}


def classify_opening(head: bytes) -> tuple[Category, str] | None:
    m = _OPENING.match(head[:4096])
    if m is None:
        return None
    key = m.group(1).decode("ascii").split("/")[0]
    if m.group(2).rstrip().endswith(b"}"):  # an empty store (`{}`) holds nothing
        return None
    return _KINDS[key]


class LlamaIndexDetector:
    name = "llamaindex"
    first_bytes = b"{ \t\n\r\x0b\x0c"  # _OPENING: `\s*\{` from the first byte
    gate = Gate(opening=rb'\s*\{\s*"(?:docstore/|index_store/data|embedding_dict)')  # _OPENING's first key

    def sniff(self, header: bytes) -> Finding | None:
        kind = classify_opening(header)
        return Finding(kind[0], kind[1], "llamaindex-json-key") if kind else None

    def detect(self, ctx: FileContext) -> Finding | None:
        return self.sniff(ctx.header)

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if "docstore.json" not in ctx.entries and "index_store.json" not in ctx.entries:
            return None  # asked for every directory: two set lookups before any list is built
        candidates = [n for n in ctx.entries if n in ("docstore.json", "index_store.json")
                      or n.endswith("vector_store.json")]  # fmt: skip
        if "docstore.json" not in candidates and "index_store.json" not in candidates:
            return None
        kinds = {}
        for name in candidates:
            found = classify_opening(read_head(os.path.join(ctx.path, name), 4096))
            if found is not None:
                kinds[name] = found[1]
        if "llamaindex-index-store" not in kinds.values() and "llamaindex-docstore" not in kinds.values():
            return None
        details = {"has_docstore": "llamaindex-docstore" in kinds.values(),
                   "vector_stores": sum(1 for v in kinds.values() if v == "llamaindex-vector-store")}  # fmt: skip
        return Finding(Category.DOCUMENT_STORE, "llamaindex-storage", "llamaindex-persist-dir", details)


DETECTORS = [LlamaIndexDetector()]
