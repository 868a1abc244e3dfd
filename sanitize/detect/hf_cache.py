"""Hugging Face hub cache repositories: `models--org--name/` (and `datasets--`) directories.

The layout (`blobs/`, `refs/`, `snapshots/<commit>/` of symlinks into blobs) is the evidence;
the repository id is a public name, reported as metadata. The whole repository is one unit.
"""

from __future__ import annotations

from sanitize.detect.base import Category, Detail, DirContext, Finding

_KINDS = {"models": Category.MODEL_WEIGHTS, "datasets": Category.DOCUMENT_STORE}


class HFCacheRepoDetector:
    name = "hf-hub-cache"

    def detect_dir(self, ctx: DirContext) -> Finding | None:
        kind, sep, repo = ctx.name.partition("--")
        if not sep or kind not in _KINDS or not repo:
            return None
        if "snapshots" not in ctx.entries or not ({"blobs", "refs"} & ctx.entries):
            return None
        details: dict[str, Detail] = {
            "repo": repo.replace("--", "/", 1),
            "snapshots": len(ctx.list_member("snapshots")),
        }
        return Finding(_KINDS[kind], "hf-hub-cache", f"hf-cache-layout:{kind}", details)


DETECTORS = [HFCacheRepoDetector()]
