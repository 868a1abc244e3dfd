"""Which `Host` purge methods talk to while a plan is being built.

`Method.check/plan_steps` receive no Host (the framework's interface predates firmware
methods), yet whether a controller advertises crypto erase must be read from the device.
The CLI, the VM tests and the fake-device tests bind their Host here; production code
that binds nothing gets the real machine.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from sanitize.hw.host import Host

_current: contextvars.ContextVar[Host | None] = contextvars.ContextVar("sanitize_purge_host", default=None)


def current_host() -> Host:
    host = _current.get()
    if host is None:
        host = Host()
        _current.set(host)
    return host


@contextlib.contextmanager
def using_host(host: Host) -> Iterator[Host]:
    token = _current.set(host)
    try:
        yield host
    finally:
        _current.reset(token)


def bind_host(host: Host) -> None:
    """Bind for the rest of this context (the CLI does this once per command)."""
    _current.set(host)
