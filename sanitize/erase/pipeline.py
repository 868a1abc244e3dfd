"""Keep several device requests in flight, with the CPU work beside them.

`IO_DEPTH` worker threads each run `work(slot)` (a write, or a read: the syscalls release
the GIL). Before a slot is handed over, the calling thread may `prepare` it (the next
chunk's keystream, for writing); after its I/O, `checkers` more threads may run
`then(slot)` on it (verification's comparison: AES and memcmp release the GIL, so it runs
on another core while the next reads are at the device; more than one where the machine
has the cores, since one thread compares at about the speed of one fast NVMe drive). Every slot beyond the
`IO_DEPTH` in flight is a spare: it waits queued, or holds a chunk read but not yet
compared, so a short wait for a CPU does not leave the device idle. Completions are
handled in chunk order in the calling thread, so accounting and checkpoints only ever see
a contiguous prefix done.

Measured choices (docs/benchmarks.md): writing makes the keystream in the calling thread
while two writes are in flight (in the workers it left the device idle while a worker
encrypted); verifying compares in a stage of its own behind two readers (when each reader
compared its own chunk, the device had one read in flight whenever a reader waited for a
core; a third reader was slower still, its comparisons competing for the same cores).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

S = TypeVar("S")
T = TypeVar("T")

IO_DEPTH = 2  # requests in flight at the device


def run_pipeline(
    chunks: Sequence[tuple[int, int]],
    slots: Sequence[S],
    work: Callable[[S, int, int], Any],
    complete: Callable[[S, int, int, T], None],
    stop: threading.Event,
    prepare: Callable[[S, int, int], None] | None = None,
    then: Callable[[S, int, int, Any], T] | None = None,
    checkers: int = 1,
) -> None:
    """For each (offset, length): prepare(slot) here, work(slot) in an I/O worker, then(slot,
    work's result) in the second stage if given, and complete(slot, the last result) here.

    Needs more slots than IO_DEPTH (and `checkers` more to keep the device busy). Stops early
    when `stop` is set; requests already in flight are still completed. An exception in any
    stage is raised here, in chunk order.
    """
    if len(slots) <= IO_DEPTH:
        raise ValueError(f"a pipeline needs more than {IO_DEPTH} slots")
    inflight: deque[tuple[S, int, int, Future[Any]]] = deque()

    def reap_oldest() -> None:
        slot, offset, length, future = inflight.popleft()
        complete(slot, offset, length, future.result())

    def staged(first: Future[Any], slot: S, offset: int, length: int) -> T:
        assert then is not None
        return then(slot, offset, length, first.result())

    with (
        ThreadPoolExecutor(max_workers=IO_DEPTH, thread_name_prefix="blockio") as pool,
        ThreadPoolExecutor(max_workers=checkers, thread_name_prefix="check") as second,
    ):
        try:
            for i, (offset, length) in enumerate(chunks):
                if stop.is_set():
                    break
                # Fewer than len(slots) chunks are in the pipeline, so this slot is free.
                slot = slots[i % len(slots)]
                if prepare is not None:
                    prepare(slot, offset, length)
                future = pool.submit(work, slot, offset, length)
                if then is not None:  # completions are still handled in chunk order, below
                    future = second.submit(staged, future, slot, offset, length)
                inflight.append((slot, offset, length, future))
                while len(inflight) >= len(slots) or (inflight and inflight[0][3].done()):
                    reap_oldest()
            while inflight:
                reap_oldest()
        finally:
            for *_, future in inflight:
                future.cancel()
