"""The command boundary: argv only, LC_ALL=C, logged, secrets never logged or reported."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from sanitize.errors import ToolMissing
from sanitize.hw.commands import REDACTED, CommandLog, run


def test_secret_is_passed_but_never_logged_or_returned(caplog: pytest.LogCaptureFixture) -> None:
    log = CommandLog()
    with caplog.at_level(logging.DEBUG, logger="sanitize.hw"):
        result = run(["echo", "--pass", "s3cret-Pw"], secret="s3cret-Pw", log_to=log)
        shouted = run(["sh", "-c", 'printf "%s" "$1" | tr a-z A-Z', "sh", "s3cret-Pw"], secret="s3cret-Pw")
    assert shouted.stdout == "S3CRET-PW"  # the program got the real value
    assert result.stdout.strip() == f"--pass {REDACTED}"  # and output that repeats it is scrubbed
    assert result.argv == ("echo", "--pass", REDACTED)
    assert log.records == [result]
    assert "s3cret-Pw" not in caplog.text and "echo --pass" in caplog.text
    psid = run(["echo", "ABC123"], secret="ABC123", redacted_as="<PSID>")
    assert psid.argv == ("echo", "<PSID>") and psid.stdout.strip() == "<PSID>"


def test_locale_is_c_and_strings_are_refused() -> None:
    assert run(["sh", "-c", "echo $LC_ALL"]).stdout.strip() == "C"
    with pytest.raises(TypeError):
        run("echo hi")  # type: ignore[arg-type]


def test_missing_tool_names_its_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(shutil, "which", lambda program, path=None: None)
    with pytest.raises(ToolMissing) as excinfo:
        run(["nvme", "list"])
    assert excinfo.value.one_line() == "nvme is not installed (apt-get install nvme-cli)"


def test_timeout_is_a_result_not_a_hang() -> None:
    result = run(["sleep", "5"], timeout=0.2)
    assert result.returncode == 124 and "timed out" in result.stderr
