"""Running a plan: execute, then verify, then decide the status from the evidence.

The runner is method-agnostic, so every method gets the same rules: an interruption
(`ctx.stop` set) yields `interrupted`, any error range or failed verification `failed`,
and only a passed verification with no error `verified`.
"""

from __future__ import annotations

from sanitize.erase.method import ExecutionContext, get_method
from sanitize.erase.plan import Plan
from sanitize.erase.result import EraseResult, device_identity, host_identity
from sanitize.hw import Host


def new_result(plan: Plan, host: Host) -> EraseResult:
    result = EraseResult(
        device=device_identity(plan.device),
        method=plan.method,
        nist_level=plan.nist_level,
        host=host_identity(host),
    )
    for note in plan.notes:
        result.add_note(note)
    return result


def run_plan(plan: Plan, ctx: ExecutionContext) -> EraseResult:
    method = get_method(plan.method)
    try:
        result = method.execute(plan, ctx)
        if ctx.stop.is_set():
            result.finish(interrupted=True)
        else:
            result.verification = method.verify(plan, ctx)
            result.finish(interrupted=ctx.stop.is_set())
        method.finalize(plan, ctx, result)
        return result
    finally:
        ctx.progress.close()
