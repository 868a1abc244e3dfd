"""Carve a raw device: read it once, sequentially, and report every artifact signature.

Per buffer: header signatures at sector starts (signatures.py), SQLite leaf pages with
embedding BLOBs (sqlite_pages.py) and float32 block runs (floats.py), all vectorised so
the scan keeps up with the read. The registry's header sniffers confirm (and may name)
magic candidates. Afterwards each hit is placed in allocated or free space (allocation.py).
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from sanitize.carve.floats import BLOCK, RunTracker, float_blocks
from sanitize.carve.model import CarveResult, Detail, Hit
from sanitize.carve.reader import DEFAULT_BUFFER, Chunk, DirectReader, plan_chunks
from sanitize.carve.signatures import HEADER, SECTOR, Confirm, sector_candidates, sector_heads
from sanitize.carve.sqlite_pages import LOG_WALKERS, MAX_PAGE, inspect_page, page_candidates
from sanitize.detect.base import HeaderSniffer
from sanitize.errors import BadInput
from sanitize.hw.host import Host

log = logging.getLogger("sanitize.carve")

PAGE_KIND = "sqlite-embedding-pages"
FLOAT_KIND = "float32-run"
_PAGE_MERGE_GAP = 64 << 10  # pages of one table are close together; interior pages sit between

Progress = Callable[[int, int], None]  # (bytes just scanned, bytes the whole carve will read)


@dataclass(frozen=True)
class CarveOptions:
    max_hits: int = 10_000  # hits kept in the result; all are still counted
    sample: float = 1.0  # fraction of the device read, in buffer-sized chunks spread evenly
    buffer: int = DEFAULT_BUFFER
    min_float_blocks: int = 8  # 32 KiB: a handful of 384-d vectors
    seed: int | None = None  # sample phase; random when None


def registry_sniffers() -> tuple[HeaderSniffer, ...]:
    """The scanner's header sniffers; carving still works (built-in rules) if the registry fails."""
    try:
        from sanitize.detect import registry

        return tuple(registry.sniffers())
    except Exception as exc:  # a broken detector module must not stop a carve
        log.warning("detector registry unavailable for carving: %s", exc)
        return ()


class HitSink:
    """Collects hits, merges neighbouring SQLite pages into one hit, caps what is kept."""

    def __init__(self, max_hits: int) -> None:
        self.max_hits = max_hits
        self.hits: list[Hit] = []
        self.total = 0
        self._pages: Hit | None = None

    def add(self, hit: Hit) -> None:
        if hit.kind == PAGE_KIND:
            open_ = self._pages
            if (
                open_ is not None
                and open_.details.get("dim") == hit.details.get("dim")
                and 0 <= hit.offset - open_.end <= _PAGE_MERGE_GAP
            ):
                details = dict(open_.details)
                details["pages"] = int(details["pages"]) + 1
                details["vectors"] = int(details["vectors"]) + int(hit.details["vectors"])
                self._pages = Hit(open_.offset, hit.end - open_.offset, PAGE_KIND, open_.evidence, details)
                return
            self.flush_pages()
            self._pages = hit
            return
        self._keep(hit)

    def replace_last(self, old: Hit, details: Mapping[str, Detail]) -> None:
        """Add details to a header hit just added (if it was kept)."""
        if self.hits and self.hits[-1] is old:
            self.hits[-1] = replace(old, details=details)

    def flush_pages(self) -> None:
        if self._pages is not None:
            self._keep(self._pages)
            self._pages = None

    def _keep(self, hit: Hit) -> None:
        self.total += 1
        if len(self.hits) < self.max_hits:
            self.hits.append(hit)


SpanReader = Callable[[int, int], bytes]  # (device offset, length) -> bytes, for data straddling buffers


