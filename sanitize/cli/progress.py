"""Progress on the terminal: one tqdm bar per device, on stderr."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


class BarProgress:
    """One tqdm bar per device on stderr; tqdm stays silent when stderr is not a TTY."""

    def __init__(self, position: int) -> None:
        self.position = position
        self.bar: tqdm[Any] | None = None

    def start(self, description: str, total: int, initial: int = 0) -> None:
        self.close()
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
