"""click's CliRunner with stderr kept apart from stdout on every click release pyproject allows.

click >= 8.2 separates them by default (and dropped `mix_stderr`); 8.1 mixes them unless
told not to. The unit tests also run on the lowest versions pyproject declares.
"""

from __future__ import annotations

from click.testing import CliRunner


def cli_runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg,unused-ignore]
    except TypeError:  # click >= 8.2
        return CliRunner()
