"""`sanitize decommission`: the whole server in one run (see `sanitize.decommission`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from sanitize.cli.app import App, emit, info, json_option, pass_app, require_root, terminal_width, warn
from sanitize.cli.progress import BarProgress
from sanitize.decommission import (
    Decommission,
    check_confirmation,
    execute,
    exit_code,
    parse_identities,
    prepare,
)
from sanitize.erase import EraseOptions, EraseResult, Plan
from sanitize.erase.planset import PlanSet
from sanitize.errors import ExitCode, Refused, SanitizeError
from sanitize.inputs import read_text_input
from sanitize.inventory.probe import probe
from sanitize.purge.methods.tcg import parse_psid_file
from sanitize.report.decommission import DecommissionOutcome, DecommissionScreen

EPILOG = """\b
Examples:
  sanitize decommission --dry-run                 # the report and the plan, writes nothing
  sanitize decommission                           # asks you to type the serials, then runs
  sanitize decommission --only /dev/nvme1n1 --only /dev/sdb \\
      --confirm S5GXNX0R123456,WD-WCC4N7654321 --json > report.json

\b
Exit codes: 0 every planned device sanitized and verified, certificates and archive
verified; 1 an internal error (a bug: the report names it, every device still gets its
result and failure report); 3 bad input; 4 refused or not confirmed (nothing written);
5 not root; 7 a device failed (a signed failure report says why); 8 interrupted (the
summary prints the `sanitize erase DEVICE --resume --confirm ID` commands that continue
it); 9 a certificate or the archive did not verify.
Devices listed as NOT SANITIZED (protected) do not change the exit code: the JSON
field `host_complete` is true only when nothing was left out.
"""


def run_decommission(
    app: App,
    dc: Decommission,
    *,
    confirm: Sequence[str],
    interactive: bool,
    yes_confirmed: bool,
) -> ExitCode:
    """Confirm, execute and certify; shared by the command and `sanitize lab demo`."""
    if not dc.plans:
        raise Refused("nothing to sanitize here: every device is protected, excluded or not storage")
    values = list(confirm)
    if not values:
        if not interactive:
            raise Refused("not confirmed: pass --confirm with the serials (kernel names when none) shown in the plan")
        try:
            typed = click.prompt(
                f"Type the serials of the {len(dc.plans)} device(s) to ERASE (kernel names where shown), "
                "separated by spaces",
                err=True,
            )
        except click.exceptions.Abort:
            raise Refused("not confirmed; nothing was written") from None
        values = [str(typed)]
    check_confirmation(dc, values)
    if interactive and confirm and not yes_confirmed:
        names = " ".join(parse_identities(values))
        if not click.confirm(f"Erase {names} now? This cannot be undone", err=True, default=False):
            raise Refused("not confirmed; nothing was written")

    methods = app.methods

    def run_plans(plans: Sequence[Plan]) -> tuple[list[EraseResult], list[SanitizeError]]:
        return PlanSet(tuple(plans)).execute(
            app.host, app.state, methods, progress=BarProgress, say=info, processes=True
        )

    execute(dc, state=app.state, host=app.host, run_all=run_plans)
    return exit_code(dc)


def _write_report(dc: Decommission, path: str, *, dry_run: bool) -> tuple[str, str] | None:
    """The server report; after a run a failure to write it is a problem, never a lost result."""
    from sanitize.cli.report import write_or_fail
    from sanitize.server_report import build

    try:
        return write_or_fail(build(dc, dry_run=dry_run), path)
    except SanitizeError as exc:
        if dry_run:
            raise
        warn(exc.one_line())
        return None


@click.command("decommission", epilog=EPILOG)
@click.option("--dry-run", is_flag=True, help="Inventory mode: the full report and plan; writes nothing, anywhere.")
@click.option(
    "--only",
    multiple=True,
    metavar="DEVICE",
    help="Consider only DEVICE (path, kernel name, serial or WWN); repeat for several. Default: every device.",
)
@click.option("--exclude", multiple=True, metavar="DEVICE", help="Leave DEVICE (and what is on it) alone; repeatable.")
@click.option(
    "--confirm",
    multiple=True,
    metavar="SERIALS",
    help="Comma-separated serials (kernel names for devices without one) of exactly the devices to erase.",
)
@click.option(
    "--yes-i-confirmed-serials",
    "yes_confirmed",
    is_flag=True,
    help="With --confirm on a terminal: do not ask again before erasing.",
)
@click.option(
    "--method",
    default="auto",
    show_default=True,
    help="auto (strongest method each device supports, see `sanitize plan`) or a method name for all.",
)
@click.option(
    "--verify",
    type=click.Choice(["full", "sample"]),
    default="sample",
    show_default=True,
    help="Read-back verification after overwrite.",
)
@click.option(
    "--psid-file",
    type=click.Path(),
    help="Lines 'SERIAL PSID' for self-encrypting drives: lets auto choose their TCG PSID revert "
    "(crypto erase). PSIDs never reach results, logs or certificates.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    metavar="FILE.html",
    help="Also write the server report (see `sanitize report`) to FILE.html and FILE.pdf: "
    "with --dry-run the picture and the plan, after a run the results with links to each certificate.",
)
@json_option
@pass_app
def command(
    app: App,
    dry_run: bool,
    only: tuple[str, ...],
    exclude: tuple[str, ...],
    confirm: tuple[str, ...],
    yes_confirmed: bool,
    method: str,
    verify: str,
    psid_file: str | None,
    report_path: str | None,
    as_json: bool,
) -> None:
    """Sanitize every device of this server in one run, with certificates.

    \b
    1. Inventory of every device, and an AI-artifact scan of every volume (unmounted
       ones are mounted read-only without journal replay, so nothing changes).
    2. A plan for every device that is not protected: the strongest NIST SP 800-88
       method it supports (firmware Purge where available, else overwrite = Clear).
    3. ONE screen: the AI data found per volume first, then the plan, then the devices
       this run cannot sanitize (e.g. the disk the system runs from: boot a live medium
       and run the same command) with what to do about them.
    4. ONE confirmation: type the serials of the devices to erase (or pass --confirm).
    5. All devices erased in parallel with progress bars, then verified.
    6. A signed certificate (or failure report) per device, a host summary PDF, all
       appended to the archive in the state directory, which is then verified.

    Needs root and a signing key (`sanitize keys init --org NAME`) except with
    --dry-run. With --json, the `sanitize.decommission/1` document goes to stdout and the
    screen to stderr.
    """
    if dry_run:
        if not app.host.is_root():
            warn("not running as root: unmounted volumes are not scanned and nothing could be erased")
    else:
        require_root(app.host, "decommission")
    options = EraseOptions(verify=verify)
    psids = parse_psid_file(read_text_input(psid_file, "PSID file"), psid_file) if psid_file else None
    dc = prepare(
        app.host,
        probe(app.host),
        app.methods,
        only=only,
        exclude=exclude,
        method=method,
        options=options,
        psids=psids,
        progress=info,
    )
    if dry_run:
        # A report path that cannot be written fails before anything is printed.
        written = _write_report(dc, report_path, dry_run=True) if report_path else None
        emit(DecommissionScreen(dc, dry_run=True, width=terminal_width()), as_json, text_always=True)
        if written:
            info(f"report: {written[0]} and {written[1]}")
        for problem in dc.internal_errors:
            info(f"sanitize: internal error: {problem}")
        if dc.internal_errors:  # the plan is incomplete: not what the command promises
            raise click.exceptions.Exit(int(ExitCode.INTERNAL))
        return
    click.echo(DecommissionScreen(dc, dry_run=False, width=terminal_width()).text(), err=as_json)
    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    code = run_decommission(app, dc, confirm=confirm, interactive=interactive, yes_confirmed=yes_confirmed)
    written = _write_report(dc, report_path, dry_run=False) if report_path else None
    emit(DecommissionOutcome(dc), as_json, text_always=True)
    if written:
        info(f"report: {written[0]} and {written[1]}")
    if code != ExitCode.OK:
        raise click.exceptions.Exit(int(code))
