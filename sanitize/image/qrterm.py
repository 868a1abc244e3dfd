"""A QR code drawn with block characters, for a fingerprint an operator photographs off a console.

Two module rows per text line (upper and lower half blocks). Light modules are drawn lit, so the
code reads dark-on-light on the usual black console background; a 2-module quiet zone is lit too.
"""

from __future__ import annotations

from sanitize.certify.qr import Matrix, matrix

QUIET = 2
_CELLS = {(False, False): "█", (False, True): "▀", (True, False): "▄", (True, True): " "}


def render(text: str) -> str:
    return draw(matrix(text))


def draw(m: Matrix) -> str:
    n = len(m) + 2 * QUIET
    dark = [[False] * n for _ in range(n)]
    for r, row in enumerate(m):
        for c, cell in enumerate(row):
            dark[r + QUIET][c + QUIET] = cell
    if n % 2:
        dark.append([False] * n)
    lines = []
    for r in range(0, len(dark), 2):
        lines.append("".join(_CELLS[(dark[r][c], dark[r + 1][c])] for c in range(n)))
    return "\n".join(lines)


def read(text: str) -> Matrix:
    """The module matrix back from `draw`'s output (tests, and anyone checking a photo's transcript)."""
    inverse = {v: k for k, v in _CELLS.items()}
    rows: list[list[bool]] = []
    for line in text.splitlines():
        pairs = [inverse[ch] for ch in line]
        rows.append([top for top, _ in pairs])
        rows.append([bottom for _, bottom in pairs])
    size = len(rows[0]) - 2 * QUIET
    return tuple(tuple(row[QUIET : QUIET + size]) for row in rows[QUIET : QUIET + size])
