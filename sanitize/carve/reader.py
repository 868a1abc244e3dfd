"""Sequential O_DIRECT reading into a few reused, page-aligned buffers.

A reader thread fills the next buffer while the caller scans the current one (os.preadv
releases the GIL), so the device never waits for the scan. O_DIRECT bypasses the page cache:
a multi-TB carve neither evicts the server's cache nor reports cached data instead of what
is on the medium. Memory is bounded by `depth` buffers whatever the device size.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sanitize.hw.blockio import OpenDevice

DEFAULT_BUFFER = 16 << 20


@dataclass
class Chunk:
    offset: int
    data: memoryview  # valid until the next chunk is requested
    error: str | None = None  # the read failed; `data` is empty


def plan_chunks(size: int, buffer: int, sample: float, seed: int = 0) -> list[tuple[int, int]]:
    """(offset, length) reads covering the device, or an evenly spread `sample` fraction of it."""
    chunks = [(off, min(buffer, size - off)) for off in range(0, size, buffer)]
    if sample >= 1.0 or len(chunks) <= 1:
        return chunks
    want = max(1, round(len(chunks) * sample))
    # Evenly spaced picks shifted by a seed-dependent phase: no region is systematically skipped
    # across runs, and the first and last areas (partition tables, fs metadata) get their turn.
    phase = (seed % 1000) / 1000
    picks = sorted({min(len(chunks) - 1, int((i + phase) * len(chunks) / want)) for i in range(want)})
    return [chunks[i] for i in picks]


class DirectReader:
    def __init__(self, dev: OpenDevice, chunks: Sequence[tuple[int, int]], buffer: int, depth: int = 3) -> None:
        self.dev = dev
        self.chunks = list(chunks)
        self.align = max(512, dev.logical_sector_size())
        self.buffer = -(-buffer // self.align) * self.align
        self._free: queue.Queue[mmap.mmap] = queue.Queue()
        self._filled: queue.Queue[tuple[int, mmap.mmap | None, int, str | None] | None] = queue.Queue()
        self._maps = [mmap.mmap(-1, self.buffer) for _ in range(max(2, depth))]
        for m in self._maps:
            self._free.put(m)
        self._stop = threading.Event()
        self._span = mmap.mmap(-1, 1 << 17)  # for reads that straddle buffers (headers, pages)

    def _fill(self) -> None:
        try:
            for offset, length in self.chunks:
                buf = self._free.get()
                if self._stop.is_set():
                    return
                try:
                    got = _read_full(self.dev.fd, buf, offset, length)
                    self._filled.put((offset, buf, got, None))
                except OSError as exc:
                    self._free.put(buf)
                    self._filled.put((offset, None, 0, f"{os.strerror(exc.errno or 0)} reading {length} bytes"))
        finally:
            self._filled.put(None)

    def __iter__(self) -> Iterator[Chunk]:
        thread = threading.Thread(target=self._fill, name="carve-reader", daemon=True)
        thread.start()
        previous: mmap.mmap | None = None
        try:
            while True:
                item = self._filled.get()
                if previous is not None:
                    self._free.put(previous)
                    previous = None
                if item is None:
                    return
                offset, buf, got, error = item
                if buf is None:
                    yield Chunk(offset, memoryview(b""), error)
                    continue
                previous = buf
                yield Chunk(offset, memoryview(buf)[:got])
        finally:
            self._stop.set()
            if previous is not None:
                self._free.put(previous)
            for m in self._maps:  # unblock a reader waiting for a free buffer
                self._free.put(m)
            thread.join()

    def read_span(self, offset: int, length: int, device_size: int) -> bytes:
        """Bytes [offset, offset+length) clipped to the device, via an aligned direct read."""
        start = offset - offset % self.align
        end = min(device_size, -(-(offset + min(length, len(self._span) - self.align)) // self.align) * self.align)
        if end <= start:
            return b""
        got = _read_full(self.dev.fd, self._span, start, end - start)
        return bytes(self._span[offset - start : min(got, offset - start + length)])

    def close(self) -> None:
        for m in (*self._maps, self._span):
            # A numpy view still alive keeps its map: it is freed with the view.
            with contextlib.suppress(BufferError):
                m.close()


def _read_full(fd: int, buf: mmap.mmap, offset: int, length: int) -> int:
    view = memoryview(buf)
    done = 0
    try:
        while done < length:
            n = os.preadv(fd, [view[done:length]], offset + done)
            if n <= 0:
                break
            done += n
    finally:
        view.release()
    return done
