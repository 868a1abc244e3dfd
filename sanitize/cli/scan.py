"""`sanitize scan PATH...`: find AI artifacts by content in directory trees (read-only)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import click

from sanitize import tool_identity
from sanitize.cli.app import App, emit_json, json_option, pass_app, warn
from sanitize.errors import ExitCode
from sanitize.scan import Artifact, Scanner, ScanResult
from sanitize.textsafe import printable

SCHEMA = "sanitize.scan/1"


def scan_document(result: ScanResult) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "tool": tool_identity(),
        "roots": result.roots,
        "artifacts": [a.to_dict() for a in _sorted(result.artifacts)],
        "stats": result.stats.to_dict(),
        "errors": [e.to_dict() for e in result.errors],
        "detector_load_errors": result.detector_load_errors,
    }


def _sorted(artifacts: list[Artifact]) -> list[Artifact]:
    return sorted(artifacts, key=lambda a: (a.root, a.path))


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def render_table(result: ScanResult) -> str:
    rows = [("PATH", "CATEGORY", "FORMAT", "SIZE", "EVIDENCE")]
    for a in _sorted(result.artifacts):
        shown = printable(a.path if len(result.roots) == 1 else f"{a.root}:{a.path}")
        if a.unit == "directory":
            shown += "/"
        damage = a.details.get("damage")
        evidence = a.evidence + (f" (DAMAGED: {damage}, not fully examined)" if damage else "")
        rows.append((shown, a.category, a.format, human_size(a.size_bytes), evidence))
    lines: list[str] = []
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
        lines.append("")
    per_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a in result.artifacts:
        per_category[a.category][0] += 1
        per_category[a.category][1] += a.size_bytes
    if per_category:
        lines.append("Summary:")
        for category, (count, size) in sorted(per_category.items()):
            lines.append(f"  {category:<20} {count:>6} artifact(s)  {human_size(size):>10}")
    else:
        lines.append("No AI artifacts found.")
    s = result.stats
    lines.append(
        f"Scanned {s.files_seen} files in {s.dirs_seen} directories in {s.seconds:.1f} s;"
        f" {s.errors} error(s), {sum(s.skipped.values())} skipped."
    )
    return "\n".join(lines)


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
    scanner = Scanner(workers=workers, hash_files=hash_files, one_filesystem=not cross_mounts, host=app.host)
    result = scanner.scan(paths)
    damaged = sum(1 for a in result.artifacts if "damage" in a.details)
    if damaged:
        warn(f"{damaged} damaged file(s) recognised but not examined: listed as artifacts, they may hold data")
    if result.stats.errors > damaged:
        warn(f"{result.stats.errors - damaged} file(s) or directories could not be read (see errors)")
    if as_json:
        emit_json(scan_document(result))
    else:
        click.echo(render_table(result))
    problems = result.faults()
    for problem in problems:
        click.echo(f"sanitize: internal error: {problem} (a bug: please report it)", err=True)
    if problems:  # the scan did not look at everything as it says: never exit 0
        ctx.exit(int(ExitCode.INTERNAL))
    if fail_on_found and result.artifacts:
        ctx.exit(int(ExitCode.FOUND))
