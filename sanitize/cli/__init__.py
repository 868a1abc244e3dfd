"""The `sanitize` command line. Each subcommand lives in its own module below."""

from __future__ import annotations

import importlib

import click

from sanitize import __version__
from sanitize.cli.app import App, SanitizeGroup, configure_logging
from sanitize.hw.linux import LinuxHost
from sanitize.state import StateDir, default_state_dir

# Command name -> (module defining it as attribute `command`, the first paragraph of its help).
# Modules are imported only when their command runs, so `sanitize carve` does not pay for
# pyHanko and reportlab, a broken optional module cannot break other commands, and the top-level
# --help lists the commands from these summaries (importing every module took 0.5 s).
COMMANDS = {
    "inventory": ("sanitize.cli.inventory", "List every block device and volume and the AI data on each (read-only)."),
    "scan": (
        "sanitize.cli.scan",
        "Find AI artifacts (weights, vector stores, chats, caches...) by content under PATHs.",
    ),
    "carve": ("sanitize.cli.carve", "Read DEVICE raw and report artifact signatures, in live files or free space."),
    "plan": (
        "sanitize.cli.plan",
        "Show the NIST SP 800-88 method chosen for each DEVICE (default: every disk), without erasing.",
    ),
    "report": (
        "sanitize.cli.report",
        "Write the server report: a picture of the disks, the AI data on each volume, the plan.",
    ),
    "erase": ("sanitize.cli.erase", "Sanitize DEVICE(s): overwrite (NIST Clear) or a firmware method, then verify."),
    "decommission": (
        "sanitize.cli.decommission",
        "Sanitize every device of this server in one run, with certificates.",
    ),
    "keys": ("sanitize.cli.keys", "Create, import or show the key that signs certificates."),
    "cert": ("sanitize.cli.cert", "Signed certificates of sanitization (NIST SP 800-88) and failure reports."),
    "archive": (
        "sanitize.cli.archive",
        "The append-only, hash-chained archive of every certificate and failure report.",
    ),
    "lab": ("sanitize.cli.lab", 'A throw-away "AI server" made of loop devices, to see the whole job safely.'),
    "image": ("sanitize.cli.image", "The live image: boot a server from USB or the network and sanitize every disk."),
}


class LazyGroup(SanitizeGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command: click.Command = importlib.import_module(entry[0]).command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's list of commands, from the summaries above instead of the imported commands."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)) for name in sorted(COMMANDS)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sanitize")
@click.option(
    "--state-dir",
    envvar="SANITIZE_STATE_DIR",
    default=default_state_dir,
    show_default="/var/lib/sanitize",
    type=click.Path(file_okay=False),
    help="Where journals, keys, certificates and the archive live (created 0700 when first needed).",
)
@click.option("-v", "--verbose", count=True, help="Log commands run and decisions to stderr (-vv for more).")
@click.option("--debug", is_flag=True, help="Show a traceback on internal errors.")
@click.pass_context
def cli(ctx: click.Context, state_dir: str, verbose: int, debug: bool) -> None:
    """Inventory, find AI artifacts, sanitize per NIST SP 800-88 and certify it.

    \b
    Exit codes:
      0 success             5 needs root / permission denied
      1 internal error      6 unsupported by the device, or a tool is missing
      2 usage error         7 sanitization or verification failed
      3 bad input           8 interrupted (resume with --resume)
      4 refused (protected, in use, read-only, not confirmed)
      9 certificate, signature or archive did not verify
     10 artifacts found (only with --fail-on-found)
    130/143/129 stopped by SIGINT (Ctrl-C) / SIGTERM / SIGHUP
    """
    configure_logging(verbose)
    # The one place the tool builds the real machine and the methods; everything below is
    # handed them. A caller may hand in its own, as tests do: `cli.main(args, obj=App(...))`.
    given = ctx.obj if isinstance(ctx.obj, App) else None
    ctx.obj = App(
        host=given.host if given else LinuxHost(),
        state=StateDir(state_dir),
        debug=debug,
        erase_methods=given.erase_methods if given else None,
        detectors=given.detectors if given else None,
    )


def main() -> None:
    cli(prog_name="sanitize")
