"""`sanitize carve DEVICE`: find artifact signatures on a raw device, live or deleted (read-only)."""

from __future__ import annotations

import sys
from typing import Any

import click

from sanitize.carve import CarveOptions, carve, place_hits
from sanitize.cli.app import App, emit, json_option, pass_app, warn
from sanitize.errors import ExitCode
from sanitize.report.carve import CarveReport


@click.command("carve")
@click.argument("device", type=click.Path())
@json_option
@click.option("--max-hits", type=click.IntRange(0), default=10_000, show_default=True, help="Hits to list.")
@click.option(
    "--sample",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    show_default=True,
    help="Fraction of the device to read, in 4 MiB chunks spread evenly (1 = all).",
)
@click.option(
    "--min-float-blocks",
    type=click.IntRange(1),
    default=8,
    show_default=True,
    help="Shortest run of float32-vector 4 KiB blocks to report.",
)
@click.option("--no-allocation", is_flag=True, help="Skip the filesystem lookup of free/allocated space.")
@click.option("--fail-on-found", is_flag=True, help="Exit with code 10 when any signature is found.")
@pass_app
@click.pass_context
def command(
    ctx: click.Context,
    app: App,
    device: str,
    as_json: bool,
    max_hits: int,
    sample: float,
    min_float_blocks: int,
    no_allocation: bool,
    fail_on_found: bool,
) -> None:
    """Read DEVICE raw and report artifact signatures, in live files or free space.

    Opens the device read-only with O_DIRECT and reads it sequentially. Reports offset,
    length, kind and the matching rule of each hit, never content, and whether it lies in
    space the filesystem allocates (with the file's path) or in free space (deleted data).
    """
    options = CarveOptions(max_hits=max_hits, sample=sample, min_float_blocks=min_float_blocks)
    bar = _progress_bar()

    def progress(done: int, planned: int) -> None:
        if bar.total != planned:
            bar.total = planned
        bar.update(done)

    try:
        result = carve(app.host, device, options, progress=progress if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    if not no_allocation:
        place_hits(result, app.host)
        if result.allocation_note:
            warn(result.allocation_note)
    for offset, why in result.unreadable:
        warn(f"unreadable chunk at offset {offset}: {why}")
    emit(CarveReport(result), as_json)
    if fail_on_found and result.hits_total:
        ctx.exit(int(ExitCode.FOUND))


def _progress_bar() -> Any:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, desc="carve", leave=False)
