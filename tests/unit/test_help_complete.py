"""`--help` must be enough to use the tool without the docs, and the man page must cover it."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType

import click

from sanitize.cli import COMMANDS, cli

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs")


def commands(cmd: click.Command = cli, path: tuple[str, ...] = ("sanitize",)) -> Iterator[tuple[str, click.Command]]:
    yield " ".join(path), cmd
    if isinstance(cmd, click.Group):  # through list_commands: the top-level group loads commands lazily
        ctx = click.Context(cmd, info_name=path[-1])
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            assert sub is not None, name
            yield from commands(sub, (*path, name))


def test_the_walk_reaches_every_command() -> None:
    names = {name for name, _ in commands()}
    assert {f"sanitize {c}" for c in COMMANDS} <= names and "sanitize cert issue" in names


def test_top_level_help_lists_each_command_by_its_own_summary_without_importing_it() -> None:
    """The summaries kept beside the command table are each command's first help paragraph, and
    --help renders them as click would from the commands themselves, in a process that then
    has imported no command module."""
    for name, (module, summary) in COMMANDS.items():
        command = importlib.import_module(module).command
        assert inspect.cleandoc(command.help or "").split("\n\n")[0] == summary, name
    for width in (60, 80, 200):
        ours, clicks = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
        ctx = click.Context(cli, info_name="sanitize")
        cli.format_commands(ctx, ours)
        click.Group.format_commands(cli, ctx, clicks)
        assert ours.getvalue() == clicks.getvalue()
    probe = "import sys; from sanitize.cli import cli; cli.main(['--help'], standalone_mode=False); " + (
        "print(sorted(m for m in sys.modules if m.startswith('sanitize.cli.')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "archive  " in out and "The append-only" in out
    assert out.strip().splitlines()[-1] == "['sanitize.cli.app']"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_manpage", os.path.join(DOCS, "gen_manpage.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_command_and_option_has_help() -> None:
    missing = []
    for name, cmd in commands():
        if len((cmd.help or "").strip()) < 20:
            missing.append(f"{name}: no description")
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip():
                missing.append(f"{name} {param.opts[0]}: no help")
    assert not missing, missing


def test_man_page_renders_every_command() -> None:
    page = generator().render()
    for name, _cmd in commands():
        if name != "sanitize":
            assert f'.SS "{name}"' in page


def test_committed_man_page_lists_every_command() -> None:
    with open(os.path.join(DOCS, "sanitize.1"), encoding="utf-8") as fh:
        page = fh.read()
    stale = [name for name, _ in commands() if name != "sanitize" and f'.SS "{name}"' not in page]
    assert not stale, f"regenerate docs/sanitize.1 (python docs/gen_manpage.py); missing {stale}"