class Carver:
    def __init__(self, read_span: SpanReader, size: int, sniffers: Sequence[HeaderSniffer], sink: HitSink) -> None:
        self.read_span = read_span
        self.size = size
        self.sniffers = sniffers
        self.sink = sink

    def _span(self, data: memoryview, base: int, off: int, length: int) -> bytes | memoryview:
        """`length` bytes at buffer offset `off`; read past the buffer end when they straddle it."""
        if off + length <= len(data) or base + len(data) >= self.size:
            return data[off : off + length]
        return self.read_span(base + off, length)

    def _read(self, data: memoryview, base: int, offset: int, length: int) -> bytes | memoryview:
        """`length` bytes at device `offset`: from the buffer when it holds them, else read directly."""
        off = offset - base
        if off >= 0 and off + length <= len(data):
            return data[off : off + length]
        if offset + length > self.size:
            return b""
        return self.read_span(offset, length)

    def _read_from(self, data: memoryview, base: int, origin: int, offset: int, length: int) -> bytes | memoryview:
        return self._read(data, base, origin + offset, length)

    def scan(self, base: int, data: memoryview) -> np.ndarray:
        """Header and SQLite page hits of the buffer at device offset `base`; returns its sector
        heads (signatures.sector_heads), which the float32 test samples too."""
        arr = np.frombuffer(data, dtype=np.uint8)
        sectors = arr[: arr.size // SECTOR * SECTOR].reshape(-1, SECTOR)
        heads = sector_heads(sectors)
        for idx, kind, rule in sector_candidates(sectors, heads):
            off = idx * SECTOR
            header = bytes(self._span(data, base, off, HEADER))
            hit = self._header_hit(base + off, kind, rule, header)
            if hit is not None and kind in LOG_WALKERS:
                # WAL frames and journal records put pages at unaligned offsets, out of reach of
                # the sector-aligned page test: walk them from the header instead.
                found = LOG_WALKERS[kind](header, functools.partial(self._read_from, data, base, base + off))
                self.sink.replace_last(hit, {**hit.details, **found})
        # The page header test reads a sector's first 10 bytes: from the heads, not the buffer.
        for idx in page_candidates(heads.view(np.uint8)):
            off = int(idx) * SECTOR
            details = inspect_page(self._span(data, base, off, MAX_PAGE))
            if details is not None:
                page = int(details.pop("page_size_estimate"))
                details["pages"] = 1
                evidence = f"sqlite-leaf-page-blob:float32x{details['dim']}"
                self.sink.add(Hit(base + off, page, PAGE_KIND, evidence, details))
        return heads

    def _header_hit(self, offset: int, kind: str, rule: Confirm, header: bytes) -> Hit | None:
        details = rule(header)
        named = None
        for sniffer in self.sniffers:
            try:
                finding = sniffer.sniff(header)
            except Exception as exc:  # one broken sniffer does not stop the carve
                log.debug("sniffer %s failed at %d: %s", getattr(sniffer, "name", "?"), offset, exc)
                continue
            if finding is not None:
                named = finding
                break
        if details is not None:
            extra = {"detector": named.evidence} if named is not None else {}
            hit = Hit(offset, SECTOR, kind, f"{kind}-header", {**details, **extra})
        elif named is not None:
            hit = Hit(offset, SECTOR, named.format, named.evidence, {"category": named.category.value})
        else:
            return None
        self.sink.add(hit)
        return hit


def carve(
    host: Host,
    device: str,
    options: CarveOptions = CarveOptions(),
    *,
    progress: Progress | None = None,
    sniffers: Sequence[HeaderSniffer] | None = None,
) -> CarveResult:
    """Read `device` read-only with O_DIRECT and return every hit (allocation not yet placed)."""
    if not 0 < options.sample <= 1:
        raise BadInput(f"sample fraction must be in (0, 1], not {options.sample}")
    if options.max_hits < 0:
        raise BadInput("--max-hits must not be negative")
    started = time.monotonic()
    with host.open_device(device, direct=True) as dev:
        size = dev.size_bytes()
        seed = options.seed if options.seed is not None else secrets.randbelow(1_000_000)
        chunks = plan_chunks(size, options.buffer, options.sample, seed)
        reader = DirectReader(dev, chunks, options.buffer)
        result = CarveResult(device=device, size=size, sample_fraction=options.sample)
        try:
            scan_chunks(
                reader,
                result,
                lambda off, n: reader.read_span(off, n, size),
                options,
                registry_sniffers() if sniffers is None else sniffers,
                reader.planned,
                progress,
            )
        finally:
            reader.close()
    result.seconds = time.monotonic() - started
    return result


def scan_chunks(
    chunks: Iterable[Chunk],
    result: CarveResult,
    read_span: SpanReader,
    options: CarveOptions,
    sniffers: Sequence[HeaderSniffer],
    planned: int,
    progress: Progress | None = None,
) -> None:
    """The carve itself, over chunks of any source (a device reader, or bytes in memory).

    `read_span` serves data that straddles a chunk boundary; `planned` is the total the
    progress callback is told about. Fills `result`'s hits, counts and bytes read.
    """
    sink = HitSink(options.max_hits)
    carver = Carver(read_span, result.size, sniffers, sink)
    tracker = RunTracker(options.min_float_blocks)
    expected = 0
    for chunk in chunks:
        if chunk.offset != expected:  # a sampled jump (or a failed read): runs and page groups end here
            _add_runs(sink, tracker.flush())
            sink.flush_pages()
        if chunk.error is not None:
            result.unreadable.append((chunk.offset, chunk.error))
            expected = -1
            continue
        heads = carver.scan(chunk.offset, chunk.data)
        flags = float_blocks(np.frombuffer(chunk.data, dtype=np.uint8), heads)
        _add_runs(sink, tracker.feed(chunk.offset, flags))
        result.bytes_read += len(chunk.data)
        expected = chunk.offset + len(chunk.data)
        if progress is not None:
            progress(len(chunk.data), planned)
    _add_runs(sink, tracker.flush())
    sink.flush_pages()
    result.hits = sorted(sink.hits, key=lambda h: h.offset)
    result.hits_total = sink.total
    result.truncated = sink.total > len(sink.hits)


def _add_runs(sink: HitSink, runs: list[tuple[int, int]]) -> None:
    for offset, blocks in runs:
        sink.add(Hit(offset, blocks * BLOCK, FLOAT_KIND, "float32-blocks", {"blocks": blocks}))
