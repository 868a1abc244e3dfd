"""The erase progress bars: on a terminal only, as tqdm's own `disable=None` would decide."""

from __future__ import annotations

import io

import pytest

from sanitize.cli.progress import BarProgress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    bar = BarProgress(0)
    bar.start("loop0 pass 1/1", 100)
    bar.update(50)
    bar.close()
    assert bar.bar is None and err.getvalue() == ""


def test_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _Terminal()
    monkeypatch.setattr("sys.stderr", err)
    bar = BarProgress(0)
    bar.start("loop0 pass 1/1", 100)
    assert bar.bar is not None
    bar.update(50)
    bar.close()
    assert "loop0 pass 1/1" in err.getvalue() and bar.bar is None
