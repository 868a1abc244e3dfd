"""Does a verified result describe work that could have happened? Checked before certifying.

They read the typed result (EraseResult: every field already of its type). The record
(sanitize.erase.record) proves the engine wrote the result; these checks catch a
result that cannot be true whoever wrote it (an engine bug, or a record made by someone
holding the state directory): an overwrite that wrote less than size x passes, a
verification that read nothing, or more than the device holds, or a coverage its byte count
does not support, times that run backwards, lie in the future, or imply a speed no drive has.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sanitize.erase.result import EraseResult
from sanitize.errors import Refused

HOST_WRITE_METHODS = ("overwrite",)  # methods whose bytes_written are the host's own writes
MAX_BYTES_PER_SECOND = 64 << 30  # far above any drive or array; a result faster than this is not real
CLOCK_SKEW_S = 300
COVERAGE_SLACK = 1e-6  # coverage is stored rounded to 6 decimals


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def problems(result: EraseResult, *, now: dt.datetime | None = None) -> list[str]:
    """Every reason the verified `result` is implausible (empty when it is plausible)."""
    out: list[str] = []
    verification = result.verification
    size = _int(result.device.get("size_bytes"))
    written = result.bytes_written
    checked = verification.bytes_checked
    coverage: float | None = verification.coverage
    if size is None or size <= 0:
        return ["the device size is not a positive number of bytes"]
    if written < 0:
        out.append("bytes_written is not a byte count")
    if checked <= 0:
        out.append("the verification read nothing back")
    elif checked > size:
        out.append(f"the verification checked {checked} bytes of a {size}-byte device")
    if coverage is not None and not 0 < coverage <= 1:
        out.append(f"verification coverage {coverage!r} is not between 0 and 1")
        coverage = None
    if verification.method not in ("full", "sample"):
        out.append(f"verification method {verification.method!r} checks nothing")
    if verification.mismatches:
        out.append(f"{verification.mismatches} mismatches in a passed verification")
    if result.errors:
        out.append(f"{len(result.errors)} error range(s) in a verified result")
    if result.method in HOST_WRITE_METHODS:
        passes = result.passes
        if passes < 1:
            out.append("an overwrite with no pass")
        elif written < size * passes:
            out.append(f"an overwrite of {size} bytes x {passes} pass(es) that wrote {written} bytes")
        if coverage is not None and abs(checked - coverage * size) > COVERAGE_SLACK * size + 1:
            out.append(f"coverage {coverage} of {size} bytes is not the {checked} bytes read back")
        if verification.method == "full" and checked < size:
            out.append(f"a full verification that read {checked} of {size} bytes")
    out.extend(_timing_problems(result, written, checked, now or dt.datetime.now(dt.UTC)))
    return out


def _timing_problems(result: EraseResult, written: int, checked: int, now: dt.datetime) -> list[str]:
    started, finished = _time(result.started_at), _time(result.finished_at)
    if started is None or finished is None:
        return ["started_at / finished_at are not ISO 8601 times"]
    if finished < started:
        return [f"finished ({result.finished_at}) before it started ({result.started_at})"]
    if finished > now + dt.timedelta(seconds=CLOCK_SKEW_S):
        return [f"finished in the future ({result.finished_at})"]
    out = []
    seconds = max(1.0, (finished - started).total_seconds())  # the times have 1 s resolution
    moved = written + checked
    if moved / seconds > MAX_BYTES_PER_SECOND:
        out.append(f"{moved} bytes written and read back in {seconds:.0f} s is faster than any drive")
    phases = [v for v in result.timing.values() if isinstance(v, int | float)]
    if any(v < 0 for v in phases) or sum(phases) > seconds + 2:
        out.append(f"phase timings ({sum(phases):.0f} s) do not fit in the run ({seconds:.0f} s)")
    return out


def check_plausible(result: EraseResult) -> None:
    found = problems(result)
    if found:
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        raise Refused(
            f"no certificate for result {result.id}: implausible: {found[0]}{more}",
            hint="a certificate is issued only for work that could have happened",
        )
