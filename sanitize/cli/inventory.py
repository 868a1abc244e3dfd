"""`sanitize inventory`: placeholder replaced by the real command below."""

import click

@click.command("inventory")
def command() -> None:
    """List every block device and volume (read-only)."""
