"""`sanitize report`: the server report a person reads first, as HTML and PDF (read-only on devices)."""

from __future__ import annotations

import click

from sanitize.cli.app import App, emit, info, json_option, pass_app, warn
from sanitize.errors import BadInput
from sanitize.report.server import ServerReportWritten
from sanitize.server_report.model import ServerReport, build

DEFAULT_NAME = "sanitize-report-{host}.html"


def default_report_path(hostname: str | None) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in (hostname or "host")) or "host"
    return DEFAULT_NAME.format(host=safe)


def write_or_fail(report: ServerReport, path: str) -> tuple[str, str]:
    """Write the report pair; a path that cannot be written is a one-line bad input."""
    from sanitize.server_report import write_server_report

    try:
        return write_server_report(report, path)
    except OSError as exc:
        raise BadInput(f"{path}: cannot write the report ({exc.strerror or exc})") from None


@click.command("report")
@click.argument("devices", nargs=-1)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="The HTML file to write; the PDF goes next to it (FILE.pdf). Default: ./sanitize-report-HOSTNAME.html.",
)
@click.option("--no-scan", is_flag=True, help="Skip the AI-artifact scan (the picture of the disks and the plan only).")
@json_option
@pass_app
def command(app: App, devices: tuple[str, ...], output: str | None, no_scan: bool, as_json: bool) -> None:
    """Write the server report: a picture of the disks, the AI data on each volume, the plan.

    \b
    One self-contained HTML file (no scripts, fonts or network access) and the same as PDF:
      - each disk drawn to scale as a bar of its partitions, with LUKS, LVM and RAID stacked
        on them, coloured by the AI data each volume holds, protected devices hatched;
      - per volume, the findings grouped by kind with counts, sizes and the largest paths;
      - the plan: method, NIST SP 800-88 Rev. 2 level and IEEE 2883 technique per device,
        and what this run could not sanitize, with what to do.

    It is what `sanitize decommission --dry-run --report FILE` writes; after a real run,
    `decommission --report FILE` adds the results with links to each certificate. DEVICES
    limits it to those devices (paths, kernel names, serials or WWNs) and what is on them.

    Read-only on every device: unmounted filesystems are mounted read-only without journal
    replay, as `sanitize inventory` does. The report lists names, sizes, kinds, counts,
    hashes and paths only, never content; both files are written 0600.
    """
    from sanitize.decommission import prepare
    from sanitize.inventory.probe import probe

    if not app.host.is_root():
        warn("not running as root: unmounted volumes are not scanned")
    dc = prepare(app.host, probe(app.host), app.methods, only=devices, scan=not no_scan, progress=info)
    report = build(dc, dry_run=True)
    html_path, pdf_path = write_or_fail(report, output or default_report_path(dc.host.get("hostname")))
    emit(ServerReportWritten(report, html_path, pdf_path), as_json)
