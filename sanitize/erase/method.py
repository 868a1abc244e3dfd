"""The interface every erase method implements, and the registry that names them.

Adding a method (e.g. `nvme-sanitize-crypto` in `sanitize/purge/`)
-----------------------------------------------------------------
1. Subclass `Method`, set `name`, implement `nist_level`, `plan_steps`, `execute` and
   `verify`; override `check` to refuse a device at plan time (raise `Refused` or
   `Unsupported` with one line), and `pre_checks`, `post_checks`, `expected_seconds`,
   `reason` to describe the plan honestly.
2. Call `register(YourMethod())` when your module is imported. Modules listed in
   `METHOD_MODULES` are imported on first use; `sanitize.purge` is in that list already,
   so import your method modules from `sanitize/purge/__init__.py`.
3. `--method auto`: call `set_auto_chooser(fn)` where
   `fn(tree, device, options) -> (method_name, reason)`. Until someone does, auto means
   overwrite, and the plan says so.
4. `execute(plan, ctx)` runs the steps, records every external command in
   `ctx.result.commands` (argv, return code, seconds), adds byte ranges it could not
   erase to `ctx.result.errors`, notes to `ctx.result.notes`, and returns `ctx.result`.
   Poll `ctx.stop` and return early when it is set (the runner marks the result
   interrupted). Success is decided from the device, never from an exit code.
5. `verify(plan, ctx)` reads the device back (or queries its status) and returns a
   `Verification`; the runner turns it into the final `status`, then calls
   `finalize(plan, ctx, result)` (optional) to clean up.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sanitize.enums import MediaType, NistLevel
from sanitize.errors import BadInput
from sanitize.hw import Host
from sanitize.inventory.model import Device, DeviceTree
from sanitize.state import StateDir

if TYPE_CHECKING:
    from sanitize.erase.plan import EraseOptions, Plan, Step
    from sanitize.erase.result import EraseResult, Verification

# Imported on first registry use; a missing optional module (not written yet) is skipped.
METHOD_MODULES = ["sanitize.erase.overwrite", "sanitize.purge"]

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

    def enter(self, phase: str, detail: str | None = None) -> None:
        """Mark `phase` as running (methods call this for their own phases too)."""
        self.phase = phase
        if phase not in ("execute", "finalize"):
            self.result.mark(phase, "running", detail)

    def touched(self) -> bool:
        """True once anything may have reached the device: a command sent, a byte written,
        or a journal created (which precedes the first write)."""
        return bool(
            self.result.bytes_written
            or self.result.commands
            or self.scratch.get("journal") is not None
            or self.phase in ("write", "checkpoint", "verify", "carve-check", "finalize")
        )


class Method(ABC):
    """One way to sanitize a device. Instances are stateless; state lives in the context."""

    name: str = ""

    @abstractmethod
    def nist_level(self, device: Device) -> NistLevel:
        """Clear or Purge for this device (overwrite on flash is only Clear)."""

    def check(self, tree: DeviceTree, device: Device, options: EraseOptions) -> None:
        """Refuse (raise Refused/Unsupported) when this method cannot or must not run here."""
        return None

    @abstractmethod
    def plan_steps(self, device: Device, options: EraseOptions) -> Sequence[Step]:
        """The steps, in order: exact argv for external commands, a description otherwise."""

    def pre_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        return ()

    def post_checks(self, device: Device, options: EraseOptions) -> Sequence[str]:
        return ()

    def expected_seconds(self, device: Device, options: EraseOptions) -> float | None:
        return None

    def reason(self, device: Device, options: EraseOptions) -> str:
        return f"{self.name} requested"

    def notes(self, device: Device, options: EraseOptions) -> Sequence[str]:
        return ()

    @abstractmethod
    def execute(self, plan: Plan, ctx: ExecutionContext) -> EraseResult:
        """Do the work; fill and return `ctx.result` (status is decided by the runner)."""

    @abstractmethod
    def verify(self, plan: Plan, ctx: ExecutionContext) -> Verification:
        """Check the outcome on the device itself."""

    def finalize(self, plan: Plan, ctx: ExecutionContext, result: EraseResult) -> None:
        """After the status is decided (also when interrupted): clean up, e.g. drop a journal."""
        return None


_REGISTRY: dict[str, Method] = {}
_loaded = False
_lock = threading.Lock()

AutoChooser = Callable[[DeviceTree, Device, "EraseOptions"], tuple[str, str]]
_auto_chooser: AutoChooser | None = None


def register(method: Method) -> Method:
    if not method.name:
        raise ValueError("a Method needs a name")
    _REGISTRY[method.name] = method
    return method


def set_auto_chooser(chooser: AutoChooser | None) -> None:
    global _auto_chooser
    _auto_chooser = chooser


def _load() -> None:
    global _loaded
    with _lock:
        if _loaded:
            return
        _loaded = True
        for module in METHOD_MODULES:
            if importlib.util.find_spec(module) is not None:
                importlib.import_module(module)


def method_names() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def get_method(name: str) -> Method:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(["auto", *sorted(_REGISTRY)])
        raise BadInput(f"unknown erase method {name!r} (known: {known})") from None


def choose_auto(tree: DeviceTree, device: Device, options: EraseOptions) -> tuple[str, str]:
    """(method name, reason) for `--method auto`."""
    _load()
    if _auto_chooser is not None:
        return _auto_chooser(tree, device, options)
    return (
        "overwrite",
        "auto: firmware purge planning is not available in this build, so overwrite (Clear) is used",
    )


def estimate_write_seconds(device: Device, nbytes: int) -> float:
    return nbytes / DEFAULT_WRITE_RATE.get(device.media_type, FALLBACK_WRITE_RATE)
