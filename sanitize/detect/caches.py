"""Caches that AI servers and libraries write beside the weights, each reported as one unit.

- vLLM's torch.compile cache (`VLLM_CACHE_ROOT/torch_compile_cache/<hash>/rank_<i>_<j>[/<prefix>]/`):
  `vllm_compile_cache.py` (a Python dict literal written with `pprint`, vllm/compilation/backends.py),
  `computation_graph.py`, `transformed_code.py` and the Inductor artifacts next to them. It records
  the model's structure, compiled for its shapes.
- PyTorch Inductor's own cache (`/tmp/torchinductor_<user>/`: `fxgraph/`, `aotautograd/`, `triton/`).
- Hugging Face `datasets` cache: a prepared dataset directory (`dataset_info.json` beside Arrow
  stream files, which start with the IPC continuation marker) and the `downloads/` directory of
  raw downloads, each blob next to a `<blob>.json` naming its `url` and `etag`. These hold the
  data sets' own rows: private data sets, fine-tuning data.

Directory detectors are asked about every directory: each decides from names first.
"""

from __future__ import annotations

import json
import re

from sanitize.detect.base import Category, Detail, DirContext, Finding

VLLM_CACHE_FILE = "vllm_compile_cache.py"
ARROW_STREAM = b"\xff\xff\xff\xff"
ARROW_FILE = b"ARROW1"
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_RANK = re.compile(r"\Arank_\d+_\d+\Z")
INDUCTOR_DIRS = frozenset({"fxgraph", "aotautograd", "triton", "cache", "aot_autograd"})


def _is_vllm_cache_file(data: bytes | None) -> bool:
    return bool(data) and data.lstrip()[:1] == b"{"  # type: ignore[union-attr]


class VllmCompileCacheDetector:
    name = "vllm-compile-cache"

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if ctx.name == "torch_compile_cache":
            ranks = self._rank_dirs(ctx)
            if not ranks:
                return None
            return Finding(Category.INFERENCE_CACHE, "vllm-torch-compile-cache", "vllm-compile-cache-file",
                           {"compiled_ranks": len(ranks)})  # fmt: skip
        if (
            VLLM_CACHE_FILE in ctx.entries
            and ({"computation_graph.py", "transformed_code.py"} & ctx.entries)
            and _is_vllm_cache_file(ctx.read_member(VLLM_CACHE_FILE, 256))
        ):
            return Finding(Category.INFERENCE_CACHE, "vllm-torch-compile-cache", "vllm-compile-cache-file")
        return None

    @staticmethod
    def _rank_dirs(ctx: DirContext) -> list[str]:
        """`<hash>/rank_i_j` directories (at most 16 looked at) holding a vllm_compile_cache.py."""
        found = []
        for digest in sorted(ctx.list_member(".", 64))[:8]:
            for rank in sorted(ctx.list_member(digest, 64))[:8]:
                if not _RANK.match(rank):
                    continue
                base = f"{digest}/{rank}"
                names = ctx.list_member(base, 64)
                candidates = [base] if VLLM_CACHE_FILE in names else [f"{base}/{p}" for p in sorted(names)[:4]]
                if any(_is_vllm_cache_file(ctx.read_member(f"{c}/{VLLM_CACHE_FILE}", 256)) for c in candidates):
                    found.append(base)
        return found


class InductorCacheDetector:
    name = "torch-inductor-cache"

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if not ctx.name.startswith("torchinductor_"):
            return None
        kinds = INDUCTOR_DIRS & ctx.entries
        if len(kinds) < 2 or not any(ctx.list_member(k, 8) for k in sorted(kinds)):
            return None
        return Finding(Category.INFERENCE_CACHE, "torch-inductor-cache", "inductor-cache-layout",
                       {"artifact_kinds": len(kinds)})  # fmt: skip


class HFDatasetsCacheDetector:
    name = "hf-datasets-cache"

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        if "dataset_info.json" in ctx.entries:
            return self._prepared(ctx)
        if ctx.name == "downloads":
            return self._downloads(ctx)
        return None

    @staticmethod
    def _prepared(ctx: DirContext) -> Finding | None:
        arrows = sorted(n for n in ctx.entries if n.endswith(".arrow"))
        if not arrows:
            return None
        head = ctx.read_member(arrows[0], 8) or b""
        if not (head.startswith(ARROW_STREAM) or head.startswith(ARROW_FILE)):
            return None
        try:
            info = json.loads(ctx.read_member("dataset_info.json", 256 * 1024) or b"")
        except (ValueError, RecursionError):
            info = None
        if not isinstance(info, dict) or not ({"features", "splits", "builder_name"} & info.keys()):
            return None
        details: dict[str, Detail] = {"arrow_files": len(arrows)}
        splits = info.get("splits")
        if isinstance(splits, dict):
            rows = sum(s.get("num_examples", 0) for s in splits.values() if isinstance(s, dict))
            if isinstance(rows, int):
                details["rows"] = rows
        return Finding(Category.DOCUMENT_STORE, "hf-datasets-arrow", "hf-datasets-info+arrow", details)

    @staticmethod
    def _downloads(ctx: DirContext) -> Finding | None:
        blobs = [n for n in ctx.entries if _HEX64.match(n) and n + ".json" in ctx.entries]
        if not blobs:
            return None
        try:
            meta = json.loads(ctx.read_member(sorted(blobs)[0] + ".json", 64 * 1024) or b"")
        except (ValueError, RecursionError):
            return None
        if not isinstance(meta, dict) or "url" not in meta or "etag" not in meta:
            return None
        return Finding(Category.DOCUMENT_STORE, "hf-datasets-downloads", "hf-datasets-download-sidecar",
                       {"downloads": len(blobs)})  # fmt: skip


DETECTORS = [VllmCompileCacheDetector(), InductorCacheDetector(), HFDatasetsCacheDetector()]
