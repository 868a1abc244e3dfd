"""Running a plan: execute, then verify, then decide the status from the evidence.

The runner is method-agnostic, so every method gets the same rules: an interruption
(`ctx.stop` set) yields `interrupted`, any error range or failed verification `failed`,
and only a passed verification with no error `verified`.
"""

from __future__ import annotations

from sanitize.erase.method import ExecutionContext, get_method
from sanitize.erase.plan import CARVE_CHECKS, Plan
from sanitize.erase.result import EraseResult, Verification, device_identity, host_identity
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


def check_nothing_recognisable(plan: Plan, verification: Verification, host: Host) -> None:
    """Independent evidence for the certificate: carve the erased device (sampled by default).

    Read-back verification proves the method's own pattern is there; the carve proves,
    with the artifact scanner's rules, that no known header, SQLite page or embedding run
    is. Any hit fails the verification: a certificate must not be issued for it.
    """
    fraction = CARVE_CHECKS[plan.options.carve_check]
    if not fraction:
        return
    from sanitize.carve import carve_verify  # numpy: loaded only when a carve runs

    found = carve_verify(plan.device.path, fraction, host=host)
    verification.details["carve"] = found
    verification.details["carve_hits"] = found["hits"]
    if found["hits"]:
        verification.outcome = "failed"


def run_plan(plan: Plan, ctx: ExecutionContext) -> EraseResult:
    method = get_method(plan.method)
    try:
        result = method.execute(plan, ctx)
        if ctx.stop.is_set():
            result.finish(interrupted=True)
        else:
            result.verification = method.verify(plan, ctx)
            if result.verification.outcome == "passed" and not ctx.stop.is_set():
                check_nothing_recognisable(plan, result.verification, ctx.host)
            result.finish(interrupted=ctx.stop.is_set())
        method.finalize(plan, ctx, result)
        return result
    finally:
        ctx.progress.close()
