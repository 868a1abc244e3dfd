"""Which `Host` erase methods talk to while a plan is being built.

`Method.check/plan_steps/notes` receive no Host (the interface predates firmware methods), yet
a firmware method must read the device's capabilities while planning. `plan_for`,
`build_plan` and the purge planner bind the host they are given for the duration of the
planning; methods read it with `current_host()`, which refuses when nothing is bound.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from sanitize.hw.host import Host

_current: contextvars.ContextVar[Host | None] = contextvars.ContextVar("sanitize_plan_host", default=None)


def current_host() -> Host:
    host = _current.get()
    if host is None:
        raise RuntimeError("planning without a host: pass the Host to build_plan/plan_for")
    return host


@contextlib.contextmanager
def using_host(host: Host) -> Iterator[Host]:
    """Bind `host` while planning."""
    token = _current.set(host)
    try:
        yield host
    finally:
        _current.reset(token)
