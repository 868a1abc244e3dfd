"""Small helpers shared by the capability parsers: numbers as tools print them."""

from __future__ import annotations

import re

_INT = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|\d+)")


def to_int(value: object) -> int | None:
    """An int from a JSON number or a "0x1f"/"31" string; None when absent or not a number."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        match = _INT.match(value)
        if match:
            return int(match.group(1), 0)
    return None


def bit(value: int | None, n: int) -> bool:
    return value is not None and bool((value >> n) & 1)


def words(line: str) -> list[str]:
    """Split on any run of tabs or spaces: some published outputs had tabs turned into spaces."""
    return line.split()
