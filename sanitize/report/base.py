"""The one formatter interface, and the helpers every report shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Report(Protocol):
    def document(self) -> dict[str, Any]:
        """The versioned JSON document (`"schema": "sanitize.<kind>/1"`)."""
        ...

    def text(self) -> str:
        """The same content for a person (names made printable; never file contents)."""
        ...


def human_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def columns(rows: Sequence[Sequence[str]], aligned: int) -> list[str]:
    """Rows with their first `aligned` cells padded to a common width, the rest appended."""
    widths = [max(len(r[i]) for r in rows) for i in range(aligned)]
    return ["  ".join(r[i].ljust(widths[i]) for i in range(aligned)) + "  " + "  ".join(r[aligned:]) for r in rows]
