"""A plan set: the plans of one command, and the rules that hold between devices.

Every command that erases several devices at once (erase, decommission, the lab demo)
builds a `PlanSet`, which owns the cross-device rules:

- overlap: no device may be planned together with anything it is part of or that is part
  of it (a disk and its partition, a disk twice): name only one of them;
- shared controller: a method that erases every namespace of an NVMe controller is refused
  while another namespace on it is in use (`refuse_busy_siblings`, applied at plan time),
  and a set may not hold another device on a controller one of its plans erases whole;
- protection: each plan passed `erase.planning.check_erasable` (one rule, from the
  inventory's `in_use`);
- ordering: plans run and report in the order they were given.

It also runs them: `PlanSet.execute` erases every device in its own thread (or, with
`processes=True` and several devices, in a worker process of its own: erase.workers), and
SIGINT, SIGTERM or SIGHUP stop all of them at their next checkpoint (results `interrupted`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType

from sanitize.erase.method import ExecutionContext, MethodRegistry, NullProgress, Progress
from sanitize.erase.plan import Plan
from sanitize.erase.result import EraseResult
from sanitize.erase.runner import failed_before_start, new_result, run_plan
from sanitize.errors import BadInput, Refused, SanitizeError
from sanitize.hw.host import Host
from sanitize.inventory.model import Device, DeviceTree
from sanitize.inventory.protect import in_use
from sanitize.state import StateDir

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def refuse_busy_siblings(tree: DeviceTree, device: Device, namespaces: Iterable[str], what: str) -> None:
    """Refuse a controller-wide erase of `device` while another namespace on its controller is in use.

    `namespaces`: the controller's namespaces as the drive reports them; the inventory's
    devices on the same controller are added.
    """
    names = set(namespaces) | {
        d.path for d in tree if d.controller and d.controller == device.controller and d.parent is None
    }
    for path in sorted(names - {device.path}):
        other = tree.get(path)
        if other is None:
            continue
        busy = in_use(tree, other)
        if busy is not None:
            raise Refused(
                f"{device.path}: the controller also holds {other.path}, which is in use ({busy.phrase()}); {what}"
            )


def refuse_overlaps(tree: DeviceTree, plans: Sequence[Plan]) -> None:
    """BadInput when a device is planned together with one it is part of, or twice."""
    seen: dict[str, str] = {}
    for plan in plans:
        dev = plan.device
        related = [dev.path, *(a.path for a in tree.ancestors(dev)), *(d.path for d in tree.descendants(dev))]
        for path in related:
            if path in seen:
                raise BadInput(
                    f"{dev.path} overlaps {seen[path]} (the same device, or one is part of the other), "
                    "named in the same command: name only one of them"
                )
        seen[dev.path] = dev.path


def shared_reach(plans: Sequence[Plan]) -> list[tuple[Plan, str]]:
    """Plans refused because another plan of the set, earlier in order, shares a controller that
    one of the two erases whole, each with its one-line reason."""
    refused: list[tuple[Plan, str]] = []
    kept: list[Plan] = []
    for plan in plans:
        clash = next((k for k in kept if _one_controller(k, plan)), None)
        if clash is None:
            kept.append(plan)
        elif clash.reach:
            refused.append(
                (
                    plan,
                    f"{plan.device.path}: {clash.method} of {clash.device.path} in the same run erases every "
                    f"namespace on {clash.reach}: plan this namespace alone, or with a per-namespace method",
                )
            )
        else:
            refused.append(
                (
                    plan,
                    f"{plan.device.path}: {plan.method} erases every namespace on {plan.reach}, and "
                    f"{clash.device.path} on it is planned in the same run",
                )
            )
    return refused


def _one_controller(a: Plan, b: Plan) -> bool:
    """Whether `a` and `b` are on one controller that one of them erases whole."""
    if a.reach and (b.device.controller == a.reach or b.reach == a.reach):
        return True
    return bool(b.reach and a.device.controller == b.reach)


@dataclass(frozen=True)
class PlanSet:
    plans: tuple[Plan, ...]

    @classmethod
    def build(cls, tree: DeviceTree, plans: Sequence[Plan]) -> tuple[PlanSet, list[tuple[Plan, str]]]:
        """The plans that may run together, in order, and those refused by the shared-controller rule.

        Overlapping devices are bad input for the whole command: the operator named both.
        """
        refuse_overlaps(tree, plans)
        refused = shared_reach(plans)
        kept = tuple(p for p in plans if not any(p is r for r, _ in refused))
        return cls(kept), refused

    @classmethod
    def strict(cls, tree: DeviceTree, plans: Sequence[Plan]) -> PlanSet:
        """`build` for a command whose devices were all named: any refusal refuses the command."""
        plan_set, refused = cls.build(tree, plans)
        if refused:
            raise BadInput(refused[0][1])
        return plan_set

    def __iter__(self) -> Iterator[Plan]:
        return iter(self.plans)

    def __len__(self) -> int:
        return len(self.plans)

    def execute(
        self,
        host: Host,
        state: StateDir,
        methods: MethodRegistry,
        *,
        resume: bool = False,
        progress: Callable[[int], Progress] = lambda _index: NullProgress(),
        say: Callable[[str], None] = lambda _message: None,
        processes: bool = False,
    ) -> tuple[list[EraseResult], list[SanitizeError]]:
        """Run every plan in its own thread; results in plan order.

        `processes`: with several plans, called from the main thread, each plan runs in a
        forked worker process instead (erase.workers: the same run, the same results; a
        worker that dies gives its device a `failed` result).

        Every device that anything may have reached gets a result, `failed` when an
        exception ended its run (erase.runner). A plan refused before anything reached its
        device (a refused exclusive open, a missing tool) gives no result but its one-line
        error, for the command to report. `progress(i)` is the progress display of the i-th
        plan; `say` prints a message.
        """
        stop = threading.Event()
        results: list[EraseResult | None] = [None] * len(self.plans)
        errors: list[SanitizeError] = []

        def work(i: int, plan: Plan) -> None:
            try:
                ctx = ExecutionContext(
                    host=host,
                    state=state,
                    result=new_result(plan, host),
                    stop=stop,
                    progress=progress(i),
                    resume=resume,
                )
                results[i] = run_plan(plan, ctx, methods)  # a result for anything that reached the device
            except SanitizeError as exc:
                errors.append(exc)  # refused before anything was written: the command's own error
            except Exception as exc:  # even setting up the run: a failed result, never a silent thread
                results[i] = failed_before_start(plan, host, exc)

        def on_signal(signum: int, frame: FrameType | None) -> None:
            say(f"sanitize: {signal.Signals(signum).name}: stopping at the next checkpoint")
            stop.set()

        # Signals reach the main thread only; a caller in another thread stops by itself.
        in_main = threading.current_thread() is threading.main_thread()
        previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS} if in_main else {}
        try:
            if processes and in_main and len(self.plans) > 1:
                # Imported here: multiprocessing's pipes cost every other erase's start-up about 8 ms.
                from sanitize.erase.workers import execute_in_processes

                found, errors = execute_in_processes(self.plans, host, state, methods, stop, resume, progress)
                return [r for r in found if r is not None], errors
            threads = [
                threading.Thread(target=work, args=(i, p), name=f"erase-{p.device.name}")
                for i, p in enumerate(self.plans)
            ]
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():
                    t.join(0.2)  # short joins keep the main thread free to take signals
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        return [r for r in results if r is not None], errors
