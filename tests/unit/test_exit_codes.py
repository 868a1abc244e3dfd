"""The documented exit codes and the code's ExitCode enum must agree."""

from __future__ import annotations

import re
from pathlib import Path

from sanitize.errors import ExitCode

DOC = Path(__file__).resolve().parents[2] / "docs" / "exit-codes.md"


def test_every_exit_code_is_documented() -> None:
    rows = dict(re.findall(r"^\| (\d+) \| ([A-Z_]+) \|", DOC.read_text(), flags=re.M))
    assert rows == {str(int(code)): code.name for code in ExitCode}
