"""Carving an in-memory image with the product's carve pipeline (no device, no root)."""

from __future__ import annotations

from collections.abc import Sequence

from sanitize.carve.model import CarveResult
from sanitize.carve.reader import Chunk
from sanitize.carve.scanner import CarveOptions, scan_chunks
from sanitize.detect.base import HeaderSniffer


def carve_bytes(
    data: bytes, options: CarveOptions | None = None, sniffers: Sequence[HeaderSniffer] = ()
) -> CarveResult:
    options = options or CarveOptions()
    view = memoryview(data)
    chunks = [Chunk(off, view[off : off + options.buffer]) for off in range(0, len(data), options.buffer)]
    result = CarveResult(device="<memory>", size=len(data))
    scan_chunks(chunks, result, lambda off, n: bytes(view[off : off + n]), options, sniffers, len(data))
    return result
