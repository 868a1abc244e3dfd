"""What an AI application keeps in its data directory, by the application's documented layout.

An application's data directory is recognised by content (its database, manifest, key or config
file) by an `AppRecogniser`. What it returns, an `AppLayout`, then says what the documented paths
below that directory hold: `uploads/` is a document store, `history` a prompt log, `id_ed25519`
a credential, a blob named by a manifest a system prompt. The scanner carries the layout down
the walk and asks it about every directory (before descending: a documented directory is one
unit) and about every file that no content detector recognised. So a documented file of a
recognised application is an artifact even when its own bytes are generic text, and a file
whose content is recognised keeps the more specific content finding.

Paths are matched relative to the recognised directory, `/`-separated, with `fnmatch` patterns
per path segment and `**` for any number of segments. Layouts carry names only, never content.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sanitize.detect.base import Category, DirContext, Finding


@dataclass(frozen=True)
class LayoutRule:
    pattern: str  # relative path pattern: "uploads", "history", "logs/chat/**", "localdocs_v*.db"
    category: Category
    format: str
    unit: bool = False  # a directory reported as one unit (True) or a file (False)

    def matches(self, rel: str) -> bool:
        return _compiled(self.pattern).match(rel) is not None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    """`*` and `?` stay within one path segment; `**` spans segments (one or more at the end)."""
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        segments = pattern.split("/")
        parts = []
        for i, segment in enumerate(segments):
            last = i == len(segments) - 1
            if segment == "**":
                parts.append(".+" if last else "(?:[^/]+/)*")
                continue
            text = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in segment)
            parts.append(text if last else text + "/")
        compiled = re.compile("".join(parts) + r"\Z")
        _PATTERNS[pattern] = compiled
    return compiled


@dataclass(frozen=True)
class AppLayout:
    """A recognised application data directory and what its documented paths hold."""

    app: str  # "ollama", "open-webui", ...
    evidence: str  # what recognised the directory: "ollama-manifest", "open-webui-database"
    rules: tuple[LayoutRule, ...] = ()
    # Files named after their digest, classified by the manifest that names them (Ollama blobs):
    # relative path -> (category, format). Filled by the recogniser from the manifests it read.
    named_files: Mapping[str, tuple[Category, str]] = field(default_factory=dict)

    def classify(self, rel: str, is_dir: bool) -> Finding | None:
        if not is_dir and rel in self.named_files:
            category, fmt = self.named_files[rel]
            return self._finding(category, fmt, "manifest-media-type")
        for rule in self.rules:
            if rule.unit == is_dir and rule.matches(rel):
                return self._finding(rule.category, rule.format, rule.pattern)
        return None

    def _finding(self, category: Category, fmt: str, what: str) -> Finding:
        return Finding(category, fmt, f"app-layout:{self.app}:{what}", {"app": self.app, "app_evidence": self.evidence})


@runtime_checkable
class AppRecogniser(Protocol):
    """Recognises an application's data directory from its listing and a few bounded member reads."""

    name: str

    def recognise(self, ctx: DirContext) -> AppLayout | None: ...


@dataclass(frozen=True)
class AppScope:
    """The innermost recognised application directory above a path, as the scanner carries it."""

    layout: AppLayout
    base: str  # absolute path of the recognised directory

    def classify(self, path: str, is_dir: bool) -> Finding | None:
        prefix = self.base.rstrip("/") + "/"
        if not path.startswith(prefix):
            return None
        return self.layout.classify(path[len(prefix) :], is_dir)


def recognise(recognisers: tuple[AppRecogniser, ...], ctx: DirContext) -> AppLayout | None:
    """The first recogniser's layout for this directory, or None. Callers handle exceptions."""
    for recogniser in recognisers:
        layout = recogniser.recognise(ctx)
        if layout is not None:
            return layout
    return None
