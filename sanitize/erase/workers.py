"""A process per device: several devices erased at once without sharing one interpreter.

With several fast devices, one process ran three or four threads per device (two I/O
workers, the comparing thread when verifying, the device's own), all taking turns on one GIL
between their AES, memcmp and I/O calls, and left 15 % of the CPUs idle. On four RAM-backed
devices (docs/benchmarks.md, issue 18), a worker per device writes 18 % and verifies 25 % faster
(0.60x and 0.35x four dd's, against 0.51x and 0.28x), with less CPU in all.
So `PlanSet.execute(processes=True)` forks one worker per device, from the main thread
before any thread of its own starts, and each worker runs that device's plan exactly as a
thread would (`run_plan`: its journal, checkpoints, fault ranges and result are the same
code). The parent keeps a thread per worker that forwards progress to the device's display,
relays a stop (SIGINT, SIGTERM, SIGHUP) as SIGTERM, and takes the worker's result over a
pipe. Honesty is kept at the process boundary:

- a worker that ends without sending its result (killed, crashed, out of memory) gives the
  device a `failed` result naming how it ended, with the phase and bytes its journal had
  recorded, and the journal kept for `--resume`: never a missing device or exit 0;
- a worker ignores SIGINT and SIGHUP (a terminal sends them to the whole process group: the
  parent relays one stop to each) and gets SIGTERM if the parent dies, so it stops at its
  next checkpoint with its journal saved instead of writing on unattended.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from typing import Any

from sanitize.erase.journal import Journal
from sanitize.erase.method import ExecutionContext, MethodRegistry, Progress
from sanitize.erase.plan import Plan
from sanitize.erase.result import EraseResult
from sanitize.erase.runner import failed_before_start, failed_result, new_result, run_plan
from sanitize.errors import ExitCode, SanitizeError
from sanitize.hw.host import Host
from sanitize.state import StateDir

PR_SET_PDEATHSIG = 1
PROGRESS_EVERY = 0.1  # seconds between progress messages from a worker


class WorkerLost(SanitizeError):
    """A device's worker process ended without reporting a result."""

    exit_code = ExitCode.FAILED


class _PipeProgress:
    """The worker's side of the device's progress display: messages to the parent, at most
    one update every PROGRESS_EVERY seconds."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._pending = 0
        self._sent = 0.0

    def _send(self, *message: Any) -> None:
        with contextlib.suppress(OSError):  # the parent is gone: the work goes on to its checkpoint
            self._conn.send(message)

    def _flush(self) -> None:
        if self._pending:
            self._send("update", self._pending)
            self._pending = 0
        self._sent = time.monotonic()

    def start(self, description: str, total: int, initial: int = 0) -> None:
        self._flush()
        self._send("start", description, total, initial)

    def update(self, n: int) -> None:
        self._pending += n
        if time.monotonic() - self._sent >= PROGRESS_EVERY:
            self._flush()

    def close(self) -> None:
        self._flush()
        self._send("close")


def _worker(
    conn: Connection,
    plan: Plan,
    host: Host,
    state: StateDir,
    methods: MethodRegistry,
    result: EraseResult,
    resume: bool,
    parent: int,
) -> None:
    """The forked worker's whole life: run the plan, send the outcome, never return."""
    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl: stop at once
        stop.set()
    message: tuple[Any, ...]
    try:
        ctx = ExecutionContext(
            host=host, state=state, result=result, stop=stop, progress=_PipeProgress(conn), resume=resume
        )
        message = ("result", run_plan(plan, ctx, methods))
    except SanitizeError as exc:  # refused before anything was written: the command's own error
        message = ("error", type(exc), exc.message, exc.hint)
    except BaseException as exc:
        message = ("result", failed_before_start(plan, host, exc))
    conn.send(message)


