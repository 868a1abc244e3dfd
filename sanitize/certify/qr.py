"""The QR code on each PDF: certificate ID + SHA-256 of the signed JSON.

It is drawn as a PDF form XObject named `QRCode` with one 1x1 unit square per dark module, so
`verify` can read the module matrix back from the page and compare it with the matrix the
embedded JSON implies, without an image decoder.
"""

from __future__ import annotations

import re

from reportlab.graphics.barcode import qrencoder
from reportlab.pdfgen.canvas import Canvas

FORM_NAME = "QRCode"
Matrix = tuple[tuple[bool, ...], ...]


def payload(certificate_id: str, json_sha256: str, schema: str) -> str:
    return f"{schema};id={certificate_id};sha256={json_sha256}"


def matrix(text: str) -> Matrix:
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(qrencoder.QR8bitByte(text))
    code.make()
    n = code.getModuleCount()
    return tuple(tuple(bool(code.isDark(r, c)) for c in range(n)) for r in range(n))


def define_form(canvas: Canvas, text: str) -> int:
    """Define the QR form XObject (module units); returns the module count."""
    m = matrix(text)
    n = len(m)
    canvas.beginForm(FORM_NAME, lowerx=0, lowery=0, upperx=n, uppery=n)
    canvas.setFillColorRGB(0, 0, 0)
    for row, cells in enumerate(m):
        for col, dark in enumerate(cells):
            if dark:
                canvas.rect(col, n - 1 - row, 1, 1, stroke=0, fill=1)
    canvas.endForm()
    return n


_RECT = re.compile(rb"(-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?) 1 1 re")


def matrix_from_form(stream: bytes, n: int) -> Matrix:
    """Read the module matrix back from the form's content stream."""
    cells = [[False] * n for _ in range(n)]
    for x, y in _RECT.findall(stream):
        col, row = int(float(x)), n - 1 - int(float(y))
        if not (0 <= col < n and 0 <= row < n):
            raise ValueError("QR module outside the code")
        cells[row][col] = True
    return tuple(tuple(r) for r in cells)
