"""`sanitize plan`: what `sanitize erase --method auto` would do to each device, and why.

Read-only: it runs identification commands (nvme id-ctrl, hdparm -I, sg_opcodes, cryptsetup
luksDump, ...) and reads sysfs; it never writes to a device or creates the state directory.
"""

from __future__ import annotations

import click

from sanitize.cli.app import App, emit, json_option, pass_app
from sanitize.enums import DeviceType
from sanitize.erase.method import Planning
from sanitize.erase.options import EraseOptions
from sanitize.erase.planning import find_device
from sanitize.errors import ExitCode
from sanitize.inventory.model import Device, DeviceTree
from sanitize.inventory.probe import probe
from sanitize.purge.planner import plan_device
from sanitize.report.plan import PurgePlanReport

PLANNABLE_TYPES = (DeviceType.DISK, DeviceType.LOOP)


def default_devices(tree: DeviceTree) -> list[Device]:
    """Every whole disk and loop device; protected ones are listed as refused, not hidden."""
    return [d for d in tree if d.type in PLANNABLE_TYPES and d.parent is None]


@click.command("plan")
@click.argument("devices", nargs=-1)
@json_option
@pass_app
def command(app: App, devices: tuple[str, ...], as_json: bool) -> None:
    """Show the NIST SP 800-88 method chosen for each DEVICE (default: every disk), without erasing.

    \b
    For every device: the NIST level (purge or clear), the method, the exact commands,
    the checks before and after, the expected duration and why. Protected devices, and
    NVMe controllers whose other namespaces are in use, are listed as refused; when you
    named the devices, any refusal also makes the exit code 4.
    """
    tree = probe(app.host)
    planning = Planning(app.host, tree, app.methods)
    targets = [find_device(planning, path) for path in devices] if devices else default_devices(tree)
    results = [plan_device(planning, dev, EraseOptions()) for dev in targets]
    emit(PurgePlanReport(results), as_json)
    if devices and any(r.status == "refused" for r in results):
        raise click.exceptions.Exit(int(ExitCode.REFUSED))
