"""`sanitize inventory`: every block device and volume, and the AI data on each (read-only)."""

from __future__ import annotations

import click

from sanitize.cli.app import App, emit, info, json_option, pass_app, terminal_width, warn
from sanitize.errors import BadInput, ExitCode
from sanitize.hw.host import Host
from sanitize.inventory.host_identity import host_identity
from sanitize.inventory.model import DeviceTree
from sanitize.inventory.probe import probe
from sanitize.inventory.volumes import add_carve, scan_volumes
from sanitize.report.inventory import InventoryReport


def select(host: Host, tree: DeviceTree, names: tuple[str, ...]) -> DeviceTree:
    """The named devices with everything built on them; unknown names are bad input."""
    if not names:
        return tree
    keep: dict[str, None] = {}
    for name in names:
        dev = tree.get(name)
        if dev is None:
            if name.startswith("/"):
                host.block_device_number(name)  # says "no such device" or "regular file" precisely
            raise BadInput(f"{name}: not a block device known to this machine")
        keep[dev.path] = None
        keep.update((d.path, None) for d in tree.descendants(dev))
    return DeviceTree(tuple(d for d in tree if d.path in keep))


@click.command("inventory")
@click.argument("devices", nargs=-1)
@click.option("--no-scan", is_flag=True, help="Skip the AI-artifact scan of each filesystem.")
@click.option(
    "--carve",
    is_flag=True,
    help="Also read each volume's raw device for what deleted files left in free space (slow: reads it all).",
)
@click.option(
    "-v",
    "--verbose",
    "list_all",
    is_flag=True,
    help="List every AI artifact found with its path (default: each volume's largest five).",
)
@json_option
@pass_app
def command(app: App, devices: tuple[str, ...], no_scan: bool, carve: bool, list_all: bool, as_json: bool) -> None:
    """List every block device and volume and the AI data on each (read-only).

    Shows the tree of disks, partitions, LUKS, LVM, md RAID, loop devices and filesystems,
    with identity (model, serial, WWN, size, media type), what is mounted or in use, and
    which devices are PROTECTED (never written) and why.

    Unless --no-scan is given, every filesystem is scanned for AI artifacts by content:
    mounted ones in place, unmounted ones mounted read-only without journal replay on a
    private mountpoint under /run/sanitize (the device is set read-only first). Each volume
    gets a risk line to read first, then its largest findings with their paths (-v: all of
    them). "World-readable" counts files every local user can read (permission o+r). Files of
    sanitize's own checkout and virtualenv (its test fixtures) are counted apart, not as the
    server's data. Nothing is written to any device.

    With --carve, each volume's raw device is also read (read-only, O_DIRECT) for the
    headers and pages of AI artifacts that deleted files left behind, and the risk line
    says what lies in free space.

    DEVICES limits the report to those devices and what is built on them (/dev paths,
    kernel names, serials or WWNs).
    """
    root = app.host.is_root()
    if not root:
        warn("not running as root: unmounted filesystems are neither probed nor scanned")
    tree = select(app.host, probe(app.host), devices)
    host = host_identity(app.host)
    reports = [] if no_scan else scan_volumes(app.host, tree, mount_unmounted=root, progress=info)
    if carve:
        from sanitize.carve import carve_summary  # numpy: loaded only when carving

        if no_scan:
            reports = scan_volumes(app.host, tree, mount_unmounted=False, scan=False)
        add_carve(reports, lambda path: carve_summary(app.host, path), progress=info)
    volumes = reports if reports or not no_scan else None
    emit(InventoryReport(tree, host, volumes, verbose=list_all, width=terminal_width()), as_json)
    faults = [f"{r.device}: {fault}" for r in reports for fault in r.faults]
    for fault in faults:
        info(f"sanitize: internal error: scan of {fault} (a bug: please report it)")
    if faults:  # a volume was not fully scanned: the inventory did not do what it says
        raise click.exceptions.Exit(int(ExitCode.INTERNAL))
