"""Running a plan: execute it (and any plan chained after it), verify, decide the status.

The runner is method-agnostic, so every method gets the same rules: an interruption
(`ctx.stop` set) yields `interrupted`, any error range or failed verification `failed`,
and only a passed verification with no error `verified`.

It is also the one place where an exception becomes a result (`run_plan` and
`failed_result`; every executor, erase's and decommission's, runs devices through them):
whatever a method, the hardware or the state directory raises once a device may have
been touched, that device gets a `failed` result naming the phase, the error's class and
its message, with how far each phase got; its journal is left for `--resume`. Only a
`SanitizeError` raised before anything was sent to the device (refused at open, a
missing tool) still ends the command with its own one-line message and exit code.

A chained plan (luks-crypto-erase, then overwrite) runs only once the plan before it
succeeded, and the run's verification is the first one that failed, or the last one with
the earlier ones' details inside it.
"""

from __future__ import annotations

import contextlib
import logging
import os

from sanitize.enums import Outcome, PhaseStatus, Status
from sanitize.erase.journal import Journal
from sanitize.erase.method import ExecutionContext, Method, MethodRegistry
from sanitize.erase.options import CARVE_CHECKS
from sanitize.erase.plan import Plan, resume_command
from sanitize.erase.result import EraseResult, Failure, Verification, device_identity
from sanitize.errors import SanitizeError
from sanitize.hw.host import Host
from sanitize.inventory.host_identity import host_identity
from sanitize.state import StateDir
from sanitize.textsafe import printable

log = logging.getLogger(__name__)


