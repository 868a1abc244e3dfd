"""Keep several device requests in flight, with the CPU work beside them.

With `len(slots) == depth + 1`, `depth` worker threads each run `work(slot)` (a write, or
a read and its comparison: the syscalls, AES and memcmp all release the GIL) while the
calling thread may `prepare` the next slot (the next chunk's keystream); one more slot
waits queued, so a worker never idles while the calling thread catches up. Completions
are handled in chunk order in the calling thread, so accounting and checkpoints only
ever see a contiguous prefix done. Measured choices (docs/benchmarks.md): writing makes
the keystream in the calling thread while two writes are in flight (in the workers it
left the device idle while a worker encrypted); verifying compares in the two workers.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

S = TypeVar("S")
T = TypeVar("T")

# Two requests in flight, for writing and for verifying. A third verifying worker was
# measured slower on a loaded 2-CPU machine (its comparisons compete for the same cores).
IO_DEPTH = 2


def run_pipeline(
    chunks: Sequence[tuple[int, int]],
    slots: Sequence[S],
    work: Callable[[S, int, int], T],
    complete: Callable[[S, int, int, T], None],
    stop: threading.Event,
    prepare: Callable[[S, int, int], None] | None = None,
) -> None:
    """For each (offset, length): prepare(slot) here, work(slot) in a worker thread, then
    complete(slot, result) here.

    Stops early when `stop` is set; requests already in flight are still completed.
    """
    depth = len(slots) - 1
    if depth < 1:
        raise ValueError("a pipeline needs at least two slots")
    inflight: deque[tuple[S, int, int, Future[T]]] = deque()

    def reap_oldest() -> None:
        slot, offset, length, future = inflight.popleft()
        complete(slot, offset, length, future.result())

    with ThreadPoolExecutor(max_workers=depth, thread_name_prefix="blockio") as pool:
        try:
            for i, (offset, length) in enumerate(chunks):
                if stop.is_set():
                    break
                # At most `depth` requests are in flight, so this slot is free.
                slot = slots[i % len(slots)]
                if prepare is not None:
                    prepare(slot, offset, length)
                inflight.append((slot, offset, length, pool.submit(work, slot, offset, length)))
                while len(inflight) > depth or (inflight and inflight[0][3].done()):
                    reap_oldest()
            while inflight:
                reap_oldest()
        finally:
            for *_, future in inflight:
                future.cancel()
