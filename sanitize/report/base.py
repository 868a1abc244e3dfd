"""The one formatter interface, and the helpers every report shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sanitize.textsafe import human_size

__all__ = ["Report", "columns", "human_size"]


class Report(Protocol):
    def document(self) -> dict[str, Any]:
        """The versioned JSON document (`"schema": "sanitize.<kind>/1"`)."""
        ...

    def text(self) -> str:
        """The same content for a person (names made printable; never file contents)."""
        ...


def columns(rows: Sequence[Sequence[str]], aligned: int) -> list[str]:
    """Rows with their first `aligned` cells padded to a common width, the rest appended."""
    widths = [max(len(r[i]) for r in rows) for i in range(aligned)]
    return ["  ".join(r[i].ljust(widths[i]) for i in range(aligned)) + "  " + "  ".join(r[aligned:]) for r in rows]
