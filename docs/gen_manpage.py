#!/usr/bin/env python3
"""Generate docs/sanitize.1 from the click application's own help text.

    .venv/bin/python docs/gen_manpage.py            # rewrites docs/sanitize.1
    .venv/bin/python docs/gen_manpage.py --check    # exit 1 when docs/sanitize.1 is stale
    man -l docs/sanitize.1

Every command's section is exactly its `--help` output, so the man page can never say
something the tool does not; improve a command's docstring, then re-run this script.
No dependency beyond the project's own (click).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import click

from sanitize import __version__
from sanitize.cli import cli

WIDTH = 80
OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sanitize.1")


def walk(cmd: click.Command, path: list[str], parent: click.Context | None) -> Iterator[tuple[str, str]]:
    ctx = click.Context(cmd, info_name=path[-1], parent=parent, terminal_width=WIDTH, max_content_width=WIDTH)
    yield " ".join(path), cmd.get_help(ctx)
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, [*path, name], ctx)


def roff_text(text: str) -> str:
    out = []
    for line in text.replace("\\", "\\e").splitlines():
        out.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(out)


def render() -> str:
    sections = list(walk(cli, ["sanitize"], None))
    (_, top), rest = sections[0], sections[1:]
    parts = [
        f'.TH SANITIZE 1 "" "sanitize {__version__}" "User Commands"',
        ".SH NAME",
        "sanitize \\- inventory, find AI artifacts, sanitize storage per NIST SP 800-88 and certify it",
        ".SH SYNOPSIS",
        ".B sanitize",
        "[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
        ".SH DESCRIPTION",
        ".nf",
        roff_text(top),
        ".fi",
        ".SH COMMANDS",
        "Each subsection is the command's own \\fB\\-\\-help\\fR output.",
    ]
    for name, text in rest:
        parts += [f'.SS "{name}"', ".nf", roff_text(text), ".fi"]
    parts += [
        ".SH FILES",
        ".TP",
        ".I /var/lib/sanitize",
        "State directory (0700): erase journals, results, signing keys, certificates, the archive;"
        " \\fB\\-\\-state\\-dir\\fR or \\fBSANITIZE_STATE_DIR\\fR move it.",
        ".TP",
        ".I /etc/sanitize/config.toml",
        "Operator and organisation details printed on certificates.",
        ".SH EXIT STATUS",
        "See the exit code table in the DESCRIPTION above and docs/exit-codes.md.",
        ".SH SEE ALSO",
        "docs/runbook.md, docs/threat-model.md, docs/methods.md, docs/certificates.md in the source tree;"
        " \\fBnvme\\fR(1), \\fBhdparm\\fR(8), \\fBsg_sanitize\\fR(8), \\fBcryptsetup\\fR(8).",
    ]
    return "\n".join(parts) + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        try:
            with open(OUTPUT, encoding="utf-8") as fh:
                current = fh.read()
        except FileNotFoundError:
            current = ""
        if current != text:
            print(f"{OUTPUT} is stale: run {sys.argv[0]}", file=sys.stderr)
            return 1
        return 0
    with open(OUTPUT, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"wrote {OUTPUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
