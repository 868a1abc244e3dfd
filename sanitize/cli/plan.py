"""`sanitize plan`: what `sanitize erase --method auto` would do to each device, and why.

Read-only: it runs identification commands (nvme id-ctrl, hdparm -I, sg_opcodes, cryptsetup
luksDump, ...) and reads sysfs; it never writes to a device or creates the state directory.
"""

from __future__ import annotations

import click

from sanitize.cli.app import App, emit_json, json_option, pass_app
from sanitize.enums import DeviceType
from sanitize.erase.plan import EraseOptions, find_device
from sanitize.errors import ExitCode
from sanitize.inventory.model import Device, DeviceTree
from sanitize.inventory.probe import probe
from sanitize.purge.planner import DevicePlan, plan_device, plan_document

PLANNABLE_TYPES = (DeviceType.DISK, DeviceType.LOOP)


def default_devices(tree: DeviceTree) -> list[Device]:
    """Every whole disk and loop device; protected ones are listed as refused, not hidden."""
    return [d for d in tree if d.type in PLANNABLE_TYPES and d.parent is None]


def _human(result: DevicePlan) -> list[str]:
    d = result.device
    head = f"{d.path} ({d.name}, {d.size_bytes} bytes, {d.media_type}, {d.transport or 'unknown transport'})"
    if result.plan is None:
        lines = [f"{head}: REFUSED: {result.refused}"]
    else:
        p = result.plan
        status = "" if result.status == "ok" else f" [{result.status.upper()}]"
        lines = [f"{head}: {p.method}, NIST {p.nist_level}{status}", f"  why: {p.reason}"]
        for i, step in enumerate(p.steps, 1):
            argv = f"  [{' '.join(step.argv)}]" if step.argv else ""
            lines.append(f"  {i}. {step.description}{argv}")
        lines += [f"  pre-check: {c}" for c in p.pre_checks]
        lines += [f"  post-check: {c}" for c in p.post_checks]
        expected = "unknown" if p.expected_seconds is None else f"about {p.expected_seconds:.0f} s"
        lines.append(f"  expected duration: {expected}")
        lines += [f"  note: {n}" for n in p.notes]
    lines += [f"  blocked: {b}" for b in result.blocked_by]
    lines += [f"  to unblock: {i}" for i in result.instructions]
    for alt in result.alternatives:
        if alt.get("available"):
            lines.append(f"  also possible: {alt['method']} (NIST {alt['nist_level']})")
        else:
            lines.append(f"  not possible: {alt['method']}: {alt['why_not']}")
    if result.capabilities is not None:
        lines += [f"  capability note: {n}" for n in result.capabilities.notes]
    return lines


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
    targets = [find_device(app.host, tree, path) for path in devices] if devices else default_devices(tree)
    results = [plan_device(app.host, tree, dev, EraseOptions()) for dev in targets]
    if as_json:
        emit_json(plan_document(results))
    else:
        for result in results:
            for line in _human(result):
                click.echo(line)
    if devices and any(r.status == "refused" for r in results):
        raise click.exceptions.Exit(int(ExitCode.REFUSED))
