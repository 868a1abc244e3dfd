"""Keep several device requests in flight, with the CPU work beside them in the same threads.

With `len(slots) == depth + 1`, `depth` worker threads each run `work(slot)`: generate a
chunk's pattern and write it, or read a chunk and compare it (the syscalls, AES and
memcmp all release the GIL, so on two cores the work runs in parallel); one more slot
waits queued, so a worker never idles while the calling thread catches up. Completions
are handled in chunk order in the calling thread, so accounting and checkpoints only
ever see a contiguous prefix done.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

S = TypeVar("S")
T = TypeVar("T")

IO_DEPTH = 2


def run_pipeline(
    chunks: Sequence[tuple[int, int]],
    slots: Sequence[S],
    work: Callable[[S, int, int], T],
    complete: Callable[[S, int, int, T], None],
    stop: threading.Event,
) -> None:
    """For each (offset, length): work(slot) in a worker thread, then complete(slot, result) here.

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
                inflight.append((slot, offset, length, pool.submit(work, slot, offset, length)))
                while len(inflight) > depth or (inflight and inflight[0][3].done()):
                    reap_oldest()
            while inflight:
                reap_oldest()
        finally:
            for *_, future in inflight:
                future.cancel()
