"""`sanitize scan PATH...`: find AI artifacts by content in directory trees (read-only)."""

from __future__ import annotations

import click

from sanitize.cli.app import App, emit, json_option, pass_app, warn
from sanitize.errors import ExitCode
from sanitize.report.scan import ScanReport
from sanitize.scan import Scanner


@click.command("scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@json_option
@click.option("--fail-on-found", is_flag=True, help="Exit with code 10 when any artifact is found.")
@click.option("--hash", "hash_files", is_flag=True, help="Add the SHA-256 of every artifact file (reads it whole).")
@click.option(
    "--cross-mounts", is_flag=True, help="Descend into other filesystems mounted below a PATH (default: stay on one)."
)
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Walker threads (default: 2 x CPUs, max 4).")
@pass_app
@click.pass_context
def command(
    ctx: click.Context,
    app: App,
    paths: tuple[str, ...],
    as_json: bool,
    fail_on_found: bool,
    hash_files: bool,
    cross_mounts: bool,
    workers: int | None,
) -> None:
    """Find AI artifacts (weights, vector stores, chats, caches...) by content under PATHs.

    Reads only the first few KiB of each file; never follows symlinks, never opens FIFOs or
    device nodes, writes nothing. Prints paths, sizes and kinds only, never content.
    """
    scanner = Scanner(
        app.detectors, workers=workers, hash_files=hash_files, one_filesystem=not cross_mounts, host=app.host
    )
    result = scanner.scan(paths)
    damaged = sum(1 for a in result.artifacts if "damage" in a.details)
    if damaged:
        warn(f"{damaged} damaged file(s) recognised but not examined: listed as artifacts, they may hold data")
    if result.stats.errors > damaged:
        warn(f"{result.stats.errors - damaged} file(s) or directories could not be read (see errors)")
    emit(ScanReport(result), as_json)
    problems = result.faults()
    for problem in problems:
        click.echo(f"sanitize: internal error: {problem} (a bug: please report it)", err=True)
    if problems:  # the scan did not look at everything as it says: never exit 0
        ctx.exit(int(ExitCode.INTERNAL))
    if fail_on_found and result.artifacts:
        ctx.exit(int(ExitCode.FOUND))
