"""Devices, trees and hosts for the purge tests (regular files stand in for drives)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from sanitize.erase.method import ExecutionContext, Planning
from sanitize.erase.options import EraseOptions
from sanitize.erase.plan import Plan
from sanitize.erase.planning import plan_for
from sanitize.erase.result import EraseResult
from sanitize.erase.runner import new_result, run_plan
from sanitize.hw.commands import CommandLog
from sanitize.hw.host import Host
from sanitize.inventory.model import Device, DeviceTree
from sanitize.methods import all_methods
from sanitize.state import StateDir
from tests.support.clock import FakeClock
from tests.support.devices import make_device
from tests.support.fake_drives import FakeDrives
from tests.support.fake_host import FakeHost


def data_file(path: Path, size: int = 4 << 20) -> str:
    path.write_bytes(os.urandom(size))
    return str(path)


def device(
    path: str,
    *,
    media: str = "ssd",
    transport: str | None = "sata",
    controller: str | None = None,
    size: int = 4 << 20,
    **kw: Any,
) -> Device:
    fields: dict[str, Any] = dict(
        size_bytes=size,
        physical_sector_size=4096,
        rotational=media == "hdd",
        transport=transport,
        media_type=media,
        model="FIXTURE",
        serial="FIXTURE-" + os.path.basename(path),
        controller=controller,
    )
    fields.update(kw)
    return make_device(path, **fields)


def host_for(drives: FakeDrives) -> FakeHost:
    return FakeHost(runner=drives, command_log=CommandLog())


def planning(host: Host, tree: DeviceTree) -> Planning:
    return Planning(host, tree, all_methods())


def make_plan(host: Host, tree: DeviceTree, dev: Device, method: str, options: EraseOptions | None = None) -> Plan:
    """What `--dry-run` prints for `method` on `dev`: checks, then describes; writes nothing."""
    return plan_for(planning(host, tree), dev, method, options or EraseOptions())


def run_method(
    host: FakeHost,
    tree: DeviceTree,
    dev: Device,
    method: str,
    tmp: Path,
    options: EraseOptions | None = None,
    progress: Any = None,
) -> EraseResult:
    plan = make_plan(host, tree, dev, method, options)
    ctx = ExecutionContext(
        host=host,
        state=StateDir(str(tmp / "state")),
        result=new_result(plan, host),
        stop=threading.Event(),
        clock=FakeClock(),  # hour-long sanitizes run instantly
    )
    if progress is not None:
        ctx.progress = progress
    return run_plan(plan, ctx, all_methods())
