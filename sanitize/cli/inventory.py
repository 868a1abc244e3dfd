"""`sanitize inventory`: every block device and volume, read-only."""

from __future__ import annotations

import os

import click

from sanitize.cli.app import App, emit_json, json_option, pass_app, warn
from sanitize.errors import BadInput
from sanitize.hw import require_block_device
from sanitize.inventory.host_identity import host_identity
from sanitize.inventory.model import DeviceTree
from sanitize.inventory.probe import probe
from sanitize.inventory.render import inventory_document, render_tree


def select(tree: DeviceTree, names: tuple[str, ...]) -> DeviceTree:
    """The named devices with everything built on them; unknown names are bad input."""
    if not names:
        return tree
    keep: dict[str, None] = {}
    for name in names:
        dev = tree.get(name)
        if dev is None:
            if name.startswith("/"):
                require_block_device(name)  # says "no such device" or "regular file" precisely
            raise BadInput(f"{name}: not a block device known to this machine")
        keep[dev.path] = None
        keep.update((d.path, None) for d in tree.descendants(dev))
    return DeviceTree(tuple(d for d in tree if d.path in keep))


@click.command("inventory")
@click.argument("devices", nargs=-1)
@json_option
@pass_app
def command(app: App, devices: tuple[str, ...], as_json: bool) -> None:
    """List every block device and volume of this machine (read-only, writes nothing).

    Shows the tree of disks, partitions, LUKS, LVM, md RAID, loop devices and filesystems,
    with identity (model, serial, WWN, size, media type), what is mounted or in use, and
    which devices are PROTECTED (never written) and why. DEVICES limits the report to those
    devices and what is built on them; they may be given as /dev paths, kernel names,
    serials or WWNs.
    """
    if os.geteuid() != 0:
        warn("not running as root: filesystems on unmounted devices cannot be probed")
    tree = select(probe(app.host), devices)
    host = host_identity(app.host)
    if as_json:
        emit_json(inventory_document(tree, host))
    else:
        click.echo(render_tree(tree, host))
