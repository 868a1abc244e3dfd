"""Progress on the terminal: one tqdm bar per device, on stderr."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm


class BarProgress:
    """One tqdm bar per device on stderr; none when stderr is not a TTY (what tqdm's
    `disable=None` does), and then tqdm is not even imported: 25 ms of every erase's start-up."""

    def __init__(self, position: int) -> None:
        self.position = position
        self.bar: tqdm[Any] | None = None

    def start(self, description: str, total: int, initial: int = 0) -> None:
        self.close()
        if not sys.stderr.isatty():
            return
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            initial=initial,
            desc=description,
            position=self.position,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=sys.stderr,
            disable=None,
            leave=True,
            dynamic_ncols=True,
        )

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
