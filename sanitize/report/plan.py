"""Plans: `sanitize plan` (`sanitize.purge-plan/1`) and `sanitize erase --dry-run` (`sanitize.plan/1`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sanitize.erase.plan import Plan

if TYPE_CHECKING:  # only `sanitize plan` needs the planner loaded; `erase` starts without it
    from sanitize.purge.planner import DevicePlan

PLAN_SCHEMA = "sanitize.plan/1"
PURGE_PLAN_SCHEMA = "sanitize.purge-plan/1"


def _step_line(number: int, description: str, argv: Sequence[str] | None) -> str:
    return f"{number}. {description}" + (f"  [{' '.join(argv)}]" if argv else "")


@dataclass(frozen=True)
class ErasePlanReport:
    """What `sanitize erase --dry-run` would do, exactly: the plans execution would run."""

    plans: Sequence[Plan]

    def document(self) -> dict[str, Any]:
        return {"schema": PLAN_SCHEMA, "plans": [p.to_dict() for p in self.plans]}

    def text(self) -> str:
        lines: list[str] = []
        for plan in self.plans:
            dev = plan.device
            lines.append(
                f"{dev.path} ({dev.name}, {dev.size_bytes} bytes, {dev.media_type}): "
                f"{plan.method}, NIST {plan.nist_level}"
            )
            lines.append(f"  reason: {plan.reason}")
            lines.append("  steps:")
            lines += [f"    {_step_line(i, s.description, s.argv)}" for i, s in enumerate(plan.steps, 1)]
            for label, items in (("pre-checks", plan.pre_checks), ("post-checks", plan.post_checks)):
                lines.append(f"  {label}:")
                lines += [f"    - {item}" for item in items]
            if plan.expected_seconds is not None:
                lines.append(f"  expected duration: about {plan.expected_seconds:.0f} s")
            lines += [f"  note: {note}" for note in plan.notes]
            lines.append(f"  confirm with: --confirm {dev.identity}")
        lines.append("dry run: nothing was written")
        return "\n".join(lines)


@dataclass(frozen=True)
class PurgePlanReport:
    """What `sanitize erase --method auto` would choose for each device, and why (`sanitize plan`)."""

    results: Sequence[DevicePlan]

    def document(self) -> dict[str, Any]:
        return {"schema": PURGE_PLAN_SCHEMA, "devices": [r.to_dict() for r in self.results]}

    def text(self) -> str:
        return "\n".join(line for result in self.results for line in device_lines(result))


def device_lines(result: DevicePlan) -> list[str]:
    from sanitize.purge.levels import standard_line  # loaded with the planner, never by `erase`

    d = result.device
    head = f"{d.path} ({d.name}, {d.size_bytes} bytes, {d.media_type}, {d.transport or 'unknown transport'})"
    if result.plan is None:
        lines = [f"{head}: REFUSED: {result.refused}"]
    else:
        p = result.plan
        status = "" if result.status == "ok" else f" [{result.status.upper()}]"
        lines = [f"{head}: {p.method}, NIST {p.nist_level}{status}", f"  why: {p.reason}"]
        lines.append(f"  standard: {standard_line(p.method, p.nist_level)}")
        lines += [f"  {_step_line(i, s.description, s.argv)}" for i, s in enumerate(p.steps, 1)]
        lines += [f"  pre-check: {c}" for c in p.pre_checks]
        lines += [f"  post-check: {c}" for c in p.post_checks]
        expected = "unknown" if p.expected_seconds is None else f"about {p.expected_seconds:.0f} s"
        lines.append(f"  expected duration: {expected}")
        lines += [f"  note: {n}" for n in p.notes]
    lines += [f"  blocked: {b}" for b in result.blocked_by]
    lines += [f"  to unblock: {i}" for i in result.instructions]
    for alt in result.alternatives:
        if alt.get("available"):
            lines.append(f"  also possible: {alt['method']} (NIST {alt['nist_level']})")
        else:
            lines.append(f"  not possible: {alt['method']}: {alt['why_not']}")
    if result.capabilities is not None:
        lines += [f"  capability note: {n}" for n in result.capabilities.notes]
    return lines
