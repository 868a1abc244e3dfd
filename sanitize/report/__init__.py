"""The output layer: what every command prints, as a `Report` (base.py).

A report is built from a command's result and renders it two ways: `document()`, the
versioned JSON of `--json` (docs/schemas.md), and `text()`, the human rendering. The CLI
prints one or the other (`sanitize.cli.app.emit`); domain code never formats for a person.
"""

from sanitize.report.base import Report, human_size

__all__ = ["Report", "human_size"]
