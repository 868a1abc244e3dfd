"""Shared CLI plumbing: the context object, error handling and output helpers.

stdout carries only the result (human report or `--json` document); messages, warnings
and progress go to stderr.
"""

from __future__ import annotations

import logging
import shutil
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from sanitize.errors import ExitCode, PermissionDenied, SanitizeError
from sanitize.hw.host import Host
from sanitize.report.base import Report
from sanitize.state import DEFAULT_STATE_DIR, StateDir
from sanitize.textsafe import json_text

if TYPE_CHECKING:  # erase and purge load only for the commands that plan an erase
    from sanitize.detect.registry import Registry
    from sanitize.erase.method import MethodRegistry


@dataclass
class App:
    """What every command is handed: the machine, the erase methods, the detectors, the state
    directory, --debug.

    The CLI group builds it (the one place the real machine and the method registry are
    made); a caller may hand in its own host, methods and detectors, as tests do.
    """

    host: Host
    state: StateDir = field(default_factory=lambda: StateDir(DEFAULT_STATE_DIR))  # the group passes --state-dir's
    debug: bool = False
    erase_methods: MethodRegistry | None = None  # built on first use (`methods`) unless given
    detectors: Registry | None = None  # the scan's detectors; None: every detector module (registry.default)

    @property
    def methods(self) -> MethodRegistry:
        if self.erase_methods is None:
            from sanitize.methods import all_methods

            self.erase_methods = all_methods()
        return self.erase_methods


pass_app = click.make_pass_decorator(App)


def emit_json(document: dict[str, Any]) -> None:
    # json_text: a file name that is not UTF-8 must not make the document invalid UTF-8.
    click.echo(json_text(document))


def emit(report: Report, as_json: bool, *, text_always: bool = False) -> None:
    """Print a command's result on stdout: its JSON document, or its text.

    `text_always`: a person reads the text even with --json (decommission's screen), so it
    goes to stderr then, and stdout keeps the document alone.
    """
    if text_always or not as_json:
        click.echo(report.text(), err=as_json)
    if as_json:
        emit_json(report.document())


def terminal_width() -> int:
    """Columns to wrap a person's text to (100 when stdout is not a terminal)."""
    return shutil.get_terminal_size((100, 24)).columns


def info(message: str) -> None:
    click.echo(message, err=True)


def warn(message: str) -> None:
    click.echo(f"sanitize: warning: {message}", err=True)


def require_root(host: Host, what: str) -> None:
    if not host.is_root():
        raise PermissionDenied(f"{what} needs root", hint="run with sudo")


def json_option(func: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print a versioned JSON document on stdout.")(func)


class SanitizeGroup(click.Group):
    """Turns SanitizeError into one line on stderr and its documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SanitizeError as exc:
            click.echo(f"sanitize: error: {exc.one_line()}", err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.echo("sanitize: interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            # stdout closed early (e.g. piped into head): not an error of ours.
            sys.stderr.close()
            ctx.exit(0)
        except Exception as exc:
            app = ctx.find_object(App)
            if app is not None and app.debug:
                raise
            name = type(exc).__name__
            click.echo(f"sanitize: internal error: {name}: {exc} (rerun with --debug for details)", err=True)
            ctx.exit(int(ExitCode.INTERNAL))


def configure_logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="sanitize: %(levelname)s: %(name)s: %(message)s")
