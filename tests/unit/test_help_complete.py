"""`--help` must be enough to use the tool without the docs, and the man page must cover it."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from types import ModuleType

import click

from sanitize.cli import cli

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs")


def commands(cmd: click.Command = cli, path: tuple[str, ...] = ("sanitize",)) -> Iterator[tuple[str, click.Command]]:
    yield " ".join(path), cmd
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            yield from commands(sub, (*path, name))


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