def _fork_worker(
    plan: Plan, host: Host, state: StateDir, methods: MethodRegistry, result: EraseResult, resume: bool
) -> tuple[int, Connection]:
    reader, writer = Pipe(duplex=False)
    parent = os.getpid()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()  # nothing buffered is written twice
    pid = os.fork()
    if pid == 0:  # the worker: whatever happens, it ends here and never returns into the caller
        code = 1
        try:
            reader.close()
            _worker(writer, plan, host, state, methods, result, resume, parent)
            code = 0
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os._exit(code)
    writer.close()  # the parent's copy: the worker's end alone keeps the pipe open
    return pid, reader


def _how_it_ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def lost_result(plan: Plan, host: Host, state: StateDir, result: EraseResult, since: float, how: str) -> EraseResult:
    """The `failed` result of a device whose worker ended without reporting one: the phase and
    bytes its journal recorded (a journal written since this run began), the journal kept."""
    ctx = ExecutionContext(host=host, state=state, result=result)
    with contextlib.suppress(Exception):
        journal = Journal.find(state, plan.device)
        if os.stat(journal.path).st_mtime >= since:
            ctx.scratch["journal"] = journal
            phase = journal.data.get("phase")
            ctx.phase = phase if phase in ("write", "verify") else "start"
            result.bytes_written = int(journal.data.get("bytes_written", 0))
    exc = WorkerLost(f"the process erasing {plan.device.path} {how} before it reported a result")
    return failed_result(plan, ctx, exc)


def execute_in_processes(
    plans: tuple[Plan, ...],
    host: Host,
    state: StateDir,
    methods: MethodRegistry,
    stop: threading.Event,
    resume: bool,
    progress: Callable[[int], Progress],
) -> tuple[list[EraseResult | None], list[SanitizeError]]:
    """Run each plan in a forked worker (see the module docstring); results in plan order.

    Call from the main thread before starting any other: a fork copies only the calling thread."""
    results: list[EraseResult | None] = [None] * len(plans)
    errors: list[SanitizeError] = []
    since = time.time() - 1.0  # journal mtimes have coarse clocks on some filesystems
    started: list[tuple[int, int, Connection, EraseResult]] = []
    for i, plan in enumerate(plans):
        try:
            result = new_result(plan, host)
        except Exception as exc:  # no worker: the device's failed result now
            results[i] = failed_before_start(plan, host, exc)
            continue
        pid, conn = _fork_worker(plan, host, state, methods, result, resume)
        started.append((i, pid, conn, result))

    def watch(i: int, pid: int, conn: Connection, result: EraseResult) -> None:
        plan, display = plans[i], progress(i)
        outcome: tuple[Any, ...] | None = None
        relayed = False
        try:
            while True:
                if stop.is_set() and not relayed:
                    relayed = True
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
                if not conn.poll(0.2):
                    continue
                try:
                    message = conn.recv()
                except EOFError:
                    break
                kind = message[0]
                if kind == "update":
                    display.update(message[1])
                elif kind == "start":
                    display.start(*message[1:])
                elif kind == "close":
                    display.close()
                else:
                    outcome = message
        finally:
            conn.close()
            _, status = os.waitpid(pid, 0)
        if outcome is not None and outcome[0] == "result":
            results[i] = outcome[1]
        elif outcome is not None:
            _, cls, text, hint = outcome
            error = cls.__new__(cls)
            SanitizeError.__init__(error, text, hint=hint)
            errors.append(error)
        else:
            display.close()
            results[i] = lost_result(plan, host, state, result, since, _how_it_ended(status))

    def guarded(i: int, pid: int, conn: Connection, result: EraseResult) -> None:
        try:
            watch(i, pid, conn, result)
        except Exception as exc:  # the parent's own bookkeeping failed: still a result
            results[i] = failed_before_start(plans[i], host, exc)

    threads = [
        threading.Thread(target=guarded, args=(i, pid, conn, result), name=f"worker-{pid}")
        for i, pid, conn, result in started
    ]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)  # short joins keep the main thread free to take signals
    return results, errors
