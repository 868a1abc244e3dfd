"""Process mode: forked worker processes that each walk and scan parts of the tree themselves.

Detection is Python code, so threads share one core through the GIL; processes can use
more. The walk starts in this process (small trees never fork). Once a tree proves large
(`after_files` files scanned) and warm, the directories still waiting go to the workers: a
worker takes a directory and walks below it depth-first as the walk's threads do (listing,
directory detectors, application recognisers, files) until it has scanned TASK_FILES files,
then sends back the directories it did not reach (queued here), its artifacts, errors and
stats. No process walks for the others, and a message each way per TASK_FILES files costs
this process almost nothing, so every core detects.

A worker that reads a header from the disk says so at once: the cache is cold, and the rest
of the walk goes back to the threads, which list ahead for the readahead helper (walk.py).

A worker that dies (OOM killer, a crash in a C library) or does not answer within
`batch_timeout`: nothing of its task was merged, so the task's directory is walked again, one
directory per task (no descent within a task, below it too); a worker lost on such a task
costs that one directory, counted as `worker-lost`: this process lists it (no file opened) to
count its files and queue its subdirectories. A replacement worker is forked each time, and
tasks the lost worker had not started are sent again.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from sanitize.scan.model import Artifact, ScanError, ScanStats

COLD_TASK = 4  # a task in which 1 header in this many came from the disk: the tree is cold

if TYPE_CHECKING:
    from sanitize.scan.walk import Dir, Walker

INFLIGHT_PER_PROCESS = 2  # tasks sent to a worker ahead of its answers: one running, one waiting
TASK_FILES = 1000  # files a worker scans per task before it hands back the directories it did not reach
TASK_DIRS = 32  # directories from the queue per task, at most (a leaf directory may hold few files)
BATCH_TIMEOUT = 600.0  # seconds for one task; only a hung or killed worker gets near it
# Small trees are scanned inline: forking workers would cost more than it saves. 1,000 files take
# about 12 ms on one CPU here, forking two workers 3 ms (2,000 kept one CPU idle 15 ms longer).
POOL_AFTER_FILES = 1000

Answer = tuple[list["Dir"], list[Artifact], ScanStats, list[ScanError], int]
Task = tuple[list["Dir"], int]  # directories, and the files to scan below them (0: one directory alone)


class _Worker:
    def __init__(self, ctx: Any, walker: Walker, others: list[Connection]) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_child_main, args=(child, walker, [*others, self.conn]), daemon=True)
        self.process.start()
        child.close()  # only the worker holds its end: its death is an EOF here
        self.sent: deque[Task] = deque()
        self.since = time.monotonic()  # when the directory it is scanning now was started

    def send(self, task: Task) -> bool:
        """False if the worker is gone (it died on an earlier task: its EOF is read later)."""
        try:
            self.conn.send(task)
        except OSError:
            return False
        if not self.sent:
            self.since = time.monotonic()
        self.sent.append(task)
        return True

    def stop(self, force: bool) -> None:
        try:
            if force:
                self.process.terminate()
            else:
                self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.conn.close()
        self.process.join(5 if not force else None)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class SubtreeWorkers:
    """The worker processes of one scan, fed directories by `walk` until none is left."""

    def __init__(self, processes: int, *, after_files: int = POOL_AFTER_FILES, batch_timeout: float = BATCH_TIMEOUT):
        self.processes = processes
        self.after_files = after_files
        self.batch_timeout = batch_timeout

    def walk(self, walker: Walker, dirs: list[Dir], lost: Callable[[Dir], list[Dir]]) -> tuple[list[Dir], bool]:
        """Scan the directories `dirs` and everything below them in the workers.

        Returns the directories not yet scanned (the walk goes on in threads) and whether that
        is because reads came from the disk. `lost(d)` records a directory whose worker died
        and returns its subdirectories."""
        ctx = multiprocessing.get_context("fork")
        stack: list[tuple[Dir, int]] = [(d, TASK_FILES) for d in dirs]  # (directory, budget of its task)
        workers: list[_Worker] = []
        cold = False
        try:
            for _ in range(self.processes):
                workers.append(_Worker(ctx, walker, [w.conn for w in workers]))
            while True:
                if not cold:
                    for i, w in enumerate(workers):
                        while stack and len(w.sent) < INFLIGHT_PER_PROCESS:
                            dirs, budget = task = _task(stack, self.processes)
                            if not w.send(task):
                                stack.extend((d, budget) for d in reversed(dirs))
                                if not w.sent:  # nothing of its own to lose: replace it now
                                    w.stop(force=True)
                                    workers[i] = _Worker(ctx, walker, [x.conn for x in workers if x is not w])
                                break
                busy = [w for w in workers if w.sent]
                if not busy:
                    return [d for d, _ in stack], cold
                deadline = min(w.since for w in busy) + self.batch_timeout
                ready = wait([w.conn for w in busy], timeout=max(0.0, deadline - time.monotonic()))
                for w in busy:
                    if w.conn in ready:
                        try:
                            answer: Answer | None = w.conn.recv()
                        except (EOFError, OSError):
                            answer = None
                        if answer is not None:
                            _, budget = w.sent.popleft()
                            w.since = time.monotonic()
                            rest, artifacts, stats, errors, uncached = answer
                            walker.collector.add_batch(artifacts, errors)
                            walker.collector.merge(stats)
                            stack.extend((d, budget) for d in rest)
                            cold = cold or uncached * COLD_TASK > stats.files_seen
                            continue
                    elif time.monotonic() - w.since < self.batch_timeout:
                        continue
                    # Dead or hung: nothing of its task was merged. A task of many files is walked
                    # again a directory at a time; a one-directory task is lost.
                    dirs, budget = w.sent.popleft()
                    if budget:
                        stack.extend((d, 0) for d in reversed(dirs))
                    else:
                        stack.extend((sub, 0) for d in dirs for sub in lost(d))
                    for dirs, budget in reversed(w.sent):
                        stack.extend((d, budget) for d in reversed(dirs))
                    w.sent.clear()
                    w.stop(force=True)
                    workers.remove(w)
                    workers.append(_Worker(ctx, walker, [x.conn for x in workers]))
        finally:
            for w in workers:
                w.stop(force=bool(w.sent))


def _task(stack: list[tuple[Dir, int]], processes: int) -> Task:
    """The next task from the top of the queue: directories of one budget, few enough to leave
    some for the other workers."""
    budget = stack[-1][1]
    if not budget:
        return [stack.pop()[0]], 0
    take = max(1, min(TASK_DIRS, len(stack) // (2 * processes)))
    dirs: list[Dir] = []
    while stack and len(dirs) < take and stack[-1][1] == budget:
        dirs.append(stack.pop()[0])
    return dirs, budget


# -- in the worker processes ------------------------------------------------------------------


def _child_main(conn: Connection, walker: Walker, inherited: list[Connection]) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the scan and terminates the
    # workers (SIGTERM, left at its default here), so a worker neither reacts nor prints a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for other in inherited:  # the parent's ends of the other workers' pipes: theirs to close
        other.close()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            break
        if task is None:
            break
        conn.send(walker.walk_alone(*task))
    conn.close()
    os._exit(0)
