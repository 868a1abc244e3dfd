"""Exit codes and resume commands for failed, unverified and interrupted results (no root)."""

from __future__ import annotations

import os

from sanitize.cli.erase import exit_code_for
from sanitize.decommission import Decommission, exit_code, overall_status
from sanitize.erase import EraseOptions, Plan, new_result
from sanitize.erase.plan import resume_command
from sanitize.erase.result import Failure
from sanitize.errors import ExitCode
from sanitize.inventory.model import DeviceTree
from tests.support.fake_host import FakeHost
from tests.unit.test_decommission_unit import device

DEV = device("sdb", serial="WD-22", type="disk")
PLAN = Plan(DEV, "overwrite", "clear", (), (), (), 1.0, "test", EraseOptions())


def _result(status: str, internal: bool | None = None):  # type: ignore[no-untyped-def]
    result = new_result(PLAN, FakeHost())
    result.status = status  # type: ignore[assignment]
    if internal is not None:
        result.failure = Failure("write", "E", "m", internal)
    return result


def test_erase_exit_codes_internal_first_then_failed_interrupted_ok() -> None:
    assert exit_code_for([_result("verified"), _result("unverified")]) == ExitCode.OK  # --verify none: 0
    assert exit_code_for([_result("verified"), _result("interrupted")]) == ExitCode.INTERRUPTED
    assert exit_code_for([_result("interrupted"), _result("failed", internal=False)]) == ExitCode.FAILED
    assert exit_code_for([_result("failed"), _result("failed", internal=True)]) == ExitCode.INTERNAL


def test_decommission_exit_code_internal_errors_win() -> None:
    dc = Decommission({}, DeviceTree((DEV,)), [], [PLAN], [], [])
    dc.results = [_result("verified")]
    assert exit_code(dc) == ExitCode.OK
    dc.problems.append("archive: x")
    assert exit_code(dc) == ExitCode.NOT_VERIFIED
    dc.internal_errors.append("host summary: ValueError: x")
    assert exit_code(dc) == ExitCode.INTERNAL
    assert overall_status(dc, dry_run=False) == "not-verified"  # the devices are clean, the paperwork is not
    dc.results = [_result("failed", internal=True)]
    assert overall_status(dc, dry_run=False) == "failed"


def test_resume_command_names_confirm_and_a_non_default_state_dir() -> None:
    assert resume_command(PLAN, "/var/lib/sanitize") == f"sanitize erase {DEV.path} --resume --confirm WD-22"
    other = os.path.join("/srv", "my state")
    assert resume_command(PLAN, other) == f"sanitize --state-dir '{other}' erase {DEV.path} --resume --confirm WD-22"


def test_error_messages_are_one_short_printable_line() -> None:
    from sanitize.erase.runner import MAX_MESSAGE, error_message

    assert error_message(OSError(28, "No space left on device")) == "[Errno 28] No space left on device"
    long = error_message(ValueError("x\n\x1b[31m" + "y" * 1000))
    assert len(long) == MAX_MESSAGE and "\n" not in long and "\x1b" not in long