def new_result(plan: Plan, host: Host) -> EraseResult:
    result = EraseResult(
        device=device_identity(plan.device),
        method=plan.method,
        nist_level=plan.nist_level,
        host=dict(host_identity(host)),  # the same identity certificates name
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

    found = carve_verify(host, plan.device.path, fraction)
    verification.details["carve"] = found
    verification.details["carve_hits"] = found["hits"]
    if found["hits"]:
        verification.outcome = Outcome.FAILED


def run_plan(plan: Plan, ctx: ExecutionContext, methods: MethodRegistry) -> EraseResult:
    """Execute (each plan of the chain), verify, carve-check and finalize one plan.

    See the module docstring for what becomes of an exception."""
    ctx.planned = frozenset(step for stage in plan.stages() for step in stage.all_steps())
    ran: list[tuple[Plan, Method]] = []
    result = ctx.result
    try:
        ctx.enter("execute")
        for stage in plan.stages():
            method = methods.get(stage.method)
            result = method.execute(stage, ctx)
            ran.append((stage, method))
            if ctx.stop.is_set() or not method.may_continue(ctx):
                break
        if ctx.stop.is_set():
            result.finish(interrupted=True)
        else:
            ctx.enter("verify")
            result.verification = _verify(ran, ctx)
            v = result.verification
            if v.method == "none" and v.outcome == Outcome.SKIPPED:
                result.mark("verify", PhaseStatus.SKIPPED, "--verify none")
            elif ctx.stop.is_set():
                result.mark("verify", PhaseStatus.INTERRUPTED)
            else:
                result.mark("verify", PhaseStatus.DONE, f"{v.method}: {v.bytes_checked} bytes checked, {v.outcome}")
            if result.verification.outcome == Outcome.PASSED and not ctx.stop.is_set():
                ctx.enter("carve-check")
                check_nothing_recognisable(plan, result.verification, ctx.host)
                result.mark(
                    "carve-check", PhaseStatus.DONE if plan.options.carve_check != "none" else PhaseStatus.SKIPPED
                )
            result.finish(interrupted=ctx.stop.is_set())
        ctx.enter("finalize")
        for stage, method in reversed(ran):
            method.finalize(stage, ctx, result)
        resumable = result.status == Status.INTERRUPTED and _journal_kept(ctx)
        if resumable and not any("continue with:" in note for note in result.notes):
            result.add_note(f"interrupted; continue with: {resume_command(plan, ctx.state.path)}")
        return result
    except Exception as exc:
        if isinstance(exc, SanitizeError) and not ctx.touched():
            raise  # nothing reached the device: the command's own one-line error and exit code
        return failed_result(plan, ctx, exc)
    finally:
        ctx.progress.close()


def failed_result(plan: Plan, ctx: ExecutionContext, exc: BaseException) -> EraseResult:
    """Turn an exception in `ctx.phase` into the device's honest `failed` result.

    What was written and verified comes from the result as the method left it (the
    method mirrors its checkpoints there) and from the journal; nothing is assumed.
    """
    result = ctx.result
    phase = ctx.phase
    internal = not isinstance(exc, SanitizeError)
    log.debug("%s: %s failed", plan.device.path, phase, exc_info=exc)  # -vv shows the traceback
    message = error_message(exc)
    result.failure = Failure(phase, type(exc).__name__, message, internal)
    result.mark(phase, PhaseStatus.FAILED, f"{type(exc).__name__}: {message}")
    progress = ctx.scratch.get("verify_progress")
    if phase == "verify" and isinstance(progress, dict):
        size = plan.device.size_bytes
        checked = int(progress.get("checked", 0))
        result.verification = Verification(
            method=str(progress.get("method", plan.options.verify)),
            coverage=checked / size if size else 0.0,
            bytes_checked=checked,
            outcome=Outcome.FAILED,
            mismatches=int(progress.get("mismatches", 0)),
            details={"stopped_after_bytes": checked, "of_bytes": int(progress.get("total", 0))},
        )
    for later in ("verify", "carve-check", "discard"):
        if later not in result.phases and not _skipped(plan, later):
            result.mark(later, PhaseStatus.NOT_REACHED)
    what = "internal error" if internal else "error"
    result.add_note(f"{phase} failed with an {what}: {type(exc).__name__}: {message}")
    journal = ctx.scratch.get("journal")
    if isinstance(journal, Journal) and _journal_kept(ctx):
        with contextlib.suppress(Exception):  # best effort: the state directory may be what failed
            journal.update(ended_with=f"{phase}: {type(exc).__name__}: {message}")
        result.add_note(
            f"the journal of this run is kept; continue with: {resume_command(plan, ctx.state.path)} "
            "(it continues from the last checkpoint)"
        )
    return result.finish()


MAX_MESSAGE = 240


def error_message(exc: BaseException) -> str:
    """One printable line, at most MAX_MESSAGE characters: what the exception says about
    the operation. Exception texts are short (an errno, a key, a byte value), but one built
    from data read off a device could quote it; the cap keeps any such quote to a fragment."""
    text = exc.one_line() if isinstance(exc, SanitizeError) else " ".join(str(exc).split())
    text = printable(text)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _skipped(plan: Plan, phase: str) -> bool:
    if phase == "verify":
        return plan.options.verify == "none"
    if phase == "carve-check":
        return plan.options.carve_check == "none"
    return not plan.options.discard  # discard


def _journal_kept(ctx: ExecutionContext) -> bool:
    journal = ctx.scratch.get("journal")
    return isinstance(journal, Journal) and os.path.exists(journal.path)


def failed_before_start(plan: Plan, host: Host, exc: BaseException) -> EraseResult:
    """The failed result of a device whose run could not even be set up."""
    try:
        result = new_result(plan, host)
    except Exception:  # the host identity itself failed: record the device alone
        result = EraseResult(device=device_identity(plan.device), method=plan.method, nist_level=plan.nist_level)
    ctx = ExecutionContext(host=host, state=StateDir(""), result=result)
    return failed_result(plan, ctx, exc)


def _verify(ran: list[tuple[Plan, Method]], ctx: ExecutionContext) -> Verification:
    """The first stage's verification that did not pass, else the last one with the earlier ones inside."""
    if not ran:
        return Verification(method="none", outcome=Outcome.SKIPPED)
    (stage, method), rest = ran[0], ran[1:]
    own = method.verify(stage, ctx)
    if not rest or own.outcome != Outcome.PASSED:
        return own
    return method.chain_verification(own, _verify(rest, ctx))
