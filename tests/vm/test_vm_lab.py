"""Host side of the QEMU test lab: boot ONE guest for the session, run every test in
tests/vm/guest/ inside it, and report each guest test here as its own test.

A guest that does not boot, times out or loses a test fails these tests; it never skips them.
"""

from __future__ import annotations

import ast
import compileall
import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.vm.harness import REPO_ROOT, GuestResult, run_in_guest

pytestmark = [pytest.mark.root, pytest.mark.slow]

GUEST_DIR = Path(__file__).resolve().parent / "guest"
PENDING = os.environ.get("SANITIZE_VM_PENDING") == "1"
# Passed through to the guest's pytest: CI=true turns a skip into a failure there too.
PASS_THROUGH_ENV = ("CI", "SANITIZE_VM_PENDING")


def guest_test_ids() -> list[str]:
    """`file.py::test_name` (or `file.py::Class::test_name`) of every guest test, read from the
    source so the host knows what to expect before the guest runs."""
    files = sorted(GUEST_DIR.glob("test_*.py"))
    if PENDING:
        files += sorted((GUEST_DIR / "pending").glob("test_*.py"))
    ids = []
    for path in files:
        rel = path.relative_to(GUEST_DIR).as_posix()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                ids.append(f"{rel}::{node.name}")
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                ids += [
                    f"{rel}::{node.name}::{item.name}"
                    for item in node.body
                    if isinstance(item, ast.FunctionDef) and item.name.startswith("test")
                ]
    return ids


@dataclass(frozen=True)
class GuestCase:
    test_id: str  # file.py::name[param]
    outcome: str  # passed, failed, error, skipped
    message: str


@dataclass(frozen=True)
class GuestSession:
    result: GuestResult
    cases: tuple[GuestCase, ...]
    junit_error: str | None

    def cases_for(self, test_id: str) -> list[GuestCase]:
        return [c for c in self.cases if c.test_id == test_id or c.test_id.startswith(test_id + "[")]


def _case_id(classname: str, name: str) -> str:
    # classname is the dotted module (plus class), e.g. tests.vm.guest.pending.test_x.TestY
    parts = classname.split(".")
    start = parts.index("guest") + 1 if "guest" in parts else 0
    module_end = next(i for i in range(start, len(parts)) if parts[i].startswith("test_")) + 1
    path = "/".join(parts[start:module_end]) + ".py"
    return "::".join([path, *parts[module_end:], name])


def parse_junit(path: Path) -> list[GuestCase]:
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            child = case.find(tag)
            if child is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = (child.get("message") or "") + "\n" + (child.text or "")
                break
        cases.append(GuestCase(_case_id(case.get("classname", ""), case.get("name", "")), outcome, message))
    return cases


@pytest.fixture(scope="session")
def guest_session() -> Iterator[GuestSession]:
    # Not pytest's tmp_path: concurrent pytest sessions prune each other's basetemp directories.
    run_dir = Path(tempfile.mkdtemp(prefix="sanitize-vm-lab-", dir="/var/tmp"))
    junit = run_dir / "guest-junit.xml"
    selection = [str(GUEST_DIR.relative_to(REPO_ROOT))]
    command = [
        sys.executable, "-m", "pytest",
        "-p", "no:cacheprovider",  # the repository is read-only in the guest
        "-o", "addopts=", "-o", "junit_family=xunit2",
        "-p", "no:hypothesispytest",  # importing it costs seconds of emulated CPU
        "-q", "-rfEs", "--strict-markers", "--durations=8", f"--junitxml={junit}",
        *selection,
    ]  # fmt: skip
    env = {k: os.environ[k] for k in PASS_THROUGH_ENV if k in os.environ}
    # The guest sees the repository read-only, and compiling every module under emulation costs
    # tens of seconds; byte-compile here (natively, well under a second) when PYTHONDONTWRITEBYTECODE
    # kept the rest of the suite from doing it.
    compileall.compile_dir(REPO_ROOT / "sanitize", quiet=1)
    compileall.compile_dir(REPO_ROOT / "tests", quiet=1)
    result = run_in_guest(command, run_dir=run_dir, cwd=REPO_ROOT, env=env)
    sys.stderr.write(f"\n[vm-lab] guest rc={result.returncode} in {result.seconds:.1f}s\n")
    try:
        session = GuestSession(result, tuple(parse_junit(junit)), None)
    except (OSError, ET.ParseError) as exc:
        session = GuestSession(result, (), f"no junit report from the guest ({exc})")
    yield session
    if result.returncode == 0 and not os.environ.get("SANITIZE_VM_KEEP"):
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        sys.stderr.write(f"[vm-lab] guest logs kept in {run_dir}\n")


def test_guest_boots_and_runs_pytest(
    guest_session: GuestSession, record_property: Callable[[str, object], None]
) -> None:
    result = guest_session.result
    record_property("vm_seconds", round(result.seconds, 1))
    assert result.booted, f"the guest did not boot:\n{result.describe()}"
    assert guest_session.junit_error is None, f"{guest_session.junit_error}\n{result.describe()}"
    assert result.returncode in (0, 1), f"guest pytest did not complete:\n{result.describe()}"


def test_every_guest_test_is_reported_here(guest_session: GuestSession) -> None:
    expected = guest_test_ids()
    unknown = [c.test_id for c in guest_session.cases if not any(c.test_id.split("[")[0] == e for e in expected)]
    assert not unknown, f"guest tests the host does not list (nested or generated tests?): {unknown}"


@pytest.mark.parametrize("test_id", guest_test_ids())
def test_in_guest(guest_session: GuestSession, test_id: str) -> None:
    if guest_session.junit_error is not None:
        pytest.fail(f"{guest_session.junit_error}; see test_guest_boots_and_runs_pytest")
    cases = guest_session.cases_for(test_id)
    assert cases, f"{test_id} did not run in the guest; logs in {guest_session.result.run_dir}"
    bad = [c for c in cases if c.outcome != "passed"]
    if bad:
        pytest.fail("\n\n".join(f"{c.test_id}: {c.outcome} in the guest\n{c.message.strip()}" for c in bad))
