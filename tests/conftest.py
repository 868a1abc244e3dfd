"""Shared fixtures. Under CI=true a skipped test is a failure: CI runs as root on a VM
where every real target exists, so a skip there means a test silently did not run."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.support.lab import LoopLab

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
IS_ROOT = os.geteuid() == 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if IS_ROOT:
        return
    skip = pytest.mark.skip(reason="needs root and loop devices")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"


@pytest.fixture
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopLab]:
    """Loop devices, partitions, filesystems and mounts that are torn down after the test."""
    if not IS_ROOT:
        pytest.skip("needs root for loop devices")
    workdir = str(tmp_path_factory.mktemp("lab", numbered=True))
    lab = LoopLab(workdir=workdir)
    try:
        yield lab
    finally:
        problems = lab.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
        assert not problems, problems


@pytest.fixture
def state_dir(tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> str:
    path = os.path.join(str(tmp_path), "state")
    monkeypatch.setenv("SANITIZE_STATE_DIR", path)
    return path
