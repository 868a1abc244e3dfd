"""Plans: what an erase will do to one device, exactly, decided before anything is written.

A `Plan` is immutable. Its steps carry the operations execution performs: a `Command` is
the exact argv (a secret known only at run time, such as a temporary ATA password, shows as
its placeholder), a `DeviceIo` the exact extent of an I/O the tool does itself. Methods run
their plan's steps (`ExecutionContext.run`, which refuses a command that is not in the
plan) instead of building commands again, so `--dry-run` (`Plan.to_dict()`, schema
`sanitize.plan/1`) shows what will run. A method that runs after another on the same
device (luks-crypto-erase, then overwrite) is a typed chain: `Plan.then`.

How plans are built and checked: `sanitize.erase.planning`; several at once:
`sanitize.erase.planset`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sanitize.enums import NistLevel
from sanitize.erase.options import EraseOptions
from sanitize.erase.result import device_identity
from sanitize.inventory.model import Device
from sanitize.state import DEFAULT_STATE_DIR


@dataclass(frozen=True)
class Command:
    """An external program exactly as execution runs it."""

    argv: tuple[str, ...]
    timeout: float | None = 120
    until: float | None = None  # a poll: run again until the operation ends, at most this many seconds
    # The argv item that stands for a secret only execution knows (a temporary password,
    # a PSID): execution passes the value, results and logs keep the placeholder.
    placeholder: str | None = None


@dataclass(frozen=True)
class DeviceIo:
    """An operation the tool performs itself on the device (or a detached header file)."""

    action: str  # open, write-pass, read-back, discard, snapshot, compare, overwrite, read, remove, probe
    target: str
    offset: int = 0
    length: int = 0
    number: int = 0  # which pass, for write-pass


Operation = Command | DeviceIo


@dataclass(frozen=True)
class Step:
    """One step: what it does for a person (`description`), and exactly how (`op`).

    `role` names the step within its method, so execution finds the step it is at
    (e.g. "start", "poll", "status") without rebuilding its command.
    """

    description: str
    op: Operation
    role: str = ""

    @property
    def argv(self) -> tuple[str, ...] | None:
        return self.op.argv if isinstance(self.op, Command) else None

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "argv": list(self.argv) if self.argv else None}


@dataclass(frozen=True)
class Plan:
    device: Device
    method: str
    nist_level: NistLevel
    steps: tuple[Step, ...]
    pre_checks: tuple[str, ...]
    post_checks: tuple[str, ...]
    expected_seconds: float | None
    reason: str
    options: EraseOptions
    notes: tuple[str, ...] = ()
    then: Plan | None = None  # runs next on the same device once this one's own step succeeded
    reach: str | None = None  # the controller this erase reaches whole (every namespace on it), if any
    after: str | None = None  # for a chained plan: the method it runs after (its journal names that one)

    def stages(self) -> Iterator[Plan]:
        """This plan and the plans chained after it, in the order they run."""
        stage: Plan | None = self
        while stage is not None:
            yield stage
            stage = stage.then

    def step(self, role: str) -> Step:
        """This plan's step with `role` (a method asks for the steps it planned)."""
        for step in self.steps:
            if step.role == role:
                return step
        raise LookupError(f"{self.method}: no {role!r} step in the plan")

    def steps_with(self, role: str) -> list[Step]:
        return [s for s in self.steps if s.role == role]

    def all_steps(self) -> list[Step]:
        """Every step the run performs, chained plans' too (what --dry-run lists)."""
        steps = list(self.steps)
        if self.then is not None:
            then = self.then
            steps.append(
                Step(f"then run {then.method} on {self.device.path}", DeviceIo("chain", self.device.path), "chain")
            )
            steps.extend(then.all_steps())
        return steps

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": device_identity(self.device),
            "identity": self.device.identity,
            "method": self.method,
            "nist_level": self.nist_level,
            "options": self.options.to_dict(),
            "steps": [s.to_dict() for s in self.all_steps()],
            "pre_checks": list(self.pre_checks),
            "post_checks": list(self.post_checks),
            "expected_seconds": None if self.expected_seconds is None else round(self.expected_seconds, 1),
            "reason": self.reason,
            "notes": list(self.notes),
        }


def resume_command(plan: Plan, state_dir: str) -> str:
    """The exact command that continues this plan's interrupted or failed run (it runs as
    printed: the journal is found in `state_dir`, named unless it is the default)."""
    where = "" if os.path.abspath(state_dir) == DEFAULT_STATE_DIR else f"--state-dir {shlex.quote(state_dir)} "
    return f"sanitize {where}erase {plan.device.path} --resume --confirm {plan.device.identity}"
