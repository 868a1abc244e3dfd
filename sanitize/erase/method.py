"""The interface every erase method implements, and the registry that names them.

Adding a method
---------------
1. Subclass `Method`, set `name`, implement `nist_level`, `plan_steps`, `execute` and
   `verify`; override `check` to refuse a device at plan time (raise `Refused` or
   `Unsupported` with one line), and `pre_checks`, `post_checks`, `expected_seconds`,
   `reason` and `notes` to describe the plan honestly. Planning hooks receive a `Planning`:
   the host to query (read-only), the inventory, the registry and a per-session memo.
2. `plan_steps` returns every step execution performs, each with its exact operation: a
   `Command` (argv) or a `DeviceIo`; give steps a `role` to find them again at run time.
3. Register an instance with a `MethodRegistry` (the caller builds one registry per run:
   `sanitize.methods.all_methods()`); `MethodRegistry.chooser` answers `--method auto`.
4. `execute(plan, ctx)` runs the plan's steps: commands through `ctx.run(step)` (recorded
   in `ctx.result.commands`; a command that is not a step of the plan is refused), I/O
   through `ctx.host`. It adds byte ranges it could not erase to `ctx.result.errors`,
   notes to `ctx.result.notes`, and returns `ctx.result`. Poll `ctx.stop` and return early
   when it is set (the runner marks the result interrupted). Success is decided from the
   device, never from an exit code.
5. `verify(plan, ctx)` reads the device back (or queries its status) and returns a
   `Verification`; the runner turns it into the final `status`, then calls
   `finalize(plan, ctx, result)` (optional) to clean up.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sanitize.enums import MediaType, NistLevel, PhaseStatus
from sanitize.erase.options import EraseOptions
from sanitize.erase.plan import Command, Plan, Step
from sanitize.erase.result import CommandRecord, EraseResult, Verification
from sanitize.errors import BadInput
from sanitize.hw.commands import REDACTED, CommandResult
from sanitize.hw.host import Host
from sanitize.inventory.model import Device, DeviceTree
from sanitize.state import StateDir

# Throughput assumed for duration estimates when the device gives none (bytes/second).
DEFAULT_WRITE_RATE = {MediaType.HDD: 150e6, MediaType.SSD: 450e6, MediaType.NVME: 450e6, MediaType.USB_FLASH: 30e6}
FALLBACK_WRITE_RATE = 150e6


class Progress(Protocol):
    """A progress display for one device (the CLI's tqdm bar; a no-op in tests)."""

    def start(self, description: str, total: int, initial: int = 0) -> None: ...

    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


class NullProgress:
    def start(self, description: str, total: int, initial: int = 0) -> None:
        pass

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class Clock:
    """Time as a method waiting for a drive sees it (tests pass one that advances when slept)."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass
class ExecutionContext:
    """Everything a method needs while it runs on one device."""

    host: Host
    state: StateDir
    result: EraseResult
    stop: threading.Event = field(default_factory=threading.Event)
    progress: Progress = field(default_factory=NullProgress)
    resume: bool = False
    clock: Clock = field(default_factory=Clock)
    # Method-private data that must survive from execute() to verify() (e.g. the last
    # pass's keystream key); never serialised into the result.
    scratch: dict[str, Any] = field(default_factory=dict)
    # The phase now running ("execute", "open", "write", "checkpoint", "verify", "polling",
    # ...): an exception is reported as a failure of this phase (see erase.runner).
    phase: str = "start"
    # The steps of the plan being run (set by the runner): the only commands `run` runs.
    planned: frozenset[Step] = frozenset()

    def enter(self, phase: str, detail: str | None = None) -> None:
        """Mark `phase` as running (methods call this for their own phases too)."""
        self.phase = phase
        if phase not in ("execute", "finalize"):
            self.result.mark(phase, PhaseStatus.RUNNING, detail)

    def touched(self) -> bool:
        """True once anything may have reached the device: a command sent, a byte written,
        or a journal created (which precedes the first write)."""
        return bool(
            self.result.bytes_written
            or self.result.commands
            or self.scratch.get("journal") is not None
            or self.phase in ("write", "checkpoint", "verify", "carve-check", "finalize")
        )

    def run(self, step: Step, *, secret: str | None = None, record: bool = True) -> CommandResult:
        """Run the command of one of the plan's steps through the host, and record it.

        `secret` replaces the step's placeholder for this run only; results and logs keep
        the placeholder. `record=False` for polls, which would add thousands of records.
        """
        if step not in self.planned or not isinstance(step.op, Command):
            raise RuntimeError(f"not a command step of the plan being run: {step.description!r}")
        op = step.op
        argv = op.argv if secret is None else tuple(secret if a == op.placeholder else a for a in op.argv)
        res = self.host.run(argv, timeout=op.timeout, secret=secret, redacted_as=op.placeholder or REDACTED)
        if record:
            self.result.commands.append(CommandRecord(list(res.argv), res.returncode, res.seconds))
        return res


@dataclass
class Planning:
    """What a plan is built from: the machine (queried read-only), its inventory, the methods
    that may be chosen, and a memo so each device is probed once per planning session."""

    host: Host
    tree: DeviceTree
    methods: MethodRegistry
    memo: dict[tuple[str, str], Any] = field(default_factory=dict)


class Method(ABC):
    """One way to sanitize a device. Instances are stateless; state lives in the context."""

    name: str = ""

    @abstractmethod
    def nist_level(self, device: Device) -> NistLevel:
        """Clear or Purge for this device (overwrite on flash is only Clear)."""

    # Whether the operator may chain a device-level method after this one (options.luks.then).
    chains: bool = False

    def check(self, planning: Planning, device: Device, options: EraseOptions) -> None:
        """Refuse (raise Refused/Unsupported) when this method cannot or must not run here."""
        return None

    @abstractmethod
    def plan_steps(self, planning: Planning, device: Device, options: EraseOptions) -> Sequence[Step]:
        """Every step execution performs, in order, each with its exact command or I/O."""

    def pre_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        return ()

    def post_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        return ()

    def expected_seconds(self, planning: Planning, device: Device, options: EraseOptions) -> float | None:
        return None

    def reason(self, device: Device, options: EraseOptions) -> str:
        return f"{self.name} requested"

    def notes(self, planning: Planning, device: Device, options: EraseOptions) -> Sequence[str]:
        return ()

    def controller_reach(self, planning: Planning, device: Device, options: EraseOptions) -> str | None:
        """The controller all of whose namespaces this erase reaches, or None for the device alone."""
        return None

    @abstractmethod
    def execute(self, plan: Plan, ctx: ExecutionContext) -> EraseResult:
        """Do the work; fill and return `ctx.result` (status is decided by the runner)."""

    @abstractmethod
    def verify(self, plan: Plan, ctx: ExecutionContext) -> Verification:
        """Check the outcome on the device itself."""

    def finalize(self, plan: Plan, ctx: ExecutionContext, result: EraseResult) -> None:
        """After the status is decided (also when interrupted): clean up, e.g. drop a journal."""
        return None

    def may_continue(self, ctx: ExecutionContext) -> bool:
        """Whether a method chained after this one may run (this one's own step succeeded)."""
        return True

    def chain_verification(self, own: Verification, chained: Verification) -> Verification:
        """The verification of a run where `chained` ran after this method's own step passed."""
        chained.details[self.name] = own.details
        return chained


AutoChooser = Callable[[Planning, Device, EraseOptions], tuple[str, str]]
AUTO_FALLBACK = "auto: no firmware purge planner is registered, so overwrite (Clear) is used"


class MethodRegistry:
    """Every erase method by name, and who answers `--method auto`.

    Built by whoever runs erases (`sanitize.methods.all_methods()`) and passed to planning
    and execution; nothing registers itself on import. `more` registers further methods the
    first time a name it may hold is asked for, so a command that only overwrites does not
    load the firmware methods' modules.
    """

    def __init__(
        self,
        methods: Iterable[Method] = (),
        chooser: AutoChooser | None = None,
        more: Callable[[MethodRegistry], object] | None = None,
    ) -> None:
        self._methods: dict[str, Method] = {}
        self._chooser = chooser
        self._more = more
        self._more_lock = threading.Lock()  # devices' threads may ask at once: one registers, the rest wait
        for method in methods:
            self.register(method)

    def _complete(self) -> None:
        if self._more is None:  # only once `more` has returned: then every method is in
            return
        with self._more_lock:
            if self._more is not None:
                self._more(self)
                self._more = None

    @property
    def chooser(self) -> AutoChooser | None:
        self._complete()
        return self._chooser

    @chooser.setter
    def chooser(self, chooser: AutoChooser | None) -> None:
        self._chooser = chooser

    def register(self, method: Method) -> Method:
        if not method.name:
            raise ValueError("a Method needs a name")
        self._methods[method.name] = method
        return method

    def names(self) -> list[str]:
        self._complete()
        return sorted(self._methods)

    def __contains__(self, name: object) -> bool:
        if name not in self._methods:
            self._complete()
        return name in self._methods

    def get(self, name: str) -> Method:
        if name not in self._methods:
            self._complete()
        try:
            return self._methods[name]
        except KeyError:
            known = ", ".join(["auto", *self.names()])
            raise BadInput(f"unknown erase method {name!r} (known: {known})") from None

    def choose(self, planning: Planning, device: Device, options: EraseOptions) -> tuple[str, str]:
        """(method name, reason) for `--method auto`."""
        chooser = self.chooser
        if chooser is not None:
            return chooser(planning, device, options)
        return "overwrite", AUTO_FALLBACK


def estimate_write_seconds(device: Device, nbytes: int) -> float:
    return nbytes / DEFAULT_WRITE_RATE.get(device.media_type, FALLBACK_WRITE_RATE)
