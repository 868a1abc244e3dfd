"""`sanitize lab up|demo|status|down`: a throw-away AI server on loop devices (see `sanitize.lab`)."""

from __future__ import annotations

import os

import click

from sanitize import lab as labmod
from sanitize.certify.keys import have_keys, init_keys
from sanitize.cli.app import App, emit_json, info, json_option, pass_app, require_root, terminal_width
from sanitize.cli.decommission import run_decommission
from sanitize.cli.report import write_or_fail
from sanitize.decommission import prepare
from sanitize.errors import BadInput, ExitCode
from sanitize.inventory.probe import probe
from sanitize.report.decommission import DecommissionOutcome, DecommissionScreen
from sanitize.server_report import build
from sanitize.state import StateDir

DEMO_ORG = "sanitize lab demo (not a real organisation)"


def _lab_dir(app: App, given: str | None, *, create: bool = False) -> str:
    if given:
        return os.path.abspath(given)
    if create:
        app.state.ensure()  # so the state dir itself is made 0700, not just the lab dir inside it
    return os.path.join(app.state.path, "lab")


def _require(directory: str) -> labmod.LabState:
    lab = labmod.load(directory)
    if lab is None:
        raise BadInput(f"no lab in {directory}", hint="run `sanitize lab up` first")
    return lab


dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    help="Lab directory (images, lab.json, demo state). Default: <state-dir>/lab.",
)


@click.group("lab")
def command() -> None:
    """A throw-away "AI server" made of loop devices, to see the whole job safely.

    \b
    sanitize lab up      build it: a mounted system volume (protected), a data volume
                         with an Ollama-like model store and a chat DB, an UNMOUNTED
                         cache volume with a SQLite embedding store and a GGUF model,
                         and a LUKS2 volume; all small image files in the lab dir
    sanitize lab demo    run `sanitize decommission` on the lab's devices only
                         (never on other disks) and leave the certificates to look at
    sanitize lab status  what the lab file records, and what is attached/mounted now
    sanitize lab down    unmount, detach and delete exactly what `up` made (also after
                         a crash); the demo's certificates stay unless --all

    Needs root (loop devices, mkfs, mount). Uses no real disk other than the image files.
    """


@command.command("up")
@dir_option
@json_option
@pass_app
def up(app: App, directory: str | None, as_json: bool) -> None:
    """Build the lab (refused when one is already up in the same directory)."""
    require_root(app.host, "lab up")
    lab = labmod.up(app.host, _lab_dir(app, directory, create=True), say=info)
    if as_json:
        emit_json(lab.to_dict(app.host))
        return
    click.echo(f"lab is up in {lab.directory}")
    for vol in lab.volumes:
        state = "mounted at " + str(vol.mountpoint) if vol.stays_mounted else "not mounted"
        click.echo(f"  {vol.role:<7} {vol.loop}  {vol.kind:<6} {vol.size:>4}  {state}")
    click.echo(
        "next: `sanitize lab demo` (or `sanitize decommission --dry-run --only DEV...`), then `sanitize lab down`"
    )


@command.command("status")
@dir_option
@json_option
@pass_app
def status(app: App, directory: str | None, as_json: bool) -> None:
    """Show the lab's devices and whether each is still attached and mounted."""
    lab = _require(_lab_dir(app, directory))
    doc = lab.to_dict(app.host)
    if as_json:
        emit_json(doc)
        return
    click.echo(f"lab in {lab.directory} (created {lab.created_at}{'' if lab.complete else ', INCOMPLETE'})")
    for vol in doc["volumes"]:
        flags = ", ".join(f for f, on in (("attached", vol["attached"]), ("mounted", vol["mounted"])) if on) or "gone"
        click.echo(f"  {vol['role']:<7} {vol['loop'] or '-':<12} {vol['kind']:<6} {flags}")


@command.command("down")
@dir_option
@click.option("--all", "remove_all", is_flag=True, help="Also delete the demo's keys, certificates and archive.")
@pass_app
def down(app: App, directory: str | None, remove_all: bool) -> None:
    """Unmount, drop partitions, detach and delete exactly what `lab up` made."""
    require_root(app.host, "lab down")
    path = _lab_dir(app, directory)
    if not os.path.isdir(path):
        raise BadInput(f"no lab in {path}")
    done = labmod.down(app.host, path, say=info, remove_state=remove_all)
    kept = os.path.join(path, "state")
    click.echo(
        f"lab removed ({len(done)} step(s))" + (f"; demo certificates kept in {kept}" if os.path.isdir(kept) else "")
    )


@command.command("demo")
@dir_option
@json_option
@pass_app
def demo(app: App, directory: str | None, as_json: bool) -> None:
    """Decommission the lab (building it first if needed): only the lab's own devices.

    The run is confined with --only to the loop devices recorded in the lab file and
    confirmed with their kernel names from that file; it uses the lab's own state
    directory (<lab>/state, with a demo signing key), never the operator's real one.
    The server report (report.html and report.pdf, see `sanitize report`) is written next
    to the certificates it links to.
    """
    require_root(app.host, "lab demo")
    path = _lab_dir(app, directory, create=True)
    lab = labmod.load(path) or labmod.up(app.host, path, say=info)
    state = StateDir(lab.state_dir)
    if not have_keys(state):
        init_keys(state, DEMO_ORG)
    lab_app = App(host=app.host, state=state, debug=app.debug, erase_methods=app.methods)
    dc = prepare(lab_app.host, probe(lab_app.host), lab_app.methods, only=lab.devices(), progress=info)
    click.echo(DecommissionScreen(dc, dry_run=False, width=terminal_width()).text(), err=as_json)
    confirm = [",".join(v.identity for v in lab.erasable() if v.identity)]
    info(f"lab demo: confirming with the lab file's kernel names: {confirm[0]}")
    code = run_decommission(lab_app, dc, confirm=confirm, interactive=False, yes_confirmed=True)
    outcome = DecommissionOutcome(dc)
    click.echo(outcome.text(), err=as_json)
    report_html = None
    if dc.certificate_dir:
        # Next to the certificates it links to, so the folder can be handed over as it is.
        report_html, _ = write_or_fail(build(dc, dry_run=False), os.path.join(dc.certificate_dir, "report.html"))
    if as_json:
        emit_json(outcome.document() | {"report": report_html})
    else:
        click.echo(f"\nReport:       {report_html} (and .pdf): open it first")
        click.echo(f"Certificates: {dc.certificate_dir}")
        click.echo(f"Verify one:   sanitize --state-dir {state.path} cert verify {dc.certificate_dir}/<file>.pdf")
        click.echo(f"Archive:      sanitize --state-dir {state.path} archive verify")
        click.echo("Clean up:     sanitize lab down")
    if code != ExitCode.OK:
        raise click.exceptions.Exit(int(code))
