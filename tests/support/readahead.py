"""Watch whether a scan started its readahead helper (sanitize/readahead.py)."""

from __future__ import annotations

import pytest

from sanitize import scan
from sanitize.readahead import Readahead


class ReadaheadSpy:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs: list[Readahead] = []
        real = scan.Readahead

        def spy(length: int) -> Readahead:
            self.runs.append(real(length))
            return self.runs[-1]

        monkeypatch.setattr(scan, "Readahead", spy)

    @property
    def started(self) -> bool:
        return any(r.started for r in self.runs)
