"""Sequential O_DIRECT reading into a few reused, page-aligned buffers.

Reader threads fill the next buffers while the caller scans the current one (preadv
releases the GIL), so the device never waits for the scan. O_DIRECT bypasses the page cache:
a multi-TB carve neither evicts the server's cache nor reports cached data instead of what
is on the medium. Memory is bounded by `depth` buffers whatever the device size.
"""

from __future__ import annotations

import collections
import contextlib
import mmap
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sanitize.hw.host import OpenDevice
from sanitize.hw.iomem import io_map

# 3 buffers of 4 MiB, on huge pages (hw/iomem.py): on a RAM-backed device the kernel's copies
# into the buffers are most of the machine's work, and they and the scan are cheaper on buffers
# still in the CPU caches. Measured (docs/benchmarks.md, 6 GiB, whole process): 8 x 8 MiB shared
# maps 0.59x dd (machine 3.94 CPU-s), 4 x 4 MiB huge pages 0.78x (3.01 CPU-s), 2 MiB buffers
# 0.65x; in-process, alternating: 3 buffers and 2 reads in flight 1.04x, 4 and 3 0.89x, 8 and 3
# 0.72x, 12 and 3 0.70x.
DEFAULT_BUFFER = 4 << 20


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
    """Reads `chunks` in order with `workers` threads keeping up to `depth` - 1 reads in flight.

    Several reads in flight, not one: when a read completes, its thread must wait for the GIL
    (up to the 5 ms switch interval while the scanner runs numpy code) and for a CPU on a busy
    machine, and the other reads keep the device busy meanwhile. Measured on the 2-core test
    VM under load: 3 workers x 8 MiB kept pace with dd where 1 x 16 MiB reached ~0.5x; idle,
    on a RAM-backed device, 3 buffers of 4 MiB with 2 reads in flight beat 4 with 3, and 8 of 8
    MiB (DEFAULT_BUFFER): one read lands while the other waits, and the buffer scanned is the one
    the kernel just wrote, still in the CPU caches.
    """

    def __init__(
        self, dev: OpenDevice, chunks: Sequence[tuple[int, int]], buffer: int, depth: int = 3, workers: int = 2
    ) -> None:
        self.dev = dev
        self.chunks = list(chunks)
        self.align = max(512, dev.logical_sector_size())
        self.buffer = -(-buffer // self.align) * self.align
        self.workers = workers
        self.planned = sum(length for _, length in self.chunks)  # bytes this reader will read
        self._maps = [io_map(self.buffer) for _ in range(max(2, depth))]  # (map, start): huge pages
        self._span = mmap.mmap(-1, 1 << 17)  # for reads that straddle buffers (headers, pages)

    def _read(self, buf: tuple[mmap.mmap, int], offset: int, length: int) -> tuple[int, str | None]:
        try:
            area, start = buf
            with memoryview(area) as view:
                self.dev.read_into(view[start : start + length], offset)
            return length, None
        except OSError as exc:
            return 0, f"{os.strerror(exc.errno or 0)} reading {length} bytes"

    def __iter__(self) -> Iterator[Chunk]:
        todo = iter(self.chunks)
        free = list(self._maps)
        pending: collections.deque[tuple[int, tuple[mmap.mmap, int], Future[tuple[int, str | None]]]] = (
            collections.deque()
        )
        with ThreadPoolExecutor(self.workers, thread_name_prefix="carve-read") as pool:

            def submit() -> None:
                while free:
                    nxt = next(todo, None)
                    if nxt is None:
                        return
                    buf = free.pop()
                    pending.append((nxt[0], buf, pool.submit(self._read, buf, nxt[0], nxt[1])))

            try:
                submit()
                while pending:
                    offset, buf, future = pending.popleft()
                    got, error = future.result()
                    if error is not None:
                        free.append(buf)
                        submit()
                        yield Chunk(offset, memoryview(b""), error)
                        continue
                    yield Chunk(offset, memoryview(buf[0])[buf[1] : buf[1] + got])
                    free.append(buf)  # the caller asked for the next chunk: it is done with this one
                    submit()
            finally:
                for _, _, future in pending:
                    future.cancel()

    def read_span(self, offset: int, length: int, device_size: int) -> bytes:
        """Bytes [offset, offset+length) clipped to the device, via an aligned direct read."""
        start = offset - offset % self.align
        end = min(device_size, -(-(offset + min(length, len(self._span) - self.align)) // self.align) * self.align)
        if end <= start:
            return b""
        got = _read_full(self.dev, self._span, start, end - start)
        return bytes(self._span[offset - start : min(got, offset - start + length)])

    def close(self) -> None:
        for m in (*(area for area, _ in self._maps), self._span):
            # A numpy view still alive keeps its map: it is freed with the view.
            with contextlib.suppress(BufferError):
                m.close()


def _read_full(dev: OpenDevice, buf: mmap.mmap, offset: int, length: int) -> int:
    with memoryview(buf) as view:
        dev.read_into(view[:length], offset)
    return length
