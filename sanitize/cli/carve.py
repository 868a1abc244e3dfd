"""`sanitize carve DEVICE`: find artifact signatures on a raw device, live or deleted (read-only)."""

from __future__ import annotations

import sys
from typing import Any

import click

from sanitize import tool_identity
from sanitize.carve import Allocation, CarveOptions, CarveResult, carve, place_hits, risk_phrase
from sanitize.cli.app import App, emit_json, json_option, pass_app, warn
from sanitize.errors import ExitCode
from sanitize.textsafe import printable

SCHEMA = "sanitize.carve/1"


def carve_document(result: CarveResult) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "tool": tool_identity(),
        "device": result.device,
        "size_bytes": result.size,
        "bytes_read": result.bytes_read,
        "coverage": round(result.coverage, 6),
        "sample_fraction": result.sample_fraction,
        "seconds": round(result.seconds, 3),
        "filesystem": result.filesystem,
        "allocation_note": result.allocation_note,
        "hits_total": result.hits_total,
        "truncated": result.truncated,
        "counts": result.counts(),
        "risk": risk_phrase(result),
        "unreadable": [{"offset": off, "error": why} for off, why in result.unreadable],
        "hits": [h.to_dict() for h in result.hits],
    }


def render(result: CarveResult) -> str:
    lines: list[str] = []
    if result.hits:
        rows = [("OFFSET", "LENGTH", "KIND", "SPACE", "WHERE / EVIDENCE")]
        for h in result.hits:
            where = printable(h.path) if h.path else h.evidence
            rows.append((str(h.offset), str(h.length), h.kind, h.allocation.value, where))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines += ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
        lines.append("")
    free = risk_phrase(result)
    live = risk_phrase(result, Allocation.ALLOCATED)
    if not result.hits_total:
        lines.append("No artifact signatures found.")
    for phrase in (free, live):
        if phrase:
            lines.append(phrase)
    if result.truncated:
        lines.append(f"{result.hits_total} hits in all; only the first {len(result.hits)} are listed (--max-hits).")
    mib = result.bytes_read / (1 << 20)
    rate = mib / result.seconds if result.seconds else 0.0
    lines.append(
        f"Read {mib:.0f} MiB ({result.coverage:.1%} of {result.device}) in {result.seconds:.1f} s ({rate:.0f} MiB/s)."
    )
    return "\n".join(lines)


@click.command("carve")
@click.argument("device", type=click.Path())
@json_option
@click.option("--max-hits", type=click.IntRange(0), default=10_000, show_default=True, help="Hits to list.")
@click.option(
    "--sample",
    type=click.FloatRange(0, 1, min_open=True),
    default=1.0,
    show_default=True,
    help="Fraction of the device to read, in 8 MiB chunks spread evenly (1 = all).",
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
    if as_json:
        emit_json(carve_document(result))
    else:
        click.echo(render(result))
    if fail_on_found and result.hits_total:
        ctx.exit(int(ExitCode.FOUND))


def _progress_bar() -> Any:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, desc="carve", leave=False)
