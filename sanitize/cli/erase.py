"""`sanitize erase`: plan, confirm, run (devices in parallel), verify and record the result.

Exit codes: 0 every device verified (or, with `--verify none`, written without an error:
`unverified`), 1 an internal error (that device's result is `failed` and says where),
7 any failed, 8 any interrupted (and none failed; continue with the `--resume` command the
result prints), 4 refused, 3 bad input (also, after the results are recorded and printed, an
`--output` file that could not be written when every device is done).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence

import click

from sanitize.cli.app import App, emit, info, json_option, pass_app, require_root
from sanitize.cli.progress import BarProgress
from sanitize.enums import Status
from sanitize.erase import (
    EraseOptions,
    EraseResult,
    Plan,
    build_plan,
)
from sanitize.erase.confirm import confirm_devices
from sanitize.erase.journal import Journal
from sanitize.erase.method import Planning
from sanitize.erase.options import FirmwareOptions, LuksOptions
from sanitize.erase.planning import find_device, resume_plan
from sanitize.erase.planset import PlanSet
from sanitize.erase.record import record_result
from sanitize.errors import BadInput, ExitCode, SanitizeError
from sanitize.inventory.probe import probe
from sanitize.outputs import check_output_file, write_output
from sanitize.report.erase import EraseRunReport
from sanitize.report.plan import ErasePlanReport


def _plans(
    app: App,
    planning: Planning,
    devices: Sequence[str],
    method: str,
    options: EraseOptions,
    resume: bool,
) -> PlanSet:
    plans: list[Plan] = []
    for path in devices:
        if resume:
            journal = Journal.find(app.state, find_device(planning, path))
            plans.append(resume_plan(planning, path, journal.data))
        else:
            plans.append(build_plan(planning, path, method, options))
    return PlanSet.strict(planning.tree, plans)


def exit_code_for(results: Sequence[EraseResult]) -> ExitCode:
    """1 when an unexpected exception failed a device (a bug to report), else 7 for any
    failed, 8 for any interrupted, 0 (verified, or unverified as asked with --verify none)."""
    if any(r.failure and r.failure.internal for r in results):
        return ExitCode.INTERNAL
    statuses = {r.status for r in results}
    if Status.FAILED in statuses:
        return ExitCode.FAILED
    if Status.INTERRUPTED in statuses:
        return ExitCode.INTERRUPTED
    return ExitCode.OK


@click.command("erase")
@click.argument("devices", nargs=-1, required=True)
@click.option(
    "--method",
    default="overwrite",
    show_default=True,
    help="overwrite, auto, or a named firmware method (see `sanitize plan`).",
)
@click.option("--pattern", default="random", show_default=True, help="random, zeros, ones or 0xNN.")
@click.option("--passes", type=int, default=1, show_default=True, help="Overwrite passes.")
@click.option(
    "--verify",
    type=click.Choice(["full", "sample", "none"]),
    default="sample",
    show_default=True,
    help="Read-back verification after the last pass.",
)
@click.option(
    "--verify-coverage",
    type=float,
    default=0.10,
    show_default=True,
    help="Fraction of the device read back by --verify sample.",
)
@click.option(
    "--confirm",
    "confirm",
    multiple=True,
    metavar="VALUE",
    help="The device's serial (kernel name if it has none); one per device or comma-separated.",
)
@click.option("--yes", is_flag=True, help="Do not prompt; still requires --confirm.")
@click.option("--dry-run", is_flag=True, help="Print the plan and write nothing (not even the state directory).")
@json_option
@click.option("--resume", is_flag=True, help="Continue an interrupted erase of these devices from the journal.")
@click.option("--discard", is_flag=True, help="After verification, discard (BLKDISCARD) the whole device.")
@click.option(
    "--carve-check",
    type=click.Choice(["sample", "full", "none"]),
    default="sample",
    show_default=True,
    help="After verification, carve the device (1% sampled, or all of it) for anything recognisable left; "
    "a hit fails the erase.",
)
@click.option("--output", type=click.Path(dir_okay=False), help="Also write the JSON result document here.")
@click.option(
    "--then",
    "then",
    metavar="METHOD",
    help="luks-crypto-erase only: afterwards run this device-level method (e.g. overwrite or a firmware purge).",
)
@click.option(
    "--header",
    "luks_header",
    type=click.Path(dir_okay=False),
    help="luks-crypto-erase only: the detached LUKS header file; it is destroyed too.",
)
@click.option(
    "--psid",
    metavar="PSID",
    help="tcg-psid-revert: the 32-character PSID printed on the drive's label (one device per command). "
    "Never written to results, logs or certificates.",
)
@pass_app
def command(
    app: App,
    devices: tuple[str, ...],
    method: str,
    pattern: str,
    passes: int,
    verify: str,
    verify_coverage: float,
    confirm: tuple[str, ...],
    yes: bool,
    dry_run: bool,
    as_json: bool,
    resume: bool,
    discard: bool,
    carve_check: str,
    output: str | None,
    then: str | None,
    luks_header: str | None,
    psid: str | None,
) -> None:
    """Sanitize DEVICE(s): overwrite (NIST Clear) or a firmware method, then verify.

    \b
    Confirmation: type each device's serial (or kernel name when it has none) at the
    prompt, or pass --confirm VALUE (one per device, or one comma-separated list).
    --yes alone is refused. Several devices are erased in parallel.
    """
    if (then or luks_header) and method not in ("auto", "luks-crypto-erase"):
        raise BadInput("--then and --header apply to --method luks-crypto-erase (or auto on a LUKS device)")
    if psid:
        if len(devices) != 1:
            raise BadInput("--psid belongs to one drive: name exactly one device")
        if method not in ("auto", "tcg-psid-revert") and then != "tcg-psid-revert":
            raise BadInput("--psid applies to --method tcg-psid-revert (or auto, or --then tcg-psid-revert)")
    options = EraseOptions(
        pattern=pattern,
        passes=passes,
        verify=verify,
        verify_coverage=verify_coverage,
        discard=discard,
        carve_check=carve_check,
        luks=LuksOptions(header=luks_header, then=then),
        firmware=FirmwareOptions(psid=psid),
    )
    if not dry_run:
        require_root(app.host, "erase")
    if output:
        output = check_output_file(output)  # before anything is erased, not after
    tree = probe(app.host)
    methods = app.methods
    plan_set = _plans(app, Planning(app.host, tree, methods), devices, method, options, resume)
    plans = list(plan_set)
    if dry_run:
        emit(ErasePlanReport(plans), as_json)
        return
    confirm_devices(
        [p.device for p in plans],
        confirm,
        yes=yes,
        interactive=sys.stdin.isatty() and sys.stderr.isatty(),
        prompt=lambda text: str(click.prompt(text, err=True)),
    )
    app.state.ensure()
    results, errors = plan_set.execute(
        app.host, app.state, methods, resume=resume, progress=BarProgress, say=info, processes=True
    )
    unsaved, output_error = report_results(results, output=output, as_json=as_json, save=lambda r: save_result(app, r))
    if errors:
        for extra in errors[1:]:
            info(f"sanitize: error: {extra.one_line()}")
        raise errors[0]
    code = ExitCode.INTERNAL if unsaved else exit_code_for(results)
    if code == ExitCode.OK and output_error is not None:
        code = output_error.exit_code  # every device is sanitized; only the --output file is missing
    if code != ExitCode.OK:
        raise click.exceptions.Exit(int(code))


def save_result(app: App, result: EraseResult) -> None:
    record_result(app.state, result.to_dict())  # with its tag: the only results `cert issue` accepts


def report_results(
    results: Sequence[EraseResult], *, output: str | None, as_json: bool, save: Callable[[EraseResult], None]
) -> tuple[list[str], SanitizeError | None]:
    """Save every result in the state directory, write `output` and print them all (stdout).

    A save that fails (a full state directory) is reported on stderr and returned, so the
    command exits 1, and so is an `output` file that cannot be written (exit 3 when nothing
    else failed); neither stops the results from being printed."""
    unsaved: list[str] = []
    output_error: SanitizeError | None = None
    for result in results:
        try:
            save(result)
        except (OSError, SanitizeError) as exc:
            why = exc.one_line() if isinstance(exc, SanitizeError) else f"{type(exc).__name__}: {exc}"
            unsaved.append(f"{result.device['path']}: result {result.id} not saved: {why}")
    if results:
        report = EraseRunReport(results)
        if output:
            try:
                write_output(output, (json.dumps(report.document(), indent=2) + "\n").encode())
            except SanitizeError as exc:  # the results are recorded; print them, then fail
                output_error = exc
        emit(report, as_json)
    for result in results:
        if result.failure:
            f = result.failure
            kind = "internal error" if f.internal else "error"
            info(
                f"sanitize: {kind}: {f.one_line(result.device['path'])}"
                + (" (a bug: rerun with -vv for the traceback and report it)" if f.internal else "")
            )
    for problem in unsaved:
        info(f"sanitize: error: {problem}")
    if output_error is not None:
        info(f"sanitize: error: {output_error.one_line()}")
    return unsaved, output_error
